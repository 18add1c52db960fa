/**
 * The 2-D learning runs of the diffusion issue: MLP models trained as VP-ε, EDM and flow matching
 * on each toy set, a fixed budget, sliced Wasserstein distance to held-out data against the
 * data-to-data baseline (two independent held-out sets; see `iidPair`). Weights are averaged by an
 * EMA (0.999) and sampled with enough steps that the sampler's error is below the model's.
 *
 *   npx tsx scripts/diffusion-2d.ts [--steps 3000] [--datasets twoMoons,…] [--params vp,edm,flow]
 *       [--hidden 128] [--seed 0] [--rings]
 *
 * The defaults are the protocol of the table in docs/diffusion/README.md:
 * - training σ: 75% of each batch from EDM's ln σ ~ N(−1.2, 1.2²), 25% from the parameterisation's
 *   own distribution (a uniform DDPM timestep for VP-ε, uniform t for flow matching, where
 *   logit t = ln σ); EDM uses its own log-normal for the whole batch. `--vp-t uniform|logNormal`,
 *   `--vp-lognormal-fraction f`, `--flow-t uniform|logitNormal`, `--flow-logit=m,s` and
 *   `--flow-logit-fraction f` change it (`--vp-t uniform --flow-t uniform` is the first protocol);
 * - evaluation: `--eval-repeats 5` draws of 2,000 samples and held-out points, the SWD averaged,
 *   against the data-to-data baseline averaged over `--baseline-repeats 100` i.i.d. pairs
 *   (`dataBaseline`); the 5-draw baseline and ratio are printed beside it.
 * Other options measured in the README: `--batch 512`, `--min-snr γ`, `--vp-schedule
 * linear|cosine`, `--flow-fourier s` (scale of flow matching's Fourier features of t, 30),
 * `--standardize s` (train on the set rescaled to per-coordinate RMS s, samples mapped back).
 * `--rings` prints, for circles, the outer-ring share and the rings' mean radii of the last draw.
 */
import { parseArgs } from 'node:util';
import { train2d } from './diffusion-2d-lib.ts';

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '3000' },
    datasets: { type: 'string', default: 'twoMoons,eightGaussians,gaussianGrid,checkerboard,pinwheel,swissRoll,circles,ring' },
    params: { type: 'string', default: 'vp,edm,flow' },
    hidden: { type: 'string', default: '128' },
    'eval-repeats': { type: 'string', default: '5' },
    'baseline-repeats': { type: 'string', default: '100' },
    seed: { type: 'string', default: '0' },
    batch: { type: 'string', default: '512' },
    'flow-t': { type: 'string', default: 'logitNormal' },
    'flow-logit': { type: 'string', default: '-1.2,1.2' },
    'min-snr': { type: 'string', default: '0' },
    'vp-schedule': { type: 'string', default: 'linear' },
    'vp-t': { type: 'string', default: 'logNormal' },
    'flow-fourier': { type: 'string', default: '30' },
    rings: { type: 'boolean', default: false },
    standardize: { type: 'string', default: '0' },
    'vp-lognormal-fraction': { type: 'string', default: '0.75' },
    'flow-logit-fraction': { type: 'string', default: '0.75' },
  },
});
function oneOf<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) throw new Error(`--${name}: expected one of ${allowed.join(', ')}, got '${value}'`);
  return value as T;
}
const vpT = oneOf('vp-t', values['vp-t']!, ['uniform', 'logNormal']);
const flowT = oneOf('flow-t', values['flow-t']!, ['uniform', 'logitNormal']);
const vpSchedule = oneOf('vp-schedule', values['vp-schedule']!, ['linear', 'cosine']);
const [tLogitMean, tLogitStd] = values['flow-logit']!.split(',').map(Number);
const steps = Number(values.steps);
const net = { kind: 'mlp', hidden: Number(values.hidden), depth: 3 };
const configs = {
  vp: { parameterization: 'vp', prediction: 'eps', sampler: 'dpmpp2m', steps: 50, minSnrGamma: Number(values['min-snr']), schedule: vpSchedule, vpLogNormal: vpT === 'logNormal' ? { pMean: -1.2, pStd: 1.2, fraction: Number(values['vp-lognormal-fraction']) } : undefined },
  edm: { parameterization: 'edm', sampler: 'heun', steps: 50 },
  flow: { parameterization: 'flow', sampler: 'euler', steps: 200, tDistribution: flowT, tLogitMean, tLogitStd, tLogitFraction: Number(values['flow-logit-fraction']), net: { ...net, noiseFeatures: 'fourier', fourierScale: Number(values['flow-fourier']) } },
} as const;

/** Circles: the share of points with radius above 0.75 and the mean radius of each ring. */
function ringStats(xy: Float32Array): string {
  let nOut = 0, rOut = 0, rIn = 0;
  for (let i = 0; i < xy.length; i += 2) {
    const r = Math.hypot(xy[i]!, xy[i + 1]!);
    if (r > 0.75) { nOut++; rOut += r; } else rIn += r;
  }
  const n = xy.length / 2;
  return `outer share ${(nOut / n).toFixed(3)}  outer r ${(rOut / nOut).toFixed(3)}  inner r ${(rIn / (n - nOut)).toFixed(3)}`;
}

console.log(`dataset          param    steps   SWD      baseline  ratio${values['baseline-repeats'] !== '0' ? '  draw-baseline  draw-ratio' : ''}`);
for (const dataset of values.datasets!.split(',')) {
  for (const name of values.params!.split(',') as (keyof typeof configs)[]) {
    const config = { net, ...configs[name] };
    const r = train2d({ dataset, config: config as never, steps, batch: Number(values.batch), standardize: Number(values.standardize), ema: 0.999, seed: Number(values.seed), evalRepeats: Number(values['eval-repeats']), baselineRepeats: Number(values['baseline-repeats']) });
    console.log(`${dataset.padEnd(16)} ${r.parameterization.padEnd(8)} ${String(steps).padEnd(7)} ${r.swd.toFixed(4).padEnd(8)} ${r.baseline.toFixed(4).padEnd(9)} ${r.ratio.toFixed(2)}${values['baseline-repeats'] !== '0' ? `   ${r.drawBaseline.toFixed(4).padEnd(14)} ${r.drawRatio.toFixed(2)}` : ''}${values.rings ? `  ${ringStats(r.samples)}` : ''}`);
  }
}
