/**
 * Negative log-likelihood and bits per dimension: the one implementation every likelihood model
 * (flows, VAEs' bounds, diffusion's probability-flow likelihood, autoregressive models) reports
 * through.
 *
 * Discrete data and continuous densities. 8-bit images take one of L = 256 levels per value. A
 * continuous density p on the data space is turned into a discrete model by uniform dequantisation
 * (Uria et al. 2013; Theis, van den Oord & Bethge 2016, "A note on the evaluation of generative
 * models", §3.1): the level k of a value in [lo, hi] becomes the bin [lo + kΔ, lo + (k+1)Δ) of
 * width Δ = (hi − lo)/L, and
 *
 *   log P(k) = log ∫_bin p(y) dy ≥ E_{u∼U[0,1)^D} log p(lo + (k + u)Δ) + D log Δ,
 *
 * so a model's log p of dequantised data y, plus D log Δ, is a lower bound on the discrete
 * log-likelihood (exact in expectation up to Jensen's gap). Bits per dimension is then
 *
 *   bpd = −(log p(y) + D log Δ) / (D ln 2) = (−log p(y)/D − log Δ) / ln 2.
 *
 * For data in [−1, 1] (Δ = 2/256) this is (−log p(y)/D + log 128)/ln 2, as in Ho et al. (2020)
 * and Song et al. (2021); for [0, 1] (Δ = 1/256), (−log p(y)/D + log 256)/ln 2, as in RealNVP
 * and Glow. A model that already returns a discrete log-likelihood (a PixelCNN's softmax, a
 * discretised-logistic decoder) passes `quantization: null`: no Δ term is added. Preprocessing
 * that changes variables (the logit transform of RealNVP) must be folded into log p(y) by the
 * model (its log-det), so that log p(y) is a density on the [lo, hi] scale named here.
 */
import { type Tensor, type Generator, scope } from '../core/index.ts';
import { rand } from '../core/rand.ts';
import type { Family, Model, Batch } from '../models/registry.ts';

/** How values were quantised: `levels` levels spanning [range[0], range[1]]. */
export interface Quantization {
  /** Number of levels L. Default 256 (8-bit). */
  levels?: number;
  /** The interval the levels span. Default [0, 1]. */
  range?: readonly [number, number];
}

/** log Δ, the log of the width of one quantisation bin: log((hi − lo)/L). */
export function logBinWidth(q: Quantization = {}): number {
  const [lo, hi] = q.range ?? [0, 1];
  const L = q.levels ?? 256;
  if (!(hi > lo) || !(L >= 2)) throw new Error(`logBinWidth: need range hi > lo and levels ≥ 2, got [${lo}, ${hi}] and ${L}`);
  return Math.log((hi - lo) / L);
}

/**
 * Uniform dequantisation: values on the grid lo + (hi − lo)·k/(L − 1), k = 0…L−1 (as the image
 * loaders produce: pixel/255 for [0, 1]), become lo + (k + u)Δ with u ∼ U[0, 1), Δ = (hi − lo)/L.
 */
export function dequantize(x: Tensor, rng: Generator, q: Quantization = {}): Tensor {
  const [lo, hi] = q.range ?? [0, 1];
  const L = q.levels ?? 256;
  const k = x.sub(lo).mul((L - 1) / (hi - lo)).round().clamp(0, L - 1);
  const u = rand(x.shape, { rng, dtype: x.dtype, backend: x.backend });
  return k.add(u).mul((hi - lo) / L).add(lo);
}

/**
 * Per-example bits per dimension from per-example log-likelihoods in nats of `dims` values each.
 * With a quantisation (default 8-bit on [0, 1]), `logLik` is the log-density of dequantised data
 * and the bin width is accounted for; with `null`, `logLik` is already a discrete log-probability.
 */
export function bitsPerDim(logLik: Tensor, dims: number, quantization: Quantization | null = {}): Tensor {
  const shift = quantization === null ? 0 : logBinWidth(quantization);
  return logLik.add(dims * shift).neg().div(dims * Math.LN2);
}

/** The same for plain numbers (a mean log-likelihood, for instance). */
export function bitsPerDimOf(logLik: number, dims: number, quantization: Quantization | null = {}): number {
  const shift = quantization === null ? 0 : logBinWidth(quantization);
  return -(logLik + dims * shift) / (dims * Math.LN2);
}

/** Converts a per-dimension NLL in nats of a dequantised density into bits/dim of the discrete data. */
export function natsToBitsPerDim(nllPerDimNats: number, quantization: Quantization | null = {}): number {
  const shift = quantization === null ? 0 : logBinWidth(quantization);
  return (nllPerDimNats - shift) / Math.LN2;
}

export interface HeldOutNllOptions {
  rng: Generator;
  /**
   * The data's quantisation, for bits/dim of images (e.g. { range: [-1, 1] } for models trained on
   * [−1, 1] images); null for continuous data (2-D points), where only the NLL in nats is reported.
   */
  quantization?: Quantization | null;
  /** Number of batches, for progress reports only. */
  total?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface HeldOutNllResult {
  /** Mean negative log-likelihood per example, in nats (an upper bound when `bound`). */
  nll: number;
  /** Mean bits per dimension (when a quantisation was given). */
  bitsPerDim?: number;
  /** True when the model's log-likelihood is a lower bound (ELBO), so nll and bits/dim are upper bounds. */
  bound: boolean;
  n: number;
}

/**
 * Mean held-out NLL of a model, through its family's `logLikelihood` (registry verb), over
 * batches of data in the model's space (read one at a time: a generator may free each batch after
 * it). For images with a quantisation, the batches must already be dequantised ({@link dequantize})
 * when the family's log-likelihood is a density. Throws for families without a likelihood.
 */
export async function heldOutNll<C>(family: Family<C>, model: Model<C>, batches: Iterable<Batch>, opts: HeldOutNllOptions): Promise<HeldOutNllResult> {
  if (!family.logLikelihood) throw new Error(`heldOutNll: the '${family.name}' family has no log-likelihood`);
  const logLikelihood = family.logLikelihood.bind(family);
  let total = 0, n = 0, dims = 0, bound = false, b = 0;
  for (const batch of batches) {
    // a scope frees the family's intermediates; autograd stays on (some likelihoods need it)
    const r = scope(() => {
      const out = logLikelihood(model, batch, opts.rng);
      return { logLik: out.logLik.detach(), bound: out.bound };
    });
    const v = await r.logLik.data();
    r.logLik.dispose();
    for (const x of v) total += x;
    n += v.length;
    dims = batch.x.size / batch.x.shape[0]!;
    bound ||= r.bound;
    opts.onProgress?.(++b, opts.total ?? NaN);
  }
  if (n === 0) throw new Error('heldOutNll: no data');
  const nll = -total / n;
  const out: HeldOutNllResult = { nll, bound, n };
  if (opts.quantization !== undefined && opts.quantization !== null) out.bitsPerDim = bitsPerDimOf(-nll, dims, opts.quantization);
  return out;
}
