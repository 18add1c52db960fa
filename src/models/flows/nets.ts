/**
 * Conditioner networks of coupling layers and split priors: an MLP for vectors and Glow's
 * three-convolution network for images, both with a zero-initialised last layer so that every
 * coupling starts as the identity (Kingma & Dhariwal 2018, Sec. 3.3: "we initialize the last
 * convolution of each NN() with zeros, such that each affine coupling layer initially performs an
 * identity function; we found that this helps training very deep networks").
 *
 * A context (a class one-hot, a conditioning vector [N, k]) is concatenated to the input: as
 * features for the MLP, as k constant channels for the convolutional networks.
 */
import { type Tensor, type Generator, concat, zeros } from '../../core/index.ts';
import { shapeStr } from '../../core/shape.ts';
import { Module, parameter } from '../../nn/module.ts';
import { Linear } from '../../nn/layers/linear.ts';
import { Conv2d } from '../../nn/layers/conv.ts';
import { ModuleList } from '../../nn/layers/container.ts';
import * as init from '../../nn/init.ts';

export type Activation = 'relu' | 'tanh' | 'elu' | 'silu' | 'leakyRelu';

export function activate(x: Tensor, a: Activation): Tensor {
  switch (a) {
    case 'relu': return x.relu();
    case 'tanh': return x.tanh();
    case 'elu': return x.elu();
    case 'silu': return x.silu();
    case 'leakyRelu': return x.leakyRelu(0.01);
  }
}

export interface NetOptions {
  rng: Generator;
  dtype?: 'float32' | 'float64';
}

/** A network that maps [N, ...] (and an optional context) to [N, ...]: what couplings call. */
export interface Conditioner extends Module {
  forward(x: Tensor, ctx?: Tensor | null): Tensor;
}

/** Join a context to the input: features for [N, D] inputs, constant channels for [N, C, H, W]. */
export function withContext(x: Tensor, ctx: Tensor | null | undefined): Tensor {
  if (!ctx) return x;
  if (ctx.shape[0] !== x.shape[0]) throw new Error(`context has ${ctx.shape[0]} rows for a batch of ${x.shape[0]}`);
  if (x.ndim === 2) return concat([x, ctx.reshape([ctx.shape[0]!, -1]).cast(x.dtype)], 1);
  if (x.ndim === 4) {
    const c = ctx.ndim === 4 ? ctx : ctx.reshape([ctx.shape[0]!, -1, 1, 1]).expand([ctx.shape[0]!, -1, x.shape[2]!, x.shape[3]!]);
    return concat([x, c.cast(x.dtype)], 1);
  }
  throw new Error(`context: expected an input [N, D] or [N, C, H, W], got ${shapeStr(x.shape)}`);
}

export interface MLPOptions extends NetOptions {
  /** Hidden-layer activation (default relu). */
  activation?: Activation;
  /** Initialise the last layer to zeros (default true: the coupling starts as the identity). */
  zeroLast?: boolean;
}

/**
 * Fully connected conditioner: in (+ context) → hidden… → out, layers in `layers.0…` (Linear).
 */
export class MLP extends Module implements Conditioner {
  readonly layers: ModuleList<Linear>;
  readonly activation: Activation;
  constructor(inFeatures: number, hidden: readonly number[], outFeatures: number, opts: MLPOptions & { contextFeatures?: number }) {
    super();
    const sizes = [inFeatures + (opts.contextFeatures ?? 0), ...hidden, outFeatures];
    this.layers = new ModuleList(sizes.slice(1).map((o, i) => new Linear(sizes[i]!, o, { rng: opts.rng, dtype: opts.dtype })));
    this.activation = opts.activation ?? 'relu';
    if (opts.zeroLast ?? true) {
      const last = this.layers.at(-1);
      init.zeros(last.weight);
      if (last.bias) init.zeros(last.bias);
    }
  }
  forward(x: Tensor, ctx?: Tensor | null): Tensor {
    let h = withContext(x, ctx);
    const n = this.layers.length;
    for (let i = 0; i < n; i++) {
      h = this.layers.at(i).forward(h);
      if (i < n - 1) h = activate(h, this.activation);
    }
    return h;
  }
}

/**
 * Glow's zero-initialised output convolution ("Conv2dZeros"): y = (W ∗ x + b) · exp(3·logs), with
 * W, b and the per-channel logs all starting at zero (openai/glow, model.py `conv2d_zeros`).
 */
export class ZeroConv2d extends Module {
  readonly conv: Conv2d;
  readonly logs: Tensor;
  /** The factor on logs (Glow's logscale_factor). */
  static readonly logscaleFactor = 3;
  constructor(inChannels: number, outChannels: number, opts: NetOptions & { kernelSize?: number }) {
    super();
    const k = opts.kernelSize ?? 3;
    this.conv = new Conv2d(inChannels, outChannels, k, { rng: opts.rng, dtype: opts.dtype, padding: (k - 1) / 2 });
    init.zeros(this.conv.weight);
    init.zeros(this.conv.bias!);
    this.logs = parameter(zeros([outChannels], { dtype: opts.dtype ?? 'float32' }));
  }
  forward(x: Tensor): Tensor {
    return this.conv.forward(x).mul(this.logs.mul(ZeroConv2d.logscaleFactor).exp().reshape([1, -1, 1, 1]));
  }
}

export interface ConvNetOptions extends NetOptions {
  /** Hidden channels (Glow: 512). */
  hidden: number;
  /** Residual blocks of two 3×3 convolutions between the first and last convolution (0: Glow's NN()). */
  blocks?: number;
  /** Context channels concatenated to the input. */
  contextChannels?: number;
}

/**
 * Glow's coupling network NN(): 3×3 conv → ReLU → 1×1 conv → ReLU → zero-initialised 3×3 conv
 * (Kingma & Dhariwal 2018, Sec. 3.3 and Appendix). With `blocks` > 0, residual blocks
 * (ReLU → 3×3 → ReLU → 3×3, plus the skip) follow the first convolution, as the ResNet conditioners
 * of RealNVP (Dinh et al. 2017, Sec. 4.1) without their batch and weight normalisation.
 */
export class ConvNet extends Module implements Conditioner {
  readonly inConv: Conv2d;
  readonly blocks: ModuleList<Conv2d>;
  readonly midConv: Conv2d;
  readonly outConv: ZeroConv2d;
  constructor(inChannels: number, outChannels: number, opts: ConvNetOptions) {
    super();
    const h = opts.hidden;
    const o = { rng: opts.rng, dtype: opts.dtype };
    this.inConv = new Conv2d(inChannels + (opts.contextChannels ?? 0), h, 3, { ...o, padding: 1 });
    this.blocks = new ModuleList(Array.from({ length: 2 * (opts.blocks ?? 0) }, () => new Conv2d(h, h, 3, { ...o, padding: 1 })));
    this.midConv = new Conv2d(h, h, 1, o);
    this.outConv = new ZeroConv2d(h, outChannels, o);
  }
  forward(x: Tensor, ctx?: Tensor | null): Tensor {
    let h = this.inConv.forward(withContext(x, ctx));
    for (let i = 0; i < this.blocks.length; i += 2) {
      const r = this.blocks.at(i + 1).forward(this.blocks.at(i).forward(h.relu()).relu());
      h = h.add(r);
    }
    h = this.midConv.forward(h.relu()).relu();
    return this.outConv.forward(h);
  }
}
