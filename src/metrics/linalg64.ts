/**
 * Float64 linear algebra on host arrays for the metrics: means and covariances of feature
 * matrices, the symmetric eigen-decomposition (cyclic Jacobi), square roots of positive
 * semi-definite matrices, and squared distances / Gram matrices in blocks.
 *
 * Metrics work on a few thousand feature vectors of a few hundred dimensions, once per
 * evaluation; they run in float64 on the host so that a number such as FID does not depend on the
 * backend's float32 rounding, and so that subtracting large, nearly equal traces stays accurate.
 *
 * Matrices are row-major Float64Arrays; an n×d "points" matrix holds one point per row.
 */

/** A row-major matrix of float64 (or float32 on input) values. */
export interface Mat {
  data: Float64Array;
  rows: number;
  cols: number;
}

/** Row-major points (n×d) from any numeric array; copies into float64. */
export function toMat(data: ArrayLike<number>, rows: number, cols: number): Mat {
  if (data.length !== rows * cols) throw new Error(`toMat: ${data.length} values do not fill ${rows}×${cols}`);
  return { data: Float64Array.from(data), rows, cols };
}

/** Mean of the rows: [d]. */
export function rowMean(x: Mat): Float64Array {
  const { data, rows: n, cols: d } = x;
  const mu = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mu[j]! += data[i * d + j]!;
  for (let j = 0; j < d; j++) mu[j]! /= n;
  return mu;
}

/**
 * Mean and covariance of the rows, with the unbiased 1/(n−1) normalisation (numpy.cov with
 * rowvar=False, as pytorch-fid and clean-fid use). Two passes (centre, then multiply) for accuracy.
 */
export function meanCov(x: Mat): { mean: Float64Array; cov: Float64Array } {
  const { data, rows: n, cols: d } = x;
  if (n < 2) throw new Error(`meanCov: need at least 2 rows, got ${n}`);
  const mean = rowMean(x);
  const c = new Float64Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) c[i * d + j] = data[i * d + j]! - mean[j]!;
  const cov = new Float64Array(d * d);
  // cov = cᵀc / (n − 1), upper triangle, accumulated row by row of c
  for (let i = 0; i < n; i++) {
    const o = i * d;
    for (let a = 0; a < d; a++) {
      const va = c[o + a]!;
      if (va === 0) continue;
      const ra = a * d;
      for (let b = a; b < d; b++) cov[ra + b]! += va * c[o + b]!;
    }
  }
  for (let a = 0; a < d; a++) {
    for (let b = a; b < d; b++) {
      const v = cov[a * d + b]! / (n - 1);
      cov[a * d + b] = v;
      cov[b * d + a] = v;
    }
  }
  return { mean, cov };
}

/**
 * Eigen-decomposition of a symmetric n×n matrix by the cyclic Jacobi method (Golub & Van Loan,
 * "Matrix Computations", 4th ed., §8.5): A = V·diag(values)·Vᵀ, V orthogonal (columns are the
 * eigenvectors). Jacobi rotations are orthogonal to working precision, and the method computes
 * small eigenvalues of positive semi-definite matrices to high relative accuracy (Demmel &
 * Veselić 1992), which is what a square root near a singular covariance needs. O(n³) per sweep;
 * converges quadratically, typically in 6–12 sweeps. Only the upper triangle of `a` is read.
 */
export function symEig(a: Float64Array, n: number, opts: { maxSweeps?: number } = {}): { values: Float64Array; vectors: Float64Array } {
  if (a.length !== n * n) throw new Error(`symEig: ${a.length} values for a ${n}×${n} matrix`);
  const A = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      A[i * n + j] = a[i * n + j]!;
      A[j * n + i] = a[i * n + j]!;
    }
  }
  const V = new Float64Array(n * n);
  for (let i = 0; i < n; i++) V[i * n + i] = 1;
  const maxSweeps = opts.maxSweeps ?? 60;
  let norm = 0;
  for (let i = 0; i < n * n; i++) norm += A[i]! * A[i]!;
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += A[p * n + q]! * A[p * n + q]!;
    if (off <= 1e-30 * norm || off === 0) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = A[p * n + q]!;
        const app = A[p * n + p]!, aqq = A[q * n + q]!;
        // skip rotations that cannot change the diagonal in double precision
        if (Math.abs(apq) <= 1e-300 || (sweep > 3 && Math.abs(apq) < 1e-18 * Math.sqrt(Math.abs(app * aqq)))) {
          A[p * n + q] = A[q * n + p] = 0;
          continue;
        }
        // Rutishauser's stable rotation: t = sign(θ)/(|θ| + √(θ² + 1)), θ = (aqq − app)/(2apq)
        const theta = (aqq - app) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c, tau = s / (1 + c);
        A[p * n + p] = app - t * apq;
        A[q * n + q] = aqq + t * apq;
        A[p * n + q] = A[q * n + p] = 0;
        for (let r = 0; r < n; r++) {
          if (r === p || r === q) continue;
          const arp = A[r * n + p]!, arq = A[r * n + q]!;
          const np_ = arp - s * (arq + tau * arp);
          const nq = arq + s * (arp - tau * arq);
          A[r * n + p] = A[p * n + r] = np_;
          A[r * n + q] = A[q * n + r] = nq;
        }
        for (let r = 0; r < n; r++) {
          const vrp = V[r * n + p]!, vrq = V[r * n + q]!;
          V[r * n + p] = vrp - s * (vrq + tau * vrp);
          V[r * n + q] = vrq + s * (vrp - tau * vrq);
        }
      }
    }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = A[i * n + i]!;
  return { values, vectors: V };
}

/** V·diag(f(λ))·Vᵀ for a symmetric matrix A = V·diag(λ)·Vᵀ. */
export function symFunction(a: Float64Array, n: number, f: (lambda: number) => number): Float64Array {
  const { values, vectors: V } = symEig(a, n);
  const fl = values.map(f);
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += V[i * n + k]! * fl[k]! * V[j * n + k]!;
      out[i * n + j] = s;
      out[j * n + i] = s;
    }
  }
  return out;
}

/** The symmetric PSD square root; eigenvalues below zero (rounding) are clamped to zero. */
export function sqrtPsd(a: Float64Array, n: number): Float64Array {
  return symFunction(a, n, (l) => Math.sqrt(Math.max(l, 0)));
}

/** C = A·B for row-major n×n matrices. */
export function matmulSquare(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const c = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const aik = a[i * n + k]!;
      if (aik === 0) continue;
      for (let j = 0; j < n; j++) c[i * n + j]! += aik * b[k * n + j]!;
    }
  }
  return c;
}

/**
 * tr √(Σ₁^{1/2} Σ₂ Σ₁^{1/2}) for symmetric PSD Σ₁, Σ₂ — the cross term of the Fréchet distance.
 * M = Σ₁^{1/2} Σ₂ Σ₁^{1/2} is symmetric PSD and similar to Σ₁Σ₂, so its eigenvalues are those of
 * Σ₁Σ₂ (real, ≥ 0) and the trace is Σᵢ √λᵢ(M). Two symmetric eigen-decompositions replace the
 * general (Schur-based) square root of the non-symmetric Σ₁Σ₂ that scipy.linalg.sqrtm computes:
 * no complex round-off to discard, and singular covariances (fewer samples than dimensions) need
 * no ε·I offset.
 */
export function traceSqrtProduct(s1: Float64Array, s2: Float64Array, n: number): number {
  const r = sqrtPsd(s1, n);
  const m = matmulSquare(matmulSquare(r, s2, n), r, n);
  // symmetrise the round-off before the eigen-decomposition
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const v = 0.5 * (m[i * n + j]! + m[j * n + i]!);
      m[i * n + j] = m[j * n + i] = v;
    }
  }
  const { values } = symEig(m, n);
  let t = 0;
  for (const l of values) t += Math.sqrt(Math.max(l, 0));
  return t;
}

/** Squared Euclidean norms of the rows. */
export function rowNorms2(x: Mat): Float64Array {
  const { data, rows: n, cols: d } = x;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += data[i * d + j]! * data[i * d + j]!;
    out[i] = s;
  }
  return out;
}

/** Dot products of rows `i0..i1` of x with every row of y: (i1−i0)×ny, row-major. */
export function gramBlock(x: Mat, y: Mat, i0: number, i1: number, out?: Float64Array): Float64Array {
  const d = x.cols;
  if (y.cols !== d) throw new Error(`gramBlock: ${x.cols} vs ${y.cols} columns`);
  const ny = y.rows, xd = x.data, yd = y.data;
  const g = out ?? new Float64Array((i1 - i0) * ny);
  for (let i = i0; i < i1; i++) {
    const xo = i * d, go = (i - i0) * ny;
    for (let j = 0; j < ny; j++) {
      const yo = j * d;
      let s = 0;
      let k = 0;
      for (; k + 4 <= d; k += 4) s += xd[xo + k]! * yd[yo + k]! + xd[xo + k + 1]! * yd[yo + k + 1]! + xd[xo + k + 2]! * yd[yo + k + 2]! + xd[xo + k + 3]! * yd[yo + k + 3]!;
      for (; k < d; k++) s += xd[xo + k]! * yd[yo + k]!;
      g[go + j] = s;
    }
  }
  return g;
}

/** The rows of x at `idx`, as a new matrix. */
export function takeRows(x: Mat, idx: ArrayLike<number>): Mat {
  const d = x.cols;
  const out = new Float64Array(idx.length * d);
  for (let i = 0; i < idx.length; i++) out.set(x.data.subarray(idx[i]! * d, (idx[i]! + 1) * d), i * d);
  return { data: out, rows: idx.length, cols: d };
}
