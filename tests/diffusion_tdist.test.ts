// Training distributions of the noise level and loss weights: flow matching's t (uniform or
// logit-normal, Esser et al. 2024) against its closed-form CDF by a Kolmogorov–Smirnov bound, the
// family config reaching the parameterisation, and Min-SNR-γ weighting (Hang et al. 2023) against
// its closed form.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Generator, tensor } from '../src/index.ts';
import { flowMatching, vp, minSnrWeight } from '../src/models/diffusion/precond.ts';
import { linearBetaSchedule } from '../src/models/diffusion/schedules.ts';
import { diffusionFamily, type DiffusionConfig, type DiffusionModel } from '../src/models/diffusion/family.ts';

const N = 20000;
// Kolmogorov–Smirnov critical value at α = 0.001: 1.95/√n
const KS_BOUND = 1.95 / Math.sqrt(N);

/** Standard normal CDF through erf (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7). */
function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const k = 1 / (1 + 0.3275911 * z);
  const erf = 1 - k * (0.254829592 + k * (-0.284496736 + k * (1.421413741 + k * (-1.453152027 + k * 1.061405429)))) * Math.exp(-z * z);
  return 0.5 * (1 + Math.sign(x) * erf);
}

/** sup |F_n − F| of the sample against the CDF F. */
function ksStatistic(xs: Float64Array, cdf: (x: number) => number): number {
  const s = Float64Array.from(xs).sort();
  let d = 0;
  for (let i = 0; i < s.length; i++) {
    const f = cdf(s[i]!);
    d = Math.max(d, f - i / s.length, (i + 1) / s.length - f);
  }
  return d;
}

/** t = σ/(1 + σ) of flow matching's training σ. */
function trainingT(sampleSigma: (n: number, rng: Generator) => { dataSync(): ArrayLike<number> }, seed: number): Float64Array {
  const sigma = sampleSigma(N, new Generator(seed)).dataSync();
  return Float64Array.from(sigma, (s) => s / (1 + s));
}

const logitNormalCdf = (t: number) => normalCdf(Math.log(t / (1 - t)));
const uniformCdf = (lo: number, hi: number) => (t: number) => Math.min(1, Math.max(0, (t - lo) / (hi - lo)));

test('flow matching: uniform t matches U(tMin, tMax) and not the logit-normal', () => {
  const p = flowMatching();
  const t = trainingT((n, rng) => p.sampleSigma(n, rng), 0);
  assert.ok(ksStatistic(t, uniformCdf(1e-3, 1 - 1e-3)) < KS_BOUND);
  assert.ok(ksStatistic(t, logitNormalCdf) > 5 * KS_BOUND);
});

test('flow matching: logit-normal t has logit(t) ~ N(0, 1) and is not uniform', () => {
  const p = flowMatching({ tDistribution: 'logitNormal' });
  const t = trainingT((n, rng) => p.sampleSigma(n, rng), 1);
  const d = ksStatistic(t, logitNormalCdf);
  assert.ok(d < KS_BOUND, `KS ${d} ≥ ${KS_BOUND}`);
  assert.ok(ksStatistic(t, uniformCdf(1e-3, 1 - 1e-3)) > 5 * KS_BOUND);
  // the median of the logit-normal(0, 1) is ½, and P(t < 0.25) = Φ(−ln 3)
  const below = t.filter((x) => x < 0.25).length / N;
  assert.ok(Math.abs(below - normalCdf(-Math.log(3))) < 0.015, `P(t < 0.25) = ${below}`);
});

test('flow matching: logit-normal(m, s) has logit(t) = ln σ ~ N(m, s²), EDM\'s σ distribution at m = −1.2, s = 1.2', () => {
  const p = flowMatching({ tDistribution: 'logitNormal', logitMean: -1.2, logitStd: 1.2 });
  const t = trainingT((n, rng) => p.sampleSigma(n, rng), 3);
  const cdf = (x: number) => normalCdf((Math.log(x / (1 - x)) + 1.2) / 1.2);
  assert.ok(ksStatistic(t, cdf) < KS_BOUND);
  assert.ok(ksStatistic(t, logitNormalCdf) > 5 * KS_BOUND); // not the (0, 1) default
});

test('VP: log-normal training σ follows N(pMean, pStd²) in ln σ inside the schedule range; uniform t by default', () => {
  const schedule = linearBetaSchedule(1000);
  const lo = schedule.sigmas[0]!, hi = schedule.sigmas[999]!;
  const p = vp({ schedule, logNormal: { pMean: -1.2, pStd: 1.2 } });
  const sigma = Float64Array.from(p.sampleSigma(N, new Generator(4)).dataSync());
  assert.ok(sigma.every((s) => s >= lo * (1 - 1e-6) && s <= hi * (1 + 1e-6)));
  // below the clamp at σ_min the CDF of ln σ is the normal's; the clamp adds an atom at σ_min
  const cdf = (s: number) => normalCdf((Math.log(s) + 1.2) / 1.2);
  const d = ksStatistic(sigma.filter((s) => s > lo * (1 + 1e-6)), (s) => (cdf(s) - cdf(lo)) / (1 - cdf(lo)));
  assert.ok(d < 1.95 / Math.sqrt(N * 0.99), `KS ${d}`);
  // the default draws an integer timestep uniformly: P(σ < 1) is the share of the table below 1
  const uniform = Float64Array.from(vp({ schedule }).sampleSigma(N, new Generator(5)).dataSync());
  const share = schedule.sigmas.filter((s) => s < 1).length / 1000;
  assert.ok(Math.abs(uniform.filter((s) => s < 1).length / N - share) < 0.015);
  assert.ok(Math.abs(sigma.filter((s) => s < 1).length / N - normalCdf(1)) < 0.015);
});

test('the family config passes tDistribution to flow matching and vpLogNormal to VP', () => {
  const data = { kind: 'points' as const, shape: [2] };
  const config: DiffusionConfig = { ...diffusionFamily.defaults(data), parameterization: 'flow', tDistribution: 'logitNormal', tLogitMean: -1.2, tLogitStd: 1.2, sampler: 'euler', steps: 10 };
  const m = diffusionFamily.create(config, data, new Generator(0)) as DiffusionModel;
  const t = trainingT((n, rng) => m.precond.sampleSigma(n, rng), 2);
  assert.ok(ksStatistic(t, (x) => normalCdf((Math.log(x / (1 - x)) + 1.2) / 1.2)) < KS_BOUND);
  m.net.dispose();
  const vpConfig: DiffusionConfig = { ...diffusionFamily.defaults(data), parameterization: 'vp', prediction: 'eps', vpLogNormal: { pMean: -1.2, pStd: 1.2 }, sampler: 'dpmpp2m', steps: 10 };
  const v = diffusionFamily.create(vpConfig, data, new Generator(0)) as DiffusionModel;
  const sigma = v.precond.sampleSigma(N, new Generator(6)).dataSync();
  assert.ok(Math.abs(Array.from(sigma).filter((s) => s < 1).length / N - normalCdf(1)) < 0.015);
  v.net.dispose();
  assert.throws(() => diffusionFamily.create({ ...vpConfig, learnedVariance: true }, data, new Generator(0)), /vpLogNormal/);
});

test('Min-SNR-γ weight is min(1/σ², γ)', async () => {
  const sigmas = [0.01, 0.2, 1 / Math.sqrt(5), 0.5, 1, 3, 80];
  const w = await minSnrWeight(tensor(sigmas), 5).data();
  sigmas.forEach((s, i) => assert.ok(Math.abs(w[i]! - Math.min(1 / (s * s), 5)) < 1e-4 * Math.min(1 / (s * s), 5), `σ=${s}: ${w[i]}`));
});

test('a fraction f of the batch from the log-normal and the rest uniform: the mixture f·F_ln + (1 − f)·F_uniform', () => {
  const f = 0.75;
  // flow matching: t
  const p = flowMatching({ tDistribution: 'logitNormal', logitMean: -1.2, logitStd: 1.2, logitFraction: f });
  const t = trainingT((n, rng) => p.sampleSigma(n, rng), 7);
  const ln = (x: number) => normalCdf((Math.log(x / (1 - x)) + 1.2) / 1.2);
  const unif = uniformCdf(1e-3, 1 - 1e-3);
  const d = ksStatistic(t, (x) => f * ln(x) + (1 - f) * unif(x));
  assert.ok(d < KS_BOUND, `flow mixture: KS ${d}`);
  assert.ok(ksStatistic(t, ln) > 5 * KS_BOUND, 'not the pure logit-normal');
  // VP: σ; P(σ < 1) = f·Φ(1) + (1 − f)·(share of the DDPM table below 1)
  const schedule = linearBetaSchedule(1000);
  const sigma = Array.from(vp({ schedule, logNormal: { pMean: -1.2, pStd: 1.2, fraction: f } }).sampleSigma(N, new Generator(8)).dataSync());
  const share = schedule.sigmas.filter((s) => s < 1).length / 1000;
  const want = f * normalCdf(1) + (1 - f) * share;
  const got = sigma.filter((s) => s < 1).length / N;
  assert.ok(Math.abs(got - want) < 0.012, `VP mixture: P(σ < 1) = ${got}, want ${want}`);
  // σ above e^{−1.2 + 4·1.2} comes (almost) only from the uniform part: its share of the table
  const big = Math.exp(-1.2 + 4 * 1.2);
  const tail = schedule.sigmas.filter((s) => s > big).length / 1000;
  assert.ok(Math.abs(sigma.filter((s) => s > big).length / N - (1 - f) * tail) < 0.01);
  assert.throws(() => vp({ schedule, logNormal: { pMean: 0, pStd: 1, fraction: 1.5 } }), /fraction must be in \[0, 1\].*1\.5/);
  assert.throws(() => flowMatching({ tDistribution: 'logitNormal', logitFraction: -0.1 }), /logitFraction must be in \[0, 1\]/);
});
