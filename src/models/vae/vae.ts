/**
 * Variational autoencoders.
 *
 * - VAE (Kingma & Welling 2014): q(z|x) = N(μ(x), diag σ²(x)), p(z) = N(0, I), a decoder p(x|z);
 *   the ELBO  L(x) = E_q[log p(x|z)] − KL(q(z|x) ‖ p(z))  (their eq. 10), estimated with the
 *   reparameterisation z = μ + σ ⊙ ε, ε ~ N(0, I), and the Gaussian KL in closed form
 *   KL = −½ Σ (1 + log σ² − μ² − σ²)  (their Appendix B).
 * - β-VAE (Higgins et al. 2017): −E_q[log p(x|z)] + β·KL; with capacity annealing (Burgess et
 *   al. 2018, eq. 8): −E_q[log p(x|z)] + γ·|KL − C|, C raised linearly from 0 to C_max.
 * - IWAE (Burda, Grosse & Salakhutdinov 2016, eq. 8): L_k(x) = E[log (1/k) Σᵢ p(x, zᵢ)/q(zᵢ|x)],
 *   zᵢ ~ q(z|x) i.i.d.; L_1 is the ELBO, L_k ≤ L_{k+1} ≤ log p(x), and L_k → log p(x) as k → ∞. Used
 *   as a training objective and, with k = 5000, as the NLL estimate (evaluated in chunks of
 *   samples, so memory stays bounded).
 *
 * Decoders (likelihoods.ts): Bernoulli on logits (binary data), Gaussian (learned per-dimension or
 * fixed log σ), discretised logistic on 256 levels (per-dimension mean and log-scale). Data enter as
 * [N, D] rows in the likelihood's space: {0, 1} for Bernoulli, [−1, 1] otherwise.
 */
import { type Tensor, type Generator, randn, noGrad, zeros, stack } from '../../core/index.ts';
import { Module, parameter } from '../../nn/module.ts';
import { Sequential, Linear, Tanh, ReLU, ELU, SiLU, type TensorModule } from '../../nn/layers/index.ts';
import { bernoulliLogProb, gaussianLogProb, discretizedLogisticLogProb } from '../likelihoods.ts';

export type Activation = 'tanh' | 'relu' | 'elu' | 'silu';
export type Likelihood = 'bernoulli' | 'gaussian' | 'logistic';

const LOG_2PI = Math.log(2 * Math.PI);

function activation(name: Activation): TensorModule {
  switch (name) {
    case 'tanh': return new Tanh();
    case 'relu': return new ReLU();
    case 'elu': return new ELU();
    case 'silu': return new SiLU();
    default: throw new Error(`vae: unknown activation '${String(name)}' (expected tanh, relu, elu or silu)`);
  }
}

/** An MLP in → hidden… → out with `act` between layers (none after the last). */
export function mlp(sizes: readonly number[], act: Activation, opts: { rng: Generator; dtype?: 'float32' | 'float64' }): Sequential {
  const net = new Sequential();
  for (let i = 0; i + 1 < sizes.length; i++) {
    net.append(new Linear(sizes[i]!, sizes[i + 1]!, opts));
    if (i + 2 < sizes.length) net.append(activation(act));
  }
  return net;
}

export interface VAEOptions {
  /** Data dimension D (784 for MNIST). */
  dataDim: number;
  latentDim: number;
  /** Hidden widths of the encoder; the decoder mirrors them. [] gives linear maps. */
  hidden: readonly number[];
  activation: Activation;
  likelihood: Likelihood;
  /** Gaussian decoder: 'learned' (one log σ per dimension, a parameter) or a fixed log σ. */
  gaussianLogScale?: 'learned' | number;
  /** Discretised logistic decoder: grey levels on [−1, 1] (256). */
  levels?: number;
  rng: Generator;
  dtype?: 'float32' | 'float64';
}

/** Closed-form KL(N(μ, diag e^{logVar}) ‖ N(0, I)) per row: −½ Σ (1 + logVar − μ² − e^{logVar}). */
export function gaussianKL(mean: Tensor, logVar: Tensor): Tensor {
  return logVar.add(1).sub(mean.square()).sub(logVar.exp()).sum(-1).mul(-0.5);
}

/** log N(z; mean, diag e^{logVar}) summed over the last axis. */
export function diagGaussianLogProb(z: Tensor, mean: Tensor, logVar: Tensor): Tensor {
  return gaussianLogProb(mean, logVar.mul(0.5), z).sum(-1);
}

/** log N(z; 0, I) summed over the last axis. */
export function standardNormalLogProb(z: Tensor): Tensor {
  return z.square().add(LOG_2PI).mul(-0.5).sum(-1);
}

/** The terms of one ELBO estimate, per example [N]. */
export interface ElboTerms {
  /** log p(x|z) for the sampled z (averaged over `samples`). */
  recon: Tensor;
  /** KL(q(z|x) ‖ p(z)): closed form, or the single-sample log q(z|x) − log p(z). */
  kl: Tensor;
  /** recon − kl. */
  elbo: Tensor;
}

export class VAE extends Module {
  readonly encoder: Sequential;
  readonly decoder: Sequential;
  /** Per-dimension log σ of a Gaussian decoder with a learned scale. */
  readonly logScale: Tensor | null;
  readonly dataDim: number;
  readonly latentDim: number;
  readonly likelihood: Likelihood;
  readonly levels: number;
  private readonly fixedLogScale: number;

  constructor(o: VAEOptions) {
    super();
    for (const [k, v] of [['dataDim', o.dataDim], ['latentDim', o.latentDim]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`vae: ${k} must be a positive integer, got ${v}`);
    }
    if (!['bernoulli', 'gaussian', 'logistic'].includes(o.likelihood)) {
      throw new Error(`vae: likelihood must be 'bernoulli', 'gaussian' or 'logistic', got '${String(o.likelihood)}'`);
    }
    const opts = { rng: o.rng, dtype: o.dtype };
    const params = o.likelihood === 'logistic' ? 2 : 1;
    this.encoder = mlp([o.dataDim, ...o.hidden, 2 * o.latentDim], o.activation, opts);
    this.decoder = mlp([o.latentDim, ...[...o.hidden].reverse(), params * o.dataDim], o.activation, opts);
    const gls = o.gaussianLogScale ?? 'learned';
    this.logScale = o.likelihood === 'gaussian' && gls === 'learned' ? parameter(zeros([o.dataDim], { dtype: o.dtype })) : null;
    this.fixedLogScale = typeof gls === 'number' ? gls : 0;
    this.dataDim = o.dataDim;
    this.latentDim = o.latentDim;
    this.likelihood = o.likelihood;
    this.levels = o.levels ?? 256;
  }

  forward(x: Tensor): Tensor {
    return this.decode(this.encode(x).mean);
  }

  /** q(z|x): mean and log-variance, [N, L] each. */
  encode(x: Tensor): { mean: Tensor; logVar: Tensor } {
    if (x.shape[x.ndim - 1] !== this.dataDim) throw new Error(`vae: expected data [..., ${this.dataDim}], got [${x.shape.join(', ')}]`);
    const h = this.encoder.forward(x);
    const L = this.latentDim;
    return { mean: h.slice(-1, 0, L), logVar: h.slice(-1, L, 2 * L) };
  }

  /** Decoder output: logits (Bernoulli), means (Gaussian), or [means | log-scales] (logistic). */
  decode(z: Tensor): Tensor {
    return this.decoder.forward(z);
  }

  /** The decoder's mean of p(x|z) in data space: σ(logits) for Bernoulli, the means otherwise. */
  decodeMean(z: Tensor): Tensor {
    const out = this.decode(z);
    if (this.likelihood === 'bernoulli') return out.sigmoid();
    if (this.likelihood === 'logistic') return out.slice(-1, 0, this.dataDim).clamp(-1, 1);
    return out;
  }

  /** log p(x|z) summed over the data dimension, for decoder output `out` (any leading shape). */
  logPx(out: Tensor, x: Tensor): Tensor {
    switch (this.likelihood) {
      case 'bernoulli':
        return bernoulliLogProb(out, x).sum(-1);
      case 'gaussian':
        return gaussianLogProb(out, this.logScale ?? this.fixedLogScale, x).sum(-1);
      case 'logistic': {
        const D = this.dataDim;
        return discretizedLogisticLogProb(out.slice(-1, 0, D), out.slice(-1, D, 2 * D), x, { levels: this.levels }).sum(-1);
      }
    }
  }

  /** z = μ + σ ⊙ ε with ε ~ N(0, I): [samples, N, L] (the reparameterisation trick). */
  reparameterize(mean: Tensor, logVar: Tensor, samples: number, rng: Generator): Tensor {
    const eps = randn([samples, ...mean.shape], { rng, dtype: mean.dtype, backend: mean.backend });
    return mean.add(logVar.mul(0.5).exp().mul(eps));
  }

  /**
   * One ELBO estimate per example with `samples` reparameterised draws (default 1). `kl: 'analytic'`
   * (default) uses the closed form; `kl: 'sample'` the Monte Carlo log q(z|x) − log p(z) of the same
   * draws — then the ELBO equals the IWAE bound with k = 1 on the same ε.
   */
  elbo(x: Tensor, rng: Generator, opts: { samples?: number; kl?: 'analytic' | 'sample' } = {}): ElboTerms {
    const samples = opts.samples ?? 1;
    const { mean, logVar } = this.encode(x);
    const z = this.reparameterize(mean, logVar, samples, rng);
    const recon = this.logPx(this.decode(z), x).mean(0);
    const kl = opts.kl === 'sample'
      ? diagGaussianLogProb(z, mean, logVar).sub(standardNormalLogProb(z)).mean(0)
      : gaussianKL(mean, logVar);
    return { recon, kl, elbo: recon.sub(kl) };
  }

  /**
   * Log importance weights log p(x, zᵢ) − log q(zᵢ|x) for `k` draws: [k, N]. Differentiable (used by
   * the IWAE training objective).
   */
  logWeights(x: Tensor, k: number, rng: Generator, q?: { mean: Tensor; logVar: Tensor }): Tensor {
    const { mean, logVar } = q ?? this.encode(x);
    const z = this.reparameterize(mean, logVar, k, rng);
    return this.logPx(this.decode(z), x).add(standardNormalLogProb(z)).sub(diagGaussianLogProb(z, mean, logVar));
  }

  /**
   * The IWAE bound L_k(x) per example [N] (Burda et al. 2016, eq. 8). Draws are taken `chunk` at a
   * time (default: all k at once while training, 500 under noGrad) and combined with a log-sum-exp,
   * so k = 5000 fits in bounded memory. Differentiable unless chunked under noGrad.
   */
  iwae(x: Tensor, k: number, rng: Generator, opts: { chunk?: number } = {}): Tensor {
    if (!Number.isInteger(k) || k < 1) throw new Error(`vae: the IWAE k must be a positive integer, got ${k}`);
    const chunk = Math.max(1, Math.min(k, opts.chunk ?? k));
    if (chunk === k) return this.logWeights(x, k, rng).logsumexp(0).sub(Math.log(k));
    return noGrad(() => {
      const q = this.encode(x);
      const parts: Tensor[] = [];
      for (let done = 0; done < k; done += chunk) {
        const lw = this.logWeights(x, Math.min(chunk, k - done), rng, q);
        parts.push(lw.logsumexp(0)); // [N] per chunk
        lw.dispose();
      }
      const out = stack(parts, 0).logsumexp(0).sub(Math.log(k));
      for (const p of parts) p.dispose();
      return out;
    });
  }

  /** Draws from the model: z ~ N(0, I), then the decoder mean [n, D]. */
  sample(n: number, rng: Generator): Tensor {
    return noGrad(() => this.decodeMean(randn([n, this.latentDim], { rng, dtype: this.dtype(), backend: this.backendOf() })));
  }

  private dtype() {
    return this.encoder.at(0).parameters()[0]!.dtype;
  }
  private backendOf() {
    return this.encoder.at(0).parameters()[0]!.backend;
  }
}

export interface CapacitySchedule {
  /** C_max in nats. */
  max: number;
  /** Steps over which C rises linearly from 0 to C_max. */
  steps: number;
  /** γ, the weight of |KL − C|. */
  gamma: number;
}

/** C at training step t: C_max·min(1, t / steps) (Burgess et al. 2018). */
export function capacityAt(c: CapacitySchedule, step: number): number {
  return c.steps <= 0 ? c.max : c.max * Math.min(1, step / c.steps);
}

/**
 * The β-VAE loss per example: −recon + β·KL (Higgins et al. 2017), or with a capacity schedule
 * −recon + γ·|KL − C| (Burgess et al. 2018). β = 1 and no capacity is the negative ELBO.
 */
export function betaVaeLoss(t: ElboTerms, opts: { beta?: number; capacity?: CapacitySchedule | null; step?: number } = {}): Tensor {
  if (opts.capacity) return t.kl.sub(capacityAt(opts.capacity, opts.step ?? 0)).abs().mul(opts.capacity.gamma).sub(t.recon);
  const beta = opts.beta ?? 1;
  return beta === 1 ? t.elbo.neg() : t.kl.mul(beta).sub(t.recon);
}
