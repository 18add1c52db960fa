/**
 * `evaluate`: the metrics of one set of samples — given, read from a folder of PNGs, or drawn from
 * a trained model — against a data set, as the CLI's `genlab eval` and the trainer call it.
 * Node-only (files). Image data sets: 'mnist', 'fashion-mnist'; point data sets: the names of
 * src/data/toy2d.ts.
 *
 * ```ts
 * const r = await evaluate({ dir: 'samples/', dataset: 'mnist', metrics: ['fid', 'kid', 'is', 'pr'], out: 'eval.json' });
 * r.fid;                 // a number
 * r.kid;                 // { value, std, stderr, subsets, subsetSize }
 * ```
 */
import { Generator } from '../core/random.ts';
import { type Tensor, scope, noGrad, tensor } from '../core/index.ts';
import type { Family, Model } from '../models/registry.ts';
import { toy2d } from '../data/toy2d.ts';
import { writeFileAtomic } from '../nn/io/files.ts';
import { loadMnistLike } from '../data/locate.ts';
import type { FeatureNet } from './featureNet.ts';
import { extractFeatures } from './features.ts';
import { fid, gaussianStats } from './fid.ts';
import { kid, type KidOptions } from './kid.ts';
import { inceptionScore } from './inceptionScore.ts';
import { precisionRecall } from './precisionRecall.ts';
import { heldOutNll, dequantize } from './likelihood.ts';
import { slicedWasserstein, mmdRbf, histogram2d, klDivergence, jsDivergence, modeStats, gridDensity, type Grid2d } from './points.ts';
import { type Mat, takeRows } from './linalg64.ts';
import { loadFeatureNet, referenceStats, referenceFeatures, readPngDir, IMAGE_DATASETS, type ImageDataset } from './node.ts';

export type MetricName = 'fid' | 'kid' | 'is' | 'pr' | 'bpd' | 'nll' | 'swd' | 'mmd' | 'kl' | 'js' | 'modes';
export const IMAGE_METRICS: readonly MetricName[] = ['fid', 'kid', 'is', 'pr', 'bpd'];
export const POINT_METRICS: readonly MetricName[] = ['swd', 'mmd', 'kl', 'js', 'modes', 'nll'];

export interface EvaluateProgress {
  /** What is being done: 'sampling', 'features', 'reference', 'kid', 'bpd', … */
  stage: string;
  done: number;
  total: number;
}

/** A trained model and its family (the CLI resolves a run directory into this). */
export interface RunLike {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  family: Family<any>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  model: Model<any>;
}

export interface EvaluateOptions {
  metrics: readonly MetricName[];
  /** 'mnist' | 'fashion-mnist' | a toy2d name ('ring', 'gaussianGrid', 'twoMoons', …). */
  dataset: string;
  /** Images [n, 1, 28, 28] or [n, 784] (values in `range`), or points [n, 2]. */
  samples?: Float32Array | Tensor;
  /** A folder of PNG images (28×28 grey, or colour read as luma). */
  dir?: string;
  /** A trained model: samples are drawn from it (`n` of them); 'bpd'/'nll' use its logLikelihood. */
  run?: RunLike;
  /** Samples to draw from `run`. Default 10,000 images or 5,000 points. */
  n?: number;
  /** Value range of `samples`. Default [0, 1] for images (a run's [−1, 1] images are mapped). */
  range?: readonly [number, number];
  /** Seeds every draw (subsets, projections, reference points, model samples). Default 0. */
  seed?: number;
  /** Writes the result, with what was evaluated, as JSON here. */
  out?: string;
  onProgress?: (p: EvaluateProgress) => void;
  /** Another feature network (its reference features are computed from the test set, not cached). */
  featureNet?: FeatureNet;
  /** Where the image data set is (src/data/locate.ts); default: its standard locations. */
  dataPath?: string;
  kid?: Pick<KidOptions, 'subsets' | 'subsetSize'>;
  /** Precision/recall: neighbourhood size (3) and samples used from each side (5,000). */
  pr?: { k?: number; maxSamples?: number };
  /** Inception Score splits (10). */
  is?: { splits?: number };
  /** Whether the run's logLikelihood is a density of dequantised data ('density', default) or a discrete probability. */
  likelihood?: 'density' | 'discrete';
  /** Held-out examples for 'bpd' (default: the whole test set) or 'nll' on points (default 5,000). */
  heldOut?: number;
}

export type MetricValue = number | Record<string, number | number[] | boolean>;

/** Computes the requested metrics; see {@link EvaluateOptions}. */
export async function evaluate(opts: EvaluateOptions): Promise<Record<string, MetricValue>> {
  const isImages = (IMAGE_DATASETS as readonly string[]).includes(opts.dataset);
  const isPoints = opts.dataset in toy2d;
  if (!isImages && !isPoints) throw new Error(`evaluate: unknown data set '${opts.dataset}' (images: ${IMAGE_DATASETS.join(', ')}; points: ${Object.keys(toy2d).join(', ')})`);
  const allowed = isImages ? IMAGE_METRICS : POINT_METRICS;
  for (const m of opts.metrics) {
    if (!allowed.includes(m)) throw new Error(`evaluate: metric '${m}' does not apply to ${isImages ? 'image' : 'point'} data set '${opts.dataset}' (available: ${allowed.join(', ')})`);
  }
  const given = [opts.samples, opts.dir, opts.run].filter((v) => v !== undefined).length;
  const needsSamples = opts.metrics.some((m) => m !== 'bpd' && m !== 'nll');
  if (needsSamples && given === 0) throw new Error('evaluate: give samples, a dir of PNGs or a run');
  if (opts.samples !== undefined && opts.dir !== undefined) throw new Error('evaluate: give either samples or dir, not both');
  const progress = (stage: string) => (done: number, total: number) => opts.onProgress?.({ stage, done, total });
  const rng = new Generator(opts.seed ?? 0);
  const [sampleRng, metricRng, refRng, lrng] = rng.split(4) as Generator[];
  const result: Record<string, MetricValue> = {};
  const started = Date.now();
  let source = '';

  if (isImages) {
    const dataset = opts.dataset as ImageDataset;
    let images: Float32Array | null = null;
    if (needsSamples) {
      if (opts.dir !== undefined) {
        const r = await readPngDir(opts.dir);
        if (r.shape[1] !== 28 || r.shape[2] !== 28) throw new Error(`evaluate: the images in ${opts.dir} are ${r.shape[2]}×${r.shape[1]}; the ${dataset} feature network takes 28×28`);
        images = r.images;
        source = `dir ${opts.dir} (${r.files.length} PNGs)`;
      } else if (opts.samples !== undefined) {
        images = await toUnitRange(opts.samples, opts.range ?? [0, 1]);
        source = 'samples';
      } else {
        const x = await sampleRun(opts.run!, opts.n ?? 10000, sampleRng!, progress('sampling'));
        images = await toUnitRange(x, [-1, 1]);
        x.dispose();
        source = `run (${opts.run!.family.name}, ${opts.n ?? 10000} samples)`;
      }
    }
    const net: FeatureNet = opts.featureNet ?? (await loadFeatureNet(dataset));
    const wantF = opts.metrics.some((m) => m === 'fid' || m === 'kid' || m === 'pr');
    const wantL = opts.metrics.includes('is');
    let gen: { features: Mat | null; logits: Mat | null } = { features: null, logits: null };
    if (images) gen = await extractFeatures(net, images, [1, 28, 28], { want: { features: wantF, logits: wantL }, onProgress: progress('features') });
    const custom = opts.featureNet !== undefined;
    let realFeatures: Mat | null = null;
    const real = async (): Promise<Mat> => {
      if (realFeatures) return realFeatures;
      if (custom) {
        const d = await loadMnistLike(dataset, 'test', opts.dataPath !== undefined ? { path: opts.dataPath } : {});
        realFeatures = (await extractFeatures(net, d.images, [1, 28, 28], { want: { logits: false }, onProgress: progress('reference') })).features!;
      } else realFeatures = (await referenceFeatures(dataset, { dataPath: opts.dataPath, onProgress: progress('reference') })).features;
      return realFeatures;
    };
    for (const m of opts.metrics) {
      if (m === 'fid') {
        const ref = custom ? gaussianStats(await real()) : await referenceStats(dataset, { dataPath: opts.dataPath, onProgress: progress('reference') });
        result.fid = fid(ref, gen.features!);
      } else if (m === 'kid') {
        const r = kid(await real(), gen.features!, { ...opts.kid, rng: metricRng!, onProgress: progress('kid') });
        result.kid = { ...r };
      } else if (m === 'is') {
        result.is = { ...inceptionScore(gen.logits!, { splits: opts.is?.splits ?? 10 }) };
      } else if (m === 'pr') {
        const cap = opts.pr?.maxSamples ?? 5000;
        const g = gen.features!;
        const gs = g.rows > cap ? takeRows(g, metricRng!.permutation(g.rows).subarray(0, cap)) : g;
        const r = await real();
        const rs = takeRows(r, metricRng!.permutation(r.rows).subarray(0, Math.min(r.rows, gs.rows)));
        result.pr = { ...precisionRecall(rs, gs, { k: opts.pr?.k ?? 3 }) };
      } else if (m === 'bpd') {
        if (!opts.run) throw new Error("evaluate: 'bpd' needs a run (a model with a log-likelihood)");
        const d = await loadMnistLike(dataset, 'test', opts.dataPath !== undefined ? { path: opts.dataPath } : {});
        const n = Math.min(d.n, opts.heldOut ?? d.n);
        const discrete = opts.likelihood === 'discrete';
        const batches = imageBatches(d.images, n, 250, discrete ? null : lrng!);
        const r = await heldOutNll(opts.run.family, opts.run.model, batches, { rng: lrng!, quantization: discrete ? null : { range: [-1, 1] }, total: Math.ceil(n / 250), onProgress: progress('bpd') });
        if (discrete) r.bitsPerDim = r.nll / (784 * Math.LN2);
        result.bpd = { ...r };
      }
    }
  } else {
    const entry = toy2d[opts.dataset]!;
    let pts: Mat | null = null;
    if (needsSamples) {
      if (opts.dir !== undefined) throw new Error('evaluate: a dir of PNGs holds images, not points');
      let flat: ArrayLike<number>;
      if (opts.samples !== undefined) {
        flat = opts.samples instanceof Float32Array ? opts.samples : await (opts.samples as Tensor).data();
        source = 'samples';
      } else {
        const x = await sampleRun(opts.run!, opts.n ?? 5000, sampleRng!, progress('sampling'));
        flat = await x.data();
        x.dispose();
        source = `run (${opts.run!.family.name}, ${opts.n ?? 5000} samples)`;
      }
      pts = { data: Float64Array.from(flat), rows: flat.length / 2, cols: 2 };
    }
    const refN = Math.max(pts?.rows ?? 0, 5000);
    const ref: Mat = { data: Float64Array.from(entry.sample(refN, refRng!)), rows: refN, cols: 2 };
    const grid = gridFor(ref, 64);
    for (const m of opts.metrics) {
      if (m === 'swd') result.swd = slicedWasserstein(pts!, ref, { rng: metricRng!, projections: 256 });
      else if (m === 'mmd') {
        const cap = 2000; // O(n²) kernel sums
        const a = pts!.rows > cap ? takeRows(pts!, metricRng!.permutation(pts!.rows).subarray(0, cap)) : pts!;
        result.mmd = { ...mmdRbf(a, takeRows(ref, Int32Array.from({ length: Math.min(ref.rows, cap) }, (_, i) => i))) };
      } else if (m === 'kl' || m === 'js') {
        const big: Mat = { data: Float64Array.from(entry.sample(100000, refRng!)), rows: 100000, cols: 2 };
        const p = histogram2d(big, grid).p, q = histogram2d(pts!, grid).p;
        if (m === 'kl') result.kl = klDivergence(p, q);
        else result.js = jsDivergence(p, q);
      } else if (m === 'modes') {
        if (!entry.modes || entry.modeStd === undefined) throw new Error(`evaluate: 'modes' needs a Gaussian mixture; '${opts.dataset}' is not one (ring, gaussianGrid, eightGaussians are)`);
        result.modes = { ...modeStats(pts!, entry.modes, entry.modeStd) };
      } else if (m === 'nll') {
        if (!opts.run) throw new Error("evaluate: 'nll' needs a run (a model with a log-likelihood)");
        const n = opts.heldOut ?? 5000;
        const held = entry.sample(n, refRng!);
        const batches = Array.from({ length: Math.ceil(n / 1000) }, (_, b) => {
          const m0 = b * 1000, m1 = Math.min(n, m0 + 1000);
          return { x: tensor(held.subarray(2 * m0, 2 * m1), { shape: [m1 - m0, 2] }) };
        });
        const r = await heldOutNll(opts.run.family, opts.run.model, batches, { rng: lrng!, quantization: null, onProgress: progress('nll') });
        for (const b of batches) b.x.dispose();
        result.nll = { ...r };
        if (opts.run.family.logLikelihood && !r.bound) {
          const fam = opts.run.family, model = opts.run.model;
          const dens = await gridDensity(async (c) => {
            const t = tensor(c, { shape: [c.length / 2, 2] });
            const ll = scope(() => noGrad(() => fam.logLikelihood!(model, { x: t }, lrng!).logLik));
            const v = await ll.data();
            ll.dispose();
            t.dispose();
            return v;
          }, grid);
          const big: Mat = { data: Float64Array.from(entry.sample(100000, refRng!)), rows: 100000, cols: 2 };
          (result.nll as Record<string, number>).klGrid = klDivergence(histogram2d(big, grid).p, dens);
        }
      }
    }
  }

  if (opts.out !== undefined) {
    const doc = {
      dataset: opts.dataset,
      source,
      seed: opts.seed ?? 0,
      featureNet: isImages ? (opts.featureNet?.id ?? `${opts.dataset} (src/metrics/weights)`) : undefined,
      seconds: (Date.now() - started) / 1000,
      metrics: result,
    };
    await writeFileAtomic(opts.out, JSON.stringify(doc, null, 2) + '\n');
  }
  return result;
}

/** Values in [lo, hi] (Float32Array or a tensor) → Float32Array in [0, 1], clamped. */
async function toUnitRange(x: Float32Array | Tensor, range: readonly [number, number]): Promise<Float32Array> {
  const v = x instanceof Float32Array ? x : Float32Array.from(await x.data());
  const [lo, hi] = range;
  if (lo === 0 && hi === 1) return v;
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = Math.min(1, Math.max(0, (v[i]! - lo) / (hi - lo)));
  return out;
}

async function sampleRun(run: RunLike, n: number, rng: Generator, onProgress: (done: number, total: number) => void): Promise<Tensor> {
  const parts: Tensor[] = [];
  const B = 500;
  for (let i = 0; i < n; i += B) {
    const m = Math.min(B, n - i);
    parts.push(noGrad(() => run.family.sample(run.model, m, rng)));
    onProgress(i + m, n);
  }
  if (parts.length === 1) return parts[0]!;
  const { concat } = await import('../core/tensor.ts');
  const all = concat(parts, 0);
  for (const p of parts) p.dispose();
  return all;
}

/** Test images in [0, 1] → batches in [−1, 1] (the model's space), dequantised when `rng` is given. */
function* imageBatches(images: Float32Array, n: number, B: number, rng: Generator | null): IterableIterator<{ x: Tensor }> {
  for (let i = 0; i < n; i += B) {
    const m = Math.min(B, n - i);
    const x01 = tensor(images.subarray(i * 784, (i + m) * 784), { shape: [m, 1, 28, 28] });
    const x = x01.mul(2).sub(1);
    x01.dispose();
    if (!rng) {
      yield { x };
      x.dispose();
    } else {
      const y = dequantize(x, rng, { range: [-1, 1] });
      x.dispose();
      yield { x: y };
      y.dispose();
    }
  }
}

/** A square-celled grid over the reference points' bounding box, padded by 10%. */
function gridFor(ref: Mat, bins: number): Grid2d {
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (let i = 0; i < ref.rows; i++) {
    const a = ref.data[2 * i]!, b = ref.data[2 * i + 1]!;
    x0 = Math.min(x0, a);
    x1 = Math.max(x1, a);
    y0 = Math.min(y0, b);
    y1 = Math.max(y1, b);
  }
  const half = 0.55 * Math.max(x1 - x0, y1 - y0), cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
  return { range: [[cx - half, cx + half], [cy - half, cy + half]], bins };
}
