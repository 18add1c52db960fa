/**
 * Preconditioning (Karras et al. 2022, §5 and Table 1): every parameterisation is
 *   D(x; σ) = c_skip(σ)·x + c_out(σ)·F(c_in(σ)·x, c_noise(σ)),
 * with x = x₀ + σ·ε in the scaled space where all samplers work. A parameterisation also says how
 * σ is drawn in training and how the loss λ(σ)·‖D(x₀ + σε; σ) − x₀‖² is weighted, which makes
 * each classic objective one instance of the same loss (see `losses.ts`).
 */
import { type Tensor, type Generator, tensor, randn, rand, randint, concat } from '../../core/index.ts';
import type { Backend } from '../../core/backend.ts';
import { type Denoiser, type NoiseNet, sigmaView } from './denoiser.ts';
import type { DiscreteSchedule } from './schedules.ts';

export interface Parameterization {
  readonly name: string;
  cSkip(sigma: Tensor): Tensor;
  cOut(sigma: Tensor): Tensor;
  cIn(sigma: Tensor): Tensor;
  /** The network's noise input, per example: σ [N] → [N]. */
  cNoise(sigma: Tensor): Tensor;
  /** Draw training noise levels σ [n]. */
  sampleSigma(n: number, rng: Generator, backend?: Backend): Tensor;
  /** λ(σ), the weight of ‖D − x₀‖² in the loss. */
  weight(sigma: Tensor): Tensor;
  /** The σ range sampling grids span by default. */
  readonly sigmaMin: number;
  readonly sigmaMax: number;
  /** The expected standard deviation of the data the defaults assume. */
  readonly sigmaData: number;
}

/** Wrap a network F into a Denoiser with the given preconditioning. */
export function precondition(p: Parameterization, net: NoiseNet): Denoiser {
  return (x, sigma, cond) => {
    const s = sigmaView(sigma, x);
    const F = net(x.mul(p.cIn(s)), p.cNoise(sigma), cond);
    return x.mul(p.cSkip(s)).add(F.mul(p.cOut(s)));
  };
}

/** Min-SNR-γ weighting (Hang et al. 2023): λ(σ) = min(SNR, γ) with SNR = 1/σ² — the same in D-space
 * for ε-, x₀- and v-prediction, since their own weights min(SNR,γ)/SNR, min(SNR,γ) and
 * min(SNR,γ)/(SNR+1) all map to it. */
export function minSnrWeight(sigma: Tensor, gamma: number): Tensor {
  return sigma.square().reciprocal().minimum(gamma);
}

export interface EdmOptions {
  /** Expected standard deviation of the training data (0.5 for images in [-1, 1]). */
  sigmaData?: number;
  /** Training σ: ln σ ~ N(pMean, pStd²). */
  pMean?: number;
  pStd?: number;
  sigmaMin?: number;
  sigmaMax?: number;
}

/** EDM (Karras et al. 2022, Table 1, "ours"). */
export function edm(opts: EdmOptions = {}): Parameterization {
  const sd = opts.sigmaData ?? 0.5, pMean = opts.pMean ?? -1.2, pStd = opts.pStd ?? 1.2;
  const sd2 = sd * sd;
  return {
    name: 'edm',
    cSkip: (s) => s.square().add(sd2).reciprocal().mul(sd2),
    cOut: (s) => s.mul(sd).mul(s.square().add(sd2).rsqrt()),
    cIn: (s) => s.square().add(sd2).rsqrt(),
    cNoise: (s) => s.log().mul(0.25),
    sampleSigma: (n, rng, backend) => randn([n], { rng, backend }).mul(pStd).add(pMean).exp(),
    weight: (s) => s.square().add(sd2).div(s.mul(sd).square()),
    sigmaMin: opts.sigmaMin ?? 0.002,
    sigmaMax: opts.sigmaMax ?? 80,
    sigmaData: sd,
  };
}

export interface VpOptions {
  schedule: DiscreteSchedule;
  /** What the network predicts: the noise ε (Ho et al. 2020), x₀, or v = α·ε − σ·x₀ (Salimans & Ho 2022). */
  prediction?: 'eps' | 'x0' | 'v';
  /** Replace λ by Min-SNR-γ weighting. */
  minSnrGamma?: number;
  /** Draw training σ by ln σ ~ N(pMean, pStd²) (EDM's P_mean, P_std), clamped to the schedule's σ
   * range, instead of a uniform timestep; c_noise is then a fractional timestep. */
  logNormal?: { pMean: number; pStd: number; fraction?: number };
}

/**
 * DDPM / VP with a discrete schedule. In the scaled space x = x_t/√ᾱ_t, σ_t = √((1 − ᾱ_t)/ᾱ_t) and
 * c_in = √ᾱ = 1/√(σ² + 1); c_noise is the (fractional) timestep whose σ matches. Training draws t
 * uniformly, as L_simple; the weights make the loss ‖ε̂ − ε‖², ‖x̂₀ − x₀‖² or ‖v̂ − v‖².
 */
/** A share of the batch: a number in [0, 1] (or absent: all of it). */
function checkFraction(what: string, f: number | undefined): void {
  if (f !== undefined && !(f >= 0 && f <= 1)) throw new Error(`${what} must be in [0, 1] (the share of each batch drawn log-normally), got ${f}`);
}

export function vp(opts: VpOptions): Parameterization {
  const pred = opts.prediction ?? 'eps';
  checkFraction('vp: logNormal.fraction', opts.logNormal?.fraction);
  const table = opts.schedule.sigmas;
  const T = table.length;
  const logTable = Float32Array.from(table, Math.log);
  const cIn = (s: Tensor) => s.square().add(1).rsqrt();
  const base = {
    cIn,
    cNoise: (s: Tensor) => sigmaToTimestep(s, logTable),
    sampleSigma: (n: number, rng: Generator, backend?: Backend) => {
      const k = opts.logNormal ? Math.round(n * (opts.logNormal.fraction ?? 1)) : 0;
      const ln = k > 0 ? randn([k], { rng, backend }).mul(opts.logNormal!.pStd).add(opts.logNormal!.pMean).exp().clamp(table[0]!, table[T - 1]!) : null;
      if (k === n) return ln!;
      const t = randint(0, T, [n - k], { rng, backend });
      const uniform = tensor(Float32Array.from(table), { backend }).gather(0, t);
      return ln ? concat([ln, uniform], 0) : uniform;
    },
    sigmaMin: table[0]!,
    sigmaMax: table[T - 1]!,
    sigmaData: 1,
  };
  const gamma = opts.minSnrGamma;
  if (pred === 'eps') {
    return {
      ...base, name: 'vp-eps',
      cSkip: (s) => s.mul(0).add(1),
      cOut: (s) => s.neg(),
      weight: (s) => (gamma ? minSnrWeight(s, gamma) : s.square().reciprocal()),
    };
  }
  if (pred === 'x0') {
    return {
      ...base, name: 'vp-x0',
      cSkip: (s) => s.mul(0),
      cOut: (s) => s.mul(0).add(1),
      weight: (s) => (gamma ? minSnrWeight(s, gamma) : s.mul(0).add(1)),
    };
  }
  return {
    ...base, name: 'vp-v',
    cSkip: (s) => s.square().add(1).reciprocal(),
    cOut: (s) => s.neg().mul(cIn(s)),
    weight: (s) => (gamma ? minSnrWeight(s, gamma) : s.square().add(1).div(s.square())),
  };
}

/** Fractional timestep of each σ by interpolating log σ in the schedule's table (k-diffusion's sigma_to_t). */
function sigmaToTimestep(sigma: Tensor, logTable: Float32Array): Tensor {
  const T = logTable.length;
  const lt = tensor(logTable, { backend: sigma.backend });
  const ls = sigma.log().clamp(logTable[0]!, logTable[T - 1]!);
  // index of the last table entry ≤ log σ: count of entries ≤ it, minus one, kept in [0, T−2]
  const lo = ls.unsqueeze(-1).ge(lt).cast('int32').sum(-1).sub(1).clamp(0, T - 2);
  const l0 = lt.gather(0, lo), l1 = lt.gather(0, lo.add(1));
  const w = ls.sub(l0).div(l1.sub(l0)).clamp(0, 1);
  return lo.float().add(w);
}

export interface VeOptions {
  sigmaMin?: number;
  sigmaMax?: number;
}

/** VE / SMLD-NCSN (Song & Ermon 2019; Song et al. 2021): the network is the σ-scaled score, D = x + σ·F. */
export function ve(opts: VeOptions = {}): Parameterization {
  const lo = opts.sigmaMin ?? 0.02, hi = opts.sigmaMax ?? 100;
  return {
    name: 've',
    cSkip: (s) => s.mul(0).add(1),
    cOut: (s) => s,
    cIn: (s) => s.mul(0).add(1),
    cNoise: (s) => s.mul(0.5).log(),
    sampleSigma: (n, rng, backend) => rand([n], { rng, backend, low: Math.log(lo), high: Math.log(hi) }).exp(),
    weight: (s) => s.square().reciprocal(),
    sigmaMin: lo,
    sigmaMax: hi,
    sigmaData: 1,
  };
}

export interface FlowMatchingOptions {
  /** Training t: uniform (rectified flow, Liu et al. 2023) or logit-normal (Esser et al. 2024). */
  tDistribution?: 'uniform' | 'logitNormal';
  /** Location m and scale s of the logit-normal: logit t ~ N(m, s²) (Esser et al.'s defaults 0 and 1).
   * Since logit t = ln σ, m = −1.2, s = 1.2 is EDM's training distribution of σ. */
  logitMean?: number;
  logitStd?: number;
  /** The share of each batch drawn logit-normally (default 1); the rest is uniform in t. */
  logitFraction?: number;
  /** Range of t used in training and sampling (t = 1 is pure noise, σ = ∞). */
  tMin?: number;
  tMax?: number;
}

/**
 * Flow matching / rectified flow (Lipman et al. 2023; Liu et al. 2023): x_t = (1 − t)·x₀ + t·ε, the
 * network predicts the velocity v = ε − x₀. With σ = t/(1 − t) and x = x_t/(1 − t) this is the
 * preconditioning c_skip = c_in = 1/(1 + σ), c_out = −σ/(1 + σ), c_noise = t; λ = ((1 + σ)/σ)² makes
 * the loss ‖v̂ − v‖².
 */
export function flowMatching(opts: FlowMatchingOptions = {}): Parameterization {
  const tMin = opts.tMin ?? 1e-3, tMax = opts.tMax ?? 1 - 1e-3;
  checkFraction('flowMatching: logitFraction', opts.logitFraction);
  const inv1p = (s: Tensor) => s.add(1).reciprocal();
  return {
    name: 'flow',
    cSkip: inv1p,
    cOut: (s) => s.neg().mul(inv1p(s)),
    cIn: inv1p,
    cNoise: (s) => s.mul(inv1p(s)),
    sampleSigma: (n, rng, backend) => {
      const k = opts.tDistribution === 'logitNormal' ? Math.round(n * (opts.logitFraction ?? 1)) : 0;
      const ln = k > 0 ? randn([k], { rng, backend }).mul(opts.logitStd ?? 1).add(opts.logitMean ?? 0).sigmoid().clamp(tMin, tMax) : null;
      const uniform = k < n ? rand([n - k], { rng, backend, low: tMin, high: tMax }) : null;
      const t = ln && uniform ? concat([ln, uniform], 0) : (ln ?? uniform)!;
      return t.div(t.rsub(1));
    },
    weight: (s) => s.add(1).div(s).square(),
    sigmaMin: tMin / (1 - tMin),
    sigmaMax: tMax / (1 - tMax),
    sigmaData: 1,
  };
}
