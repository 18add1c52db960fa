/**
 * A noise-conditioned MLP for 2-D (or any flat) data: the network F(c_in·x, c_noise, cond) of a
 * preconditioned denoiser (see `../precond.ts`). c_noise is embedded (sinusoidal or random Fourier
 * features → two-layer MLP, `embedding.ts`), a class embedding is added for conditional models, and
 * the sum is added to the features of every hidden layer:
 *
 *   e = temb(c_noise) + label_emb(y)
 *   h = act(layers.0(x) + e);  h = act(layers.i(h) + e) for i = 1 … depth−1;  F = proj_out(h)
 */
import { type Tensor, type Generator } from '../../../core/index.ts';
import { shapeStr } from '../../../core/shape.ts';
import { Module } from '../../../nn/module.ts';
import { Linear, Embedding } from '../../../nn/layers/linear.ts';
import { ModuleList } from '../../../nn/layers/container.ts';
import { activate, type Activation } from '../../flows/nets.ts';
import type { Cond } from '../denoiser.ts';
import { NoiseEmbedding, classIndices, type NoiseFeatures } from './embedding.ts';

/** The MLP's options: JSON-serialisable, saved as the model's config. */
export interface MlpOptions {
  /** Size of one flattened data item (2 for points). Required. */
  dataDim: number;
  /** Width of every hidden layer and of the noise embedding. */
  hidden?: number; // default 256
  /** Number of hidden layers; each one adds the embedding before its activation. */
  depth?: number; // default 3
  /** Activation of the hidden layers and of the embedding MLP. */
  activation?: Activation; // default 'silu'
  /** c_noise features: 'positional' (sinusoidal, Vaswani et al. 2017) or 'fourier' (random, Tancik et al. 2020). */
  noiseFeatures?: NoiseFeatures; // default 'positional'
  /** Width of those features (the embedding MLP's input). */
  featureDim?: number; // default 64
  /** Longest period of the sinusoidal features (suits c_noise up to ~1000, a VP timestep). */
  maxPeriod?: number; // default 10000
  /** Standard deviation of the Fourier frequencies (suits c_noise of order one). */
  fourierScale?: number; // default 16
  /** c_noise is multiplied by this before the features (e.g. 1000 for flow matching's t ∈ [0, 1]). */
  cNoiseScale?: number; // default 1
  /** Number of classes for class conditioning, plus one null class (label −1) for guidance; 0 = unconditional. */
  numClasses?: number; // default 0
}

/** Every option filled in (what `net.config` holds). */
export type MlpConfig = Required<MlpOptions>;

export function resolveMlpOptions(o: MlpOptions): MlpConfig {
  if (!(Number.isInteger(o.dataDim) && o.dataDim > 0)) throw new Error(`MlpNet: dataDim must be a positive integer, got ${o.dataDim}`);
  const c: MlpConfig = {
    dataDim: o.dataDim,
    hidden: o.hidden ?? 256,
    depth: o.depth ?? 3,
    activation: o.activation ?? 'silu',
    noiseFeatures: o.noiseFeatures ?? 'positional',
    featureDim: o.featureDim ?? 64,
    maxPeriod: o.maxPeriod ?? 10000,
    fourierScale: o.fourierScale ?? 16,
    cNoiseScale: o.cNoiseScale ?? 1,
    numClasses: o.numClasses ?? 0,
  };
  if (!(Number.isInteger(c.hidden) && c.hidden > 0)) throw new Error(`MlpNet: hidden must be a positive integer, got ${c.hidden}`);
  if (!(Number.isInteger(c.depth) && c.depth >= 1)) throw new Error(`MlpNet: depth must be an integer ≥ 1, got ${c.depth}`);
  if (!(Number.isInteger(c.numClasses) && c.numClasses >= 0)) throw new Error(`MlpNet: numClasses must be a non-negative integer, got ${c.numClasses}`);
  if (!(Number.isInteger(c.featureDim) && c.featureDim >= 2)) throw new Error(`MlpNet: featureDim must be an integer ≥ 2, got ${c.featureDim}`);
  return c;
}

/**
 * The time-conditioned MLP: x [N, ...] (flattened to [N, dataDim]) and c_noise [N] (or a scalar)
 * → [N, ...]. State-dict keys: `temb.dense.{0,1}.*` (and `temb.fourier.freqs`), `label_emb.weight`
 * [numClasses + 1, hidden], `layers.{i}.*`, `proj_out.*`.
 */
export class MlpNet extends Module {
  readonly temb: NoiseEmbedding;
  readonly label_emb: Embedding | null;
  readonly layers: ModuleList<Linear>;
  readonly proj_out: Linear;
  readonly config: MlpConfig;

  constructor(options: MlpOptions, opts: { rng: Generator; dtype?: 'float32' | 'float64' }) {
    super();
    const c = resolveMlpOptions(options);
    const { rng, dtype } = opts;
    this.temb = new NoiseEmbedding({
      featureDim: c.featureDim, embedDim: c.hidden, features: c.noiseFeatures, maxPeriod: c.maxPeriod,
      fourierScale: c.fourierScale, activation: c.activation, rng, dtype,
    });
    this.label_emb = c.numClasses > 0 ? new Embedding(c.numClasses + 1, c.hidden, { rng, dtype }) : null;
    this.layers = new ModuleList(Array.from({ length: c.depth }, (_, i) => new Linear(i === 0 ? c.dataDim : c.hidden, c.hidden, { rng, dtype })));
    this.proj_out = new Linear(c.hidden, c.dataDim, { rng, dtype });
    this.config = c;
  }

  /** The embedding e [N, hidden] that every hidden layer adds: noise level plus class. */
  embed(cNoise: Tensor, n: number, cond?: Cond): Tensor {
    const c = cNoise.ndim === 0 ? cNoise.reshape([1]).expand([n]) : cNoise;
    if (c.ndim !== 1 || c.shape[0] !== n) throw new Error(`MlpNet: c_noise of shape ${shapeStr(cNoise.shape)} does not match a batch of ${n}`);
    let e = this.temb.forward(this.config.cNoiseScale === 1 ? c : c.mul(this.config.cNoiseScale));
    if (this.label_emb) e = e.add(this.label_emb.forward(classIndices(cond?.classes, this.config.numClasses, n, e)));
    return e;
  }

  forward(x: Tensor, cNoise: Tensor, cond?: Cond): Tensor {
    const n = x.shape[0]!;
    if (x.ndim < 2 || x.size / n !== this.config.dataDim) throw new Error(`MlpNet: expected input [N, ...] with ${this.config.dataDim} values per item, got ${shapeStr(x.shape)}`);
    const e = this.embed(cNoise, n, cond);
    let h = x.reshape([n, this.config.dataDim]);
    for (const layer of this.layers) h = activate(layer.forward(h).add(e), this.config.activation);
    return this.proj_out.forward(h).reshape(x.shape);
  }
}
