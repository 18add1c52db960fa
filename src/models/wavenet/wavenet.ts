/**
 * WaveNet (van den Oord et al. 2016, "WaveNet: A Generative Model for Raw Audio"): an
 * autoregressive model of μ-law audio levels,
 *
 *     p(x) = ∏ₜ p(xₜ | x₁, …, xₜ₋₁)                                        (eq. 1)
 *
 * with each factor a 256-way softmax computed by a stack of causal dilated convolutions.
 *
 *   input      the one-hot levels, shifted one step right (so output t sees x_{<t} only), then a
 *              1×1 convolution to `residualChannels` (for integer levels: an embedding lookup)
 *   layer k    z = tanh(W_f ∗_d h) ⊙ σ(W_g ∗_d h)                          (eq. 2, gated unit)
 *              with ∗_d a causal convolution of kernel 2 and dilation d = 2^(k mod L);
 *              h ← h + W_r z (residual), skip_k = W_s z (skip)              (§2.4, Fig. 4)
 *   output     logits = W₂ · ReLU(W₁ · ReLU(Σₖ skip_k + b₁)) + b₂ over 256 levels
 *
 * Dilations run 1, 2, 4, …, 2^(L−1) and repeat in `stacks` stacks, so the prediction of xₜ sees
 * the `receptiveField` = 1 + stacks·(2^L − 1) samples before it. The convolution weights have
 * PyTorch's Conv1d layout ([out, in, kernel]), so state-dict keys read `layers.3.dilated.conv.weight`.
 */
import { type Tensor, type Generator, concat, oneHot } from '../../core/index.ts';
import { pad } from '../../core/ops.ts';
import { shapeStr } from '../../core/shape.ts';
import { Module } from '../../nn/module.ts';
import { Conv1d } from '../../nn/layers/conv.ts';
import { ModuleList } from '../../nn/layers/container.ts';
import * as F from '../../nn/functional.ts';

export interface WaveNetConfig {
  /** Number of quantisation levels of the softmax (μ + 1; 256 for 8-bit μ-law). */
  quantization: number;
  /** How many times the dilation pattern 1, 2, …, 2^(L−1) repeats. */
  stacks: number;
  /** L: dilated layers per stack (dilations 2⁰ … 2^(L−1)). */
  layersPerStack: number;
  /** Channels of the residual stream. */
  residualChannels: number;
  /** Channels of each gated unit (the tanh half and the sigmoid half each have this many). */
  gateChannels: number;
  /** Channels of the skip connections and of the output stack. */
  skipChannels: number;
}

/** Clear errors for a bad config (names the field and what was expected). */
export function checkWaveNetConfig(c: WaveNetConfig): void {
  const pos = (k: keyof WaveNetConfig, min = 1) => {
    const v = c[k];
    if (!Number.isInteger(v) || v < min) throw new Error(`wavenet: config.${k} must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
  };
  pos('quantization', 2);
  pos('stacks');
  pos('layersPerStack');
  pos('residualChannels');
  pos('gateChannels');
  pos('skipChannels');
  if (c.layersPerStack > 16) throw new Error(`wavenet: config.layersPerStack must be at most 16 (dilation 2^15), got ${c.layersPerStack}`);
}

/** Causal convolution of kernel 2: out[t] = W[:, :, 0]·h[t − d] + W[:, :, 1]·h[t] + b, zeros before t = 0. */
export class CausalConv1d extends Module {
  readonly conv: Conv1d;
  constructor(inChannels: number, outChannels: number, readonly dilation: number, opts: { rng: Generator }) {
    super();
    this.conv = new Conv1d(inChannels, outChannels, 2, { rng: opts.rng, dilation });
  }
  forward(h: Tensor): Tensor {
    return this.conv.forward(pad(h, [this.dilation, 0]));
  }
}

/** One residual layer: dilated causal conv → gated tanh·sigmoid unit → residual and skip 1×1 convs. */
export class ResidualLayer extends Module {
  readonly dilated: CausalConv1d;
  readonly res: Conv1d;
  readonly skip: Conv1d;
  constructor(residualChannels: number, gateChannels: number, skipChannels: number, readonly dilation: number, opts: { rng: Generator }) {
    super();
    this.dilated = new CausalConv1d(residualChannels, 2 * gateChannels, dilation, opts);
    this.res = new Conv1d(gateChannels, residualChannels, 1, opts);
    this.skip = new Conv1d(gateChannels, skipChannels, 1, opts);
  }
  /** The gated activation z = tanh(filter) ⊙ σ(gate) from the conv's 2G channels (axis 1). */
  static gate(zfg: Tensor, axis = 1): Tensor {
    const [f, g] = zfg.chunk(2, axis) as [Tensor, Tensor];
    return f.tanh().mul(g.sigmoid());
  }
  forward(h: Tensor): { h: Tensor; skip: Tensor } {
    const z = ResidualLayer.gate(this.dilated.forward(h));
    return { h: h.add(this.res.forward(z)), skip: this.skip.forward(z) };
  }
}

export class WaveNet extends Module {
  readonly config: WaveNetConfig;
  /** 1×1 convolution of the (shifted) one-hot input: an embedding of the previous level. */
  readonly input: Conv1d;
  readonly layers: ModuleList<ResidualLayer>;
  readonly out1: Conv1d;
  readonly out2: Conv1d;

  constructor(config: WaveNetConfig, opts: { rng: Generator }) {
    super();
    checkWaveNetConfig(config);
    this.config = { ...config };
    const { quantization: Q, residualChannels: R, gateChannels: G, skipChannels: S } = config;
    this.input = new Conv1d(Q, R, 1, opts);
    this.layers = new ModuleList<ResidualLayer>();
    for (const d of this.dilations) this.layers.append(new ResidualLayer(R, G, S, d, opts));
    this.out1 = new Conv1d(S, S, 1, opts);
    this.out2 = new Conv1d(S, Q, 1, opts);
  }

  /** The dilation of every layer, in order: (1, 2, …, 2^(L−1)) × stacks. */
  get dilations(): number[] {
    const { stacks, layersPerStack } = this.config;
    return Array.from({ length: stacks * layersPerStack }, (_, i) => 2 ** (i % layersPerStack));
  }

  /** How many past samples the prediction of xₜ depends on: 1 + Σ dilations. */
  get receptiveField(): number {
    return 1 + this.dilations.reduce((a, b) => a + b, 0);
  }

  /**
   * Logits [N, Q, T] from a float input [N, Q, T] (one-hot levels, or any relaxation of them):
   * logits[:, :, t] parameterise p(xₜ | x_{<t}) and depend on input[:, :, s] for s < t only.
   */
  forward(x: Tensor): Tensor {
    const Q = this.config.quantization;
    if (x.ndim !== 3 || x.shape[1] !== Q) throw new Error(`WaveNet: expected input [N, ${Q}, T], got ${shapeStr(x.shape)}`);
    const shifted = pad(x, [1, -1]); // x[t−1] at position t, zeros at t = 0
    return this.trunk(this.input.forward(shifted));
  }

  /** Logits [N, Q, T] of integer levels [N, T] (int32): the same as forward(oneHot), by lookup. */
  logits(levels: Tensor): Tensor {
    const Q = this.config.quantization;
    if (levels.ndim !== 2 || levels.dtype !== 'int32') throw new Error(`WaveNet: expected int32 levels [N, T], got ${levels.dtype} ${shapeStr(levels.shape)}`);
    return this.trunk(this.embedShifted(levels, Q));
  }

  /** Input 1×1 conv of the shifted one-hot levels, by lookup: [N, R, T]. */
  private embedShifted(levels: Tensor, Q: number): Tensor {
    const [N, T] = levels.shape as [number, number];
    const R = this.config.residualChannels;
    const table = this.input.weight.reshape([R, Q]).mT; // [Q, R]
    const bias = this.input.bias!.reshape([1, R, 1]);
    if (T === 1) return bias.expand([N, R, 1]);
    const prev = levels.slice(1, 0, T - 1).flatten();
    const emb = table.indexSelect(0, prev).reshape([N, T - 1, R]).permute(0, 2, 1).add(bias); // [N, R, T−1]
    return concat([bias.expand([N, R, 1]), emb], 2);
  }

  private trunk(h0: Tensor): Tensor {
    let h = h0;
    let skips: Tensor | null = null;
    for (const layer of this.layers) {
      const o = layer.forward(h);
      h = o.h;
      skips = skips ? skips.add(o.skip) : o.skip;
    }
    return this.out2.forward(this.out1.forward(skips!.relu()).relu());
  }

  /** log p(xₜ | x_{<t}) for every position: [N, T] in nats. */
  logProbs(levels: Tensor): Tensor {
    const lp = this.logits(levels).logSoftmax(1); // [N, Q, T]
    return lp.gather(1, levels.unsqueeze(1)).squeeze(1);
  }

  /** The same as `forward` on one-hot levels (for checks against `logits`). */
  forwardOneHot(levels: Tensor): Tensor {
    return this.forward(oneHot(levels, this.config.quantization).permute(0, 2, 1));
  }
}

/** Mean negative log-likelihood per sample in nats of integer levels [N, T] (the training loss). */
export function waveNetLoss(net: WaveNet, levels: Tensor): Tensor {
  const [N, T] = levels.shape as [number, number];
  const logits = net.logits(levels).permute(0, 2, 1).reshape([N * T, net.config.quantization]);
  return F.crossEntropy(logits, levels.flatten());
}

/** Nats per sample → bits per sample. */
export const bitsPerSample = (nats: number): number => nats / Math.LN2;
