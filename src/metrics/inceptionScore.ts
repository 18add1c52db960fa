/**
 * Inception Score (Salimans et al. 2016, "Improved techniques for training GANs"):
 *
 *   IS = exp( E_x KL( p(y|x) ‖ p(y) ) ),   p(y) = E_x p(y|x),
 *
 * from a classifier's softmax, computed on `splits` consecutive equal parts of the samples and
 * reported as the mean and standard deviation over the parts (the authors' code uses 10 splits).
 * It lies in [1, K]: K when every sample is classified with certainty and the classes are used
 * equally, 1 when the class distribution of every sample is the same. genlab computes it with its
 * own data-set classifiers (src/metrics/featureNet.ts), so its values are not comparable with
 * Inception-v3 scores.
 */
import type { Mat } from './linalg64.ts';

export interface InceptionScoreResult {
  value: number;
  std: number;
  splits: number;
}

/** Row-wise log-softmax of logits (n×K), in float64. */
export function logSoftmaxRows(logits: Mat): Float64Array {
  const { data, rows: n, cols: K } = logits;
  const out = new Float64Array(n * K);
  for (let i = 0; i < n; i++) {
    let mx = -Infinity;
    for (let k = 0; k < K; k++) mx = Math.max(mx, data[i * K + k]!);
    let s = 0;
    for (let k = 0; k < K; k++) s += Math.exp(data[i * K + k]! - mx);
    const lse = mx + Math.log(s);
    for (let k = 0; k < K; k++) out[i * K + k] = data[i * K + k]! - lse;
  }
  return out;
}

/** Inception Score from class logits (n×K). Split j holds rows [j·n/splits, (j+1)·n/splits). */
export function inceptionScore(logits: Mat, opts: { splits?: number } = {}): InceptionScoreResult {
  const splits = opts.splits ?? 10;
  const { rows: n, cols: K } = logits;
  if (!(Number.isInteger(splits) && splits >= 1 && splits <= n)) throw new Error(`inceptionScore: splits must be an integer in [1, ${n}], got ${splits}`);
  const logp = logSoftmaxRows(logits);
  const scores: number[] = [];
  for (let s = 0; s < splits; s++) {
    const i0 = Math.floor((s * n) / splits), i1 = Math.floor(((s + 1) * n) / splits);
    const py = new Float64Array(K);
    for (let i = i0; i < i1; i++) for (let k = 0; k < K; k++) py[k]! += Math.exp(logp[i * K + k]!);
    for (let k = 0; k < K; k++) py[k]! /= i1 - i0;
    let kl = 0;
    for (let i = i0; i < i1; i++) {
      for (let k = 0; k < K; k++) {
        const lp = logp[i * K + k]!;
        const p = Math.exp(lp);
        if (p > 0) kl += p * (lp - Math.log(py[k]!));
      }
    }
    scores.push(Math.exp(kl / (i1 - i0)));
  }
  const mean = scores.reduce((a, v) => a + v, 0) / splits;
  const std = Math.sqrt(scores.reduce((a, v) => a + (v - mean) ** 2, 0) / splits);
  return { value: mean, std, splits };
}
