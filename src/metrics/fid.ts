/**
 * Fréchet Inception Distance (Heusel et al. 2017, "GANs trained by a two time-scale update rule
 * converge to a local Nash equilibrium"): the Fréchet (2-Wasserstein) distance between Gaussian fits
 * of two sets of features,
 *
 *   FID = ‖μ₁ − μ₂‖² + tr Σ₁ + tr Σ₂ − 2 tr √(Σ₁^{1/2} Σ₂ Σ₁^{1/2}).
 *
 * The reference code (pytorch-fid, TTUR) computes the last term as tr sqrtm(Σ₁Σ₂) with
 * scipy.linalg.sqrtm on the non-symmetric product, discards imaginary round-off and adds ε·I when
 * the product is singular. Here the symmetric form is used (see {@link traceSqrtProduct}): two
 * symmetric eigen-decompositions by Jacobi rotations in float64, eigenvalues clamped at 0. It
 * equals the scipy value wherever that one is well defined (tests/metrics.test.ts: within 1e-6
 * relative of scipy on committed features; they agree to about 1e-9) and stays exact for
 * rank-deficient covariances.
 *
 * genlab's image FID runs on its own small classifiers (src/metrics/featureNet.ts), not Inception:
 * its numbers compare only with numbers from the same feature network.
 */
import { type Mat, meanCov, traceSqrtProduct } from './linalg64.ts';

/** A Gaussian fit of features: mean [d], covariance [d×d] (row-major), from n samples. */
export interface GaussianStats {
  mean: Float64Array;
  cov: Float64Array;
  dim: number;
  n: number;
}

/** Mean and (1/(n−1)) covariance of the rows of `features` (n×d). */
export function gaussianStats(features: Mat): GaussianStats {
  const { mean, cov } = meanCov(features);
  return { mean, cov, dim: features.cols, n: features.rows };
}

/** The Fréchet distance between N(μ₁, Σ₁) and N(μ₂, Σ₂); never negative (round-off is clamped at 0). */
export function frechetDistance(a: GaussianStats, b: GaussianStats): number {
  const d = a.dim;
  if (b.dim !== d) throw new Error(`frechetDistance: feature dimensions differ (${a.dim} vs ${b.dim})`);
  let mean2 = 0, tr = 0;
  for (let i = 0; i < d; i++) {
    const diff = a.mean[i]! - b.mean[i]!;
    mean2 += diff * diff;
    tr += a.cov[i * d + i]! + b.cov[i * d + i]!;
  }
  const cross = traceSqrtProduct(a.cov, b.cov, d);
  return Math.max(0, mean2 + tr - 2 * cross);
}

/** FID between two feature sets (n₁×d and n₂×d). */
export function fid(a: Mat | GaussianStats, b: Mat | GaussianStats): number {
  const sa = 'mean' in a ? a : gaussianStats(a);
  const sb = 'mean' in b ? b : gaussianStats(b);
  return frechetDistance(sa, sb);
}

/** W₂² between two Gaussians — the same formula: FID is W₂² of the Gaussian fits. */
export const gaussianW2Squared = (m1: Float64Array, c1: Float64Array, m2: Float64Array, c2: Float64Array): number =>
  frechetDistance({ mean: m1, cov: c1, dim: m1.length, n: 0 }, { mean: m2, cov: c2, dim: m2.length, n: 0 });
