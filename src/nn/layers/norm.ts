/** Normalisation layers: LayerNorm, GroupNorm, BatchNorm1d/2d (weights ones, biases zeros, as PyTorch). */
import { type Tensor, ones, zeros, noGrad } from '../../core/index.ts';
import { shapeStr } from '../../core/shape.ts';
import { Module, parameter, buffer } from '../module.ts';
import * as F from '../functional.ts';

type FloatDType = 'float32' | 'float64';

export interface LayerNormOptions {
  /** Added to the variance for stability (default 1e-5). */
  eps?: number;
  /** Learn a per-element scale and shift (default true). */
  elementwiseAffine?: boolean;
  /** Learn the shift when elementwiseAffine (default true). */
  bias?: boolean;
  dtype?: FloatDType;
}

/** Layer normalisation over the trailing `normalizedShape` dimensions (Ba et al. 2016). */
export class LayerNorm extends Module {
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;
  readonly normalizedShape: number[];
  readonly eps: number;

  constructor(normalizedShape: number | readonly number[], opts: LayerNormOptions = {}) {
    super();
    const shape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
    const affine = opts.elementwiseAffine ?? true;
    const dtype = opts.dtype ?? 'float32';
    this.weight = affine ? parameter(ones(shape, { dtype })) : null;
    this.bias = affine && (opts.bias ?? true) ? parameter(zeros(shape, { dtype })) : null;
    this.normalizedShape = shape;
    this.eps = opts.eps ?? 1e-5;
  }

  forward(x: Tensor): Tensor {
    return F.layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps);
  }
}

export interface GroupNormOptions {
  eps?: number;
  /** Learn a per-channel scale and shift (default true). */
  affine?: boolean;
  dtype?: FloatDType;
}

/** Group normalisation of [N, C, ...] over `numGroups` groups of channels (Wu & He 2018). */
export class GroupNorm extends Module {
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;
  readonly numGroups: number;
  readonly numChannels: number;
  readonly eps: number;

  constructor(numGroups: number, numChannels: number, opts: GroupNormOptions = {}) {
    super();
    if (numChannels % numGroups !== 0) throw new Error(`GroupNorm: numChannels ${numChannels} must be divisible by numGroups ${numGroups}`);
    const affine = opts.affine ?? true;
    const dtype = opts.dtype ?? 'float32';
    this.weight = affine ? parameter(ones([numChannels], { dtype })) : null;
    this.bias = affine ? parameter(zeros([numChannels], { dtype })) : null;
    this.numGroups = numGroups;
    this.numChannels = numChannels;
    this.eps = opts.eps ?? 1e-5;
  }

  forward(x: Tensor): Tensor {
    if (x.shape[1] !== this.numChannels) throw new Error(`GroupNorm: expected ${this.numChannels} channels, got input ${shapeStr(x.shape)}`);
    return F.groupNorm(x, this.numGroups, this.weight, this.bias, this.eps);
  }
}

export interface BatchNormOptions {
  eps?: number;
  /**
   * Weight of the newest batch in the running estimates (default 0.1):
   * running = (1 − momentum)·running + momentum·batch. null: a cumulative (equal-weight) average.
   */
  momentum?: number | null;
  /** Learn a per-channel scale and shift (default true). */
  affine?: boolean;
  /** Keep running estimates for evaluation (default true); otherwise batch statistics are always used. */
  trackRunningStats?: boolean;
  dtype?: FloatDType;
}

/**
 * Batch normalisation (Ioffe & Szegedy 2015) over [N, C, ...]. In training, normalises by the
 * batch statistics and updates `running_mean`, `running_var` (unbiased) and
 * `num_batches_tracked`; in evaluation, uses the running estimates.
 */
abstract class BatchNormBase extends Module {
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;
  readonly running_mean: Tensor | null;
  readonly running_var: Tensor | null;
  readonly num_batches_tracked: Tensor | null;
  readonly numFeatures: number;
  readonly eps: number;
  readonly momentum: number | null;

  constructor(numFeatures: number, opts: BatchNormOptions) {
    super();
    const affine = opts.affine ?? true;
    const track = opts.trackRunningStats ?? true;
    const dtype = opts.dtype ?? 'float32';
    this.weight = affine ? parameter(ones([numFeatures], { dtype })) : null;
    this.bias = affine ? parameter(zeros([numFeatures], { dtype })) : null;
    this.running_mean = track ? buffer(zeros([numFeatures], { dtype })) : null;
    this.running_var = track ? buffer(ones([numFeatures], { dtype })) : null;
    this.num_batches_tracked = track ? buffer(zeros([], { dtype: 'int32' })) : null;
    this.numFeatures = numFeatures;
    this.eps = opts.eps ?? 1e-5;
    this.momentum = opts.momentum === undefined ? 0.1 : opts.momentum;
  }

  protected abstract checkInput(x: Tensor): void;

  forward(x: Tensor): Tensor {
    this.checkInput(x);
    if (x.shape[1] !== this.numFeatures) throw new Error(`${this.constructor.name}: expected ${this.numFeatures} channels, got input ${shapeStr(x.shape)}`);
    const rm = this.running_mean, rv = this.running_var, nbt = this.num_batches_tracked;
    if (!this.training || !rm || !rv || !nbt) return F.batchNorm(x, rm, rv, this.weight, this.bias, this.training, this.momentum ?? 0, this.eps);
    noGrad(() => nbt.assign(nbt.add(1)));
    if (this.momentum !== null) return F.batchNorm(x, rm, rv, this.weight, this.bias, true, this.momentum, this.eps);
    // cumulative moving average: the newest batch weighs 1 / num_batches_tracked
    const C = this.numFeatures;
    const axes = x.shape.map((_, i) => i).filter((i) => i !== 1);
    noGrad(() => {
      const factor = nbt.float().reciprocal().cast(rm.dtype);
      const xd = x.detach();
      rm.assign(rm.add(xd.mean(axes).reshape([C]).sub(rm).mul(factor)));
      rv.assign(rv.add(xd.var(axes).reshape([C]).sub(rv).mul(factor)));
    });
    return F.batchNorm(x, null, null, this.weight, this.bias, true, 0, this.eps);
  }
}

/** BatchNorm over [N, C] or [N, C, L] (statistics per channel C). */
export class BatchNorm1d extends BatchNormBase {
  constructor(numFeatures: number, opts: BatchNormOptions = {}) {
    super(numFeatures, opts);
  }
  protected checkInput(x: Tensor): void {
    if (x.ndim !== 2 && x.ndim !== 3) throw new Error(`BatchNorm1d: expected 2D or 3D input, got ${shapeStr(x.shape)}`);
  }
}

/** BatchNorm over [N, C, H, W] (statistics per channel C). */
export class BatchNorm2d extends BatchNormBase {
  constructor(numFeatures: number, opts: BatchNormOptions = {}) {
    super(numFeatures, opts);
  }
  protected checkInput(x: Tensor): void {
    if (x.ndim !== 4) throw new Error(`BatchNorm2d: expected 4D input, got ${shapeStr(x.shape)}`);
  }
}
