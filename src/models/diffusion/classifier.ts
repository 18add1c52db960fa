/**
 * A noise-conditional classifier p_φ(y | x, σ) for classifier guidance (Dhariwal & Nichol 2021,
 * §4 and Appendix: the "encoder half of the U-Net" classifier, trained on noisy images with the
 * diffusion model's noise distribution). Here it is the U-Net's encoder with average pooling:
 *
 *   x ──c_in(σ)·x──▶ conv_in ─▶ [ResBlock × numResBlocks, Downsample] per stage ─▶ GroupNorm, SiLU
 *     ─▶ global average pool ─▶ Linear → K logits
 *
 * with EDM's input scaling c_in(σ) = 1/√(σ² + σ_data²) and noise input c_noise = ¼·ln σ (Karras et
 * al. 2022, Table 1) embedded as in the U-Net (features → two-layer MLP) and added to every residual
 * block. `noisyClassifierLoss` is the training objective: cross-entropy on x₀ + σε with
 * ln σ ~ N(pMean, pStd²), the same distribution the EDM denoiser was trained with.
 *
 * `classifierGuidance(denoise, (x, σ) => net.forward(x, σ), s)` (guidance.ts) turns it into a
 * guided Denoiser. State-dict keys follow the U-Net's: `temb.dense.0.weight`, `conv_in.weight`,
 * `down.0.block.0.norm1.weight`, `down.0.downsample.conv.weight`, `norm_out.weight`, `out.weight`.
 * Saved as a checkpoint directory (config.json holds the options, model.safetensors the weights).
 */
import { type Tensor, type Generator, randn, randnLike } from '../../core/index.ts';
import { shapeStr } from '../../core/shape.ts';
import { Module } from '../../nn/module.ts';
import * as F from '../../nn/functional.ts';
import { Linear } from '../../nn/layers/linear.ts';
import { Conv2d } from '../../nn/layers/conv.ts';
import { GroupNorm } from '../../nn/layers/norm.ts';
import { ModuleList } from '../../nn/layers/container.ts';
import { sigmaView } from './denoiser.ts';
import { NoiseEmbedding, type NoiseFeatures } from './nets/embedding.ts';
import { ResBlock, Downsample, DownStage } from './nets/unet.ts';

/** The classifier's options: JSON-serialisable, saved as its config. */
export interface NoisyClassifierOptions {
  /** Channels of the input images. Required. */
  inChannels: number;
  /** Number of classes K. Required. */
  numClasses: number;
  /** Base channel count; stage i has channels·channelMult[i]. */
  channels?: number; // default 32
  /** Channel multiplier per stage; every stage but the last halves the image. */
  channelMult?: number[]; // default [1, 2, 2]: 28 → 14 → 7
  /** Residual blocks per stage. */
  numResBlocks?: number; // default 1
  /** GroupNorm groups, min(numGroups, C) for C channels. */
  numGroups?: number; // default 8
  /** Width of the noise embedding, as a multiple of `channels`. */
  embedMult?: number; // default 4
  /** c_noise features: 'fourier' (random, suits ¼·ln σ of order one) or 'positional' (sinusoidal). */
  noiseFeatures?: NoiseFeatures; // default 'fourier'
  /** Standard deviation of the Fourier frequencies. */
  fourierScale?: number; // default 16
  /** σ_data of EDM's c_in(σ) = 1/√(σ² + σ_data²): the expected standard deviation of the data. */
  sigmaData?: number; // default 0.5 (images in [−1, 1])
}

/** Every option filled in (what `net.config` holds). */
export type NoisyClassifierConfig = Required<NoisyClassifierOptions>;

export function resolveNoisyClassifierOptions(o: NoisyClassifierOptions): NoisyClassifierConfig {
  const posInt = (v: number) => Number.isInteger(v) && v > 0;
  const c: NoisyClassifierConfig = {
    inChannels: o.inChannels,
    numClasses: o.numClasses,
    channels: o.channels ?? 32,
    channelMult: [...(o.channelMult ?? [1, 2, 2])],
    numResBlocks: o.numResBlocks ?? 1,
    numGroups: o.numGroups ?? 8,
    embedMult: o.embedMult ?? 4,
    noiseFeatures: o.noiseFeatures ?? 'fourier',
    fourierScale: o.fourierScale ?? 16,
    sigmaData: o.sigmaData ?? 0.5,
  };
  for (const k of ['inChannels', 'numClasses', 'channels', 'numResBlocks', 'numGroups', 'embedMult'] as const) {
    if (!posInt(c[k])) throw new Error(`NoisyClassifier: ${k} must be a positive integer, got ${String(c[k])}`);
  }
  if (c.channelMult.length === 0 || !c.channelMult.every(posInt)) throw new Error(`NoisyClassifier: channelMult must be a non-empty list of positive integers, got [${c.channelMult.join(', ')}]`);
  if (!(c.sigmaData > 0)) throw new Error(`NoisyClassifier: sigmaData must be positive, got ${c.sigmaData}`);
  return c;
}

function groupNorm(channels: number, numGroups: number, dtype?: 'float32' | 'float64'): GroupNorm {
  const g = Math.min(numGroups, channels);
  if (channels % g !== 0) throw new Error(`NoisyClassifier: a GroupNorm over ${channels} channels cannot have ${g} groups`);
  return new GroupNorm(g, channels, { dtype, eps: 1e-6 });
}

/**
 * p_φ(y | x, σ): images x [N, C, H, W] (noisy, in the diffusion model's scaled space x₀ + σε) and
 * σ [N] or a scalar → logits [N, K].
 */
export class NoisyClassifier extends Module {
  readonly temb: NoiseEmbedding;
  readonly conv_in: Conv2d;
  readonly down: ModuleList<DownStage>;
  readonly norm_out: GroupNorm;
  readonly out: Linear;
  readonly config: NoisyClassifierConfig;

  constructor(options: NoisyClassifierOptions, opts: { rng: Generator; dtype?: 'float32' | 'float64' }) {
    super();
    const c = resolveNoisyClassifierOptions(options);
    const { rng, dtype } = opts;
    const o = { rng, dtype };
    const embDim = c.channels * c.embedMult;
    this.temb = new NoiseEmbedding({ featureDim: c.channels, embedDim: embDim, features: c.noiseFeatures, fourierScale: c.fourierScale, activation: 'silu', rng, dtype });
    let ch = c.channels * c.channelMult[0]!;
    this.conv_in = new Conv2d(c.inChannels, ch, 3, { ...o, padding: 1 });
    const blockOpts = { ...o, numGroups: c.numGroups, dropout: 0, scaleShift: true };
    const last = c.channelMult.length - 1;
    this.down = new ModuleList(c.channelMult.map((mult, i) => {
      const blocks: ResBlock[] = [];
      for (let j = 0; j < c.numResBlocks; j++) {
        blocks.push(new ResBlock(ch, c.channels * mult, embDim, blockOpts));
        ch = c.channels * mult;
      }
      return new DownStage(blocks, [], i < last ? new Downsample(ch, o) : null);
    }));
    this.norm_out = groupNorm(ch, c.numGroups, dtype);
    this.out = new Linear(ch, c.numClasses, o);
    this.config = c;
  }

  forward(x: Tensor, sigma: Tensor): Tensor {
    if (x.ndim !== 4 || x.shape[1] !== this.config.inChannels) throw new Error(`NoisyClassifier: expected input [N, ${this.config.inChannels}, H, W], got ${shapeStr(x.shape)}`);
    const n = x.shape[0]!;
    const dtype = this.conv_in.weight.dtype;
    const s = sigma.cast(dtype);
    const sd2 = this.config.sigmaData ** 2;
    // EDM's input scaling and noise input (Karras et al. 2022, Table 1)
    const cIn = sigmaView(s, x).square().add(sd2).rsqrt();
    const cNoise = (s.ndim === 0 ? s.reshape([1]).expand([n]) : s).log().mul(0.25);
    const emb = this.temb.forward(cNoise);
    let h = this.conv_in.forward((x.dtype === dtype ? x : x.cast(dtype)).mul(cIn));
    for (const stage of this.down) {
      for (const block of stage.block) h = block.forward(h, emb);
      if (stage.downsample) h = stage.downsample.forward(h);
    }
    h = this.norm_out.forward(h).silu().mean([2, 3]);
    return this.out.forward(h);
  }
}

/** A classifier from a saved checkpoint's config and state dict (strict: every key must match). */
export function noisyClassifierFromState(config: NoisyClassifierOptions, state: Record<string, Tensor>, opts: { rng: Generator }): NoisyClassifier {
  const net = new NoisyClassifier(config, { rng: opts.rng });
  net.loadStateDict(state, { strict: true });
  net.eval();
  return net;
}

export interface NoisyClassifierLossOptions {
  /** ln σ ~ N(pMean, pStd²): EDM's training distribution (Karras et al. 2022, Table 1). */
  pMean?: number; // default -1.2
  pStd?: number; // default 1.2
}

/**
 * Cross-entropy of p_φ(y | x₀ + σε, σ) with ln σ ~ N(pMean, pStd²), one σ per example — the
 * noise distribution of the EDM denoiser the classifier will guide. x₀ [N, C, H, W] in the
 * diffusion model's data space, labels int32 [N]. Returns the mean loss, the σ drawn [N] and the
 * logits [N, K] (for accuracy).
 */
export function noisyClassifierLoss(net: (x: Tensor, sigma: Tensor) => Tensor, x0: Tensor, labels: Tensor, rng: Generator, opts: NoisyClassifierLossOptions = {}): { loss: Tensor; sigma: Tensor; logits: Tensor } {
  const pMean = opts.pMean ?? -1.2, pStd = opts.pStd ?? 1.2;
  const n = x0.shape[0]!;
  const sigma = randn([n], { rng, backend: x0.backend, dtype: x0.dtype }).mul(pStd).add(pMean).exp();
  const x = x0.add(randnLike(x0, { rng }).mul(sigmaView(sigma, x0)));
  const logits = net(x, sigma);
  return { loss: F.crossEntropy(logits, labels), sigma, logits };
}
