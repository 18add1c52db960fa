/**
 * Features and logits of images through a {@link FeatureNet}, in batches, as float64 host
 * matrices; the shipped feature networks from their safetensors bytes; reference statistics as
 * safetensors bytes. Browser-safe (the Node file helpers are in ./node.ts).
 */
import { type Tensor, scope, noGrad, tensor } from '../core/index.ts';
import { parseSafetensors, serializeSafetensors, type RawTensor } from '../nn/io/safetensors.ts';
import { stateDictFromBytes } from '../nn/io/index.ts';
import { ConvFeatureNet, type FeatureNet } from './featureNet.ts';
import type { Mat } from './linalg64.ts';
import type { GaussianStats } from './fid.ts';

/** The card written beside shipped weights by scripts/train-feature-net.ts. */
export interface FeatureNetCard {
  dataset: string;
  options: { numClasses: number; featureDim: number };
  seed: number;
  steps: number;
  testAccuracy: number;
  sha256: string;
  [key: string]: unknown;
}

/** SHA-256 of bytes, hex (Web Crypto: Node ≥ 20 and browsers). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * A ConvFeatureNet from its safetensors bytes, in evaluation mode, with `id` = "<dataset>@<first
 * 12 hex digits of the weights' sha256>" (the cache key of reference statistics).
 */
export async function featureNetFromBytes(bytes: Uint8Array, dataset: string, opts: { numClasses?: number; featureDim?: number } = {}): Promise<ConvFeatureNet & { sha256: string }> {
  const sha256 = await sha256Hex(bytes);
  const net = new ConvFeatureNet({ numClasses: opts.numClasses ?? 10, featureDim: opts.featureDim ?? 128, id: `${dataset}@${sha256.slice(0, 12)}` });
  const sd = stateDictFromBytes(bytes);
  net.loadStateDict(sd, { strict: true });
  for (const t of Object.values(sd)) t.dispose();
  net.eval();
  return Object.assign(net, { sha256 });
}

export interface FeatureOptions {
  /** Images per forward pass. Default 250. */
  batchSize?: number;
  /** Which outputs to compute. Default both. */
  want?: { features?: boolean; logits?: boolean };
  onProgress?: (done: number, total: number) => void;
}

/**
 * Runs `net` over n images (row-major [n, C, H, W] values in [0, 1], `shape` = [C, H, W]) and
 * returns the features (n×D) and logits (n×K) as float64 matrices.
 */
export async function extractFeatures(net: FeatureNet, images: Float32Array, shape: readonly number[], opts: FeatureOptions = {}): Promise<{ features: Mat | null; logits: Mat | null }> {
  const per = shape.reduce((a, b) => a * b, 1);
  if (images.length % per !== 0) throw new Error(`extractFeatures: ${images.length} values are not a whole number of [${shape.join(', ')}] images`);
  const n = images.length / per;
  const wantF = opts.want?.features ?? true, wantL = opts.want?.logits ?? true;
  const B = opts.batchSize ?? 250;
  const F = wantF ? new Float64Array(n * net.featureDim) : null;
  const L = wantL ? new Float64Array(n * net.numClasses) : null;
  for (let i = 0; i < n; i += B) {
    const m = Math.min(B, n - i);
    const outs = scope(() => noGrad(() => {
      const x = tensor(images.subarray(i * per, (i + m) * per), { shape: [m, ...shape] });
      if (wantF && wantL) {
        if (net.featuresAndLogits) {
          const r = net.featuresAndLogits(x);
          return [r.features, r.logits] as (Tensor | null)[];
        }
        return [net.features(x), net.logits(x)];
      }
      return [wantF ? net.features(x) : null, wantL ? net.logits(x) : null];
    }));
    const [f, l] = outs as [Tensor | null, Tensor | null];
    if (f && F) {
      F.set(await f.data(), i * net.featureDim);
      f.dispose();
    }
    if (l && L) {
      L.set(await l.data(), i * net.numClasses);
      l.dispose();
    }
    opts.onProgress?.(i + m, n);
  }
  return {
    features: F ? { data: F, rows: n, cols: net.featureDim } : null,
    logits: L ? { data: L, rows: n, cols: net.numClasses } : null,
  };
}

/** Reference statistics as safetensors bytes: mean [D] and cov [D, D] in float64, with metadata. */
export function statsToBytes(stats: GaussianStats, metadata: Record<string, string>): Uint8Array {
  const raw: Record<string, RawTensor> = {
    mean: { dtype: 'float64', shape: [stats.dim], data: stats.mean },
    cov: { dtype: 'float64', shape: [stats.dim, stats.dim], data: stats.cov },
  };
  return serializeSafetensors(raw, { ...metadata, n: String(stats.n) });
}

/** Parses bytes written by {@link statsToBytes}. */
export function statsFromBytes(bytes: Uint8Array): { stats: GaussianStats; metadata: Record<string, string> } {
  const { tensors, metadata } = parseSafetensors(bytes);
  const mean = tensors.mean, cov = tensors.cov;
  if (!mean || !cov || mean.shape.length !== 1 || cov.shape.length !== 2) throw new Error('statsFromBytes: expected tensors "mean" [D] and "cov" [D, D]');
  const dim = mean.shape[0]!;
  return {
    stats: { mean: Float64Array.from(mean.data), cov: Float64Array.from(cov.data), dim, n: Number(metadata?.n ?? 0) },
    metadata: metadata ?? {},
  };
}

/** A features/logits matrix pair as safetensors bytes (float32), for caching the real set's features. */
export function matsToBytes(mats: Record<string, Mat>, metadata: Record<string, string>): Uint8Array {
  const raw: Record<string, RawTensor> = {};
  for (const [k, m] of Object.entries(mats)) raw[k] = { dtype: 'float32', shape: [m.rows, m.cols], data: Float32Array.from(m.data) };
  return serializeSafetensors(raw, metadata);
}

export function matsFromBytes(bytes: Uint8Array): { mats: Record<string, Mat>; metadata: Record<string, string> } {
  const { tensors, metadata } = parseSafetensors(bytes);
  const mats: Record<string, Mat> = {};
  for (const [k, t] of Object.entries(tensors)) {
    if (t.shape.length !== 2) throw new Error(`matsFromBytes: tensor "${k}" is not 2-D`);
    mats[k] = { data: Float64Array.from(t.data), rows: t.shape[0]!, cols: t.shape[1]! };
  }
  return { mats, metadata: metadata ?? {} };
}
