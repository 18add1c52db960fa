/**
 * Deterministic autoencoders: x → code z = f(x) → reconstruction g(z), trained on a reconstruction
 * loss (squared error on x ∈ [−1, 1], or Bernoulli cross-entropy on (x + 1)/2).
 *
 * - Denoising AE (Vincent et al. 2008): the encoder sees a corrupted x̃ ~ C(x̃|x) — additive
 *   Gaussian noise, or masking noise that zeroes a fraction p of the inputs (sets them to the
 *   bottom of the range) — and the loss compares g(f(x̃)) with the clean x.
 * - Sparse AE (Ng 2011, "Sparse autoencoder" lecture notes, Sec. 3): sigmoid code units with mean
 *   activation ρ̂ⱼ over the batch, penalised by weight·Σⱼ KL(ρ ‖ ρ̂ⱼ),
 *   KL(ρ ‖ ρ̂) = ρ log(ρ/ρ̂) + (1 − ρ) log((1 − ρ)/(1 − ρ̂)), with a target ρ such as 0.05.
 *
 * An autoencoder has no prior to sample from; `sample` draws codes from a diagonal Gaussian fitted
 * to the training codes (running moments, the "ex-post density estimation" of Ghosh et al. 2020)
 * and decodes them.
 */
import { type Tensor, type Generator, noGrad, randn, zeros, ones, where, rand } from '../../core/index.ts';
import { Module, buffer } from '../../nn/module.ts';
import type { Sequential } from '../../nn/layers/index.ts';
import { mlp, type Activation } from './vae.ts';

export type Corruption = { kind: 'gaussian'; std: number } | { kind: 'masking'; p: number };

export interface AEOptions {
  dataDim: number;
  latentDim: number;
  hidden: readonly number[];
  activation: Activation;
  /** 'mse' on x ∈ [−1, 1], or 'bce' (the decoder gives logits for (x + 1)/2 ∈ [0, 1]). */
  loss: 'mse' | 'bce';
  /** Denoising: how the input is corrupted (none by default). */
  corruption?: Corruption | null;
  /** Sparse: target mean activation ρ of the sigmoid code units and the penalty weight. */
  sparsity?: { rho: number; weight: number } | null;
  rng: Generator;
  dtype?: 'float32' | 'float64';
}

/** Σⱼ KL(ρ ‖ ρ̂ⱼ) of Bernoulli means, ρ̂ⱼ the batch-mean activation of code unit j. */
export function sparsityPenalty(code: Tensor, rho: number): Tensor {
  const rhoHat = code.mean(0).clamp(1e-6, 1 - 1e-6);
  return rhoHat.rdiv(rho).log().mul(rho).add(rhoHat.rsub(1).rdiv(1 - rho).log().mul(1 - rho)).sum();
}

/** Apply the denoising corruption C(x̃|x) to x ∈ [−1, 1]. */
export function corrupt(x: Tensor, c: Corruption, rng: Generator): Tensor {
  return noGrad(() => {
    if (c.kind === 'gaussian') return x.add(randn(x.shape, { rng, dtype: x.dtype, backend: x.backend }).mul(c.std));
    if (c.kind === 'masking') return where(rand(x.shape, { rng, dtype: x.dtype, backend: x.backend }).lt(c.p), -1, x);
    throw new Error(`autoencoder: corruption.kind must be 'gaussian' or 'masking', got '${String((c as { kind: unknown }).kind)}'`);
  });
}

export interface AELoss {
  /** Reconstruction + sparsity (scalar, mean over the batch). */
  loss: Tensor;
  /** Reconstruction loss per example, summed over dimensions [N]. */
  recon: Tensor;
  /** The sparsity penalty (0 when off). */
  sparsity: Tensor;
}

export class Autoencoder extends Module {
  readonly encoder: Sequential;
  readonly decoder: Sequential;
  /** Running mean and variance of the codes (for `sample`). */
  readonly codeMean: Tensor;
  readonly codeVar: Tensor;
  readonly dataDim: number;
  readonly latentDim: number;
  readonly lossKind: 'mse' | 'bce';
  readonly corruption: Corruption | null;
  readonly sparsity: { rho: number; weight: number } | null;

  constructor(o: AEOptions) {
    super();
    if (o.loss !== 'mse' && o.loss !== 'bce') throw new Error(`autoencoder: loss must be 'mse' or 'bce', got '${String(o.loss)}'`);
    const sp = o.sparsity ?? null;
    if (sp && !(sp.rho > 0 && sp.rho < 1 && sp.weight >= 0)) throw new Error(`autoencoder: sparsity.rho must be in (0, 1) and sparsity.weight ≥ 0, got ${JSON.stringify(sp)}`);
    const c = o.corruption ?? null;
    if (c && c.kind === 'masking' && !(c.p >= 0 && c.p < 1)) throw new Error(`autoencoder: corruption.p must be in [0, 1), got ${c.p}`);
    if (c && c.kind === 'gaussian' && !(c.std >= 0)) throw new Error(`autoencoder: corruption.std must be ≥ 0, got ${c.std}`);
    const opts = { rng: o.rng, dtype: o.dtype };
    this.encoder = mlp([o.dataDim, ...o.hidden, o.latentDim], o.activation, opts);
    this.decoder = mlp([o.latentDim, ...[...o.hidden].reverse(), o.dataDim], o.activation, opts);
    this.codeMean = buffer(zeros([o.latentDim], { dtype: o.dtype }));
    this.codeVar = buffer(ones([o.latentDim], { dtype: o.dtype }));
    this.dataDim = o.dataDim;
    this.latentDim = o.latentDim;
    this.lossKind = o.loss;
    this.corruption = c;
    this.sparsity = sp;
  }

  /** The code z = f(x) [N, L] (sigmoid units for a sparse AE). */
  encode(x: Tensor): Tensor {
    const h = this.encoder.forward(x);
    return this.sparsity ? h.sigmoid() : h;
  }
  /** The decoder's raw output: logits ('bce') or values ('mse'). */
  decodeRaw(z: Tensor): Tensor {
    return this.decoder.forward(z);
  }
  /** Reconstruction in data space [−1, 1]. */
  decode(z: Tensor): Tensor {
    const out = this.decodeRaw(z);
    return this.lossKind === 'bce' ? out.sigmoid().mul(2).sub(1) : out;
  }
  forward(x: Tensor): Tensor {
    return this.decode(this.encode(x));
  }

  /** The training loss on a batch x ∈ [−1, 1] [N, D]; corrupts the input when denoising (needs rng). */
  loss(x: Tensor, rng?: Generator): AELoss {
    if (this.corruption && !rng) throw new Error('autoencoder: a denoising autoencoder needs a Generator for the corruption');
    const input = this.corruption ? corrupt(x, this.corruption, rng!) : x;
    const z = this.encode(input);
    const out = this.decodeRaw(z);
    const recon = this.lossKind === 'bce'
      ? out.softplus().sub(out.mul(x.add(1).mul(0.5))).sum(-1) // −log Bernoulli((x + 1)/2; σ(out))
      : out.sub(x).square().sum(-1);
    const sparsity = this.sparsity ? sparsityPenalty(z, this.sparsity.rho).mul(this.sparsity.weight) : zeros([], { dtype: x.dtype, backend: x.backend });
    if (this.training) this.trackCodes(z);
    return { loss: recon.mean().add(sparsity), recon, sparsity };
  }

  private trackCodes(z: Tensor): void {
    noGrad(() => {
      const m = z.mean(0), v = z.var(0, { correction: 0 });
      this.codeMean.assign(this.codeMean.mul(0.99).add(m.mul(0.01)));
      this.codeVar.assign(this.codeVar.mul(0.99).add(v.mul(0.01)));
    });
  }

  /** Decode codes drawn from the Gaussian fitted to the training codes: [n, D] in [−1, 1]. */
  sample(n: number, rng: Generator): Tensor {
    return noGrad(() => {
      const eps = randn([n, this.latentDim], { rng, dtype: this.codeMean.dtype, backend: this.codeMean.backend });
      return this.decode(eps.mul(this.codeVar.sqrt()).add(this.codeMean));
    });
  }
}
