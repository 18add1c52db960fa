/** Pooling and resampling layers (torch.nn.MaxPool2d, AvgPool2d, MaxPool1d, AvgPool1d, Upsample). */
import type { Tensor } from '../../core/index.ts';
import { Module } from '../module.ts';
import * as F from '../functional.ts';
import { type Pair, pair } from './common.ts';

export interface Pool2dOptions {
  /** Default: the kernel size. */
  stride?: Pair;
  /** Implicit padding on both sides (−∞ for max, 0 for average), at most half the kernel. */
  padding?: Pair;
}

/** Maximum over kernel windows of [N, C, H, W]. */
export class MaxPool2d extends Module {
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  constructor(kernelSize: Pair, opts: Pool2dOptions & { dilation?: Pair } = {}) {
    super();
    this.kernelSize = pair(kernelSize);
    this.stride = pair(opts.stride ?? kernelSize);
    this.padding = pair(opts.padding ?? 0);
    this.dilation = pair(opts.dilation ?? 1);
  }
  forward(x: Tensor): Tensor {
    return F.maxPool2d(x, this.kernelSize, { stride: this.stride, padding: this.padding, dilation: this.dilation });
  }
}

/** Mean over kernel windows of [N, C, H, W]; padded cells count (PyTorch's count_include_pad=True). */
export class AvgPool2d extends Module {
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  constructor(kernelSize: Pair, opts: Pool2dOptions = {}) {
    super();
    this.kernelSize = pair(kernelSize);
    this.stride = pair(opts.stride ?? kernelSize);
    this.padding = pair(opts.padding ?? 0);
  }
  forward(x: Tensor): Tensor {
    return F.avgPool2d(x, this.kernelSize, { stride: this.stride, padding: this.padding });
  }
}

abstract class Pool1d extends Module {
  readonly stride: number;
  readonly padding: number;
  constructor(readonly kernelSize: number, opts: { stride?: number; padding?: number } = {}) {
    super();
    this.stride = opts.stride ?? kernelSize;
    this.padding = opts.padding ?? 0;
  }
}

/** Maximum over windows of [N, C, L]. */
export class MaxPool1d extends Pool1d {
  forward(x: Tensor): Tensor {
    return F.maxPool1d(x, this.kernelSize, { stride: this.stride, padding: this.padding });
  }
}

/** Mean over windows of [N, C, L] (padded cells count). */
export class AvgPool1d extends Pool1d {
  forward(x: Tensor): Tensor {
    return F.avgPool1d(x, this.kernelSize, { stride: this.stride, padding: this.padding });
  }
}

export interface UpsampleOptions {
  /** Output [H, W]; give this or scaleFactor. */
  size?: readonly [number, number];
  /** Multiplier of H and W. */
  scaleFactor?: number;
  /** 'nearest' (default) or 'bilinear'. */
  mode?: 'nearest' | 'bilinear';
  /** Bilinear only: map corner pixel centres onto each other (default false, as PyTorch). */
  alignCorners?: boolean;
}

/** Resize [N, C, H, W] by nearest-neighbour or bilinear interpolation (torch.nn.Upsample). */
export class Upsample extends Module {
  readonly size: readonly [number, number] | undefined;
  readonly scaleFactor: number | undefined;
  readonly mode: 'nearest' | 'bilinear';
  readonly alignCorners: boolean;
  constructor(opts: UpsampleOptions) {
    super();
    if ((opts.size === undefined) === (opts.scaleFactor === undefined)) throw new Error('Upsample: give exactly one of size and scaleFactor');
    this.size = opts.size;
    this.scaleFactor = opts.scaleFactor;
    this.mode = opts.mode ?? 'nearest';
    this.alignCorners = opts.alignCorners ?? false;
  }
  forward(x: Tensor): Tensor {
    return F.interpolate(x, { size: this.size, scaleFactor: this.scaleFactor, mode: this.mode, alignCorners: this.alignCorners });
  }
}
