/**
 * VQ-VAE (van den Oord, Vinyals & Kavukcuoglu 2017, "Neural Discrete Representation Learning") and
 * VQ-VAE-2's two-level hierarchy (Razavi, van den Oord & Vinyals 2019).
 *
 * Vector quantisation (Sec. 3.1): the encoder output z_e(x) [N, D, H, W] is replaced, position by
 * position, by its nearest codebook vector e_k, k = argmin_j ‖z_e − e_j‖²  (eq. 1–2). The decoder
 * gradient is copied straight through to the encoder: z_q = z_e + sg[e_k − z_e]. The loss is
 * (eq. 3)
 *     L = log p(x | z_q) + ‖sg[z_e] − e‖² + β‖z_e − sg[e]‖²,    β = 0.25,
 * (reconstruction, codebook, commitment). With `ema` the codebook term is dropped and the codebook
 * follows exponential moving averages of the assigned encoder outputs (Appendix A.1):
 *     Nᵢ ← γNᵢ + (1 − γ)nᵢ,  mᵢ ← γmᵢ + (1 − γ)Σⱼ z_e,ᵢⱼ,  eᵢ = mᵢ / Ñᵢ,   γ = 0.99,
 * with Laplace smoothing Ñᵢ = (Nᵢ + ε)/(Σ N + Kε)·Σ N so that an unused code never divides by 0.
 * Dead-code restarts (as in Dhariwal et al. 2020, Jukebox; Zeghidour et al. 2021): a code whose
 * moving-average usage falls below `restartThreshold` is re-initialised at an encoder output of
 * the current batch, drawn ∝ its squared distance to its code (k-means++ seeding). Codebook
 * perplexity exp(−Σ p log p) of the batch's code frequencies and the number of codes in use are
 * reported by every forward pass.
 *
 * Encoder/decoder (Sec. 4.1, at small scale): two stride-2 4×4 convolutions (28 → 14 → 7), a 3×3
 * convolution, residual blocks (ReLU, 3×3 conv, ReLU, 1×1 conv), a 1×1 projection to D; the
 * decoder mirrors it with transposed convolutions.
 *
 * VQ-VAE-2 (Razavi et al. 2019, Sec. 3.1, Fig. 2a): a bottom encoder (28 → 14) and a top encoder
 * (14 → 7); the top codes are quantised first, decoded to 14×14 and concatenated with the bottom
 * features, so the bottom codes are chosen conditioned on the top; the decoder takes the
 * upsampled top codes together with the bottom codes.
 */
import { type Tensor, type Generator, noGrad, oneHot, concat, zeros, tensor } from '../../core/index.ts';
import { Module, parameter, buffer } from '../../nn/module.ts';
import { Conv2d, ConvTranspose2d, ReLU, Sequential, ModuleList } from '../../nn/layers/index.ts';
import * as init from '../../nn/init.ts';

export interface QuantizerOptions {
  /** K: the number of codes. */
  numEmbeddings: number;
  /** D: the width of a code. */
  embeddingDim: number;
  /** Commitment weight β (0.25 in the paper). */
  beta?: number;
  /** Update the codebook by exponential moving averages instead of the codebook loss. */
  ema?: boolean;
  /** EMA decay γ (0.99). */
  decay?: number;
  /** Laplace smoothing ε of the EMA cluster sizes (1e-5). */
  epsilon?: number;
  /** Re-initialise codes whose EMA usage (assignments per batch) falls below this; 0 = never. */
  restartThreshold?: number;
  rng: Generator;
  dtype?: 'float32' | 'float64';
}

export interface QuantizerOutput {
  /** z_e + sg[e_k − z_e]: the quantised map with the straight-through gradient [N, D, H, W]. */
  zq: Tensor;
  /** Code indices k [N, H, W] (int32). */
  indices: Tensor;
  /** Codebook (unless EMA) + β·commitment loss (scalar). */
  loss: Tensor;
  /** exp(entropy) of the batch's code frequencies. */
  perplexity: number;
  /** Codes used at least once in the batch. */
  used: number;
}

export class VectorQuantizer extends Module {
  /** The codebook e [K, D]: a parameter, or (EMA) a buffer. */
  readonly embedding: Tensor;
  /** EMA cluster sizes N [K] (EMA mode) and sums m [K, D]. */
  readonly clusterSize: Tensor;
  readonly embedSum: Tensor;
  /**
   * Moving average of assignments per batch [K] (drives dead-code restarts). It starts at 0, so with
   * restarts on, the codes unused by the first batch are initialised from its encoder outputs.
   */
  readonly usage: Tensor;
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  readonly beta: number;
  readonly ema: boolean;
  readonly decay: number;
  readonly epsilon: number;
  readonly restartThreshold: number;
  /** Codes re-initialised so far. */
  restarts = 0;

  constructor(o: QuantizerOptions) {
    super();
    const K = o.numEmbeddings, D = o.embeddingDim;
    if (!Number.isInteger(K) || K < 2) throw new Error(`VectorQuantizer: numEmbeddings must be an integer ≥ 2, got ${K}`);
    if (!Number.isInteger(D) || D < 1) throw new Error(`VectorQuantizer: embeddingDim must be a positive integer, got ${D}`);
    this.numEmbeddings = K;
    this.embeddingDim = D;
    this.beta = o.beta ?? 0.25;
    this.ema = o.ema ?? false;
    this.decay = o.decay ?? 0.99;
    if (!(this.decay > 0 && this.decay < 1)) throw new Error(`VectorQuantizer: decay must be in (0, 1), got ${this.decay}`);
    this.epsilon = o.epsilon ?? 1e-5;
    this.restartThreshold = o.restartThreshold ?? 0;
    const dtype = o.dtype ?? 'float32';
    // U(−1/K, 1/K) as the reference implementation (Sonnet / the PyTorch ports)
    const e = init.uniform([K, D], { rng: o.rng, dtype, low: -1 / K, high: 1 / K });
    this.embedding = this.ema ? buffer(e) : parameter(e);
    this.clusterSize = buffer(zeros([K], { dtype }));
    this.embedSum = buffer(e.mul(1).detach());
    this.usage = buffer(zeros([K], { dtype }));
  }

  /** Nearest-code indices of rows z [M, D]: argmin ‖z − e‖² = argmin (‖e‖² − 2 z·e). */
  nearest(flat: Tensor): Tensor {
    return noGrad(() => {
      const e = this.embedding;
      const d = e.square().sum(1).reshape(1, -1).sub(flat.matmul(e.mT).mul(2)); // ‖z‖² is constant per row
      return d.argmin(1);
    });
  }

  /** Codes [..] (int32) → their vectors [.., D]. */
  lookup(indices: Tensor): Tensor {
    const flat = indices.reshape(-1);
    return this.embedding.indexSelect(0, flat).reshape([...indices.shape, this.embeddingDim]);
  }

  /** Codes [N, H, W] → quantised map [N, D, H, W]. */
  embed(indices: Tensor): Tensor {
    return this.lookup(indices).permute(0, 3, 1, 2);
  }

  /** Quantise z_e [N, D, H, W]; in training mode also update the EMA codebook and restart dead codes (needs rng). */
  forward(z: Tensor, rng?: Generator): QuantizerOutput {
    if (z.ndim !== 4 || z.shape[1] !== this.embeddingDim) throw new Error(`VectorQuantizer: expected z_e [N, ${this.embeddingDim}, H, W], got [${z.shape.join(', ')}]`);
    const [N, D, H, W] = z.shape as [number, number, number, number];
    const flat = z.permute(0, 2, 3, 1).reshape(N * H * W, D);
    const idx = this.nearest(flat);
    const counts = noGrad(() => oneHot(idx, this.numEmbeddings, { dtype: z.dtype }).sum(0));
    const { perplexity, used } = statsOf(counts.dataSync(), N * H * W);
    if (this.training) noGrad(() => this.update(flat.detach(), idx, counts, rng));
    const e = this.embedding.indexSelect(0, idx); // [M, D], after any update
    const commitment = flat.sub(e.detach()).square().mean();
    const loss = this.ema ? commitment.mul(this.beta) : e.sub(flat.detach()).square().mean().add(commitment.mul(this.beta));
    const zqFlat = flat.add(e.sub(flat).detach()); // straight-through
    const zq = zqFlat.reshape(N, H, W, D).permute(0, 3, 1, 2);
    return { zq, indices: idx.reshape(N, H, W), loss, perplexity, used };
  }

  /** EMA codebook update (EMA mode), usage tracking and dead-code restarts. */
  private update(flat: Tensor, idx: Tensor, counts: Tensor, rng?: Generator): void {
    const g = this.decay;
    this.usage.assign(this.usage.mul(g).add(counts.mul(1 - g)));
    if (this.ema) {
      const sums = oneHot(idx, this.numEmbeddings, { dtype: flat.dtype }).mT.matmul(flat); // [K, D]
      this.clusterSize.assign(this.clusterSize.mul(g).add(counts.mul(1 - g)));
      this.embedSum.assign(this.embedSum.mul(g).add(sums.mul(1 - g)));
      const n = this.clusterSize.sum();
      const smoothed = this.clusterSize.add(this.epsilon).div(n.add(this.numEmbeddings * this.epsilon)).mul(n); // Laplace
      this.embedding.assign(this.embedSum.div(smoothed.unsqueeze(1)));
    }
    if (this.restartThreshold > 0) {
      if (!rng) throw new Error('VectorQuantizer: dead-code restarts need a Generator (forward(z, rng))');
      const u = this.usage.dataSync();
      const dead: number[] = [];
      for (let k = 0; k < u.length; k++) if (u[k]! < this.restartThreshold) dead.push(k);
      if (dead.length === 0) return;
      const D = this.embeddingDim;
      const rows = flat.dataSync();
      // new codes at encoder outputs drawn ∝ their squared distance to the code they are assigned
      // (k-means++ seeding, Arthur & Vassilvitskii 2007): badly covered regions get the new codes
      const err = flat.sub(this.embedding.indexSelect(0, idx)).square().sum(1).dataSync();
      const pick = weightedDraws(err, dead.length, rng);
      const E = Float64Array.from(this.embedding.dataSync());
      const S = Float64Array.from(this.embedSum.dataSync());
      const C = Float64Array.from(this.clusterSize.dataSync());
      const U = Float64Array.from(u);
      dead.forEach((k, j) => {
        for (let d = 0; d < D; d++) E[k * D + d] = S[k * D + d] = rows[pick[j]! * D + d]!;
        C[k] = 1; // as if assigned once: the code starts with a full weight, not a vanishing one
        U[k] = 2 * this.restartThreshold; // a grace period of ~ln 2/(1 − γ) steps before it can be restarted again
      });
      const opts = { dtype: flat.dtype, backend: flat.backend };
      this.embedding.assign(tensor(E, { shape: [this.numEmbeddings, D], ...opts }));
      this.embedSum.assign(tensor(S, { shape: [this.numEmbeddings, D], ...opts }));
      this.clusterSize.assign(tensor(C, { shape: [this.numEmbeddings], ...opts }));
      this.usage.assign(tensor(U, { shape: [this.numEmbeddings], ...opts }));
      this.restarts += dead.length;
    }
  }
}

/** `n` indices drawn with replacement ∝ weights (uniformly when every weight is 0). */
function weightedDraws(w: ArrayLike<number>, n: number, rng: Generator): number[] {
  const cum = new Float64Array(w.length);
  let s = 0;
  for (let i = 0; i < w.length; i++) cum[i] = s += Math.max(0, w[i]!);
  const u = rng.uniform(n);
  return Array.from(u, (v) => {
    if (s === 0) return Math.min(w.length - 1, Math.floor(v * w.length));
    const t = v * s;
    let lo = 0, hi = w.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cum[mid]! > t) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  });
}

/** Perplexity exp(−Σ p log p) of code counts, and how many codes occur. */
export function statsOf(counts: ArrayLike<number>, total: number): { perplexity: number; used: number } {
  let h = 0, used = 0;
  for (let k = 0; k < counts.length; k++) {
    const c = counts[k]!;
    if (c > 0) {
      used++;
      const p = c / total;
      h -= p * Math.log(p);
    }
  }
  return { perplexity: Math.exp(h), used };
}

/** ReLU, 3×3 conv, ReLU, 1×1 conv, plus the input (van den Oord et al. 2017, Sec. 4.1). */
export class ResBlock extends Module {
  readonly conv1: Conv2d;
  readonly conv2: Conv2d;
  constructor(channels: number, hidden: number, opts: { rng: Generator; dtype?: 'float32' | 'float64' }) {
    super();
    this.conv1 = new Conv2d(channels, hidden, 3, { padding: 1, ...opts });
    this.conv2 = new Conv2d(hidden, channels, 1, opts);
  }
  forward(x: Tensor): Tensor {
    return x.add(this.conv2.forward(this.conv1.forward(x.relu()).relu()));
  }
}

function resStack(channels: number, blocks: number, opts: { rng: Generator; dtype?: 'float32' | 'float64' }): Sequential {
  const s = new Sequential();
  for (let i = 0; i < blocks; i++) s.append(new ResBlock(channels, Math.max(1, channels >> 1), opts));
  s.append(new ReLU());
  return s;
}

export interface VQVAEOptions {
  /** Image channels. */
  inChannels: number;
  /** Hidden channels of the encoder and decoder. */
  hidden: number;
  /** Residual blocks after the convolutions of the encoder (and before those of the decoder). */
  resBlocks: number;
  /** Stride-2 downsamplings (2: 28 → 7). */
  downsample?: number;
  quantizer: Omit<QuantizerOptions, 'rng' | 'dtype'>;
  rng: Generator;
  dtype?: 'float32' | 'float64';
}

/** An encoder of `down` stride-2 4×4 convolutions, a 3×3 conv and residual blocks. */
function encoderNet(cin: number, hidden: number, down: number, blocks: number, opts: { rng: Generator; dtype?: 'float32' | 'float64' }): Sequential {
  const s = new Sequential();
  let c = cin;
  for (let i = 0; i < down; i++) {
    s.append(new Conv2d(c, hidden, 4, { stride: 2, padding: 1, ...opts }));
    s.append(new ReLU());
    c = hidden;
  }
  s.append(new Conv2d(c, hidden, 3, { padding: 1, ...opts }));
  for (const m of resStack(hidden, blocks, opts)) s.append(m);
  return s;
}

/** A decoder: 3×3 conv, residual blocks, `up` stride-2 4×4 transposed convolutions. */
function decoderNet(cin: number, hidden: number, cout: number, up: number, blocks: number, opts: { rng: Generator; dtype?: 'float32' | 'float64' }): Sequential {
  const s = new Sequential(new Conv2d(cin, hidden, 3, { padding: 1, ...opts }));
  for (const m of resStack(hidden, blocks, opts)) s.append(m);
  for (let i = 0; i < up; i++) {
    s.append(new ConvTranspose2d(hidden, i === up - 1 ? cout : hidden, 4, { stride: 2, padding: 1, ...opts }));
    if (i < up - 1) s.append(new ReLU());
  }
  return s;
}

export interface VQVAEOutput {
  /** Reconstruction [N, C, H, W] (the model's space, [−1, 1] for images). */
  recon: Tensor;
  /** Mean squared reconstruction error (scalar). */
  mse: Tensor;
  /** VQ losses (codebook + commitment) of every level (scalar). */
  vqLoss: Tensor;
  /** mse + vqLoss: the training loss (Gaussian decoder with fixed variance, up to scale). */
  loss: Tensor;
  /** Codes: one map per level (VQ-VAE: [bottom]; VQ-VAE-2: [top, bottom]). */
  indices: Tensor[];
  perplexity: number[];
  used: number[];
}

/** VQ-VAE: encoder → 1×1 projection to D → vector quantiser → decoder. */
export class VQVAE extends Module {
  readonly encoder: Sequential;
  readonly preQuant: Conv2d;
  readonly quantizer: VectorQuantizer;
  readonly decoder: Sequential;

  constructor(o: VQVAEOptions) {
    super();
    const opts = { rng: o.rng, dtype: o.dtype };
    const down = o.downsample ?? 2;
    this.encoder = encoderNet(o.inChannels, o.hidden, down, o.resBlocks, opts);
    this.preQuant = new Conv2d(o.hidden, o.quantizer.embeddingDim, 1, opts);
    this.quantizer = new VectorQuantizer({ ...o.quantizer, ...opts });
    this.decoder = decoderNet(o.quantizer.embeddingDim, o.hidden, o.inChannels, down, o.resBlocks, opts);
  }

  /** z_e(x) [N, D, h, w]. */
  encodeContinuous(x: Tensor): Tensor {
    return this.preQuant.forward(this.encoder.forward(x));
  }
  /** Code map of x [N, h, w] (int32). */
  encode(x: Tensor): Tensor {
    const z = this.encodeContinuous(x);
    const [N, D, h, w] = z.shape as [number, number, number, number];
    return this.quantizer.nearest(z.permute(0, 2, 3, 1).reshape(N * h * w, D)).reshape(N, h, w);
  }
  /** Code map [N, h, w] → image [N, C, H, W]. */
  decode(indices: Tensor): Tensor {
    return this.decoder.forward(this.quantizer.embed(indices));
  }

  forward(x: Tensor, rng?: Generator): VQVAEOutput {
    const q = this.quantizer.forward(this.encodeContinuous(x), rng);
    const recon = this.decoder.forward(q.zq);
    const mse = recon.sub(x).square().mean();
    return { recon, mse, vqLoss: q.loss, loss: mse.add(q.loss), indices: [q.indices], perplexity: [q.perplexity], used: [q.used] };
  }
}

/** VQ-VAE-2 (Razavi et al. 2019): top codes at 1/4 resolution, bottom codes at 1/2 conditioned on the top. */
export class VQVAE2 extends Module {
  readonly encBottom: Sequential;
  readonly encTop: Sequential;
  readonly preQuantTop: Conv2d;
  readonly quantTop: VectorQuantizer;
  readonly decTop: Sequential;
  readonly preQuantBottom: Conv2d;
  readonly quantBottom: VectorQuantizer;
  readonly upTop: ConvTranspose2d;
  readonly decoder: Sequential;
  readonly levels: ModuleList<VectorQuantizer>;

  constructor(o: Omit<VQVAEOptions, 'downsample'>) {
    super();
    const opts = { rng: o.rng, dtype: o.dtype };
    const D = o.quantizer.embeddingDim, C = o.hidden;
    this.encBottom = encoderNet(o.inChannels, C, 1, o.resBlocks, opts); // H → H/2
    this.encTop = encoderNet(C, C, 1, o.resBlocks, opts); // H/2 → H/4
    this.preQuantTop = new Conv2d(C, D, 1, opts);
    this.quantTop = new VectorQuantizer({ ...o.quantizer, ...opts });
    this.decTop = decoderNet(D, C, D, 1, o.resBlocks, opts); // H/4 → H/2, D channels
    this.preQuantBottom = new Conv2d(C + D, D, 1, opts);
    this.quantBottom = new VectorQuantizer({ ...o.quantizer, ...opts });
    this.upTop = new ConvTranspose2d(D, D, 4, { stride: 2, padding: 1, ...opts });
    this.decoder = decoderNet(2 * D, C, o.inChannels, 1, o.resBlocks, opts);
    this.levels = new ModuleList([this.quantTop, this.quantBottom]);
  }

  /** Decode codes: top [N, H/4, W/4], bottom [N, H/2, W/2] → image. */
  decode(top: Tensor, bottom: Tensor): Tensor {
    return this.decodeQuantized(this.quantTop.embed(top), this.quantBottom.embed(bottom));
  }
  private decodeQuantized(qt: Tensor, qb: Tensor): Tensor {
    return this.decoder.forward(concat([this.upTop.forward(qt), qb], 1));
  }

  forward(x: Tensor, rng?: Generator): VQVAEOutput {
    const hb = this.encBottom.forward(x);
    const ht = this.encTop.forward(hb);
    const t = this.quantTop.forward(this.preQuantTop.forward(ht), rng);
    // the bottom codes see the bottom features and the decoded top codes (conditioned on the top)
    const b = this.quantBottom.forward(this.preQuantBottom.forward(concat([hb, this.decTop.forward(t.zq)], 1)), rng);
    const recon = this.decodeQuantized(t.zq, b.zq);
    const mse = recon.sub(x).square().mean();
    const vqLoss = t.loss.add(b.loss);
    return { recon, mse, vqLoss, loss: mse.add(vqLoss), indices: [t.indices, b.indices], perplexity: [t.perplexity, b.perplexity], used: [t.used, b.used] };
  }
}
