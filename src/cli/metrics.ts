/**
 * The metrics the trainer's periodic evaluation and `genlab eval` on a user's own data compute
 * (through src/metrics/): on points, the sliced Wasserstein distance, MMD and (for Gaussian
 * mixtures) the modes captured, against held-out data; held-out NLL / bits per dimension for
 * families with a likelihood (per sample for audio). Built-in data sets go through src/metrics/evaluate.ts instead.
 */
import { Generator, scope, type Tensor } from '../core/index.ts';
import type { AnyFamily } from '../models/index.ts';
import type { Model, SampleOptions } from '../models/registry.ts';
import type { ArrayDataset } from '../data/loader.ts';
import { points, slicedWasserstein, mmdRbf, modeStats } from '../metrics/points.ts';
import { heldOutNll } from '../metrics/likelihood.ts';
import { toy2d } from '../data/toy2d.ts';
import { TOY_NAMES, allX } from './data.ts';
export { METRICS, type MetricInfo } from './help.ts';

/** Draw `n` samples in a scope and read them back as one flat array. */
export async function drawSamples(family: AnyFamily, model: Model, n: number, rng: Generator, opts: SampleOptions = {}): Promise<Float32Array> {
  const t = scope(() => family.sample(model, n, rng, opts) as Tensor);
  try {
    return Float32Array.from(await t.data());
  } finally {
    t.dispose();
  }
}

/** Sample-based metrics of 2-D (or d-D) points against a reference set. */
export function pointMetrics(names: readonly string[], samples: Float32Array, ref: Float32Array, d: number, dataName: string): Record<string, number> {
  const out: Record<string, number> = {};
  const finite = samples.every(Number.isFinite);
  const x = points(samples, d), y = points(ref, d);
  if (names.includes('swd')) out.swd = finite ? slicedWasserstein(x, y, { rng: new Generator(12345), projections: 256 }) : NaN;
  if (names.includes('mmd')) out.mmd = finite ? mmdRbf(points(samples.subarray(0, 2000 * d), d), points(ref.subarray(0, 2000 * d), d)).mmd2 : NaN;
  if (names.includes('modes')) {
    const entry = toy2d[TOY_NAMES[dataName] ?? dataName];
    if (entry?.modes && entry.modeStd !== undefined) {
      const m = modeStats(x, entry.modes, entry.modeStd);
      out.modes = m.modesCaptured;
      out.highQuality = m.highQuality;
    }
  }
  return out;
}

/** Held-out NLL (and bits/dim for images) through the family's log-likelihood, over up to `n` items. */
export async function likelihoodMetrics(family: AnyFamily, model: Model, data: ArrayDataset, n: number, batchSize: number, images: boolean): Promise<Record<string, number>> {
  if (!family.logLikelihood) throw new Error(`the '${family.name}' family has no likelihood`);
  const count = Math.min(n, data.length);
  const batches = function* () {
    for (let i = 0; i < count; i += batchSize) {
      const b = data.batch(Int32Array.from({ length: Math.min(batchSize, count - i) }, (_, k) => i + k));
      yield b.y ? { x: b.x!, y: b.y } : { x: b.x! };
    }
  };
  // flows on images report a discrete (dequantisation) bound already; diffusion a density on [−1, 1]
  const quantization = images ? (family.name === 'diffusion' ? { range: [-1, 1] as const } : null) : undefined;
  const r = await heldOutNll(family, model, batches(), { rng: new Generator(777), quantization });
  const out: Record<string, number> = { nll: r.nll };
  if (r.bitsPerDim !== undefined) out.bpd = r.bitsPerDim;
  else if (images) out.bpd = r.nll / (model.data.shape.reduce((a, b) => a * b, 1) * Math.LN2);
  return out;
}

/**
 * Held-out NLL of audio clips [T] per sample, over up to `n` clips: `nll` in nats per sample and
 * `bitsPerSample` (= nll / ln 2), the figures WaveNet papers report.
 */
export async function audioLikelihoodMetrics(family: AnyFamily, model: Model, data: ArrayDataset, n: number, batchSize: number): Promise<{ nll: number; bitsPerSample: number }> {
  const perClip = (await likelihoodMetrics(family, model, data, n, batchSize, false)).nll!;
  const T = model.data.shape[0]!;
  return { nll: perClip / T, bitsPerSample: perClip / (T * Math.LN2) };
}

/** The reference points of a data set (held-out data), as one flat array. */
export function referencePoints(ds: ArrayDataset, max = 5000): Float32Array {
  return allX(ds, max).data;
}
