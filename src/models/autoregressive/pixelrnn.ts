/**
 * PixelRNN with Row LSTM layers (van den Oord, Kalchbrenner & Kavukcuoglu 2016, "Pixel Recurrent
 * Neural Networks", Sec. 3.1): an image model that factorises in raster order,
 *
 *   p(x) = ∏ᵢ p(xᵢ | x₁ … xᵢ₋₁)                                                       (eq. 1)
 *
 * computed by
 *   1. a masked k₁×k₁ convolution of type A (k₁ = 7; the pixel itself is not seen, Sec. 3.4);
 *   2. L Row LSTM layers, each processing the image one row at a time, top to bottom. For row i,
 *
 *        [o, f, i, g] = σ(K_ss ⊛ h_{i−1} + K_is ⊛ x_i)                                   (eq. 3)
 *        c_i = f ⊙ c_{i−1} + i ⊙ g,    h_i = o ⊙ tanh(c_i)
 *
 *      where σ is the logistic sigmoid for o, f, i and tanh for g; K_is ⊛ x_i is a 1×k convolution
 *      along the row masked like type B (taps j−⌊k/2⌋ … j; computed for all rows at once, 4h
 *      channels), K_ss ⊛ h_{i−1} an unmasked 1×k convolution of the previous row's state (h_{−1} =
 *      c_{−1} = 0). The state at (i, j) sees the rows above in a triangle that widens by ⌊k/2⌋
 *      columns per row (the paper's Fig. 4, centre), and row i up to and including the features
 *      at j, which depend only on pixels before (i, j);
 *   3. residual connections around each layer, x ← x + W_o ∗ h with a 1×1 convolution W_o (the
 *      paper's Fig. 5 uses a 2h-wide stream around an h-wide LSTM; here both are `hidden` wide);
 *   4. ReLU, 1×1 convolution, ReLU, 1×1 convolution to the output distribution, as in the PixelCNN
 *      (src/models/autoregressive/pixelcnn.ts): a Bernoulli logit per channel for binary images,
 *      or K logits for int32 maps [N, H, W] with values 0…K−1 (embedded on input; K = 256 grey
 *      levels is the paper's 256-way softmax, Sec. 5.3).
 *
 * Published on binarised MNIST (Table 4): 79.20 nats for a 7-layer Diagonal BiLSTM PixelRNN; the
 * paper reports no Row LSTM figure for MNIST.
 *
 * `logProb` is exact (one pass, the recurrence runs H steps). `sample` draws pixel by pixel and
 * carries the LSTM states of finished rows, so a draw costs H·W row steps per layer (not the
 * H·W full passes of re-running the network).
 *
 * ```ts
 * const net = new PixelRNN({ hidden: 32, layers: 2, rng: new Generator(0) });
 * const nll = net.logProb(x01).neg().mean();                 // x01: 0/1 images [N, 1, 28, 28]
 * const s = net.sample(16, [28, 28], new Generator(1), { temperature: 1 }); // [16, 1, 28, 28]
 * ```
 */
import { type Tensor, type Generator, tensor, zeros, noGrad, scope, keep, concat } from '../../core/index.ts';
import { Module } from '../../nn/module.ts';
import { Embedding } from '../../nn/layers/linear.ts';
import { ModuleList } from '../../nn/layers/container.ts';
import { bernoulliLogProb } from '../likelihoods.ts';
import { MaskedConv2d, type PixelStemOptions, checkPixelInput, pixelHead, pixelStem, rasterMask } from './pixelcnn.ts';

type Dtype = 'float32' | 'float64';

/**
 * One Row LSTM layer with its residual connection (van den Oord et al. 2016a, Sec. 3.1, eq. 3;
 * Fig. 5). `inputToState` is K_is (1×k, type B: taps j−⌊k/2⌋ … j), `stateToState` is K_ss (1×k over
 * the previous row's state, no bias: the gates' bias lives in K_is), `out` the 1×1 convolution
 * back onto the residual stream.
 */
export class RowLSTMLayer extends Module {
  readonly inputToState: MaskedConv2d;
  readonly stateToState: MaskedConv2d;
  readonly out: MaskedConv2d;
  /** h, the channels of the LSTM state. */
  readonly hidden: number;

  constructor(channels: number, hidden: number, k: number, rng: Generator, dtype: Dtype) {
    super();
    const p = Math.floor(k / 2);
    this.inputToState = new MaskedConv2d(channels, 4 * hidden, [1, k], rasterMask(1, k, 'B'), [0, 0, p, p], { rng, dtype });
    this.stateToState = new MaskedConv2d(hidden, 4 * hidden, [1, k], null, [0, 0, p, p], { rng, dtype, bias: false });
    this.out = new MaskedConv2d(hidden, channels, [1, 1], null, [0, 0, 0, 0], { rng, dtype });
    this.hidden = hidden;
  }

  /**
   * One step of eq. 3: the input-to-state pre-activations of row i, K_is ⊛ x_i [N, 4h, 1, W], and
   * the previous row's (h_{i−1}, c_{i−1}) [N, h, 1, W] → (h_i, c_i).
   */
  step(isRow: Tensor, hPrev: Tensor, cPrev: Tensor): [Tensor, Tensor] {
    const [o, f, i, g] = isRow.add(this.stateToState.forward(hPrev)).chunk(4, 1) as [Tensor, Tensor, Tensor, Tensor];
    const c = f.sigmoid().mul(cPrev).add(i.sigmoid().mul(g.tanh()));
    return [o.sigmoid().mul(c.tanh()), c];
  }

  /** Zero state h_{−1} = c_{−1} for a batch of n rows of width W. */
  initialState(n: number, W: number, dtype: Dtype): Tensor {
    return zeros([n, this.hidden, 1, W], { dtype });
  }

  /** The whole map [N, C, H, W] → x + W_o ∗ h, the recurrence running over the H rows. */
  forward(x: Tensor): Tensor {
    const [N, , H, W] = x.shape as [number, number, number, number];
    const is = this.inputToState.forward(x); // K_is ⊛ x for every row at once
    let h = this.initialState(N, W, x.dtype as Dtype);
    let c = h;
    const rows: Tensor[] = [];
    for (let i = 0; i < H; i++) {
      [h, c] = this.step(is.slice(2, i, i + 1), h, c);
      rows.push(h);
    }
    return x.add(this.out.forward(rows.length === 1 ? rows[0]! : concat(rows, 2)));
  }
}

/** PixelRNN's options: those every pixel model shares (`classes` unset: binary images with a Bernoulli logit). */
export type PixelRNNOptions = PixelStemOptions;

/**
 * A Row LSTM PixelRNN over binary images [N, C, H, W] or integer maps [N, H, W]. `logProb` is the
 * exact log-likelihood in nats; `sample` draws in raster order.
 */
export class PixelRNN extends Module {
  readonly embed: Embedding | null;
  readonly first: MaskedConv2d;
  readonly body: ModuleList<RowLSTMLayer>;
  readonly head1: MaskedConv2d;
  readonly head2: MaskedConv2d;
  readonly output: 'bernoulli' | 'categorical';
  readonly classes: number;
  readonly channels: number;

  constructor(opts: PixelRNNOptions) {
    super();
    const dtype = opts.dtype ?? 'float32';
    const rng = opts.rng;
    this.output = opts.classes !== undefined ? 'categorical' : 'bernoulli';
    const { classes, channels, hidden, layers, k, k1, outHidden, cin, embed } = pixelStem('PixelRNN', this.output === 'categorical', opts, { hidden: 32, layers: 2 }, rng, dtype);
    this.classes = classes;
    this.channels = channels;
    this.embed = embed;
    const p1 = Math.floor(k1 / 2);
    this.first = new MaskedConv2d(cin, hidden, [k1, k1], rasterMask(k1, k1, 'A'), [p1, p1, p1, p1], { rng, dtype });
    this.body = new ModuleList(Array.from({ length: layers }, () => new RowLSTMLayer(hidden, hidden, k, rng, dtype)));
    const outC = this.output === 'categorical' ? this.classes : this.channels;
    [this.head1, this.head2] = pixelHead(hidden, outHidden, outC, rng, dtype);
  }

  private checkInput(x: Tensor): void {
    checkPixelInput('PixelRNN', this.output === 'categorical', this.channels, x);
  }

  private inputMap(x: Tensor): Tensor {
    return this.embed ? this.embed.forward(x).permute([0, 3, 1, 2]) : x;
  }

  private head(h: Tensor): Tensor {
    return this.head2.forward(this.head1.forward(h.relu()).relu());
  }

  /** The logits [N, outC, H, W]: C Bernoulli logits per pixel, or K class logits. */
  forward(x: Tensor): Tensor {
    this.checkInput(x);
    let h = this.first.forward(this.inputMap(x));
    for (const layer of this.body) h = layer.forward(h);
    return this.head(h);
  }

  /** Per-pixel log-probabilities [N, C, H, W] ([N, H, W] for categorical) from the logits. */
  pixelLogProbs(logits: Tensor, x: Tensor): Tensor {
    if (this.output === 'bernoulli') return bernoulliLogProb(logits, x);
    return logits.logSoftmax(1).gather(1, x.unsqueeze(1)).squeeze(1);
  }

  /** Exact log p(x) in nats, one per example [N]. */
  logProb(x: Tensor): Tensor {
    const lp = this.pixelLogProbs(this.forward(x), x);
    return lp.reshape([lp.shape[0]!, -1]).sum(1);
  }

  /**
   * Draw n images of spatial shape [H, W] in raster order (logits / temperature). Row i is
   * recomputed once per pixel from the first layer's window of rows i − ⌊k₁/2⌋ … i and the
   * carried states (h_{i−1}, c_{i−1}) of every layer; the states of the finished row come from
   * its last pixel's pass, which already sees the whole row's features. Returns 0/1 images
   * [n, C, H, W] or int32 maps [n, H, W].
   */
  sample(n: number, shape: readonly [number, number], rng: Generator, opts: { temperature?: number } = {}): Tensor {
    const [H, W] = shape;
    const T = opts.temperature ?? 1;
    if (!(T > 0)) throw new Error(`PixelRNN.sample: temperature must be > 0, got ${T}`);
    const C = this.channels;
    const cat = this.output === 'categorical';
    const dtype = this.head2.weight.dtype as Dtype;
    const p1 = this.first.pads[0];
    const buf = cat ? new Int32Array(n * H * W) : new Float64Array(n * C * H * W);
    // rows r0 … i of the samples so far, as the network's input
    const window = (i: number): Tensor => {
      const r0 = Math.max(0, i - p1), rows = i + 1 - r0;
      const out = cat ? new Int32Array(n * rows * W) : new Float64Array(n * C * rows * W);
      for (let b = 0; b < n * (cat ? 1 : C); b++) out.set(buf.subarray(b * H * W + r0 * W, b * H * W + (i + 1) * W), b * rows * W);
      return cat ? tensor(out, { shape: [n, rows, W], dtype: 'int32' }) : tensor(out, { shape: [n, C, rows, W], dtype });
    };
    const layers = [...this.body];
    noGrad(() => {
      let state = layers.map((l) => { const z = keep(l.initialState(n, W, dtype)); return [z, z] as [Tensor, Tensor]; });
      for (let i = 0; i < H; i++) {
        let next: [Tensor, Tensor][] = [];
        for (let j = 0; j < W; j++) {
          const last = j === W - 1;
          const probs = scope(() => {
            const f = this.first.forward(this.inputMap(window(i)));
            let h = f.slice(2, f.shape[2]! - 1); // row i: [n, hidden, 1, W]
            layers.forEach((layer, l) => {
              const [hi, ci] = layer.step(layer.inputToState.forward(h), state[l]![0], state[l]![1]);
              if (last) next.push([keep(hi), keep(ci)]);
              h = h.add(layer.out.forward(hi));
            });
            const logits = this.head(h).index(null, null, 0, j).div(T); // [n, outC]
            return cat ? logits.softmax(1) : logits.sigmoid();
          });
          const pr = probs.dataSync();
          probs.dispose();
          if (cat) {
            const draws = rng.categorical(pr, n, 1);
            for (let b = 0; b < n; b++) buf[b * H * W + i * W + j] = draws[b]!;
          } else {
            const u = rng.uniform(n * C);
            for (let b = 0; b < n * C; b++) buf[b * H * W + i * W + j] = u[b]! < pr[b]! ? 1 : 0;
          }
        }
        for (const [h, c] of state) { h.dispose(); if (c !== h) c.dispose(); }
        state = next;
        next = [];
      }
      for (const [h, c] of state) { h.dispose(); if (c !== h) c.dispose(); }
    });
    return cat ? tensor(buf, { shape: [n, H, W], dtype: 'int32' }) : tensor(buf, { shape: [n, C, H, W], dtype });
  }
}
