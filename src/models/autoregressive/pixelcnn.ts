/**
 * PixelCNN (van den Oord, Kalchbrenner & Kavukcuoglu 2016, "Pixel Recurrent Neural Networks",
 * Sec. 3.4–3.5) and Gated PixelCNN (van den Oord et al. 2016, "Conditional Image Generation with
 * PixelCNN Decoders", Sec. 2.1–2.3): an image model that factorises in raster order,
 *
 *   p(x) = ∏ᵢ p(xᵢ | x₁ … xᵢ₋₁)                                          (eq. 1 of both papers)
 *
 * with every conditional computed in one pass by convolutions whose kernels are masked so that
 * position i never sees pixels at or after i.
 *
 * Plain PixelCNN. The first layer uses a mask of type A (the centre tap is zero: the pixel itself
 * is not seen), the layers after it type B (the centre tap is kept: the features at i, which
 * depend only on pixels before i, may be used). Masks act at pixel granularity: all channels of
 * one pixel are predicted from the previous pixels only, i.e. the channels of a pixel are
 * conditionally independent given the past (no R→G→B split; grey and binary images have one
 * channel anyway). Stacked masked 3×3 convolutions have a blind spot: pixels above and to the
 * right that a k×k kernel would reach are never seen (Gated PixelCNN paper, Fig. 1 right).
 *
 * Gated PixelCNN. Two stacks remove the blind spot (Sec. 2.2):
 *   vertical   v: a (⌊k/2⌋+1)×k convolution over the rows above and the current row; its output,
 *              shifted down by one row, feeds the horizontal stack (so only rows above reach it);
 *   horizontal h: a 1×(⌊k/2⌋+1) convolution over the current row up to the current pixel (the
 *              current pixel excluded in the first layer: type A), with a residual connection.
 * Each stack uses the gated unit y = tanh(W_f ∗ x + V_fᵀh) ⊙ σ(W_g ∗ x + V_gᵀh)   (eq. 2 and 4),
 * where h is the optional class label (conditioning through an embedding, V ᵀh).
 *
 * Output distributions (what one pixel is):
 *   'bernoulli'         x ∈ {0, 1}: one logit per channel (binarised MNIST).
 *   'categorical'       x ∈ {0 … K−1} (an int32 map [N, H, W], e.g. VQ-VAE codes): the input is
 *                       embedded, the output is K logits (a K-way softmax, PixelRNN Sec. 5.3).
 *   'logistic-mixture'  x ∈ [−1, 1] on L levels (grey images): a mixture of M discretised
 *                       logistics (Salimans et al. 2017, "PixelCNN++", eq. 2), the edge bins
 *                       taking the tails (−∞, −1 + 1/(L−1)] and [1 − 1/(L−1), ∞).
 *
 * ```ts
 * // a prior over a 8×8 map of K = 512 VQ-VAE codes
 * const prior = new PixelCNN({ classes: 512, arch: 'gated', hidden: 64, layers: 6, rng: new Generator(0) });
 * const nll = prior.logProb(codes).neg().mean();                      // codes: int32 [N, 8, 8]
 * const z = prior.sample(16, [8, 8], new Generator(1), { temperature: 1 }); // int32 [16, 8, 8]
 * ```
 */
import { type Tensor, type Generator, tensor, noGrad, scope, keep, pad } from '../../core/index.ts';
import { shapeStr } from '../../core/shape.ts';
import { Module, parameter, buffer } from '../../nn/module.ts';
import { Embedding } from '../../nn/layers/linear.ts';
import { ModuleList } from '../../nn/layers/container.ts';
import * as F from '../../nn/functional.ts';
import * as init from '../../nn/init.ts';
import { bernoulliLogProb, discretizedLogisticMixtureLogProb } from '../likelihoods.ts';

/** Which taps of a kernel are allowed; 'A' excludes the centre, 'B' keeps it (van den Oord 2016a, Sec. 3.4). */
export type MaskType = 'A' | 'B';

/**
 * The raster-order mask of a kh×kw kernel centred at (⌊kh/2⌋, ⌊kw/2⌋): 1 on the rows above the
 * centre, on the centre row left of the centre, and (type B) on the centre itself.
 */
export function rasterMask(kh: number, kw: number, type: MaskType): Float64Array {
  const ch = Math.floor(kh / 2), cw = Math.floor(kw / 2);
  const m = new Float64Array(kh * kw);
  for (let r = 0; r < kh; r++) {
    for (let c = 0; c < kw; c++) m[r * kw + c] = r < ch || (r === ch && (c < cw || (c === cw && type === 'B'))) ? 1 : 0;
  }
  return m;
}

/**
 * A 2-D convolution whose kernel is multiplied by a fixed spatial mask [kh, kw] (shared by every
 * input/output channel pair) after explicit zero padding [top, bottom, left, right], stride 1.
 */
export class MaskedConv2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly mask: Tensor;
  readonly pads: readonly [number, number, number, number];

  constructor(inChannels: number, outChannels: number, kernel: readonly [number, number], mask: Float64Array | null, pads: readonly [number, number, number, number], opts: { rng: Generator; dtype?: 'float32' | 'float64'; bias?: boolean }) {
    super();
    const [kh, kw] = kernel;
    const dtype = opts.dtype ?? 'float32';
    const m = mask ?? new Float64Array(kh * kw).fill(1);
    if (m.length !== kh * kw) throw new Error(`MaskedConv2d: mask of ${m.length} taps does not fit a ${kh}×${kw} kernel`);
    // PyTorch's Conv2d init, with the fan-in counting only the taps the mask keeps
    const taps = m.reduce((a, b) => a + b, 0);
    const bound = 1 / Math.sqrt(Math.max(1, inChannels * taps));
    this.weight = parameter(init.uniform([outChannels, inChannels, kh, kw], { low: -bound, high: bound, rng: opts.rng, dtype }));
    this.bias = (opts.bias ?? true) ? parameter(init.uniform([outChannels], { low: -bound, high: bound, rng: opts.rng, dtype })) : null;
    this.mask = buffer(tensor(m, { shape: [1, 1, kh, kw], dtype }));
    this.pads = pads;
  }

  forward(x: Tensor): Tensor {
    const [t, b, l, r] = this.pads;
    const xp = t || b || l || r ? pad(x, [l, r, t, b]) : x;
    return F.conv2d(xp, this.weight.mul(this.mask), this.bias);
  }
}

/** A k×k masked convolution with 'same' output size (van den Oord 2016a, Fig. 2). */
function rasterConv(cin: number, cout: number, k: number, type: MaskType, rng: Generator, dtype: 'float32' | 'float64'): MaskedConv2d {
  const p = Math.floor(k / 2);
  return new MaskedConv2d(cin, cout, [k, k], rasterMask(k, k, type), [p, p, p, p], { rng, dtype });
}

/** Shift a feature map down by one row (zero row on top): the vertical stack's link to the horizontal one. */
function shiftDown(x: Tensor): Tensor {
  return pad(x, [0, 0, 1, -1]);
}

/** tanh(a) ⊙ σ(b) over the two halves of the channel axis (eq. 2 of van den Oord et al. 2016b). */
function gate(x: Tensor): Tensor {
  const [a, b] = x.chunk(2, 1) as [Tensor, Tensor];
  return a.tanh().mul(b.sigmoid());
}

/** One gated layer: vertical and horizontal stacks (van den Oord et al. 2016b, Fig. 2). */
export class GatedLayer extends Module {
  readonly vConv: MaskedConv2d;
  readonly hConv: MaskedConv2d;
  readonly vToH: MaskedConv2d;
  readonly hOut: MaskedConv2d;
  readonly cond: Embedding | null;
  readonly residual: boolean;
  readonly channels: number;

  constructor(cin: number, channels: number, k: number, first: boolean, numLabels: number, rng: Generator, dtype: 'float32' | 'float64') {
    super();
    const p = Math.floor(k / 2);
    // vertical: rows i−p … i, columns j−p … j+p
    this.vConv = new MaskedConv2d(cin, 2 * channels, [p + 1, k], null, [p, 0, p, p], { rng, dtype });
    // horizontal: row i, columns j−p … j (j−p … j−1 in the first layer: type A)
    const hMask = new Float64Array(p + 1).fill(1);
    if (first) hMask[p] = 0;
    this.hConv = new MaskedConv2d(cin, 2 * channels, [1, p + 1], hMask, [0, 0, p, 0], { rng, dtype });
    this.vToH = new MaskedConv2d(2 * channels, 2 * channels, [1, 1], null, [0, 0, 0, 0], { rng, dtype });
    this.hOut = new MaskedConv2d(channels, channels, [1, 1], null, [0, 0, 0, 0], { rng, dtype });
    this.cond = numLabels > 0 ? new Embedding(numLabels, 4 * channels, { rng, dtype }) : null;
    if (this.cond) noGrad(() => this.cond!.weight.assign(this.cond!.weight.mul(0.1)));
    this.residual = !first && cin === channels;
    this.channels = channels;
  }

  forward(v: Tensor, h: Tensor, labels?: Tensor | null): [Tensor, Tensor] {
    let vPre = this.vConv.forward(v);
    let hPre = this.hConv.forward(h).add(this.vToH.forward(shiftDown(vPre)));
    if (this.cond) {
      if (!labels) throw new Error('GatedLayer: this layer is class-conditional; pass labels');
      const [cv, ch] = this.cond.forward(labels).chunk(2, 1) as [Tensor, Tensor];
      vPre = vPre.add(cv.reshape([cv.shape[0]!, -1, 1, 1]));
      hPre = hPre.add(ch.reshape([ch.shape[0]!, -1, 1, 1]));
    }
    const hNew = this.hOut.forward(gate(hPre));
    return [gate(vPre), this.residual ? h.add(hNew) : hNew];
  }
}

/** A residual type-B layer of the plain PixelCNN: x + conv_B(ReLU(x)) (+ a label bias). */
export class MaskedResidualLayer extends Module {
  readonly conv: MaskedConv2d;
  readonly cond: Embedding | null;
  constructor(channels: number, k: number, numLabels: number, rng: Generator, dtype: 'float32' | 'float64') {
    super();
    this.conv = rasterConv(channels, channels, k, 'B', rng, dtype);
    this.cond = numLabels > 0 ? new Embedding(numLabels, channels, { rng, dtype }) : null;
    if (this.cond) noGrad(() => this.cond!.weight.assign(this.cond!.weight.mul(0.1)));
  }
  forward(x: Tensor, labels?: Tensor | null): Tensor {
    let y = this.conv.forward(x.relu());
    if (this.cond) {
      if (!labels) throw new Error('PixelCNN: this network is class-conditional; pass labels');
      y = y.add(this.cond.forward(labels).reshape([labels.shape[0]!, -1, 1, 1]));
    }
    return x.add(y);
  }
}

export type PixelOutput = 'bernoulli' | 'categorical' | 'logistic-mixture';

export interface PixelCNNOptions extends PixelStemOptions {
  /** For non-categorical data: 'bernoulli' (x ∈ {0, 1}, default) or 'logistic-mixture' (x ∈ [−1, 1]). */
  output?: 'bernoulli' | 'logistic-mixture';
  /** 'pixelcnn' (masked convolutions, has the blind spot) or 'gated' (two stacks, none). Default 'gated'. */
  arch?: 'pixelcnn' | 'gated';
  /** Logistics in the mixture (default 5). */
  mixtures?: number;
  /** Levels L of 'logistic-mixture' data (default 256). */
  levels?: number;
  /** Number of class labels to condition on (default 0: unconditional). */
  numLabels?: number;
}

export interface PixelSampleOptions {
  /** Softmax temperature (logits / T; the logistics' scales × T). Default 1. */
  temperature?: number;
  /** Class labels [n] (int32) for a class-conditional network. */
  labels?: Tensor;
}

/** A validator of integer options whose errors name `who`. */
export function optionInt(who: string): (v: number | undefined, def: number, name: string, min?: number) => number {
  return (v, def, name, min = 1) => {
    const x = v ?? def;
    if (!(Number.isInteger(x) && x >= min)) throw new Error(`${who}: ${name} must be an integer ≥ ${min}, got ${v}`);
    return x;
  };
}

/** The options a pixel model's input and size share (PixelCNN, PixelRNN). */
export interface PixelStemOptions {
  /**
   * K: the data are integer maps [N, H, W] with values 0…K−1 (embedded on input, K-way softmax
   * on output; 256 for grey levels). Setting it selects the categorical output.
   */
  classes?: number;
  /** Channels of one pixel of image data (default 1). */
  inChannels?: number;
  /** Feature channels of every layer (PixelCNN: default 64; PixelRNN: h, the residual stream and every LSTM state, default 32). */
  hidden?: number;
  /** Layers after the first (PixelCNN: masked or gated layers, default 6; PixelRNN: Row LSTM layers, default 2). */
  layers?: number;
  /** Kernel of the first, type-A masked convolution (default 7; the gated PixelCNN has none). */
  firstKernel?: number;
  /** Kernel of the other layers (PixelRNN: width k of the input-to-state and state-to-state convolutions) (default 3). */
  kernel?: number;
  /** Channels of the hidden 1×1 layer of the output head (default `hidden`). */
  outHidden?: number;
  /** Embedding width of categorical inputs (default `hidden`). */
  embeddingDim?: number;
  rng: Generator;
  dtype?: 'float32' | 'float64';
}

/**
 * Validate a pixel model's shared options and build its input stage: K classes and the embedding
 * of categorical maps (width `embeddingDim`, default `hidden`), or C channels of images fed as they are.
 */
/** The output stage both models share: two 1×1 convolutions (ReLU before each, in forward), hidden → outHidden → outC. */
export function pixelHead(hidden: number, outHidden: number, outC: number, rng: Generator, dtype: 'float32' | 'float64'): [MaskedConv2d, MaskedConv2d] {
  return [
    new MaskedConv2d(hidden, outHidden, [1, 1], null, [0, 0, 0, 0], { rng, dtype }),
    new MaskedConv2d(outHidden, outC, [1, 1], null, [0, 0, 0, 0], { rng, dtype }),
  ];
}

/** Input check of both models: int32 [N, H, W] category maps, or images [N, channels, H, W]. */
export function checkPixelInput(who: string, categorical: boolean, channels: number, x: Tensor): void {
  if (categorical) {
    if (x.ndim !== 3 || x.dtype !== 'int32') throw new Error(`${who}: categorical input must be int32 [N, H, W], got ${x.dtype} ${shapeStr(x.shape)}`);
  } else if (x.ndim !== 4 || x.shape[1] !== channels) throw new Error(`${who}: expected images [N, ${channels}, H, W], got ${shapeStr(x.shape)}`);
}

export function pixelStem(who: string, categorical: boolean, opts: PixelStemOptions, defaults: { hidden: number; layers: number }, rng: Generator, dtype: 'float32' | 'float64') {
  const int = optionInt(who);
  const classes = categorical ? int(opts.classes, 2, 'classes', 2) : 0;
  const channels = categorical ? 1 : int(opts.inChannels, 1, 'inChannels');
  const hidden = int(opts.hidden, defaults.hidden, 'hidden');
  const layers = int(opts.layers, defaults.layers, 'layers', 0);
  const k = int(opts.kernel, 3, 'kernel');
  const k1 = int(opts.firstKernel, 7, 'firstKernel');
  if (k % 2 === 0 || k1 % 2 === 0) throw new Error(`${who}: kernel sizes must be odd, got kernel ${k} and firstKernel ${k1}`);
  const outHidden = int(opts.outHidden, hidden, 'outHidden');
  const cin = categorical ? int(opts.embeddingDim, hidden, 'embeddingDim') : channels;
  const embed = categorical ? new Embedding(classes, cin, { rng, dtype }) : null;
  return { classes, channels, hidden, layers, k, k1, outHidden, cin, embed };
}

export class PixelCNN extends Module {
  readonly embed: Embedding | null;
  readonly first: MaskedConv2d | null;
  readonly body: ModuleList<GatedLayer | MaskedResidualLayer>;
  readonly head1: MaskedConv2d;
  readonly head2: MaskedConv2d;
  readonly output: PixelOutput;
  readonly arch: 'pixelcnn' | 'gated';
  readonly classes: number;
  readonly channels: number;
  readonly mixtures: number;
  readonly levels: number;
  readonly numLabels: number;

  constructor(opts: PixelCNNOptions) {
    super();
    const dtype = opts.dtype ?? 'float32';
    const rng = opts.rng;
    const int = optionInt('PixelCNN');
    this.output = opts.classes !== undefined ? 'categorical' : opts.output ?? 'bernoulli';
    if (!['bernoulli', 'categorical', 'logistic-mixture'].includes(this.output)) throw new Error(`PixelCNN: output must be 'bernoulli' or 'logistic-mixture' (or set classes for categorical), got '${this.output}'`);
    this.arch = opts.arch ?? 'gated';
    if (this.arch !== 'pixelcnn' && this.arch !== 'gated') throw new Error(`PixelCNN: arch must be 'pixelcnn' or 'gated', got '${String(this.arch)}'`);
    this.mixtures = int(opts.mixtures, 5, 'mixtures');
    this.levels = int(opts.levels, 256, 'levels', 2);
    this.numLabels = int(opts.numLabels, 0, 'numLabels', 0);
    const { classes, channels, hidden, layers, k, k1, outHidden, cin, embed } = pixelStem('PixelCNN', this.output === 'categorical', opts, { hidden: 64, layers: 6 }, rng, dtype);
    this.classes = classes;
    this.channels = channels;
    this.embed = embed;

    const body: (GatedLayer | MaskedResidualLayer)[] = [];
    if (this.arch === 'gated') {
      this.first = null;
      body.push(new GatedLayer(cin, hidden, k, true, this.numLabels, rng, dtype));
      for (let l = 0; l < layers; l++) body.push(new GatedLayer(hidden, hidden, k, false, this.numLabels, rng, dtype));
    } else {
      this.first = rasterConv(cin, hidden, k1, 'A', rng, dtype);
      for (let l = 0; l < layers; l++) body.push(new MaskedResidualLayer(hidden, k, this.numLabels, rng, dtype));
    }
    this.body = new ModuleList(body);
    const outC = this.output === 'categorical' ? this.classes : this.output === 'bernoulli' ? this.channels : this.channels * 3 * this.mixtures;
    [this.head1, this.head2] = pixelHead(hidden, outHidden, outC, rng, dtype);
  }

  private checkInput(x: Tensor): void {
    checkPixelInput('PixelCNN', this.output === 'categorical', this.channels, x);
  }

  /**
   * The raw output [N, outC, H, W]: logits ('bernoulli': C; 'categorical': K) or the mixture
   * parameters ('logistic-mixture': C·3M, per channel M mixture logits, M means, M log-scales).
   */
  forward(x: Tensor, labels?: Tensor | null): Tensor {
    this.checkInput(x);
    if (this.numLabels > 0 && !labels) throw new Error('PixelCNN: this network is class-conditional; pass labels (int32 [N])');
    if (this.numLabels === 0 && labels) throw new Error('PixelCNN: labels given, but the network was built with numLabels 0');
    const inp = this.embed ? this.embed.forward(x).permute([0, 3, 1, 2]) : x;
    let h: Tensor;
    if (this.arch === 'gated') {
      let v = inp;
      h = inp;
      for (const layer of this.body) [v, h] = (layer as GatedLayer).forward(v, h, labels);
    } else {
      h = this.first!.forward(inp);
      for (const layer of this.body) h = (layer as MaskedResidualLayer).forward(h, labels);
    }
    return this.head2.forward(this.head1.forward(h.relu()).relu());
  }

  /** Per-pixel log-probabilities [N, C, H, W] ([N, H, W] for categorical) from the raw output. */
  pixelLogProbs(out: Tensor, x: Tensor): Tensor {
    if (this.output === 'bernoulli') return bernoulliLogProb(out, x);
    if (this.output === 'categorical') return out.logSoftmax(1).gather(1, x.unsqueeze(1)).squeeze(1);
    const [N, , H, W] = out.shape as [number, number, number, number];
    const M = this.mixtures;
    const [logitPi, mu, logS] = out.reshape([N, this.channels, 3, M, H, W]).unbind(2) as [Tensor, Tensor, Tensor];
    return discretizedLogisticMixtureLogProb(logitPi, mu, logS, x, { levels: this.levels, axis: 2 });
  }

  /** Exact log p(x) in nats, one per example [N]. */
  logProb(x: Tensor, labels?: Tensor | null): Tensor {
    const lp = this.pixelLogProbs(this.forward(x, labels), x);
    return lp.reshape([lp.shape[0]!, -1]).sum(1);
  }

  /**
   * Draw n images of spatial shape [H, W] pixel by pixel in raster order (H·W network passes, each
   * on the rows up to the current one). Returns float {0,1} images [n, C, H, W] ('bernoulli'),
   * [−1, 1] images on the L levels ('logistic-mixture') or int32 maps [n, H, W] ('categorical').
   */
  sample(n: number, shape: readonly [number, number], rng: Generator, opts: PixelSampleOptions = {}): Tensor {
    const [H, W] = shape;
    const T = opts.temperature ?? 1;
    if (!(T > 0)) throw new Error(`PixelCNN.sample: temperature must be > 0, got ${T}`);
    const labels = opts.labels ?? null;
    if (labels && (labels.ndim !== 1 || labels.shape[0] !== n)) throw new Error(`PixelCNN.sample: labels must be int32 [${n}], got ${shapeStr(labels.shape)}`);
    const C = this.channels;
    const cat = this.output === 'categorical';
    const dtype = this.head2.weight.dtype;
    const buf = cat ? new Int32Array(n * H * W) : new Float64Array(n * C * H * W);
    const make = (rows: number) => (cat
      ? tensor(sliceRows(buf, n, 1, H, W, rows), { shape: [n, rows, W], dtype: 'int32' })
      : tensor(sliceRows(buf, n, C, H, W, rows), { shape: [n, C, rows, W], dtype }));
    noGrad(() => {
      for (let i = 0; i < H; i++) {
        for (let j = 0; j < W; j++) {
          const params = scope(() => {
            const out = this.forward(make(i + 1), labels);
            return keep(out.index(null, null, i, j).contiguous()); // [n, outC]
          });
          const p = params.dataSync();
          const oc = params.shape[1]!;
          params.dispose();
          if (cat) {
            const K = this.classes;
            const probs = new Float64Array(n * K);
            for (let b = 0; b < n; b++) softmaxRow(p, b * oc, K, T, probs, b * K);
            const draws = rng.categorical(probs, n, 1);
            for (let b = 0; b < n; b++) buf[b * H * W + i * W + j] = draws[b]!;
          } else if (this.output === 'bernoulli') {
            const u = rng.uniform(n * C);
            for (let b = 0; b < n; b++) {
              for (let c = 0; c < C; c++) buf[((b * C + c) * H + i) * W + j] = u[b * C + c]! < 1 / (1 + Math.exp(-p[b * oc + c]! / T)) ? 1 : 0;
            }
          } else {
            const M = this.mixtures;
            const L = this.levels;
            const probs = new Float64Array(n * C * M);
            for (let b = 0; b < n; b++) for (let c = 0; c < C; c++) softmaxRow(p, b * oc + c * 3 * M, M, T, probs, (b * C + c) * M);
            const comp = rng.categorical(probs, n * C, 1);
            const u = rng.uniform(n * C, 1e-5, 1 - 1e-5);
            for (let b = 0; b < n; b++) {
              for (let c = 0; c < C; c++) {
                const base = b * oc + c * 3 * M, m = comp[b * C + c]!;
                const mu = p[base + M + m]!, s = Math.exp(Math.max(p[base + 2 * M + m]!, -7)) * T;
                const uu = u[b * C + c]!;
                const y = Math.min(1, Math.max(-1, mu + s * (Math.log(uu) - Math.log(1 - uu))));
                buf[((b * C + c) * H + i) * W + j] = (Math.round(((y + 1) / 2) * (L - 1)) / (L - 1)) * 2 - 1;
              }
            }
          }
        }
      }
    });
    return cat ? tensor(buf, { shape: [n, H, W], dtype: 'int32' }) : tensor(buf, { shape: [n, C, H, W], dtype });
  }
}

/** The first `rows` rows of an [n, C, H, W] buffer, as a contiguous [n, C, rows, W] copy. */
function sliceRows<A extends Int32Array | Float64Array>(buf: A, n: number, C: number, H: number, W: number, rows: number): A {
  const out = new (buf.constructor as new (len: number) => A)(n * C * rows * W);
  for (let b = 0; b < n * C; b++) out.set(buf.subarray(b * H * W, b * H * W + rows * W), b * rows * W);
  return out;
}

/** softmax(p[off … off+K) / T) into out[o …]. */
function softmaxRow(p: ArrayLike<number>, off: number, K: number, T: number, out: Float64Array, o: number): void {
  let mx = -Infinity;
  for (let k = 0; k < K; k++) mx = Math.max(mx, p[off + k]! / T);
  let s = 0;
  for (let k = 0; k < K; k++) s += out[o + k] = Math.exp(p[off + k]! / T - mx);
  for (let k = 0; k < K; k++) out[o + k]! /= s;
}
