/**
 * Kernel Inception Distance (Bińkowski, Sutherland, Arbel & Gretton 2018, "Demystifying MMD GANs",
 * §4): the unbiased estimate of the squared MMD between two feature sets under the cubic
 * polynomial kernel
 *
 *   k(x, y) = (xᵀy / d + 1)³,
 *
 *   MMD²ᵤ = Σ_{i≠j} k(xᵢ, xⱼ) / (m(m−1)) + Σ_{i≠j} k(yᵢ, yⱼ) / (n(n−1)) − 2 Σ_{i,j} k(xᵢ, yⱼ) / (mn).
 *
 * Unlike FID it has an unbiased estimator, so small samples do not shift it (it can be slightly
 * negative when the two sets come from one distribution). As in the authors' code, it is averaged
 * over random subsets of equal size m (`subsets` × `subsetSize`, drawn without replacement within a
 * subset); each subset also gives the estimate of its own variance of Sutherland et al. (2017,
 * "Generative models and model criticism via optimized MMD", Appendix A.2), as Bińkowski et al.'s
 * `_mmd2_and_variance` computes it.
 */
import type { Generator } from '../core/random.ts';
import { type Mat, gramBlock, takeRows } from './linalg64.ts';

const cube = (v: number) => v * v * v;

/** Row sums (without the diagonal), the sum of squares (without it) and the diagonal of K_XX. */
interface SelfSums {
  rowSums: Float64Array;
  sumSq: number;
  diag: Float64Array;
}
interface CrossSums {
  rowSums: Float64Array;
  colSums: Float64Array;
  sumSq: number;
}

const BLOCK = 64;

function selfSums(x: Mat): SelfSums {
  const n = x.rows, d = x.cols;
  const rowSums = new Float64Array(n), diag = new Float64Array(n);
  let sumSq = 0;
  for (let i0 = 0; i0 < n; i0 += BLOCK) {
    const i1 = Math.min(n, i0 + BLOCK);
    const g = gramBlock(x, x, i0, i1);
    for (let i = i0; i < i1; i++) {
      const go = (i - i0) * n;
      diag[i] = cube(g[go + i]! / d + 1);
      for (let j = i + 1; j < n; j++) {
        const k = cube(g[go + j]! / d + 1);
        rowSums[i]! += k;
        rowSums[j]! += k;
        sumSq += 2 * k * k;
      }
    }
  }
  return { rowSums, sumSq, diag };
}

function crossSums(x: Mat, y: Mat): CrossSums {
  const n = x.rows, m = y.rows, d = x.cols;
  const rowSums = new Float64Array(n), colSums = new Float64Array(m);
  let sumSq = 0;
  for (let i0 = 0; i0 < n; i0 += BLOCK) {
    const i1 = Math.min(n, i0 + BLOCK);
    const g = gramBlock(x, y, i0, i1);
    for (let i = i0; i < i1; i++) {
      const go = (i - i0) * m;
      let r = 0;
      for (let j = 0; j < m; j++) {
        const k = cube(g[go + j]! / d + 1);
        r += k;
        colSums[j]! += k;
        sumSq += k * k;
      }
      rowSums[i] = r;
    }
  }
  return { rowSums, colSums, sumSq };
}

const sum = (a: Float64Array) => a.reduce((s, v) => s + v, 0);
const sqn = (a: Float64Array) => a.reduce((s, v) => s + v * v, 0);
const dot = (a: Float64Array, b: Float64Array) => a.reduce((s, v, i) => s + v * b[i]!, 0);

/**
 * The unbiased polynomial-kernel MMD² between all of x (m×d) and all of y (n×d), and — when m = n
 * ≥ 4 — the estimate of its variance (Sutherland et al. 2017, as in Bińkowski et al.'s code).
 */
export function polynomialMmd2(x: Mat, y: Mat): { mmd2: number; variance: number | null } {
  if (x.cols !== y.cols) throw new Error(`polynomialMmd2: feature dimensions differ (${x.cols} vs ${y.cols})`);
  const m = x.rows, n = y.rows;
  if (m < 2 || n < 2) throw new Error(`polynomialMmd2: need at least 2 samples in each set, got ${m} and ${n}`);
  const XX = selfSums(x), YY = selfSums(y), XY = crossSums(x, y);
  const ktXX = sum(XX.rowSums), ktYY = sum(YY.rowSums), kXY = sum(XY.rowSums);
  const mmd2 = ktXX / (m * (m - 1)) + ktYY / (n * (n - 1)) - (2 * kXY) / (m * n);
  if (m !== n || m < 4) return { mmd2, variance: null };
  const m1 = m - 1, m2 = m - 2;
  const dotXXXY = dot(XX.rowSums, XY.rowSums);
  const dotYYYX = dot(YY.rowSums, XY.colSums);
  const zeta1 =
    (1 / (m * m1 * m2)) * (sqn(XX.rowSums) - XX.sumSq + sqn(YY.rowSums) - YY.sumSq) -
    (1 / (m * m1) ** 2) * (ktXX ** 2 + ktYY ** 2) +
    (1 / (m * m * m1)) * (sqn(XY.rowSums) + sqn(XY.colSums) - 2 * XY.sumSq) -
    (2 / m ** 4) * kXY ** 2 -
    (2 / (m * m * m1)) * (dotXXXY + dotYYYX) +
    (2 / (m ** 3 * m1)) * (ktXX + ktYY) * kXY;
  const zeta2 =
    (1 / (m * m1)) * (XX.sumSq + YY.sumSq) -
    (1 / (m * m1) ** 2) * (ktXX ** 2 + ktYY ** 2) +
    (2 / (m * m)) * XY.sumSq -
    (2 / m ** 4) * kXY ** 2 -
    (4 / (m * m * m1)) * (dotXXXY + dotYYYX) +
    (4 / (m ** 3 * m1)) * (ktXX + ktYY) * kXY;
  const variance = ((4 * (m - 2)) / (m * (m - 1))) * zeta1 + (2 / (m * (m - 1))) * zeta2;
  return { mmd2, variance };
}

export interface KidOptions {
  /** Number of random subsets. Default 100 (clean-fid's default). */
  subsets?: number;
  /** Size m of each subset (from each set). Default 1000, capped at the smaller set's size. */
  subsetSize?: number;
  /** Draws the subsets (needed unless one subset covers both sets whole). */
  rng?: Generator;
  onProgress?: (done: number, total: number) => void;
}

export interface KidResult {
  /** Mean of the subsets' unbiased MMD² estimates. */
  value: number;
  /** Standard deviation of the subset estimates (what Bińkowski et al. and torchmetrics report as "± std"). */
  std: number;
  /** Standard error of one subset's estimate: √(mean over subsets of its estimated variance). */
  stderr: number;
  subsets: number;
  subsetSize: number;
}

/** KID between two feature sets, averaged over random subsets. */
export function kid(x: Mat, y: Mat, opts: KidOptions = {}): KidResult {
  const size = Math.min(opts.subsetSize ?? 1000, x.rows, y.rows);
  const whole = size === x.rows && size === y.rows;
  // when one subset holds both sets whole, every subset would give the same value
  const subsets = whole ? 1 : (opts.subsets ?? 100);
  if (!whole && !opts.rng) throw new Error('kid: drawing subsets needs a Generator ({ rng })');
  const vals: number[] = [];
  let varSum = 0;
  for (let s = 0; s < subsets; s++) {
    const xs = whole ? x : takeRows(x, opts.rng!.permutation(x.rows).subarray(0, size));
    const ys = whole ? y : takeRows(y, opts.rng!.permutation(y.rows).subarray(0, size));
    const r = polynomialMmd2(xs, ys);
    vals.push(r.mmd2);
    varSum += r.variance ?? NaN;
    opts.onProgress?.(s + 1, subsets);
  }
  const mean = vals.reduce((a, v) => a + v, 0) / vals.length;
  const std = Math.sqrt(vals.reduce((a, v) => a + (v - mean) ** 2, 0) / vals.length);
  return { value: mean, std, stderr: Math.sqrt(Math.max(0, varSum / subsets)), subsets, subsetSize: size };
}
