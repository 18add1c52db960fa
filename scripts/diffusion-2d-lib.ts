/**
 * 2-D diffusion learning runs, shared by `scripts/diffusion-2d.ts` and the learning test: train a
 * noise-conditioned MLP with one parameterisation on a toy set, sample, and compare with held-out
 * data by the sliced Wasserstein distance, against the data-to-data baseline.
 */
import { Generator, scope, tensor, optim } from '../src/index.ts';
import { toy2d } from '../src/data/toy2d.ts';
import { diffusionFamily, type DiffusionConfig } from '../src/models/diffusion/family.ts';
import { slicedWasserstein, points } from '../src/metrics/points.ts';

/**
 * Two independent sets of n data points. sklearn's shapes (two moons, circles) place their points
 * on a linspace grid of the angle, so two draws of the same size share their angles and sit closer
 * to each other than independent samples do; a model's samples are independent. Subsampling both
 * sets without replacement from a draw 20 times larger makes them (nearly) i.i.d., so the
 * data-to-data baseline is the noise floor of i.i.d. samples of the data distribution.
 */
export function iidPair(sample: (n: number, rng: Generator) => Float32Array, n: number, rng: Generator): [Float32Array, Float32Array] {
  const pool = sample(20 * n, rng);
  const perm = rng.permutation(20 * n);
  const a = new Float32Array(2 * n), b = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    a.set(pool.subarray(2 * perm[i]!, 2 * perm[i]! + 2), 2 * i);
    b.set(pool.subarray(2 * perm[n + i]!, 2 * perm[n + i]! + 2), 2 * i);
  }
  return [a, b];
}

/**
 * The data-to-data baseline as an expectation: the mean SWD between two independent held-out sets
 * of n points over `repeats` pairs, drawn by a fixed generator of its own, so a data set's baseline
 * is the same number for every model. One pair's SWD varies by 20–35% (coefficient of variation
 * over 20 pairs of 2,000 points), too much for a denominator.
 */
export function dataBaseline(sample: (n: number, rng: Generator) => Float32Array, n: number, repeats: number): number {
  const rng = new Generator(2);
  let total = 0;
  for (let k = 0; k < repeats; k++) {
    const [a, b] = iidPair(sample, n, rng);
    total += slicedWasserstein(points(a), points(b), { rng: new Generator(1) });
  }
  return total / repeats;
}

/** The mean of a 2-D set and the factor that gives it per-coordinate RMS deviation `target`. */
export function dataScale(sample: (n: number, rng: Generator) => Float32Array, target: number): [[number, number], number] {
  const n = 100_000;
  const xy = sample(n, new Generator(3));
  let mx = 0, my = 0;
  for (let i = 0; i < n; i++) { mx += xy[2 * i]!; my += xy[2 * i + 1]!; }
  mx /= n;
  my /= n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (xy[2 * i]! - mx) ** 2 + (xy[2 * i + 1]! - my) ** 2;
  return [[mx, my], target / Math.sqrt(ss / (2 * n))];
}

export interface Run2d {
  dataset: string;
  parameterization: string;
  steps: number;
  swd: number;
  baseline: number;
  ratio: number;
  /** The baseline averaged over the `evalRepeats` draws, and the SWD's ratio to it (equal to
   * `baseline` and `ratio` unless `baselineRepeats` is set). */
  drawBaseline: number;
  drawRatio: number;
  finalLoss: number;
  /** The last evaluation draw of model samples, [n·2]. */
  samples: Float32Array;
}

/**
 * Trains one 2-D model. `ema` (e.g. 0.999) samples from an exponential moving average of the
 * weights, as every diffusion paper since Ho et al. (2020) does. `evalRepeats` (default 1)
 * averages the SWD and the baseline over that many independent evaluation draws;
 * `baselineRepeats` replaces the baseline by `dataBaseline` over that many pairs.
 */
export function train2d(opts: { dataset: string; config: Partial<DiffusionConfig>; steps: number; batch?: number; lr?: number; seed?: number; nEval?: number; sampler?: string; sampleSteps?: number; ema?: number; evalRepeats?: number; baselineRepeats?: number; standardize?: number }): Run2d {
  const entry = toy2d[opts.dataset];
  if (!entry) throw new Error(`unknown 2-D data set '${opts.dataset}'`);
  // `standardize: s` trains on (x − μ)·s/rms and maps samples back, μ and rms (the per-coordinate
  // RMS deviation) from 100,000 points of a fixed generator: every set then has the spread σ_data = s
  // that the noise distributions are tuned for (0.5 for EDM, as images scaled to [−1, 1]).
  const [shift, scale] = opts.standardize ? dataScale(entry.sample, opts.standardize) : [[0, 0], 1];
  const toModel = (xy: Float32Array) => xy.map((v, i) => (v - shift[i % 2]!) * scale);
  const fromModel = (xy: Float32Array) => xy.map((v, i) => v / scale + shift[i % 2]!);
  const rng = new Generator(opts.seed ?? 0);
  const [initRng, dataRng, noiseRng, evalRng] = rng.split(4);
  const data = { kind: 'points' as const, shape: [2] };
  const config = { ...diffusionFamily.defaults(data), ...opts.config } as DiffusionConfig;
  const model = diffusionFamily.create(config, data, initRng!);
  const opt = new optim.Adam(model.net.parameters(), { lr: opts.lr ?? 2e-3 });
  const sched = new optim.LRScheduler(opt, optim.warmupCosine({ warmupSteps: Math.floor(opts.steps / 20), totalSteps: opts.steps, etaMin: 0 }));
  const batch = opts.batch ?? 512;
  const ema = opts.ema ? new optim.EMA(model.net, { decay: opts.ema, warmup: true }) : null;
  let finalLoss = NaN;
  for (let step = 0; step < opts.steps; step++) {
    finalLoss = scope(() => {
      const x = tensor(toModel(entry.sample(batch, dataRng!)), { shape: [batch, 2] });
      opt.zeroGrad();
      const loss = diffusionFamily.loss(model, { x }, noiseRng!);
      loss.backward();
      opt.step();
      return loss.itemSync();
    });
    sched.step();
    if (ema) scope(() => ema.update(model.net));
  }
  if (ema) {
    ema.copyTo(model.net);
    ema.dispose();
  }
  const n = opts.nEval ?? 2000;
  // `evalRepeats` independent draws of n samples and of an i.i.d. held-out pair; the SWD and the
  // baseline are each averaged over them (the first draw is the single-draw protocol's).
  let swd = 0, baseline = 0, samples: Float32Array = new Float32Array(0);
  const repeats = opts.evalRepeats ?? 1;
  for (let k = 0; k < repeats; k++) {
    samples = fromModel(scope(() => diffusionFamily.sample(model, n, evalRng!, { sampler: opts.sampler, steps: opts.sampleSteps }).dataSync()) as Float32Array);
    const [heldOut, other] = iidPair(entry.sample, n, evalRng!);
    swd += slicedWasserstein(points(samples), points(heldOut), { rng: new Generator(1) }) / repeats;
    baseline += slicedWasserstein(points(other), points(heldOut), { rng: new Generator(1) }) / repeats;
  }
  const drawBaseline = baseline;
  if (opts.baselineRepeats) baseline = dataBaseline(entry.sample, n, opts.baselineRepeats);
  model.net.dispose();
  return { dataset: opts.dataset, parameterization: config.parameterization + (config.prediction ? `-${config.prediction}` : ''), steps: opts.steps, swd, baseline, ratio: swd / baseline, drawBaseline, drawRatio: swd / drawBaseline, finalLoss, samples };
}
