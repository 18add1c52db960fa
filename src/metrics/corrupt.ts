/**
 * Corruptions of image batches for checking that a metric responds to quality: additive Gaussian
 * noise and Gaussian blur of increasing strength (Heusel et al. 2017, Fig. 1, used both to argue
 * for FID). Images are row-major [n, C, H, W] values in [0, 1]; results are clamped to [0, 1].
 */
import type { Generator } from '../core/random.ts';

/** x + N(0, σ²) per pixel, clamped to [0, 1]. */
export function addGaussianNoise(images: Float32Array, sigma: number, rng: Generator): Float32Array {
  const z = rng.normal(images.length, 0, sigma);
  return images.map((v, i) => Math.min(1, Math.max(0, v + z[i]!)));
}

/** Separable Gaussian blur of every H×W plane with standard deviation σ pixels (kernel radius ⌈3σ⌉, edges clamped). */
export function gaussianBlur(images: Float32Array, H: number, W: number, sigma: number): Float32Array {
  if (sigma <= 0) return images.slice();
  const r = Math.ceil(3 * sigma);
  const k = Float64Array.from({ length: 2 * r + 1 }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
  const ks = k.reduce((a, v) => a + v, 0);
  for (let i = 0; i < k.length; i++) k[i]! /= ks;
  const planes = images.length / (H * W);
  const out = new Float32Array(images.length), tmp = new Float64Array(H * W);
  for (let p = 0; p < planes; p++) {
    const o = p * H * W;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        let s = 0;
        for (let j = -r; j <= r; j++) s += k[j + r]! * images[o + y * W + Math.min(W - 1, Math.max(0, x + j))]!;
        tmp[y * W + x] = s;
      }
    }
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        let s = 0;
        for (let j = -r; j <= r; j++) s += k[j + r]! * tmp[Math.min(H - 1, Math.max(0, y + j)) * W + x]!;
        out[o + y * W + x] = Math.min(1, Math.max(0, s));
      }
    }
  }
  return out;
}
