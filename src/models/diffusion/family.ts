/**
 * The `diffusion` family in the model registry: one config chooses the parameterisation (EDM, VP
 * with ε/x₀/v-prediction, VE, flow matching), the network and the default sampler.
 */
import { type Tensor, type Generator, randn, full, tensor, noGrad, scope } from '../../core/index.ts';
import type { Family, Model, DataSpec, Batch, SampleOptions } from '../registry.ts';
import type { Module } from '../../nn/module.ts';
import { type Denoiser, type Cond, type NoiseNet } from './denoiser.ts';
import { type Parameterization, edm, vp, ve, flowMatching, precondition, minSnrWeight } from './precond.ts';
import { type DiscreteSchedule, linearBetaSchedule, cosineBetaSchedule, karrasSigmas, ddpmSigmas, exponentialSigmas, vpSigmas } from './schedules.ts';
import { SAMPLERS, run } from './samplers.ts';
import { denoisingLoss, dropLabels, gaussianKL, discretizedGaussianLogLikelihood, posteriorCoefficients } from './losses.ts';
import { classifierFree } from './guidance.ts';
import { odeLogLikelihood } from './likelihood.ts';
import { createNet, type NetConfig } from './nets/index.ts';

export interface DiffusionConfig {
  /** 'edm' (Karras et al. 2022), 'vp' (DDPM), 've' (SMLD/NCSN) or 'flow' (flow matching / rectified flow). */
  parameterization: 'edm' | 'vp' | 've' | 'flow';
  /** vp: what the network predicts. */
  prediction?: 'eps' | 'x0' | 'v';
  /** vp: β schedule and number of timesteps T. */
  schedule?: 'linear' | 'cosine';
  timesteps?: number;
  /** vp: learn the reverse-process variance (Nichol & Dhariwal 2021) with the hybrid loss; the network gets 2× output channels. */
  learnedVariance?: boolean;
  /** edm: expected standard deviation of the data (0.5 for images in [−1, 1]). */
  sigmaData?: number;
  /** edm/ve: σ range for sampling (and ve training). */
  sigmaMin?: number;
  sigmaMax?: number;
  /** flow: training distribution of t, 'uniform' (rectified flow) or 'logitNormal' (Esser et al. 2024). */
  tDistribution?: 'uniform' | 'logitNormal';
  /** flow: the logit-normal's location and scale, logit t ~ N(tLogitMean, tLogitStd²) (default 0 and 1). */
  tLogitMean?: number;
  tLogitStd?: number;
  /** flow: the share of each batch drawn logit-normally (default 1), the rest uniform. */
  tLogitFraction?: number;
  /** vp: train on ln σ ~ N(vpLogNormal.pMean, vpLogNormal.pStd²) instead of a uniform timestep (not with learnedVariance). */
  vpLogNormal?: { pMean: number; pStd: number; fraction?: number };
  /** Min-SNR-γ loss weighting (Hang et al. 2023); 0 = off. */
  minSnrGamma?: number;
  /** Classifier-free guidance training: probability of dropping the label (0 = off). */
  labelDropout?: number;
  /** The network F. */
  net: NetConfig;
  /** Default sampler and number of steps. */
  sampler: string;
  steps: number;
}

/** A diffusion model: its network, parameterisation and (for VP) discrete schedule. */
export interface DiffusionModel extends Model<DiffusionConfig> {
  readonly precond: Parameterization;
  readonly schedule: DiscreteSchedule | null;
  /** The preconditioned denoiser (mean head only, for learned-variance models). */
  readonly denoise: Denoiser;
}

function parameterizationOf(c: DiffusionConfig): { p: Parameterization; schedule: DiscreteSchedule | null } {
  switch (c.parameterization) {
    case 'edm':
      return { p: edm({ sigmaData: c.sigmaData, sigmaMin: c.sigmaMin, sigmaMax: c.sigmaMax }), schedule: null };
    case 've':
      return { p: ve({ sigmaMin: c.sigmaMin, sigmaMax: c.sigmaMax }), schedule: null };
    case 'flow':
      return { p: flowMatching({ tDistribution: c.tDistribution, logitMean: c.tLogitMean, logitStd: c.tLogitStd, logitFraction: c.tLogitFraction }), schedule: null };
    case 'vp': {
      const T = c.timesteps ?? 1000;
      const schedule = c.schedule === 'cosine' ? cosineBetaSchedule(T) : linearBetaSchedule(T);
      return { p: vp({ schedule, prediction: c.prediction ?? 'eps', minSnrGamma: c.minSnrGamma || undefined, logNormal: c.vpLogNormal }), schedule };
    }
    default:
      throw new Error(`diffusion: unknown parameterization '${String((c as { parameterization: unknown }).parameterization)}' (expected edm, vp, ve or flow)`);
  }
}

/** Split a 2×-channel output into the mean head and the variance interpolation v = (out + 1)/2 ∈ [0, 1]. */
function splitHeads(out: Tensor): { mean: Tensor; v: Tensor } {
  const c = out.shape[1]! / 2;
  return { mean: out.slice(1, 0, c), v: out.slice(1, c).add(1).mul(0.5).clamp(0, 1) };
}

export function createDiffusionModel(config: DiffusionConfig, data: DataSpec, rng: Generator): DiffusionModel {
  const { p, schedule } = parameterizationOf(config);
  if (config.learnedVariance && config.parameterization !== 'vp') throw new Error("diffusion: learnedVariance needs parameterization 'vp'");
  if (config.learnedVariance && config.vpLogNormal) throw new Error('diffusion: vpLogNormal does not apply to learnedVariance (its hybrid loss draws integer timesteps)');
  const netConfig = { ...config.net } as NetConfig & Record<string, unknown>;
  if (netConfig.kind === 'unet') netConfig.outChannels = (config.learnedVariance ? 2 : 1) * data.shape[0]!;
  // c_noise is a timestep (0…T) for VP, t ∈ [0, 1] for flow matching, a log-σ of order one otherwise
  if (netConfig.kind === 'mlp' && netConfig.noiseFeatures === undefined) {
    Object.assign(netConfig, config.parameterization === 'vp' ? { noiseFeatures: 'positional' } : { noiseFeatures: 'fourier', fourierScale: config.parameterization === 'flow' ? 30 : 16 });
  }
  const net = createNet(netConfig, data, rng) as Module & { forward: NoiseNet };
  const F: NoiseNet = config.learnedVariance ? (x, cn, cond) => splitHeads(net.forward(x, cn, cond)).mean : (x, cn, cond) => net.forward(x, cn, cond);
  return { family: 'diffusion', config, data, net, precond: p, schedule, denoise: precondition(p, F) };
}

/** The learned-variance head's v at (x, σ), for the DDPM sampler and the VLB. */
function learnedV(m: DiffusionModel): (x: Tensor, sigma: Tensor, cond?: Cond) => Tensor {
  const net = m.net as Module & { forward: NoiseNet };
  return (x, sigma, cond) => {
    const s = sigma.reshape([x.shape[0]!, ...x.shape.slice(1).map(() => 1)]);
    return splitHeads(net.forward(x.mul(m.precond.cIn(s)), m.precond.cNoise(sigma), cond)).v;
  };
}

/**
 * The hybrid objective of Nichol & Dhariwal (2021): L_simple + L_vlb at the sampled t, with the
 * mean's gradient stopped in the VLB term and the term scaled by T/1000 (their λ = 0.001 on the
 * sum over T terms).
 */
function hybridLoss(m: DiffusionModel, batch: Batch, rng: Generator, cond: Cond | undefined): Tensor {
  const sch = m.schedule!;
  const T = sch.alphasCumprod.length, n = batch.x.shape[0]!;
  const x0 = batch.x;
  const ts = Array.from(rng.randint(n, 0, T));
  const sig = tensor(ts.map((t) => sch.sigmas[t]!), { backend: x0.backend, dtype: x0.dtype });
  const eps = randn(x0.shape, { rng, backend: x0.backend, dtype: x0.dtype });
  const sv = sig.reshape([n, ...x0.shape.slice(1).map(() => 1)]);
  const x = x0.add(eps.mul(sv));
  const net = m.net as Module & { forward: NoiseNet };
  const out = net.forward(x.mul(m.precond.cIn(sv)), m.precond.cNoise(sig), cond);
  const { mean: F, v } = splitHeads(out);
  const D = x.mul(m.precond.cSkip(sv)).add(F.mul(m.precond.cOut(sv)));
  const simple = D.sub(x0).square().reshape([n, -1]).mean(1).mul(m.precond.weight(sig));
  // the VLB term at t, in bits per dimension, with the mean frozen
  const col = (vals: number[]) => tensor(vals, { backend: x0.backend, dtype: x0.dtype }).reshape(sv.shape);
  const ab = sch.alphasCumprod;
  const pcs = ts.map((t) => posteriorCoefficients(ab[t]!, t > 0 ? ab[t - 1]! : 1));
  const betaTilde1 = posteriorCoefficients(ab[1]!, ab[0]!).variance; // β̃ at t = 0 is 0; use t = 1's, as improved-diffusion
  const xt = x.mul(col(ts.map((t) => Math.sqrt(ab[t]!))));
  const coefX0 = col(pcs.map((q) => q.coefX0));
  const coefXt = col(pcs.map((q) => q.coefXt));
  const logBetaTilde = col(ts.map((t, i) => Math.log(t > 0 ? pcs[i]!.variance : betaTilde1)));
  const logBeta = col(pcs.map((q) => Math.log(q.beta)));
  const logVar = v.mul(logBeta).add(v.rsub(1).mul(logBetaTilde));
  const meanModel = D.detach().clamp(-1, 1).mul(coefX0).add(xt.mul(coefXt));
  const meanTrue = x0.mul(coefX0).add(xt.mul(coefXt));
  const kl = gaussianKL(meanTrue, logBetaTilde, meanModel, logVar).reshape([n, -1]).mean(1);
  const nll = discretizedGaussianLogLikelihood(x0, meanModel, logVar.mul(0.5)).neg().reshape([n, -1]).mean(1);
  const isZero = tensor(ts.map((t) => (t === 0 ? 1 : 0)), { backend: x0.backend, dtype: x0.dtype }); // [n]
  const vb = isZero.mul(nll).add(isZero.rsub(1).mul(kl)).div(Math.LN2).mul(T / 1000);
  return simple.add(vb).mean();
}

function condOf(batch: Batch, data: DataSpec): Cond | undefined {
  return data.numClasses && batch.y ? { classes: batch.y } : undefined;
}

/** σ grid for a sampler on this model. */
let defaultDdpm: DiscreteSchedule | null = null;
const DEFAULT_DDPM_SCHEDULE = (): DiscreteSchedule => (defaultDdpm ??= linearBetaSchedule(1000));

export function sigmasFor(m: DiffusionModel, sampler: string, steps: number): number[] {
  const p = m.precond;
  if (sampler === 'ddpm' || sampler === 'ddim') {
    // DDPM and DDIM walk the discrete DDPM grid: the model's own schedule, or, for a continuous-σ
    // model (EDM, VE), Ho et al.'s linear-β T = 1000 grid, as Karras et al. (2022, Table 1) do.
    const sch = m.schedule ?? DEFAULT_DDPM_SCHEDULE();
    return ddpmSigmas(sch, Math.min(steps, sch.sigmas.length)).sigmas;
  }
  if (sampler === 'reverseSde' || sampler === 'pc') {
    return m.config.parameterization === 'vp' ? vpSigmas(steps) : exponentialSigmas(steps, p.sigmaMin, p.sigmaMax);
  }
  if (sampler === 'annealedLangevin') return exponentialSigmas(steps, p.sigmaMin, p.sigmaMax);
  return karrasSigmas(steps, p.sigmaMin, p.sigmaMax);
}

export const diffusionFamily: Family<DiffusionConfig> = {
  name: 'diffusion',
  description: 'diffusion and score models in one framework (EDM, DDPM/VP ε·x₀·v, VE/NCSN, flow matching) with every classic sampler',
  samplers: Object.keys(SAMPLERS),
  defaults(data: DataSpec): DiffusionConfig {
    if (data.kind === 'points') {
      return {
        parameterization: 'edm', sigmaData: 0.5, sigmaMin: 0.002, sigmaMax: 80, minSnrGamma: 0, labelDropout: data.numClasses ? 0.1 : 0,
        net: { kind: 'mlp', hidden: 128, depth: 3 } as NetConfig, sampler: 'heun', steps: 18,
      };
    }
    return {
      parameterization: 'edm', sigmaData: 0.5, sigmaMin: 0.002, sigmaMax: 80, minSnrGamma: 0, labelDropout: data.numClasses ? 0.1 : 0,
      net: { kind: 'unet', channels: 32, channelMult: [1, 2, 2], numResBlocks: 1, attnResolutions: [7], dropout: 0.1 } as NetConfig,
      sampler: 'heun', steps: 18,
    };
  },
  create: createDiffusionModel,
  loss(model, batch, rng) {
    const m = model as DiffusionModel;
    const cond = dropLabels(condOf(batch, m.data), m.config.labelDropout ?? 0, -1, rng);
    if (m.config.learnedVariance) return hybridLoss(m, batch, rng, cond);
    const gamma = m.config.minSnrGamma;
    return denoisingLoss(m.denoise, m.precond, batch.x, rng, { cond, weight: gamma ? (s) => minSnrWeight(s, gamma) : undefined });
  },
  sample(model, n, rng, opts: SampleOptions = {}) {
    const m = model as DiffusionModel;
    const name = opts.sampler ?? m.config.sampler;
    const entry = SAMPLERS[name];
    if (!entry) throw new Error(`diffusion: unknown sampler '${name}' (available: ${Object.keys(SAMPLERS).join(', ')})`);
    const steps = opts.steps ?? m.config.steps;
    const sigmas = sigmasFor(m, name, steps);
    const wasTraining = m.net.training;
    m.net.eval();
    try {
      let denoise = m.denoise;
      if (opts.guidance !== undefined && opts.guidance !== 1) denoise = classifierFree(denoise, opts.guidance, -1);
      const classes = opts.classes ?? (m.data.numClasses ? full([n], -1, { dtype: 'int32' }) : undefined);
      const x = noGrad(() => randn([n, ...m.data.shape], { rng }).mul(sigmas[0]!));
      const extra = {
        rng, cond: classes ? { classes } : undefined, signal: opts.signal,
        sde: m.config.parameterization === 'vp' ? 'vp' : 've',
        learnedV: m.config.learnedVariance ? learnedV(m) : undefined,
        variance: m.config.learnedVariance ? 'learned' : undefined,
        onStep: opts.onStep ? (s: { i: number; total: number; x: Tensor }) => opts.onStep!({ step: s.i + 1, total: s.total, x: s.x }) : undefined,
      };
      const out = run(entry.steps(denoise, x, sigmas, extra as never));
      x.dispose();
      return out;
    } finally {
      m.net.train(wasTraining);
    }
  },
  logLikelihood(model, batch, rng) {
    const m = model as DiffusionModel;
    const wasTraining = m.net.training;
    m.net.eval();
    try {
      const r = scope(() => odeLogLikelihood(m.denoise, batch.x, {
        sigmaMin: m.precond.sigmaMin, sigmaMax: m.precond.sigmaMax, cond: condOf(batch, m.data), rng,
        priorDataVariance: m.precond.sigmaData ** 2,
      }).logLik);
      return { logLik: r, bound: false };
    } finally {
      m.net.train(wasTraining);
    }
  },
};
