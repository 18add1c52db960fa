/**
 * The autoencoder families in the model registry: `ae` (plain, denoising or sparse), `vae` (VAE,
 * β-VAE with capacity annealing, IWAE) and `vqvae` (VQ-VAE with a PixelCNN prior over its codes).
 * Every one has the registry's verbs (src/models/registry.ts):
 *   loss           ae: reconstruction (+ sparsity) per example; vae: −ELBO, the β-VAE / capacity
 *                  objective, or −IWAE_k, in nats per example; vqvae: MSE + VQ losses, plus the
 *                  prior's NLL per code of the (detached) current codes — the two stages trained jointly
 *   sample         images in [−1, 1] ([N, C, H, W]) or points ([N, 2])
 *   logLikelihood  vae only: the ELBO (evalK = 1) or the IWAE bound with evalK draws, in nats (bound: true)
 * Images arrive in [−1, 1]. A Bernoulli VAE binarises them dynamically (p = (x + 1)/2, a draw
 * from the rng) unless the config says the data are already binary (`binarized`).
 */
import { type Tensor, type Generator, noGrad, bernoulli, randn } from '../../core/index.ts';
import { Module } from '../../nn/module.ts';
import type { Family, Model, DataSpec, SampleOptions } from '../registry.ts';
import { VAE, betaVaeLoss, type Activation, type Likelihood, type CapacitySchedule } from './vae.ts';
import { Autoencoder, type Corruption } from './ae.ts';
import { VQVAE } from './vqvae.ts';
import { PixelCNN } from '../autoregressive/pixelcnn.ts';
import { bernoulliSample, gaussianSample, discretizedLogisticSample, quantize } from '../likelihoods.ts';

const dimOf = (d: DataSpec) => d.shape.reduce((a, b) => a * b, 1);
const flat = (x: Tensor) => x.reshape(x.shape[0]!, -1);
const unflat = (x: Tensor, d: DataSpec) => x.reshape([x.shape[0]!, ...d.shape]);

function checkSampler(name: string, samplers: readonly string[], opts: SampleOptions): string {
  const s = opts.sampler ?? samplers[0]!;
  if (!samplers.includes(s)) throw new Error(`${name}: unknown sampler '${s}' (${samplers.join(', ')})`);
  return s;
}

// ---------------------------------------------------------------------------------------------
// ae
// ---------------------------------------------------------------------------------------------

export interface AEConfig {
  /** Hidden widths of the encoder MLP (the decoder mirrors them). */
  hidden: number[];
  /** Width of the code. */
  latentDim: number;
  activation: Activation;
  /** 'mse' on [−1, 1] or 'bce' (Bernoulli cross-entropy on (x + 1)/2). */
  loss: 'mse' | 'bce';
  /** Denoising AE: input corruption, e.g. { kind: 'masking', p: 0.25 } or { kind: 'gaussian', std: 0.3 }; null = none. */
  corruption: Corruption | null;
  /** Sparse AE: sigmoid codes with KL(ρ ‖ ρ̂) penalty, e.g. { rho: 0.05, weight: 0.1 }; null = none. */
  sparsity: { rho: number; weight: number } | null;
}

export const ae: Family<AEConfig> = {
  name: 'ae',
  description: 'Autoencoder: plain, denoising (Vincent et al. 2008) or sparse (KL sparsity penalty toward ρ); samples decode codes from a Gaussian fitted to the training codes',
  samplers: ['gaussian-codes'],
  defaults: (d) => (d.kind === 'points'
    ? { hidden: [64, 64], latentDim: 2, activation: 'relu', loss: 'mse', corruption: null, sparsity: null }
    : { hidden: [256], latentDim: 32, activation: 'relu', loss: 'bce', corruption: null, sparsity: null }),
  create(config, data, rng): Model<AEConfig> {
    return { family: 'ae', config, data, net: new Autoencoder({ ...config, dataDim: dimOf(data), rng }) };
  },
  loss(model, batch, rng) {
    return (model.net as Autoencoder).loss(flat(batch.x), rng).loss;
  },
  sample(model, n, rng, opts = {}) {
    checkSampler('ae', ae.samplers, opts);
    const x = (model.net as Autoencoder).sample(n, rng);
    return unflat(model.data.kind === 'images' ? x.clamp(-1, 1) : x, model.data);
  },
};

// ---------------------------------------------------------------------------------------------
// vae
// ---------------------------------------------------------------------------------------------

export interface VAEConfig {
  /** Hidden widths of the encoder MLP (the decoder mirrors them); Burda et al.: [200, 200]. */
  hidden: number[];
  /** Latent dimension; Burda et al.: 50. */
  latentDim: number;
  activation: Activation;
  /** Decoder p(x|z): 'bernoulli' (binary images), 'gaussian', or 'logistic' (discretised, 256 levels). */
  likelihood: Likelihood;
  /** Gaussian decoder: 'learned' per-dimension log σ, or a fixed log σ. */
  gaussianLogScale: 'learned' | number;
  /** β of the β-VAE (1 = the ELBO). Ignored when `capacity` is set. */
  beta: number;
  /** Burgess et al. (2018): γ·|KL − C| with C rising linearly to `max` nats over `steps` loss calls; null = off. */
  capacity: CapacitySchedule | null;
  /** Training objective: 'elbo' (with β / capacity) or 'iwae' with `k` draws. */
  objective: 'elbo' | 'iwae';
  /** IWAE training draws k. */
  k: number;
  /** logLikelihood: 1 → the ELBO; otherwise the IWAE bound with evalK draws (5000 for NLL estimates). */
  evalK: number;
  /** Draws per chunk when evaluating the IWAE bound (bounds memory). */
  evalChunk: number;
  /** Bernoulli decoder: the images are already binary (x ∈ {−1, 1}), so no dynamic binarisation. */
  binarized: boolean;
}

export interface VAEModel extends Model<VAEConfig> {
  readonly net: VAE;
  /** Loss calls so far (drives the capacity schedule; starts again at 0 in a new process). */
  steps: number;
}

/** The batch as the likelihood sees it: [N, D] in {0, 1} (Bernoulli) or on the 256 levels (logistic). */
function vaeTarget(m: VAEModel, x: Tensor, rng: Generator): Tensor {
  const xf = flat(x);
  if (m.config.likelihood === 'bernoulli') {
    return noGrad(() => (m.config.binarized ? xf.gt(0).cast(xf.dtype) : bernoulli(xf.add(1).mul(0.5).clamp(0, 1), null, { rng })));
  }
  return m.config.likelihood === 'logistic' ? noGrad(() => quantize(xf, 256)) : xf;
}

export const vae: Family<VAEConfig> = {
  name: 'vae',
  description: 'VAE (Kingma & Welling 2014) with Bernoulli, Gaussian or discretised-logistic decoder; β-VAE with capacity annealing (Higgins 2017, Burgess 2018); IWAE bound for training and evaluation (Burda 2016)',
  samplers: ['mean', 'ancestral'],
  defaults(d) {
    const base = { activation: 'tanh' as const, gaussianLogScale: 'learned' as const, beta: 1, capacity: null, objective: 'elbo' as const, k: 5, evalK: 1, evalChunk: 500 };
    return d.kind === 'points'
      ? { ...base, hidden: [64, 64], latentDim: 2, likelihood: 'gaussian', binarized: false }
      : { ...base, hidden: [200, 200], latentDim: 50, likelihood: 'bernoulli', binarized: false };
  },
  create(config, data, rng): VAEModel {
    if (config.objective !== 'elbo' && config.objective !== 'iwae') throw new Error(`vae: objective must be 'elbo' or 'iwae', got '${String(config.objective)}'`);
    if (!Number.isInteger(config.k) || config.k < 1) throw new Error(`vae: k must be a positive integer, got ${config.k}`);
    if (!Number.isInteger(config.evalK) || config.evalK < 1) throw new Error(`vae: evalK must be a positive integer, got ${config.evalK}`);
    if (config.likelihood === 'logistic' && data.kind !== 'images') throw new Error("vae: likelihood 'logistic' is for images on 256 levels");
    const net = new VAE({ dataDim: dimOf(data), latentDim: config.latentDim, hidden: config.hidden, activation: config.activation, likelihood: config.likelihood, gaussianLogScale: config.gaussianLogScale, rng });
    return { family: 'vae', config, data, net, steps: 0 };
  },
  loss(model, batch, rng) {
    const m = model as VAEModel;
    const x = vaeTarget(m, batch.x, rng);
    if (m.net.training) m.steps++;
    if (m.config.objective === 'iwae') return m.net.iwae(x, m.config.k, rng).mean().neg();
    return betaVaeLoss(m.net.elbo(x, rng), { beta: m.config.beta, capacity: m.config.capacity, step: m.steps }).mean();
  },
  sample(model, n, rng, opts = {}) {
    const m = model as VAEModel;
    const s = checkSampler('vae', vae.samplers, opts);
    return noGrad(() => {
      const w = m.net.decoder.parameters()[0]!;
      const z = randn([n, m.net.latentDim], { rng, dtype: w.dtype, backend: w.backend }); // z ~ p(z) = N(0, I)
      let x: Tensor;
      if (s === 'mean') {
        const mu = m.net.decodeMean(z);
        x = m.config.likelihood === 'bernoulli' ? mu.mul(2).sub(1) : mu;
      } else {
        const out = m.net.decode(z);
        const D = m.net.dataDim;
        if (m.config.likelihood === 'bernoulli') x = bernoulliSample(out, rng).mul(2).sub(1);
        else if (m.config.likelihood === 'logistic') x = discretizedLogisticSample(out.slice(-1, 0, D), out.slice(-1, D, 2 * D), rng);
        else x = gaussianSample(out, m.net.logScale ?? (m.config.gaussianLogScale as number), rng);
      }
      return unflat(m.data.kind === 'images' ? x.clamp(-1, 1) : x, m.data);
    });
  },
  logLikelihood(model, batch, rng) {
    const m = model as VAEModel;
    return noGrad(() => {
      const x = vaeTarget(m, batch.x, rng);
      const logLik = m.config.evalK === 1 ? m.net.elbo(x, rng).elbo : m.net.iwae(x, m.config.evalK, rng, { chunk: m.config.evalChunk });
      return { logLik, bound: true };
    });
  },
};

// ---------------------------------------------------------------------------------------------
// vqvae
// ---------------------------------------------------------------------------------------------

export interface VQVAEConfig {
  /** Channels of the encoder and decoder convolutions. */
  hidden: number;
  /** Residual blocks in the encoder and decoder. */
  resBlocks: number;
  /** Stride-2 downsamplings (2: 28×28 → 7×7 codes). */
  downsample: number;
  /** K codes of width D. */
  numEmbeddings: number;
  embeddingDim: number;
  /** Commitment weight β (0.25). */
  beta: number;
  /** EMA codebook (decay, Laplace smoothing) instead of the codebook loss. */
  ema: boolean;
  decay: number;
  /** Dead-code restarts below this moving-average use per batch (0 = off). */
  restartThreshold: number;
  /** The Gated PixelCNN prior over the code map. */
  prior: { hidden: number; layers: number };
}

/** The VQ-VAE and its prior in one module (state-dict keys `vqvae.*`, `prior.*`). */
export class VQVAEWithPrior extends Module {
  constructor(readonly vqvae: VQVAE, readonly prior: PixelCNN) {
    super();
  }
  forward(x: Tensor): Tensor {
    return this.vqvae.decode(this.vqvae.encode(x));
  }
}

export const vqvae: Family<VQVAEConfig> = {
  name: 'vqvae',
  description: 'VQ-VAE (van den Oord et al. 2017): nearest-code quantisation, straight-through gradient, EMA codebook, dead-code restarts; a Gated PixelCNN prior over the codes for sampling',
  samplers: ['prior'],
  defaults: () => ({ hidden: 32, resBlocks: 1, downsample: 2, numEmbeddings: 64, embeddingDim: 32, beta: 0.25, ema: true, decay: 0.99, restartThreshold: 1, prior: { hidden: 32, layers: 5 } }),
  create(config, data, rng): Model<VQVAEConfig> {
    if (data.kind !== 'images') throw new Error('vqvae: the data must be images [C, H, W]');
    const f = 2 ** config.downsample;
    if (data.shape[1]! % f !== 0 || data.shape[2]! % f !== 0) throw new Error(`vqvae: image size ${data.shape[1]}×${data.shape[2]} must be divisible by 2^downsample = ${f}`);
    const [r1, r2] = rng.split(2);
    const net = new VQVAEWithPrior(
      new VQVAE({ inChannels: data.shape[0]!, hidden: config.hidden, resBlocks: config.resBlocks, downsample: config.downsample, quantizer: { numEmbeddings: config.numEmbeddings, embeddingDim: config.embeddingDim, beta: config.beta, ema: config.ema, decay: config.decay, restartThreshold: config.restartThreshold }, rng: r1! }),
      new PixelCNN({ classes: config.numEmbeddings, arch: 'gated', hidden: config.prior.hidden, layers: config.prior.layers, rng: r2! }),
    );
    return { family: 'vqvae', config, data, net };
  },
  loss(model, batch, rng) {
    const net = model.net as VQVAEWithPrior;
    const out = net.vqvae.forward(batch.x, rng);
    const codes = out.indices[0]!;
    const priorNll = net.prior.logProb(codes).neg().mean().div(codes.shape[1]! * codes.shape[2]!);
    return out.loss.add(priorNll);
  },
  sample(model, n, rng, opts = {}) {
    checkSampler('vqvae', vqvae.samplers, opts);
    const net = model.net as VQVAEWithPrior;
    const f = 2 ** model.config.downsample;
    return noGrad(() => {
      const codes = net.prior.sample(n, [model.data.shape[1]! / f, model.data.shape[2]! / f], rng, { temperature: opts.temperature });
      return net.vqvae.decode(codes).clamp(-1, 1);
    });
  },
};

/** Every autoencoder family by name. */
export const vaeFamilies = { ae, vae, vqvae } as const;
