/**
 * The noise-level embedding shared by the diffusion networks: c_noise [N] → features [N, dim] →
 * a two-layer MLP (the "time embedding" of Ho et al. 2020). The features are either sinusoidal
 * (Vaswani et al. 2017, as DDPM and ADM embed the timestep) or random Fourier features with fixed
 * Gaussian frequencies (Tancik et al. 2020; Song et al. 2021's NCSN++ embeds log σ this way).
 *
 * Which fits depends on the range of c_noise the preconditioning produces: sinusoidal features
 * with period up to 10 000 suit a timestep in [0, 1000) (VP); Fourier features with scale ~16 suit
 * inputs of order one (EDM's ¼·ln σ, flow matching's t, VE's ln(σ/2)).
 */
import { type Tensor, type Generator, tensor, concat, where } from '../../../core/index.ts';
import { shapeStr } from '../../../core/shape.ts';
import { Module, buffer } from '../../../nn/module.ts';
import { Linear } from '../../../nn/layers/linear.ts';
import { ModuleList } from '../../../nn/layers/container.ts';
import { activate, type Activation } from '../../flows/nets.ts';

export type { Activation };

/** How c_noise becomes features before the embedding MLP. */
export type NoiseFeatures = 'positional' | 'fourier';

/**
 * Sinusoidal embedding of ADM (Dhariwal & Nichol 2021, `timestep_embedding`):
 * [cos(c·f₀), …, cos(c·f_{h−1}), sin(c·f₀), …, sin(c·f_{h−1})] with f_i = maxPeriod^(−i/h), h = dim/2
 * (a zero column is appended when dim is odd).
 */
export function positionalEmbedding(cNoise: Tensor, dim: number, maxPeriod = 10000): Tensor {
  if (cNoise.ndim !== 1) throw new Error(`positionalEmbedding: expected c_noise of shape [N], got ${shapeStr(cNoise.shape)}`);
  const half = Math.floor(dim / 2);
  const f = new Float64Array(half);
  for (let i = 0; i < half; i++) f[i] = Math.exp((-Math.log(maxPeriod) * i) / half);
  const freqs = tensor(f, { dtype: cNoise.dtype, backend: cNoise.backend });
  const args = cNoise.unsqueeze(1).mul(freqs.unsqueeze(0)); // [N, half]
  const parts = [args.cos(), args.sin()];
  if (dim % 2 === 1) parts.push(args.slice(1, 0, 1).mul(0));
  return concat(parts, 1);
}

/**
 * Random Fourier features (Tancik et al. 2020): [sin(2π·c·w), cos(2π·c·w)] with w ~ N(0, scale²)
 * drawn once from the Generator and kept as the persistent buffer `freqs` [⌊dim/2⌋], so a saved model
 * reloads the same features (NCSN++'s GaussianFourierProjection). An odd dim gets a zero column.
 */
export class FourierFeatures extends Module {
  readonly freqs: Tensor;
  readonly dim: number;
  constructor(dim: number, opts: { scale?: number; rng: Generator; dtype?: 'float32' | 'float64' }) {
    super();
    if (!(Number.isInteger(dim) && dim >= 2)) throw new Error(`FourierFeatures: dim must be an integer ≥ 2, got ${dim}`);
    const w = opts.rng.normal(Math.floor(dim / 2), 0, opts.scale ?? 16);
    this.freqs = buffer(tensor(w, { dtype: opts.dtype ?? 'float32' }));
    this.dim = dim;
  }
  forward(cNoise: Tensor): Tensor {
    if (cNoise.ndim !== 1) throw new Error(`FourierFeatures: expected c_noise of shape [N], got ${shapeStr(cNoise.shape)}`);
    const args = cNoise.unsqueeze(1).mul(this.freqs.cast(cNoise.dtype).unsqueeze(0)).mul(2 * Math.PI);
    const parts = [args.sin(), args.cos()];
    if (this.dim % 2 === 1) parts.push(args.slice(1, 0, 1).mul(0));
    return concat(parts, 1);
  }
}

export interface NoiseEmbeddingOptions {
  /** Width of the sinusoidal / Fourier features fed to the MLP. */
  featureDim: number;
  /** Width of the embedding (both MLP layers' output). */
  embedDim: number;
  features?: NoiseFeatures;
  /** Longest period of the sinusoidal features (default 10 000). */
  maxPeriod?: number;
  /** Standard deviation of the Fourier frequencies (default 16). */
  fourierScale?: number;
  activation?: Activation;
  rng: Generator;
  dtype?: 'float32' | 'float64';
}

/**
 * c_noise [N] → [N, embedDim]: features, then `dense.0` (Linear featureDim → embedDim), the
 * activation, `dense.1` (Linear embedDim → embedDim). With Fourier features the frequencies are the
 * buffer `fourier.freqs`. (State-dict names of DDPM's PyTorch port: `temb.dense.0.weight`, ….)
 */
export class NoiseEmbedding extends Module {
  readonly fourier: FourierFeatures | null;
  readonly dense: ModuleList<Linear>;
  readonly featureDim: number;
  readonly maxPeriod: number;
  readonly activation: Activation;
  constructor(opts: NoiseEmbeddingOptions) {
    super();
    const { featureDim, embedDim, rng, dtype } = opts;
    this.fourier = (opts.features ?? 'positional') === 'fourier' ? new FourierFeatures(featureDim, { scale: opts.fourierScale, rng, dtype }) : null;
    this.dense = new ModuleList([new Linear(featureDim, embedDim, { rng, dtype }), new Linear(embedDim, embedDim, { rng, dtype })]);
    this.featureDim = featureDim;
    this.maxPeriod = opts.maxPeriod ?? 10000;
    this.activation = opts.activation ?? 'silu';
  }
  forward(cNoise: Tensor): Tensor {
    const dtype = this.dense.at(0).weight.dtype;
    const c = cNoise.cast(dtype);
    const f = this.fourier ? this.fourier.forward(c) : positionalEmbedding(c, this.featureDim, this.maxPeriod);
    return this.dense.at(1).forward(activate(this.dense.at(0).forward(f), this.activation));
  }
}

/**
 * Class labels → embedding rows, with one extra row for the null class of classifier-free guidance
 * (Ho & Salimans 2022): labels 0…K−1 are classes, −1 (or K) is "no label". Missing labels mean the
 * null class for the whole batch.
 */
export function classIndices(classes: Tensor | undefined, numClasses: number, n: number, like: Tensor): Tensor {
  if (!classes) return tensor(new Int32Array(n).fill(numClasses), { dtype: 'int32', backend: like.backend });
  if (classes.ndim !== 1 || classes.shape[0] !== n) throw new Error(`class labels of shape ${shapeStr(classes.shape)} do not match a batch of ${n} (expected [${n}])`);
  const c = classes.dtype === 'int32' ? classes : classes.cast('int32');
  return where(c.lt(0), numClasses, c);
}
