/**
 * Metrics for low-dimensional point sets (the 2-D toys of src/data/toy2d.ts): sliced Wasserstein
 * distance, MMD with a Gaussian (RBF) kernel, KL and JS divergences between histograms on a grid,
 * and, for Gaussian mixtures, the number of modes captured and the share of high-quality samples.
 * Points are row-major n×d arrays (Float32Array from the toy samplers, or any numeric array).
 */
import type { Generator } from '../core/random.ts';
import { type Mat, toMat, gramBlock, rowNorms2, symEig } from './linalg64.ts';

/** n×d points from a flat row-major array (d = 2 by default). */
export function points(data: ArrayLike<number>, d = 2): Mat {
  if (data.length % d !== 0) throw new Error(`points: ${data.length} values are not a whole number of ${d}-d points`);
  return toMat(data, data.length / d, d);
}

// ---------------------------------------------------------------------------------------------
// Sliced Wasserstein

/**
 * W_p^p between two 1-D empirical distributions (equal weights within each), from their sorted
 * values: the integral over t ∈ (0, 1) of |F⁻¹(t) − G⁻¹(t)|^p, exact for unequal sizes too.
 */
export function wasserstein1dPow(a: Float64Array, b: Float64Array, p = 2): number {
  const n = a.length, m = b.length;
  if (n === 0 || m === 0) throw new Error('wasserstein1d: empty sample');
  if (n === m) {
    let s = 0;
    for (let i = 0; i < n; i++) s += Math.abs(a[i]! - b[i]!) ** p;
    return s / n;
  }
  // walk the merged quantile breakpoints i/n and j/m
  let i = 0, j = 0, t = 0, s = 0;
  while (i < n && j < m) {
    const ti = (i + 1) / n, tj = (j + 1) / m;
    const next = Math.min(ti, tj);
    s += (next - t) * Math.abs(a[i]! - b[j]!) ** p;
    t = next;
    if (ti <= next) i++;
    if (tj <= next) j++;
  }
  return s;
}

export interface SlicedWassersteinOptions {
  /** Draws the projection directions (uniform on the unit sphere). */
  rng: Generator;
  /** Number of random directions. Default 256. */
  projections?: number;
  /** The order p of W_p. Default 2. */
  p?: number;
}

/**
 * Sliced Wasserstein distance (Rabin, Peyré, Delon & Bernot 2011; Bonneel et al. 2015):
 * SW_p = ( E_θ W_p^p(θᵀX, θᵀY) )^{1/p}, θ uniform on the unit sphere, estimated with random
 * directions; each 1-D distance is exact (sorted samples).
 */
export function slicedWasserstein(x: Mat, y: Mat, opts: SlicedWassersteinOptions): number {
  const d = x.cols;
  if (y.cols !== d) throw new Error(`slicedWasserstein: dimensions differ (${x.cols} vs ${y.cols})`);
  const L = opts.projections ?? 256, p = opts.p ?? 2;
  const px = new Float64Array(x.rows), py = new Float64Array(y.rows);
  let total = 0;
  for (let l = 0; l < L; l++) {
    const th = opts.rng.normal(d);
    const norm = Math.sqrt(th.reduce((s, v) => s + v * v, 0));
    for (let k = 0; k < d; k++) th[k]! /= norm;
    for (let i = 0; i < x.rows; i++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += x.data[i * d + k]! * th[k]!;
      px[i] = s;
    }
    for (let i = 0; i < y.rows; i++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += y.data[i * d + k]! * th[k]!;
      py[i] = s;
    }
    px.sort();
    py.sort();
    total += wasserstein1dPow(px, py, p);
  }
  return (total / L) ** (1 / p);
}

/**
 * SW₂² between two Gaussians in 2-D, by quadrature over the angle (the exact value up to the
 * quadrature's 1e-12-level error): every projection of a Gaussian is a 1-D Gaussian, and
 * W₂²(N(a, s²), N(b, t²)) = (a − b)² + (s − t)², so
 * SW₂² = (1/2π) ∫ (θᵀΔμ)² + (√(θᵀΣ₁θ) − √(θᵀΣ₂θ))² dφ, θ = (cos φ, sin φ).
 */
export function gaussianSlicedW2Squared2d(m1: ArrayLike<number>, c1: ArrayLike<number>, m2: ArrayLike<number>, c2: ArrayLike<number>, nodes = 4096): number {
  let s = 0;
  for (let k = 0; k < nodes; k++) {
    const phi = (2 * Math.PI * (k + 0.5)) / nodes;
    const c = Math.cos(phi), sn = Math.sin(phi);
    const dm = c * (m1[0]! - m2[0]!) + sn * (m1[1]! - m2[1]!);
    const v1 = c * c * c1[0]! + 2 * c * sn * c1[1]! + sn * sn * c1[3]!;
    const v2 = c * c * c2[0]! + 2 * c * sn * c2[1]! + sn * sn * c2[3]!;
    s += dm * dm + (Math.sqrt(v1) - Math.sqrt(v2)) ** 2;
  }
  return s / nodes;
}

// ---------------------------------------------------------------------------------------------
// MMD with a Gaussian kernel

/**
 * The median heuristic (Gretton et al. 2012, "A kernel two-sample test", §8): the median of the
 * pairwise distances of the pooled sample, over at most `maxPoints` of its points (the first ones
 * of each set, in equal parts) so that it costs O(maxPoints²).
 */
export function medianBandwidth(x: Mat, y: Mat, maxPoints = 1000): number {
  const d = x.cols;
  const nx = Math.min(x.rows, Math.ceil(maxPoints / 2)), ny = Math.min(y.rows, Math.ceil(maxPoints / 2));
  const pool = new Float64Array((nx + ny) * d);
  pool.set(x.data.subarray(0, nx * d), 0);
  pool.set(y.data.subarray(0, ny * d), nx * d);
  const n = nx + ny;
  const dists = new Float64Array((n * (n - 1)) / 2);
  let c = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += (pool[i * d + k]! - pool[j * d + k]!) ** 2;
      dists[c++] = Math.sqrt(s);
    }
  }
  dists.sort();
  const h = dists.length;
  const med = h % 2 ? dists[(h - 1) / 2]! : 0.5 * (dists[h / 2 - 1]! + dists[h / 2]!);
  if (!(med > 0)) throw new Error('medianBandwidth: the median pairwise distance is 0 (all points equal?)');
  return med;
}

export interface MmdOptions {
  /** Kernel bandwidth σ of k(x, y) = exp(−‖x − y‖² / (2σ²)); default: the median heuristic. */
  bandwidth?: number;
  /** The biased (V-statistic) estimate instead of the unbiased one. Default false. */
  biased?: boolean;
}

function rbfSum(x: Mat, y: Mat, gamma: number, self: boolean): number {
  const nx = rowNorms2(x), ny = rowNorms2(y);
  let s = 0;
  const B = 64;
  for (let i0 = 0; i0 < x.rows; i0 += B) {
    const i1 = Math.min(x.rows, i0 + B);
    const g = gramBlock(x, y, i0, i1);
    for (let i = i0; i < i1; i++) {
      const go = (i - i0) * y.rows;
      for (let j = 0; j < y.rows; j++) {
        if (self && j === i) continue;
        s += Math.exp(-gamma * Math.max(0, nx[i]! + ny[j]! - 2 * g[go + j]!));
      }
    }
  }
  return s;
}

/**
 * Squared maximum mean discrepancy with a Gaussian kernel (Gretton et al. 2012): the unbiased
 * estimate Σ_{i≠j} k(xᵢ,xⱼ)/(m(m−1)) + Σ_{i≠j} k(yᵢ,yⱼ)/(n(n−1)) − 2 Σ k(xᵢ,yⱼ)/(mn) by default.
 */
export function mmdRbf(x: Mat, y: Mat, opts: MmdOptions = {}): { mmd2: number; bandwidth: number } {
  if (x.cols !== y.cols) throw new Error(`mmdRbf: dimensions differ (${x.cols} vs ${y.cols})`);
  const sigma = opts.bandwidth ?? medianBandwidth(x, y);
  const gamma = 1 / (2 * sigma * sigma);
  const m = x.rows, n = y.rows;
  const kxx = rbfSum(x, x, gamma, !opts.biased), kyy = rbfSum(y, y, gamma, !opts.biased), kxy = rbfSum(x, y, gamma, false);
  const mmd2 = opts.biased
    ? kxx / (m * m) + kyy / (n * n) - (2 * kxy) / (m * n)
    : kxx / (m * (m - 1)) + kyy / (n * (n - 1)) - (2 * kxy) / (m * n);
  return { mmd2, bandwidth: sigma };
}

/**
 * The population MMD² between N(μ₁, Σ₁) and N(μ₂, Σ₂) under k(x, y) = exp(−‖x − y‖²/(2σ²)):
 * for independent x ∼ N(a, A), y ∼ N(b, B), E k(x, y) = det(I + (A + B)/σ²)^{−1/2} ·
 * exp(−½ (a − b)ᵀ (σ²I + A + B)⁻¹ (a − b)); MMD² = E k(x, x') + E k(y, y') − 2 E k(x, y).
 */
export function gaussianMmd2Rbf(m1: ArrayLike<number>, c1: ArrayLike<number>, m2: ArrayLike<number>, c2: ArrayLike<number>, sigma: number): number {
  const d = m1.length;
  const ek = (a: ArrayLike<number>, A: ArrayLike<number>, b: ArrayLike<number>, B: ArrayLike<number>) => {
    const S = new Float64Array(d * d);
    for (let i = 0; i < d * d; i++) S[i] = A[i]! + B[i]!;
    for (let i = 0; i < d; i++) S[i * d + i]! += sigma * sigma;
    const { values, vectors: V } = symEig(S, d);
    // det(I + (A+B)/σ²) = Π λᵢ / σ²;  quadratic form through the eigenbasis
    let logDet = 0, quad = 0;
    for (let k = 0; k < d; k++) {
      logDet += Math.log(values[k]! / (sigma * sigma));
      let proj = 0;
      for (let i = 0; i < d; i++) proj += V[i * d + k]! * (a[i]! - b[i]!);
      quad += (proj * proj) / values[k]!;
    }
    return Math.exp(-0.5 * logDet - 0.5 * quad);
  };
  return ek(m1, c1, m1, c1) + ek(m2, c2, m2, c2) - 2 * ek(m1, c1, m2, c2);
}

// ---------------------------------------------------------------------------------------------
// Densities on a grid

/** A regular grid over [x0, x1] × [y0, y1] with `bins` cells per axis. */
export interface Grid2d {
  range: readonly [readonly [number, number], readonly [number, number]];
  bins: number;
}

/**
 * Normalised 2-D histogram (bins × bins, row i = x cell, column j = y cell) of n×2 points; points
 * outside the range are dropped (the share that fell inside is returned as `inside`).
 */
export function histogram2d(pts: Mat, grid: Grid2d): { p: Float64Array; inside: number } {
  if (pts.cols !== 2) throw new Error(`histogram2d: expected 2-D points, got ${pts.cols}-D`);
  const [[x0, x1], [y0, y1]] = grid.range;
  const B = grid.bins;
  const h = new Float64Array(B * B);
  let c = 0;
  for (let i = 0; i < pts.rows; i++) {
    const u = Math.floor(((pts.data[2 * i]! - x0) / (x1 - x0)) * B);
    const v = Math.floor(((pts.data[2 * i + 1]! - y0) / (y1 - y0)) * B);
    if (u < 0 || u >= B || v < 0 || v >= B) continue;
    h[u * B + v]!++;
    c++;
  }
  if (c > 0) for (let k = 0; k < h.length; k++) h[k]! /= c;
  return { p: h, inside: pts.rows ? c / pts.rows : 0 };
}

/**
 * A density evaluated at the grid's cell centres, normalised to probabilities over the grid
 * (`logDensity` takes n×2 points and returns n log-densities, e.g. a model's logLikelihood).
 */
export async function gridDensity(logDensity: (pts: Float32Array) => ArrayLike<number> | Promise<ArrayLike<number>>, grid: Grid2d): Promise<Float64Array> {
  const [[x0, x1], [y0, y1]] = grid.range;
  const B = grid.bins;
  const centres = new Float32Array(2 * B * B);
  for (let i = 0; i < B; i++) {
    for (let j = 0; j < B; j++) {
      centres[2 * (i * B + j)] = x0 + ((i + 0.5) * (x1 - x0)) / B;
      centres[2 * (i * B + j) + 1] = y0 + ((j + 0.5) * (y1 - y0)) / B;
    }
  }
  const lp = await logDensity(centres);
  let mx = -Infinity;
  for (let k = 0; k < B * B; k++) mx = Math.max(mx, lp[k]!);
  const p = new Float64Array(B * B);
  let s = 0;
  for (let k = 0; k < B * B; k++) s += p[k] = Math.exp(lp[k]! - mx);
  for (let k = 0; k < B * B; k++) p[k]! /= s;
  return p;
}

/**
 * KL(p ‖ q) = Σ pᵢ log(pᵢ/qᵢ) between probability vectors on one grid. Empty cells of q where p has
 * mass make it infinite; `eps` (default 1e-10) is added to every cell of both and they are
 * renormalised, as is usual for histogram estimates.
 */
export function klDivergence(p: ArrayLike<number>, q: ArrayLike<number>, eps = 1e-10): number {
  if (p.length !== q.length) throw new Error(`klDivergence: ${p.length} vs ${q.length} cells`);
  const K = p.length;
  let sp = 0, sq = 0;
  for (let k = 0; k < K; k++) {
    sp += p[k]! + eps;
    sq += q[k]! + eps;
  }
  let kl = 0;
  for (let k = 0; k < K; k++) {
    const a = (p[k]! + eps) / sp, b = (q[k]! + eps) / sq;
    kl += a * Math.log(a / b);
  }
  return Math.max(0, kl);
}

/** Jensen–Shannon divergence ½KL(p‖m) + ½KL(q‖m), m = (p + q)/2; in [0, log 2] nats, no smoothing needed. */
export function jsDivergence(p: ArrayLike<number>, q: ArrayLike<number>): number {
  if (p.length !== q.length) throw new Error(`jsDivergence: ${p.length} vs ${q.length} cells`);
  let js = 0;
  for (let k = 0; k < p.length; k++) {
    const a = p[k]!, b = q[k]!, m = 0.5 * (a + b);
    if (a > 0) js += 0.5 * a * Math.log(a / m);
    if (b > 0) js += 0.5 * b * Math.log(b / m);
  }
  return Math.max(0, js);
}

// ---------------------------------------------------------------------------------------------
// Gaussian mixtures: modes captured and high-quality samples

export interface ModeStats {
  /** Number of components whose centre is the nearest one to at least `minCount` high-quality samples. */
  modesCaptured: number;
  modes: number;
  /** Share of samples within `threshold` standard deviations of their nearest centre. */
  highQuality: number;
  /** High-quality samples per component. */
  counts: number[];
}

/**
 * The mode-collapse metrics of VEEGAN (Srivastava, Valkov, Russell, Gutmann & Sutton 2017, §5.1,
 * following Metz et al. 2017): a sample is high quality when it lies within three standard
 * deviations of the nearest mixture centre, and a mode is captured when it is the nearest centre
 * of at least one high-quality sample (`minCount` raises that count, as stricter papers do).
 * `centres` is k×d row-major (toy2d's `modes`), `std` the components' standard deviation (`modeStd`).
 */
export function modeStats(samples: Mat, centres: ArrayLike<number>, std: number, opts: { threshold?: number; minCount?: number } = {}): ModeStats {
  const d = samples.cols;
  const K = centres.length / d;
  const r = (opts.threshold ?? 3) * std;
  const counts = new Array<number>(K).fill(0);
  let hq = 0;
  for (let i = 0; i < samples.rows; i++) {
    let best = Infinity, arg = -1;
    for (let k = 0; k < K; k++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += (samples.data[i * d + j]! - centres[k * d + j]!) ** 2;
      if (s < best) {
        best = s;
        arg = k;
      }
    }
    if (Math.sqrt(best) <= r) {
      hq++;
      counts[arg]!++;
    }
  }
  const minCount = opts.minCount ?? 1;
  return { modesCaptured: counts.filter((c) => c >= minCount).length, modes: K, highQuality: samples.rows ? hq / samples.rows : 0, counts };
}
