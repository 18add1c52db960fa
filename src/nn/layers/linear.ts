/** Linear maps, embeddings and shape-only layers. */
import { type Tensor, tensor, where } from '../../core/index.ts';
import { shapeStr } from '../../core/shape.ts';
import { Module, parameter } from '../module.ts';
import * as F from '../functional.ts';
import * as init from '../init.ts';
import type { InitLayerOptions } from './common.ts';

export interface LinearOptions extends InitLayerOptions {
  /** Learn an additive bias (default true). */
  bias?: boolean;
}

/**
 * y = x·Wᵀ + b over the last dimension (torch.nn.Linear). weight [out, in] is drawn from
 * kaimingUniform(a = √5), i.e. U(−1/√in, 1/√in), and bias from U(−1/√in, 1/√in), as PyTorch.
 */
export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly inFeatures: number;
  readonly outFeatures: number;

  constructor(inFeatures: number, outFeatures: number, opts: LinearOptions) {
    super();
    const dtype = opts.dtype ?? 'float32';
    this.weight = parameter(init.kaimingUniform([outFeatures, inFeatures], { rng: opts.rng, dtype, a: Math.sqrt(5) }));
    this.bias = (opts.bias ?? true) ? parameter(fanInUniform([outFeatures], inFeatures, opts)) : null;
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
  }

  forward(x: Tensor): Tensor {
    if (x.shape[x.ndim - 1] !== this.inFeatures) throw new Error(`Linear: expected input [..., ${this.inFeatures}], got ${shapeStr(x.shape)}`);
    return F.linear(x, this.weight, this.bias);
  }
}

/** PyTorch's default bias init for Linear and Conv: U(−1/√fanIn, 1/√fanIn). */
export function fanInUniform(shape: readonly number[], fanIn: number, opts: InitLayerOptions): Tensor {
  const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
  return init.uniform(shape, { rng: opts.rng, dtype: opts.dtype ?? 'float32', low: -bound, high: bound });
}

/** Returns its input (torch.nn.Identity). */
export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}

/** Flattens dimensions startDim…endDim into one (torch.nn.Flatten; defaults 1 and −1). */
export class Flatten extends Module {
  readonly startDim: number;
  readonly endDim: number;
  constructor(opts: { startDim?: number; endDim?: number } = {}) {
    super();
    this.startDim = opts.startDim ?? 1;
    this.endDim = opts.endDim ?? -1;
  }
  forward(x: Tensor): Tensor {
    return x.flatten(this.startDim, this.endDim);
  }
}

/** Expands dimension `dim` into `sizes` (torch.nn.Unflatten). */
export class Unflatten extends Module {
  constructor(readonly dim: number, readonly sizes: readonly number[]) {
    super();
  }
  forward(x: Tensor): Tensor {
    const d = this.dim < 0 ? this.dim + x.ndim : this.dim;
    return x.reshape([...x.shape.slice(0, d), ...this.sizes, ...x.shape.slice(d + 1)]);
  }
}

export interface EmbeddingOptions extends InitLayerOptions {
  /** This row is initialised to zeros and receives no gradient (a padding token). */
  paddingIdx?: number | null;
}

/**
 * A lookup table (torch.nn.Embedding): int32 indices of any shape → [...shape, embeddingDim].
 * weight [numEmbeddings, embeddingDim] ~ N(0, 1), with the padding row zeroed.
 */
export class Embedding extends Module {
  readonly weight: Tensor;
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  readonly paddingIdx: number | null;

  constructor(numEmbeddings: number, embeddingDim: number, opts: EmbeddingOptions) {
    super();
    let pad = opts.paddingIdx ?? null;
    if (pad !== null) {
      if (!Number.isInteger(pad) || pad >= numEmbeddings || pad < -numEmbeddings) throw new Error(`Embedding: paddingIdx ${pad} must be within num_embeddings ${numEmbeddings}`);
      if (pad < 0) pad += numEmbeddings;
    }
    const dtype = opts.dtype ?? 'float32';
    const values = opts.rng.normal(numEmbeddings * embeddingDim);
    if (pad !== null) values.fill(0, pad * embeddingDim, (pad + 1) * embeddingDim);
    const w = tensor(values, { shape: [numEmbeddings, embeddingDim], dtype });
    this.weight = parameter(w);
    this.numEmbeddings = numEmbeddings;
    this.embeddingDim = embeddingDim;
    this.paddingIdx = pad;
  }

  forward(index: Tensor): Tensor {
    if (index.dtype !== 'int32') throw new Error(`Embedding: indices must be int32, got ${index.dtype}`);
    const rows = this.weight.indexSelect(0, index.reshape([-1])).reshape([...index.shape, this.embeddingDim]);
    if (this.paddingIdx === null || !rows.requiresGrad) return rows;
    // the padding row passes its value but no gradient
    return where(index.eq(this.paddingIdx).unsqueeze(-1), rows.detach(), rows);
  }
}
