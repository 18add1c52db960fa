/**
 * The DDPM U-Net (Ho et al. 2020, Appendix B) with the cheap refinements of ADM (Dhariwal & Nichol
 * 2021, §3; Nichol & Dhariwal 2021): residual blocks of GroupNorm → SiLU → 3×3 conv with the noise
 * embedding added in each block (or applied as a scale and shift after the second GroupNorm,
 * "AdaGN"), multi-head self-attention at chosen resolutions and in the middle, strided-conv
 * downsampling and nearest-upsample + conv upsampling, skip connections from every encoder stage to
 * the decoder, an optional class embedding with a null class for classifier-free guidance, and
 * dropout. The last convolution of each residual block and attention block, and the output
 * convolution, start at zero (DDPM's `init_scale=1e-10`, ADM's `zero_module`).
 *
 * State-dict keys follow the PyTorch port of DDPM (pesser/pytorch_diffusion, also latent-diffusion's
 * `Model`): `temb.dense.0.weight`, `conv_in.weight`, `down.0.block.1.norm1.weight`,
 * `down.1.attn.0.q.weight`, `down.0.downsample.conv.weight`, `mid.block_1.…`, `mid.attn_1.…`,
 * `up.2.block.0.nin_shortcut.weight`, `up.1.upsample.conv.weight`, `norm_out.…`, `conv_out.…`, plus
 * `label_emb.weight` (ADM's name). `scripts/fixtures/unet_torch.py` is the PyTorch twin, module for
 * module; `up.i` is the decoder stage at the resolution of `down.i`.
 */
import { type Tensor, type Generator, concat, scope, isGradEnabled } from '../../../core/index.ts';
import { shapeStr } from '../../../core/shape.ts';
import { Module } from '../../../nn/module.ts';
import * as F from '../../../nn/functional.ts';
import * as init from '../../../nn/init.ts';
import { Linear, Embedding } from '../../../nn/layers/linear.ts';
import { Conv2d } from '../../../nn/layers/conv.ts';
import { GroupNorm } from '../../../nn/layers/norm.ts';
import { Dropout } from '../../../nn/layers/activation.ts';
import { ModuleList } from '../../../nn/layers/container.ts';
import type { Cond } from '../denoiser.ts';
import { NoiseEmbedding, classIndices, type NoiseFeatures } from './embedding.ts';

/** The U-Net's options: JSON-serialisable, saved as the model's config. */
export interface UNetOptions {
  /** Channels of the input images. Required (createNet takes it from the data). */
  inChannels: number;
  /** Side of the (square) training images; decides where attention goes. Required (from the data). */
  resolution: number;
  /** Channels of the output: inChannels, or 2·inChannels for a learned-variance head (Nichol & Dhariwal 2021). */
  outChannels?: number; // default inChannels
  /** Base channel count; stage i has channels·channelMult[i]. */
  channels?: number; // default 64
  /** Channel multiplier per stage; the image is halved between stages (rounding up). */
  channelMult?: number[]; // default [1, 2, 2]: 28 → 14 → 7 for Fashion-MNIST
  /** Residual blocks per encoder stage (the decoder has one more per stage, for the extra skip). */
  numResBlocks?: number; // default 2
  /** Feature-map sides (pixels) at which blocks are followed by self-attention. */
  attnResolutions?: number[]; // default: the second stage's side (DDPM: 16 for 32×32 images)
  /** Self-attention between the two middle residual blocks. */
  midAttention?: boolean; // default true
  /** Attention heads; every attended channel count must be divisible by it. */
  numHeads?: number; // default 4
  /** Dropout probability inside the residual blocks (training mode only). */
  dropout?: number; // default 0.1 (DDPM's CIFAR-10 setting)
  /** GroupNorm groups, min(numGroups, C) for C channels; must divide every channel count. */
  numGroups?: number; // default 32
  /** ADM's adaptive group norm: the embedding gives a scale and shift after the second norm (else it is added before it). */
  scaleShift?: boolean; // default true
  /** Width of the noise (and class) embedding, as a multiple of `channels`. */
  embedMult?: number; // default 4
  /** c_noise features: 'positional' (sinusoidal, DDPM/ADM) or 'fourier' (random, NCSN++). */
  noiseFeatures?: NoiseFeatures; // default 'positional'
  /** Longest period of the sinusoidal features. */
  maxPeriod?: number; // default 10000
  /** Standard deviation of the Fourier frequencies. */
  fourierScale?: number; // default 16
  /** c_noise is multiplied by this before the features (e.g. 1000 for flow matching's t ∈ [0, 1]). */
  cNoiseScale?: number; // default 1
  /** Number of classes for class conditioning, plus one null class (label −1) for guidance; 0 = unconditional. */
  numClasses?: number; // default 0
}

/** Every option filled in (what `net.config` holds). */
export type UNetConfig = Required<UNetOptions>;

const posInt = (v: number) => Number.isInteger(v) && v > 0;

/** Sides of the feature maps of each stage: halved (rounding up) by each stride-2 convolution. */
export function stageResolutions(resolution: number, stages: number): number[] {
  const out = [resolution];
  for (let i = 1; i < stages; i++) out.push(Math.ceil(out[i - 1]! / 2));
  return out;
}

export function resolveUNetOptions(o: UNetOptions): UNetConfig {
  if (!posInt(o.inChannels)) throw new Error(`UNet: inChannels must be a positive integer, got ${o.inChannels}`);
  if (!posInt(o.resolution)) throw new Error(`UNet: resolution must be a positive integer, got ${o.resolution}`);
  const channelMult = [...(o.channelMult ?? [1, 2, 2])];
  const res = stageResolutions(o.resolution, channelMult.length);
  const c: UNetConfig = {
    inChannels: o.inChannels,
    resolution: o.resolution,
    outChannels: o.outChannels ?? o.inChannels,
    channels: o.channels ?? 64,
    channelMult,
    numResBlocks: o.numResBlocks ?? 2,
    attnResolutions: [...(o.attnResolutions ?? (res.length > 1 ? [res[1]!] : []))],
    midAttention: o.midAttention ?? true,
    numHeads: o.numHeads ?? 4,
    dropout: o.dropout ?? 0.1,
    numGroups: o.numGroups ?? 32,
    scaleShift: o.scaleShift ?? true,
    embedMult: o.embedMult ?? 4,
    noiseFeatures: o.noiseFeatures ?? 'positional',
    maxPeriod: o.maxPeriod ?? 10000,
    fourierScale: o.fourierScale ?? 16,
    cNoiseScale: o.cNoiseScale ?? 1,
    numClasses: o.numClasses ?? 0,
  };
  for (const k of ['outChannels', 'channels', 'numResBlocks', 'numHeads', 'numGroups', 'embedMult'] as const) {
    if (!posInt(c[k])) throw new Error(`UNet: ${k} must be a positive integer, got ${c[k]}`);
  }
  if (channelMult.length === 0 || !channelMult.every(posInt)) throw new Error(`UNet: channelMult must be a non-empty list of positive integers, got ${JSON.stringify(o.channelMult)}`);
  if (!(c.dropout >= 0 && c.dropout < 1)) throw new Error(`UNet: dropout must be in [0, 1), got ${c.dropout}`);
  if (!(Number.isInteger(c.numClasses) && c.numClasses >= 0)) throw new Error(`UNet: numClasses must be a non-negative integer, got ${c.numClasses}`);
  const unknown = c.attnResolutions.filter((r) => !res.includes(r));
  if (unknown.length) throw new Error(`UNet: attnResolutions [${unknown.join(', ')}] are not stage resolutions of a ${o.resolution}×${o.resolution} input (stages: ${res.join(', ')})`);
  return c;
}

interface BlockOptions {
  rng: Generator;
  dtype?: 'float32' | 'float64';
}

/** GroupNorm with min(numGroups, C) groups (so small test networks work with the default 32). */
function groupNorm(channels: number, numGroups: number, o: BlockOptions): GroupNorm {
  const g = Math.min(numGroups, channels);
  if (channels % g !== 0) throw new Error(`UNet: a GroupNorm over ${channels} channels cannot have ${g} groups (choose numGroups dividing every stage's channels and their sums with the skips)`);
  return new GroupNorm(g, channels, { dtype: o.dtype, eps: 1e-6 });
}

function zeroInit(conv: Conv2d): Conv2d {
  init.zeros(conv.weight);
  if (conv.bias) init.zeros(conv.bias);
  return conv;
}

/**
 * Residual block: h = conv1(SiLU(norm1(x))); with scaleShift, h = norm2(h)·(1 + s) + b where
 * [s, b] = temb_proj(SiLU(e)), else h = norm2(h + temb_proj(SiLU(e))); then
 * out = nin_shortcut(x) + conv2(dropout(SiLU(h))). `nin_shortcut` is a 1×1 conv when the channel
 * count changes, absent otherwise.
 */
export class ResBlock extends Module {
  readonly norm1: GroupNorm;
  readonly conv1: Conv2d;
  readonly temb_proj: Linear;
  readonly norm2: GroupNorm;
  readonly dropout: Dropout;
  readonly conv2: Conv2d;
  readonly nin_shortcut: Conv2d | null;
  readonly scaleShift: boolean;
  readonly outChannels: number;

  constructor(inChannels: number, outChannels: number, embDim: number, opts: BlockOptions & { numGroups: number; dropout: number; scaleShift: boolean }) {
    super();
    const o = { rng: opts.rng, dtype: opts.dtype };
    this.norm1 = groupNorm(inChannels, opts.numGroups, o);
    this.conv1 = new Conv2d(inChannels, outChannels, 3, { ...o, padding: 1 });
    this.temb_proj = new Linear(embDim, opts.scaleShift ? 2 * outChannels : outChannels, o);
    this.norm2 = groupNorm(outChannels, opts.numGroups, o);
    this.dropout = new Dropout(opts.dropout, { rng: opts.dropout > 0 ? opts.rng.split() : undefined });
    this.conv2 = zeroInit(new Conv2d(outChannels, outChannels, 3, { ...o, padding: 1 }));
    this.nin_shortcut = inChannels !== outChannels ? new Conv2d(inChannels, outChannels, 1, o) : null;
    this.scaleShift = opts.scaleShift;
    this.outChannels = outChannels;
  }

  forward(x: Tensor, emb: Tensor): Tensor {
    let h = this.conv1.forward(this.norm1.forward(x).silu());
    const e = this.temb_proj.forward(emb.silu()).unsqueeze(-1).unsqueeze(-1); // [N, C or 2C, 1, 1]
    if (this.scaleShift) {
      const [scale, shift] = e.chunk(2, 1) as [Tensor, Tensor];
      h = this.norm2.forward(h).mul(scale.add(1)).add(shift);
    } else {
      h = this.norm2.forward(h.add(e));
    }
    h = this.conv2.forward(this.dropout.forward(h.silu()));
    return (this.nin_shortcut ? this.nin_shortcut.forward(x) : x).add(h);
  }
}

/**
 * Multi-head self-attention over the pixels of [N, C, H, W] (DDPM's AttnBlock with heads):
 * q, k, v and proj_out are 1×1 convolutions; head j uses channels j·C/heads … (j+1)·C/heads − 1;
 * out = x + proj_out(softmax(q kᵀ/√d) v).
 */
export class AttnBlock extends Module {
  readonly norm: GroupNorm;
  readonly q: Conv2d;
  readonly k: Conv2d;
  readonly v: Conv2d;
  readonly proj_out: Conv2d;
  readonly numHeads: number;

  constructor(channels: number, opts: BlockOptions & { numGroups: number; numHeads: number }) {
    super();
    if (channels % opts.numHeads !== 0) throw new Error(`UNet: ${channels} attention channels are not divisible by numHeads ${opts.numHeads}`);
    const o = { rng: opts.rng, dtype: opts.dtype };
    this.norm = groupNorm(channels, opts.numGroups, o);
    this.q = new Conv2d(channels, channels, 1, o);
    this.k = new Conv2d(channels, channels, 1, o);
    this.v = new Conv2d(channels, channels, 1, o);
    this.proj_out = zeroInit(new Conv2d(channels, channels, 1, o));
    this.numHeads = opts.numHeads;
  }

  forward(x: Tensor): Tensor {
    const [N, C, H, W] = x.shape as [number, number, number, number];
    const heads = this.numHeads, d = C / heads;
    const h = this.norm.forward(x);
    // [N, C, H, W] → [N, heads, H·W, d]
    const split = (t: Tensor) => t.reshape([N, heads, d, H * W]).transpose(2, 3);
    const a = F.scaledDotProductAttention(split(this.q.forward(h)), split(this.k.forward(h)), split(this.v.forward(h)));
    return x.add(this.proj_out.forward(a.transpose(2, 3).reshape([N, C, H, W])));
  }
}

/** 3×3 convolution with stride 2 and padding 1: H → ⌈H/2⌉. */
export class Downsample extends Module {
  readonly conv: Conv2d;
  constructor(channels: number, o: BlockOptions) {
    super();
    this.conv = new Conv2d(channels, channels, 3, { ...o, stride: 2, padding: 1 });
  }
  forward(x: Tensor): Tensor {
    return this.conv.forward(x);
  }
}

/** Nearest-neighbour upsampling to the skip's size (2× for even sides), then a 3×3 convolution. */
export class Upsample extends Module {
  readonly conv: Conv2d;
  constructor(channels: number, o: BlockOptions) {
    super();
    this.conv = new Conv2d(channels, channels, 3, { ...o, padding: 1 });
  }
  forward(x: Tensor, size: readonly [number, number]): Tensor {
    return this.conv.forward(F.interpolate(x, { size, mode: 'nearest' }));
  }
}

/** One encoder stage: `block.j`, `attn.j` (where attention is on), `downsample` (all but the last stage). */
export class DownStage extends Module {
  readonly block: ModuleList<ResBlock>;
  readonly attn: ModuleList<AttnBlock>;
  readonly downsample: Downsample | null;
  constructor(block: ResBlock[], attn: AttnBlock[], downsample: Downsample | null) {
    super();
    this.block = new ModuleList(block);
    this.attn = new ModuleList(attn);
    this.downsample = downsample;
  }
  forward(): never {
    throw new Error('DownStage is driven by UNet.forward');
  }
}

/** One decoder stage: `block.j`, `attn.j`, `upsample` (all but the first stage). */
export class UpStage extends Module {
  readonly block: ModuleList<ResBlock>;
  readonly attn: ModuleList<AttnBlock>;
  readonly upsample: Upsample | null;
  constructor(block: ResBlock[], attn: AttnBlock[], upsample: Upsample | null) {
    super();
    this.block = new ModuleList(block);
    this.attn = new ModuleList(attn);
    this.upsample = upsample;
  }
  forward(): never {
    throw new Error('UpStage is driven by UNet.forward');
  }
}

/** The middle: `block_1`, `attn_1` (unless midAttention is off), `block_2`. */
export class MidStage extends Module {
  readonly block_1: ResBlock;
  readonly attn_1: AttnBlock | null;
  readonly block_2: ResBlock;
  constructor(block1: ResBlock, attn1: AttnBlock | null, block2: ResBlock) {
    super();
    this.block_1 = block1;
    this.attn_1 = attn1;
    this.block_2 = block2;
  }
  forward(x: Tensor, emb: Tensor): Tensor {
    let h = this.block_1.forward(x, emb);
    if (this.attn_1) h = this.attn_1.forward(h);
    return this.block_2.forward(h, emb);
  }
}

/**
 * The U-Net: x [N, inChannels, H, W] and c_noise [N] (or a scalar), with optional class labels
 * (int32 [N]; −1 is the null class) → [N, outChannels, H, W]. Any H, W works (odd sides are
 * rounded up when halved and matched back on the way up); attention sits where it was placed for
 * `resolution`.
 */
export class UNet extends Module {
  readonly temb: NoiseEmbedding;
  readonly label_emb: Embedding | null;
  readonly conv_in: Conv2d;
  readonly down: ModuleList<DownStage>;
  readonly mid: MidStage;
  readonly up: ModuleList<UpStage>;
  readonly norm_out: GroupNorm;
  readonly conv_out: Conv2d;
  readonly config: UNetConfig;

  constructor(options: UNetOptions, opts: BlockOptions) {
    super();
    const c = resolveUNetOptions(options);
    const { rng, dtype } = opts;
    const o = { rng, dtype };
    const embDim = c.channels * c.embedMult;
    this.temb = new NoiseEmbedding({
      featureDim: c.channels, embedDim: embDim, features: c.noiseFeatures, maxPeriod: c.maxPeriod,
      fourierScale: c.fourierScale, activation: 'silu', rng, dtype,
    });
    this.label_emb = c.numClasses > 0 ? new Embedding(c.numClasses + 1, embDim, o) : null;
    const blockOpts = { ...o, numGroups: c.numGroups, dropout: c.dropout, scaleShift: c.scaleShift };
    const attnOpts = { ...o, numGroups: c.numGroups, numHeads: c.numHeads };
    const res = stageResolutions(c.resolution, c.channelMult.length);
    const last = c.channelMult.length - 1;

    // encoder: track the channels of every skip connection, in the order they are pushed
    let ch = c.channels * c.channelMult[0]!;
    this.conv_in = new Conv2d(c.inChannels, ch, 3, { ...o, padding: 1 });
    const skips = [ch];
    const down: DownStage[] = [];
    c.channelMult.forEach((mult, i) => {
      const blocks: ResBlock[] = [], attns: AttnBlock[] = [];
      const withAttn = c.attnResolutions.includes(res[i]!);
      for (let j = 0; j < c.numResBlocks; j++) {
        blocks.push(new ResBlock(ch, c.channels * mult, embDim, blockOpts));
        ch = c.channels * mult;
        if (withAttn) attns.push(new AttnBlock(ch, attnOpts));
        skips.push(ch);
      }
      const ds = i < last ? new Downsample(ch, o) : null;
      if (ds) skips.push(ch);
      down.push(new DownStage(blocks, attns, ds));
    });
    this.down = new ModuleList(down);

    this.mid = new MidStage(new ResBlock(ch, ch, embDim, blockOpts), c.midAttention ? new AttnBlock(ch, attnOpts) : null, new ResBlock(ch, ch, embDim, blockOpts));

    // decoder, built from the last stage back to the first; `up.i` mirrors `down.i`
    const up: UpStage[] = [];
    for (let i = last; i >= 0; i--) {
      const blocks: ResBlock[] = [], attns: AttnBlock[] = [];
      const withAttn = c.attnResolutions.includes(res[i]!);
      const outCh = c.channels * c.channelMult[i]!;
      for (let j = 0; j <= c.numResBlocks; j++) {
        blocks.push(new ResBlock(ch + skips.pop()!, outCh, embDim, blockOpts));
        ch = outCh;
        if (withAttn) attns.push(new AttnBlock(ch, attnOpts));
      }
      up[i] = new UpStage(blocks, attns, i > 0 ? new Upsample(ch, o) : null);
    }
    this.up = new ModuleList(up);
    this.norm_out = groupNorm(ch, c.numGroups, o);
    this.conv_out = zeroInit(new Conv2d(ch, c.outChannels, 3, { ...o, padding: 1 }));
    this.config = c;
  }

  /** The embedding [N, channels·embedMult] every residual block receives: noise level plus class. */
  embed(cNoise: Tensor, n: number, cond?: Cond): Tensor {
    const cn = cNoise.ndim === 0 ? cNoise.reshape([1]).expand([n]) : cNoise;
    if (cn.ndim !== 1 || cn.shape[0] !== n) throw new Error(`UNet: c_noise of shape ${shapeStr(cNoise.shape)} does not match a batch of ${n}`);
    let e = this.temb.forward(this.config.cNoiseScale === 1 ? cn : cn.mul(this.config.cNoiseScale));
    if (this.label_emb) e = e.add(this.label_emb.forward(classIndices(cond?.classes, this.config.numClasses, n, e)));
    return e;
  }

  forward(x: Tensor, cNoise: Tensor, cond?: Cond): Tensor {
    if (x.ndim !== 4 || x.shape[1] !== this.config.inChannels) throw new Error(`UNet: expected input [N, ${this.config.inChannels}, H, W], got ${shapeStr(x.shape)}`);
    const emb = this.embed(cNoise, x.shape[0]!, cond);
    const dtype = this.conv_in.weight.dtype;
    let h = this.conv_in.forward(x.dtype === dtype ? x : x.cast(dtype));
    const hs: Tensor[] = [h];
    // Without a graph (sampling), each block's intermediates are freed when it returns, so memory
    // holds the skip activations rather than every tensor of the forward pass.
    const block = (f: () => Tensor): Tensor => (isGradEnabled() ? f() : scope(f));
    for (const stage of this.down) {
      for (let j = 0; j < stage.block.length; j++) {
        h = block(() => stage.block.at(j).forward(h, emb));
        if (stage.attn.length) h = block(() => stage.attn.at(j).forward(h));
        hs.push(h);
      }
      if (stage.downsample) {
        h = stage.downsample.forward(h);
        hs.push(h);
      }
    }
    h = block(() => this.mid.forward(h, emb));
    for (let i = this.up.length - 1; i >= 0; i--) {
      const stage = this.up.at(i);
      for (let j = 0; j < stage.block.length; j++) {
        h = block(() => stage.block.at(j).forward(concat([h, hs.pop()!], 1), emb));
        if (stage.attn.length) h = block(() => stage.attn.at(j).forward(h));
      }
      if (stage.upsample) {
        const skip = hs[hs.length - 1]!;
        h = stage.upsample.forward(h, [skip.shape[2]!, skip.shape[3]!]);
      }
    }
    return this.conv_out.forward(this.norm_out.forward(h).silu());
  }
}
