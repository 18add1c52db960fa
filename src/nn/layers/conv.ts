/**
 * Convolutions (torch.nn.Conv1d/Conv2d/ConvTranspose1d/ConvTranspose2d). Weights are
 * [out, in/groups, ...kernel] (transposed: [in, out/groups, ...kernel]), drawn as PyTorch does:
 * kaimingUniform(a = √5) — U(−1/√fanIn, 1/√fanIn) — and the bias from U(−1/√fanIn, 1/√fanIn),
 * with fanIn = weight.shape[1]·∏kernel.
 */
import { type Tensor, concat } from '../../core/index.ts';
import { pad as constantPad } from '../../core/ops.ts';
import { shapeStr } from '../../core/shape.ts';
import { Module, parameter } from '../module.ts';
import * as F from '../functional.ts';
import * as init from '../init.ts';
import type { InitLayerOptions } from './common.ts';
import { fanInUniform } from './linear.ts';

/** One number for every spatial dimension, or one per dimension. */
export type Size = number | readonly number[];
export type PaddingMode = 'zeros' | 'reflect' | 'replicate' | 'circular';

export interface ConvLayerOptions extends InitLayerOptions {
  stride?: Size;
  /** Zero-padding on both sides of each spatial dimension, or 'same' (stride 1) / 'valid' (none). */
  padding?: Size | 'same' | 'valid';
  dilation?: Size;
  groups?: number;
  bias?: boolean;
  /** How the padding is filled (default 'zeros'). */
  paddingMode?: PaddingMode;
}

export interface ConvTransposeLayerOptions extends InitLayerOptions {
  stride?: Size;
  /** dilation·(kernel − 1) − padding zeros are added to both sides of the input (PyTorch's meaning). */
  padding?: Size;
  /** Extra size added to one side of the output, to pick among the shapes a strided conv maps to the input's. */
  outputPadding?: Size;
  dilation?: Size;
  groups?: number;
  bias?: boolean;
}

function tuple(v: Size, nd: number, what: string): number[] {
  const t = typeof v === 'number' ? Array.from({ length: nd }, () => v) : [...v];
  if (t.length !== nd || t.some((x) => !Number.isInteger(x) || x < 0)) throw new Error(`${what}: expected ${nd} non-negative integer(s), got ${JSON.stringify(v)}`);
  return t;
}

function checkGroups(name: string, inC: number, outC: number, groups: number): void {
  if (!Number.isInteger(groups) || groups < 1 || inC % groups !== 0 || outC % groups !== 0) {
    throw new Error(`${name}: in_channels ${inC} and out_channels ${outC} must both be divisible by groups ${groups}`);
  }
}

/**
 * Pad the trailing spatial dimensions: `pads[i] = [left, right]` for spatial dimension i (in
 * order), filled as `mode` says — torch.nn.functional.pad's reflect/replicate/circular.
 */
export function padSpatial(x: Tensor, pads: readonly (readonly [number, number])[], mode: PaddingMode): Tensor {
  const nd = pads.length;
  if (mode === 'zeros') return constantPad(x, pads.slice().reverse().flatMap(([l, r]) => [l, r]));
  let y = x;
  pads.forEach(([l, r], i) => {
    const d = x.ndim - nd + i;
    const n = y.shape[d]!;
    if (l === 0 && r === 0) return;
    let left: Tensor, right: Tensor;
    if (mode === 'reflect') {
      if (l >= n || r >= n) throw new Error(`pad: reflect padding (${l}, ${r}) must be smaller than the dimension ${n}`);
      left = y.slice(d, 1, 1 + l).flip(d);
      right = y.slice(d, n - 1 - r, n - 1).flip(d);
    } else if (mode === 'replicate') {
      const ls = [...y.shape], rs = [...y.shape];
      ls[d] = l;
      rs[d] = r;
      left = y.slice(d, 0, 1).expand(ls);
      right = y.slice(d, n - 1, n).expand(rs);
    } else {
      if (l > n || r > n) throw new Error(`pad: circular padding (${l}, ${r}) must be at most the dimension ${n}`);
      left = y.slice(d, n - l, n);
      right = y.slice(d, 0, r);
    }
    y = concat([left, y, right].filter((t) => t.shape[d]! > 0), d);
  });
  return y;
}

/** What ConvNd and ConvTransposeNd share: checked sizes and PyTorch's default initialisation. */
function convCommon(name: string, nd: number, inChannels: number, outChannels: number, kernelSize: Size, opts: ConvLayerOptions | ConvTransposeLayerOptions, transposed: boolean) {
  const groups = opts.groups ?? 1;
  checkGroups(name, inChannels, outChannels, groups);
  const k = tuple(kernelSize, nd, `${name} kernelSize`);
  const stride = tuple(opts.stride ?? 1, nd, `${name} stride`);
  const dilation = tuple(opts.dilation ?? 1, nd, `${name} dilation`);
  const wShape = transposed ? [inChannels, outChannels / groups, ...k] : [outChannels, inChannels / groups, ...k];
  const fanIn = init.fanInAndFanOut(wShape).fanIn;
  const weight = parameter(init.kaimingUniform(wShape, { rng: opts.rng, dtype: opts.dtype ?? 'float32', a: Math.sqrt(5) }));
  const bias = (opts.bias ?? true) ? parameter(fanInUniform([outChannels], fanIn, opts)) : null;
  return { groups, k, stride, dilation, weight, bias };
}

/** Batch an unbatched input ([C, ...spatial]) for the duration of `fn`. */
function batched(x: Tensor, nd: number, name: string, fn: (xb: Tensor) => Tensor): Tensor {
  if (x.ndim === nd + 2) return fn(x);
  if (x.ndim === nd + 1) return fn(x.unsqueeze(0)).squeeze(0);
  throw new Error(`${name}: expected input of ${nd + 2} dimensions [N, C, ...] (or ${nd + 1} unbatched), got ${shapeStr(x.shape)}`);
}

abstract class ConvNd extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: number[];
  readonly stride: number[];
  readonly dilation: number[];
  readonly groups: number;
  readonly paddingMode: PaddingMode;
  /** [left, right] padding for each spatial dimension. */
  protected readonly pads: [number, number][];

  constructor(private readonly nd: 1 | 2, inChannels: number, outChannels: number, kernelSize: Size, opts: ConvLayerOptions) {
    super();
    const name = `Conv${nd}d`;
    const { groups, k, stride, dilation, weight, bias } = convCommon(name, nd, inChannels, outChannels, kernelSize, opts, false);
    const padding = opts.padding ?? 0;
    let pads: [number, number][];
    if (padding === 'valid') pads = k.map(() => [0, 0]);
    else if (padding === 'same') {
      if (stride.some((s) => s !== 1)) throw new Error(`${name}: padding 'same' needs stride 1`);
      pads = k.map((kk, i) => {
        const total = dilation[i]! * (kk - 1);
        return [Math.floor(total / 2), total - Math.floor(total / 2)];
      });
    } else pads = tuple(padding, nd, `${name} padding`).map((p) => [p, p]);
    this.weight = weight;
    this.bias = bias;
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = k;
    this.stride = stride;
    this.dilation = dilation;
    this.groups = groups;
    this.paddingMode = opts.paddingMode ?? 'zeros';
    this.pads = pads;
  }

  forward(x: Tensor): Tensor {
    const name = `Conv${this.nd}d`;
    return batched(x, this.nd, name, (xb) => {
      if (xb.shape[1] !== this.inChannels) throw new Error(`${name}: expected ${this.inChannels} input channels, got input ${shapeStr(xb.shape)}`);
      const symmetric = this.pads.every(([l, r]) => l === r);
      let padding = this.pads.map(([l]) => l);
      if (this.paddingMode !== 'zeros' || !symmetric) {
        xb = padSpatial(xb, this.pads, this.paddingMode);
        padding = padding.map(() => 0);
      }
      const o = { stride: this.stride, padding, dilation: this.dilation, groups: this.groups };
      return this.nd === 1
        ? F.conv1d(xb, this.weight, this.bias, { stride: o.stride[0], padding: o.padding[0], dilation: o.dilation[0], groups: o.groups })
        : F.conv2d(xb, this.weight, this.bias, { stride: pairOf(o.stride), padding: pairOf(o.padding), dilation: pairOf(o.dilation), groups: o.groups });
    });
  }
}

const pairOf = (v: number[]): [number, number] => [v[0]!, v[1]!];

/** 1-D convolution over [N, C, L] (or unbatched [C, L]). */
export class Conv1d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: Size, opts: ConvLayerOptions) {
    super(1, inChannels, outChannels, kernelSize, opts);
  }
}

/** 2-D convolution over [N, C, H, W] (or unbatched [C, H, W]). */
export class Conv2d extends ConvNd {
  constructor(inChannels: number, outChannels: number, kernelSize: Size, opts: ConvLayerOptions) {
    super(2, inChannels, outChannels, kernelSize, opts);
  }
}

abstract class ConvTransposeNd extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: number[];
  readonly stride: number[];
  readonly padding: number[];
  readonly outputPadding: number[];
  readonly dilation: number[];
  readonly groups: number;

  constructor(private readonly nd: 1 | 2, inChannels: number, outChannels: number, kernelSize: Size, opts: ConvTransposeLayerOptions) {
    super();
    const name = `ConvTranspose${nd}d`;
    const { groups, k, stride, dilation, weight, bias } = convCommon(name, nd, inChannels, outChannels, kernelSize, opts, true);
    const outputPadding = tuple(opts.outputPadding ?? 0, nd, `${name} outputPadding`);
    if (outputPadding.some((p, i) => p >= Math.max(stride[i]!, dilation[i]!))) throw new Error(`${name}: outputPadding must be smaller than either stride or dilation`);
    this.weight = weight;
    this.bias = bias;
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = k;
    this.stride = stride;
    this.padding = tuple(opts.padding ?? 0, nd, `${name} padding`);
    this.outputPadding = outputPadding;
    this.dilation = dilation;
    this.groups = groups;
  }

  forward(x: Tensor): Tensor {
    const name = `ConvTranspose${this.nd}d`;
    return batched(x, this.nd, name, (xb) => {
      if (xb.shape[1] !== this.inChannels) throw new Error(`${name}: expected ${this.inChannels} input channels, got input ${shapeStr(xb.shape)}`);
      return this.nd === 1
        ? F.convTranspose1d(xb, this.weight, this.bias, { stride: this.stride[0], padding: this.padding[0], dilation: this.dilation[0], groups: this.groups, outputPadding: this.outputPadding[0] })
        : F.convTranspose2d(xb, this.weight, this.bias, { stride: pairOf(this.stride), padding: pairOf(this.padding), dilation: pairOf(this.dilation), groups: this.groups, outputPadding: pairOf(this.outputPadding) });
    });
  }
}

/** Transposed 1-D convolution over [N, Cin, L]; weight [Cin, Cout/groups, k]. */
export class ConvTranspose1d extends ConvTransposeNd {
  constructor(inChannels: number, outChannels: number, kernelSize: Size, opts: ConvTransposeLayerOptions) {
    super(1, inChannels, outChannels, kernelSize, opts);
  }
}

/** Transposed 2-D convolution over [N, Cin, H, W]; weight [Cin, Cout/groups, kh, kw]. */
export class ConvTranspose2d extends ConvTransposeNd {
  constructor(inChannels: number, outChannels: number, kernelSize: Size, opts: ConvTransposeLayerOptions) {
    super(2, inChannels, outChannels, kernelSize, opts);
  }
}
