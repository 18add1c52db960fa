/**
 * Spectral normalisation (Miyato, Kataoka, Koyama & Yoshida 2018, "Spectral Normalization for
 * Generative Adversarial Networks"): the layer's weight is divided by an estimate of its largest
 * singular value, W_SN = W / σ(W), so the layer is 1-Lipschitz. σ is estimated by power iteration
 * (Algorithm 1 of the paper) on the weight reshaped to a matrix [W.shape[dim], rest] — for a
 * convolution the [Cout, Cin·kh·kw] matrix, as in the paper — with one step per training forward:
 *
 *   ṽ ← Wᵀũ / ‖Wᵀũ‖₂,   ũ ← Wṽ / ‖Wṽ‖₂,   σ(W) ≈ ũᵀ W ṽ
 *
 * ũ and ṽ are persistent buffers, updated in training mode only (in evaluation the stored ones
 * are used), and the gradient flows through σ with ũ, ṽ held fixed, as in the paper and PyTorch.
 * State-dict keys are torch.nn.utils.spectral_norm's: `weight_orig`, `bias`, `weight_u`, `weight_v`.
 *
 * ```ts
 * const d = new nn.SpectralNorm(new nn.Conv2d(3, 64, 4, { rng, stride: 2, padding: 1 }), { rng });
 * const y = d.forward(x);                 // conv with weight_orig / σ
 * ```
 */
import { type Tensor, type Generator, noGrad, randn, scope } from '../../core/index.ts';
import { Module, buffer } from '../module.ts';

export interface SpectralNormOptions {
  /** Draws the initial ũ and ṽ. */
  rng: Generator;
  /** Power-iteration steps per training forward (default 1, as the paper). */
  nPowerIterations?: number;
  /** Added to norms before dividing (default 1e-12, as PyTorch). */
  eps?: number;
  /** The weight dimension of output features: 0 (Linear, Conv; default) or 1 (ConvTranspose, as PyTorch). */
  dim?: number;
}

/** A layer with a `weight` parameter and a forward taking one tensor (Linear, Conv*, ConvTranspose*). */
export type WeightedLayer = Module & { readonly weight: Tensor; readonly bias?: Tensor | null; forward(x: Tensor): Tensor };

/** The weight as the matrix whose largest singular value is normalised: [W.shape[dim], rest]. */
export function weightMatrix(w: Tensor, dim = 0): Tensor {
  const m = dim === 0 ? w : w.permute([dim, ...w.shape.map((_, i) => i).filter((i) => i !== dim)]);
  return m.reshape([w.shape[dim]!, -1]);
}

const normalize = (x: Tensor, eps: number) => x.div(x.square().sum().sqrt().add(eps));

/** Wraps a layer so that its forward uses weight_orig / σ(weight_orig). */
export class SpectralNorm extends Module {
  readonly weight_orig: Tensor;
  readonly bias: Tensor | null;
  readonly weight_u: Tensor;
  readonly weight_v: Tensor;
  readonly nPowerIterations: number;
  readonly eps: number;
  readonly dim: number;
  /** The wrapped layer: a private field, so its weight is saved once, as `weight_orig`. */
  readonly #layer: WeightedLayer;

  constructor(layer: WeightedLayer, opts: SpectralNormOptions) {
    super();
    const dim = opts.dim ?? 0;
    const w = layer.weight;
    if (!Number.isInteger(dim) || dim < 0 || dim >= w.ndim) throw new Error(`SpectralNorm: dim must be an integer in [0, ${w.ndim - 1}], got ${opts.dim}`);
    const n = opts.nPowerIterations ?? 1;
    if (!Number.isInteger(n) || n < 1) throw new Error(`SpectralNorm: nPowerIterations must be a positive integer, got ${opts.nPowerIterations}`);
    this.#layer = layer;
    this.weight_orig = w;
    this.bias = layer.bias ?? null;
    const h = w.shape[dim]!, cols = w.size / h;
    this.eps = opts.eps ?? 1e-12;
    this.weight_u = buffer(scope(() => normalize(randn([h], { rng: opts.rng, dtype: w.dtype, backend: w.backend }), this.eps)));
    this.weight_v = buffer(scope(() => normalize(randn([cols], { rng: opts.rng, dtype: w.dtype, backend: w.backend }), this.eps)));
    this.nPowerIterations = n;
    this.dim = dim;
  }

  /** The wrapped layer (its `weight` is weight_orig). */
  get layer(): WeightedLayer {
    return this.#layer;
  }

  /** Run the power iteration `nPowerIterations` times, updating ũ and ṽ in place. */
  powerIteration(): void {
    scope(() => noGrad(() => {
      const W = weightMatrix(this.weight_orig, this.dim);
      let u = this.weight_u, v = this.weight_v;
      for (let i = 0; i < this.nPowerIterations; i++) {
        v = normalize(W.mT.matmul(u.unsqueeze(1)).squeeze(1), this.eps);
        u = normalize(W.matmul(v.unsqueeze(1)).squeeze(1), this.eps);
      }
      this.weight_v.assign(v);
      this.weight_u.assign(u);
    }));
  }

  /** σ(W) ≈ ũᵀWṽ with the current ũ, ṽ (differentiable in W). */
  sigma(): Tensor {
    const W = weightMatrix(this.weight_orig, this.dim);
    const u = this.weight_u.detach(), v = this.weight_v.detach();
    return u.unsqueeze(0).matmul(W).matmul(v.unsqueeze(1)).reshape([]);
  }

  /** weight_orig / σ. */
  normalizedWeight(): Tensor {
    return this.weight_orig.div(this.sigma());
  }

  forward(x: Tensor): Tensor {
    if (this.training) this.powerIteration();
    const layer = this.#layer as { weight: Tensor };
    layer.weight = this.normalizedWeight();
    try {
      return this.#layer.forward(x);
    } finally {
      layer.weight = this.weight_orig;
    }
  }
}
