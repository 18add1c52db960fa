/**
 * Metrics (browser-safe part): FID, KID, Inception Score and precision/recall on the features of a
 * {@link FeatureNet}; bits/dim and NLL for likelihood models; sliced Wasserstein, MMD, grid
 * KL/JS and mode statistics for 2-D point sets. The shipped feature networks, reference
 * statistics, PNG folders and `evaluate` are in the Node entry (`genlab/node`: ./node.ts,
 * ./evaluate.ts).
 *
 * ```ts
 * import { Generator, metrics } from 'genlab';
 *
 * const rng = new Generator(0);
 * // 1000 points of N(0, I) and 1000 of N((½, ½), I) in 2-D
 * const a = metrics.points(rng.normal(2000)), b = metrics.points(rng.normal(2000, 0.5));
 * const swd = metrics.slicedWasserstein(a, b, { rng });     // ≈ 0.49 (exact: √(‖Δμ‖²/2) = 0.5)
 * const { mmd2 } = metrics.mmdRbf(a, b);                     // ≈ 0.06, bandwidth by the median heuristic
 * ```
 */
export type { Mat } from './linalg64.ts';
export { toMat, meanCov, symEig, sqrtPsd, traceSqrtProduct } from './linalg64.ts';
export { type FeatureNet, type ConvFeatureNetOptions, ConvFeatureNet } from './featureNet.ts';
export { type FeatureNetCard, type FeatureOptions, featureNetFromBytes, extractFeatures, sha256Hex, statsToBytes, statsFromBytes } from './features.ts';
export { type GaussianStats, gaussianStats, frechetDistance, fid, gaussianW2Squared } from './fid.ts';
export { type KidOptions, type KidResult, kid, polynomialMmd2 } from './kid.ts';
export { type InceptionScoreResult, inceptionScore } from './inceptionScore.ts';
export { type PrecisionRecallResult, precisionRecall, kthNeighbourRadii2 } from './precisionRecall.ts';
export { type Quantization, type HeldOutNllOptions, type HeldOutNllResult, logBinWidth, dequantize, bitsPerDim, bitsPerDimOf, natsToBitsPerDim, heldOutNll } from './likelihood.ts';
export {
  type SlicedWassersteinOptions, type MmdOptions, type Grid2d, type ModeStats,
  points, wasserstein1dPow, slicedWasserstein, gaussianSlicedW2Squared2d, medianBandwidth, mmdRbf, gaussianMmd2Rbf,
  histogram2d, gridDensity, klDivergence, jsDivergence, modeStats,
} from './points.ts';
export { classificationAccuracy } from './accuracy.ts';
