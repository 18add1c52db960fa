// Metrics against NumPy/SciPy on committed feature arrays (scripts/fixtures/make_metrics_fixtures.py)
// and against closed forms: FID, KID (and its variance estimate, by Monte Carlo), Inception Score,
// precision/recall, bits/dim, sliced Wasserstein, RBF MMD, grid KL/JS, mode statistics, evaluate()
// on points.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Generator, tensor, io } from '../src/index.ts';
import { toy2d, ring } from '../src/data/toy2d.ts';
import { symEig, meanCov, traceSqrtProduct, type Mat } from '../src/metrics/linalg64.ts';
import { fid, gaussianStats, gaussianW2Squared } from '../src/metrics/fid.ts';
import { kid, polynomialMmd2 } from '../src/metrics/kid.ts';
import { inceptionScore } from '../src/metrics/inceptionScore.ts';
import { precisionRecall } from '../src/metrics/precisionRecall.ts';
import { logBinWidth, bitsPerDim, bitsPerDimOf, dequantize, heldOutNll } from '../src/metrics/likelihood.ts';
import {
  points, wasserstein1dPow, slicedWasserstein, gaussianSlicedW2Squared2d, mmdRbf, gaussianMmd2Rbf, medianBandwidth,
  histogram2d, klDivergence, jsDivergence, modeStats, gridDensity,
} from '../src/metrics/points.ts';
import { evaluate } from '../src/metrics/evaluate.ts';
import type { Family, Model } from '../src/models/registry.ts';

const FIX = (f: string) => fileURLToPath(new URL(`./fixtures/${f}`, import.meta.url));
const expected = JSON.parse(readFileSync(FIX('metrics_expected.json'), 'utf8')) as Record<string, number | number[]>;
const raw = io.parseSafetensors(new Uint8Array(readFileSync(FIX('metrics_features.safetensors')))).tensors;
const mat = (k: string): Mat => ({ data: Float64Array.from(raw[k]!.data), rows: raw[k]!.shape[0]!, cols: raw[k]!.shape[1]! });
const [A, B, C, L] = ['A', 'B', 'C', 'L'].map(mat) as [Mat, Mat, Mat, Mat];
const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);

/** n×d Gaussian points N(mean, L Lᵀ) with L lower-triangular 2×2 (d = 2) or diagonal. */
function gaussian2d(n: number, rng: Generator, mean: [number, number], cov: [number, number, number, number]): Mat {
  const l11 = Math.sqrt(cov[0]), l21 = cov[2] / l11, l22 = Math.sqrt(cov[3] - l21 * l21);
  const z = rng.normal(2 * n);
  const out = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    out[2 * i] = mean[0] + l11 * z[2 * i]!;
    out[2 * i + 1] = mean[1] + l21 * z[2 * i]! + l22 * z[2 * i + 1]!;
  }
  return { data: out, rows: n, cols: 2 };
}

test('symEig: A = V diag(λ) Vᵀ with V orthogonal, also for a rank-deficient matrix', () => {
  const rng = new Generator(1);
  for (const [n, rank] of [[12, 12], [20, 5]] as const) {
    const g = rng.normal(n * rank);
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < rank; k++) a[i * n + j]! += g[i * rank + k]! * g[j * rank + k]!;
    const { values, vectors: V } = symEig(a, n);
    let scale = 0;
    for (const v of a) scale = Math.max(scale, Math.abs(v));
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let r = 0, o = 0;
        for (let k = 0; k < n; k++) {
          r += V[i * n + k]! * values[k]! * V[j * n + k]!;
          o += V[k * n + i]! * V[k * n + j]!;
        }
        assert.ok(Math.abs(r - a[i * n + j]!) < 1e-12 * scale, `reconstruction ${i},${j}`);
        assert.ok(Math.abs(o - (i === j ? 1 : 0)) < 1e-12, `orthogonality ${i},${j}`);
      }
    }
    const zeros = [...values].filter((v) => Math.abs(v) < 1e-10 * scale).length;
    assert.equal(zeros, n - rank);
  }
});

test('mean and covariance match numpy (np.cov, rowvar=False)', () => {
  const { mean, cov } = meanCov(A);
  (expected.meanA as number[]).forEach((v, i) => assert.ok(rel(mean[i]!, v) < 1e-12));
  (expected.covA_diag as number[]).forEach((v, i) => assert.ok(rel(cov[i * 48 + i]!, v) < 1e-12));
});

test('FID matches scipy (pytorch-fid formula) on committed features, also with a singular covariance', () => {
  const ab = fid(A, B);
  assert.ok(rel(ab, expected.fid_AB_scipy as number) < 1e-6, `FID(A, B) ${ab} vs scipy ${expected.fid_AB_scipy}`);
  assert.ok(rel(ab, expected.fid_AB_eigh as number) < 1e-9);
  assert.equal(expected.rank_C, 39); // 40 samples in 48 dimensions
  const ac = fid(A, C), ca = fid(C, A);
  assert.ok(rel(ac, expected.fid_AC_eigh as number) < 1e-8, `FID(A, C) ${ac} vs ${expected.fid_AC_eigh}`);
  assert.ok(rel(ca, expected.fid_CA_eigh as number) < 1e-8);
  assert.ok(rel(ac, expected.fid_AC_scipy as number) < 1e-6);
  assert.ok(rel(ac, ca) < 1e-8, 'FID is symmetric');
});

test('FID of a set with itself is 0, and grows with a shift of the mean exactly as ‖Δμ‖²', () => {
  const s = gaussianStats(A);
  let tr = 0;
  for (let i = 0; i < 48; i++) tr += s.cov[i * 48 + i]!;
  const self = fid(s, s);
  assert.ok(self >= 0 && self < 1e-9 * tr, `FID(A, A) = ${self}`);
  const shifted = { ...A, data: A.data.map((v, i) => v + (i % 48 === 3 ? 0.5 : 0)) };
  assert.ok(Math.abs(fid(A, shifted) - 0.25) < 1e-9);
  // the cross term equals tr Σ when both covariances are the same
  assert.ok(Math.abs(traceSqrtProduct(s.cov, s.cov, 48) - tr) < 1e-9 * tr);
});

test('W₂² between Gaussians: closed forms for commuting and 1-D covariances', () => {
  // diagonal covariances commute: W₂² = ‖Δμ‖² + Σ (√a − √b)²
  const m1 = Float64Array.from([0, 1, 2]), m2 = Float64Array.from([1, 1, 0]);
  const d1 = [4, 1, 0.25], d2 = [1, 9, 0.25];
  const diag = (d: number[]) => { const c = new Float64Array(9); d.forEach((v, i) => (c[i * 4] = v)); return c; };
  const want = 1 + 0 + 4 + (2 - 1) ** 2 + (1 - 3) ** 2 + 0;
  assert.ok(Math.abs(gaussianW2Squared(m1, diag(d1), m2, diag(d2)) - want) < 1e-12);
  // rotated copies of one covariance: W₂² = ‖Σ₁^{1/2} − Σ₂^{1/2}‖²_F (same eigenvalues)
  const rot = (t: number, a: number, b: number) => {
    const c = Math.cos(t), s = Math.sin(t);
    return Float64Array.from([c * c * a + s * s * b, c * s * (a - b), c * s * (a - b), s * s * a + c * c * b]);
  };
  const z = new Float64Array(2);
  const S1 = rot(0, 4, 1), S2 = rot(Math.PI / 2, 4, 1); // diag(4, 1) vs diag(1, 4)
  assert.ok(Math.abs(gaussianW2Squared(z, S1, z, S2) - 2) < 1e-12);
  // non-commuting: against tr Σ₁ + tr Σ₂ − 2 tr (Σ₂^{1/2} Σ₁ Σ₂^{1/2})^{1/2}, computed the other way round
  const S3 = rot(0.3, 3, 0.5);
  const w = gaussianW2Squared(z, S1, z, S3), w2 = gaussianW2Squared(z, S3, z, S1);
  assert.ok(Math.abs(w - w2) < 1e-12);
  // 2×2 closed form: tr √M = √(tr M + 2√det M) for M = Σ₁^{1/2} Σ₃ Σ₁^{1/2} (det M = det Σ₁ det Σ₃, tr M = tr Σ₁Σ₃)
  const trP = S1[0]! * S3[0]! + S1[1]! * S3[2]! + S1[2]! * S3[1]! + S1[3]! * S3[3]!;
  const det = (S: Float64Array) => S[0]! * S[3]! - S[1]! * S[2]!;
  const cross = Math.sqrt(trP + 2 * Math.sqrt(det(S1) * det(S3)));
  assert.ok(Math.abs(w - (5 + 3.5 - 2 * cross)) < 1e-12);
});

test('KID: unbiased polynomial MMD² matches numpy; ~0 for one distribution, large for two', () => {
  assert.ok(rel(polynomialMmd2(A, B).mmd2, expected.mmd2_AB as number) < 1e-10);
  const A200: Mat = { data: A.data.slice(0, 200 * 48), rows: 200, cols: 48 };
  const r = polynomialMmd2(A200, B);
  assert.ok(rel(r.mmd2, expected.mmd2_A200_B as number) < 1e-10);
  assert.ok(r.variance !== null && r.variance > 0);
  const rng = new Generator(2);
  const x = points(rng.normal(600 * 8), 8), y = points(rng.normal(600 * 8), 8);
  const same = kid(x, y, { rng, subsets: 20, subsetSize: 300 });
  assert.ok(Math.abs(same.value) < 3 * same.stderr, `KID of one distribution ${same.value} ± ${same.stderr}`);
  const z = points(rng.normal(600 * 8, 0.3, 1.2), 8);
  const diff = kid(x, z, { rng, subsets: 20, subsetSize: 300 });
  assert.ok(diff.value > 3 * diff.stderr && diff.value > 0.1, `KID of two distributions ${diff.value} ± ${diff.stderr}`);
  assert.equal(diff.subsets, 20);
  assert.equal(diff.subsetSize, 300);
});

test("KID's variance estimate (Sutherland et al. 2017) agrees with the Monte Carlo variance of the estimator", () => {
  const rng = new Generator(3);
  const m = 50, d = 3, reps = 400;
  const vals: number[] = [];
  let vsum = 0;
  for (let r = 0; r < reps; r++) {
    const x = points(rng.normal(m * d), d), y = points(rng.normal(m * d, 0.4, 1.3), d);
    const { mmd2, variance } = polynomialMmd2(x, y);
    vals.push(mmd2);
    vsum += variance!;
  }
  const mean = vals.reduce((a, v) => a + v, 0) / reps;
  const mcVar = vals.reduce((a, v) => a + (v - mean) ** 2, 0) / (reps - 1);
  const est = vsum / reps;
  // the sample variance of 400 draws is within ±15% of the truth with high probability; the plug-in
  // estimates of ζ₁, ζ₂ run about 10% low at m = 50 (within Monte Carlo error at m ≥ 200)
  assert.ok(Math.abs(est / mcVar - 1) < 0.25, `estimated variance ${est} vs Monte Carlo ${mcVar}`);
});

test('Inception Score matches the reference split loop; 1 for identical predictions, K for confident balanced ones', () => {
  for (const [splits, key] of [[10, 'is_L_10'], [3, 'is_L_3']] as const) {
    const r = inceptionScore(L, { splits });
    const [m, s] = expected[key] as number[];
    assert.ok(rel(r.value, m!) < 1e-10 && rel(r.std, s!) < 1e-8, `IS ${splits} splits ${r.value} ± ${r.std} vs ${m} ± ${s}`);
  }
  const flat: Mat = { data: new Float64Array(100 * 5).fill(0.3), rows: 100, cols: 5 };
  assert.ok(Math.abs(inceptionScore(flat, { splits: 4 }).value - 1) < 1e-12);
  const sure: Mat = { data: new Float64Array(100 * 5), rows: 100, cols: 5 };
  for (let i = 0; i < 100; i++) sure.data[i * 5 + (i % 5)] = 60;
  assert.ok(Math.abs(inceptionScore(sure, { splits: 4 }).value - 5) < 1e-9);
});

test('precision/recall (k = 3) match scipy; (1, 1) for a set against itself; precision falls for off-manifold samples', () => {
  const ab = precisionRecall(A, B), ba = precisionRecall(B, A);
  assert.deepEqual([ab.precision, ab.recall], expected.pr_A_B);
  assert.deepEqual([ba.precision, ba.recall], expected.pr_B_A);
  const aa = precisionRecall(A, A);
  assert.deepEqual([aa.precision, aa.recall], [1, 1]);
  // generated = half real points, half far away: precision ½ (recall stays high)
  const rng = new Generator(4);
  const real = points(rng.normal(400 * 4), 4);
  const gen = points(Float64Array.from([...real.data.slice(0, 200 * 4), ...rng.normal(200 * 4, 20, 1)]), 4);
  const pr = precisionRecall(real, gen);
  assert.equal(pr.precision, 0.5);
  assert.ok(pr.recall > 0.9, `recall ${pr.recall}`);
  // generated = the real points of one half-space: precision 1, recall about ½
  const half: number[] = [];
  for (let i = 0; i < 400; i++) if (real.data[4 * i]! > 0) half.push(...real.data.slice(4 * i, 4 * i + 4));
  const pr2 = precisionRecall(real, points(half, 4));
  assert.equal(pr2.precision, 1);
  assert.ok(pr2.recall > 0.45 && pr2.recall < 0.8, `recall ${pr2.recall}`);
});

test('bits/dim: bin widths, a uniform density is exactly 8 bits, dequantisation stays in the bin', () => {
  assert.ok(Math.abs(logBinWidth() - Math.log(1 / 256)) < 1e-15);
  assert.ok(Math.abs(logBinWidth({ range: [-1, 1] }) + Math.log(128)) < 1e-15);
  const D = 784;
  // uniform on [0,1]^D has log-density 0; on [−1,1]^D it is −D log 2: both are 8 bits of 8-bit data
  assert.ok(Math.abs(bitsPerDim(tensor([0, 0]), D).dataSync()[0]! - 8) < 1e-5);
  assert.ok(Math.abs(bitsPerDimOf(-D * Math.log(2), D, { range: [-1, 1] }) - 8) < 1e-12);
  // the same as the (−log p/D + log 128)/ln 2 of Ho et al. (2020) for [−1, 1]
  const lp = -1234.5;
  assert.ok(Math.abs(bitsPerDimOf(lp, D, { range: [-1, 1] }) - (-lp / D + Math.log(128)) / Math.LN2) < 1e-12);
  // discrete log-probabilities: no bin term
  assert.ok(Math.abs(bitsPerDimOf(-D * Math.LN2 * 3, D, null) - 3) < 1e-12);
  const rng = new Generator(5);
  const k = Float32Array.from({ length: 512 }, (_, i) => i % 256);
  const x = tensor(k.map((v) => (2 * v) / 255 - 1), { shape: [2, 256] });
  const y = dequantize(x, rng, { range: [-1, 1] }).dataSync();
  for (let i = 0; i < 512; i++) {
    const lo = -1 + (2 * k[i]!) / 256, hi = -1 + (2 * (k[i]! + 1)) / 256;
    assert.ok(y[i]! >= lo - 1e-6 && y[i]! <= hi + 1e-6, `value ${i}: ${y[i]} not in [${lo}, ${hi})`);
  }
});

/** A toy 'family': a standard normal density in 2-D, to test the registry path of heldOutNll. */
const normalFamily = {
  name: 'std-normal',
  description: 'N(0, I)',
  samplers: ['exact'],
  defaults: () => ({}),
  create: () => { throw new Error('unused'); },
  loss: () => { throw new Error('unused'); },
  sample: (_m: Model, n: number, rng: Generator) => tensor(rng.normal(2 * n), { shape: [n, 2], dtype: 'float32' }),
  logLikelihood: (_m: Model, batch: { x: import('../src/index.ts').Tensor }) => ({
    logLik: batch.x.square().sum(1).mul(-0.5).sub(Math.log(2 * Math.PI)),
    bound: false,
  }),
} as unknown as Family;
const normalModel = { family: 'std-normal', config: {}, data: { kind: 'points', shape: [2] }, net: null } as unknown as Model;

test('held-out NLL through the registry verb: the entropy of a standard normal', async () => {
  const rng = new Generator(6);
  const batches = [0, 1, 2, 3].map(() => ({ x: tensor(rng.normal(2 * 2000), { shape: [2000, 2], dtype: 'float32' }) }));
  const r = await heldOutNll(normalFamily, normalModel, batches, { rng, quantization: null });
  const entropy = Math.log(2 * Math.PI * Math.E); // 2 · ½ log(2πe)
  assert.equal(r.n, 8000);
  assert.equal(r.bound, false);
  assert.ok(Math.abs(r.nll - entropy) < 0.05, `NLL ${r.nll} vs ${entropy}`);
  await assert.rejects(heldOutNll({ ...normalFamily, logLikelihood: undefined } as Family, normalModel, batches, { rng }), /no log-likelihood/);
});

test('1-D Wasserstein of empirical distributions, equal and unequal sizes', () => {
  assert.equal(wasserstein1dPow(Float64Array.from([0, 1]), Float64Array.from([1, 2]), 2), 1);
  // quantiles of {0, 1} vs {0, 0.5, 1}: on (0,⅓) 0 vs 0, (⅓,½) 0 vs .5, (½,⅔) 1 vs .5, (⅔,1) 1 vs 1
  const w = wasserstein1dPow(Float64Array.from([0, 1]), Float64Array.from([0, 0.5, 1]), 2);
  assert.ok(Math.abs(w - (1 / 6) * 0.25 * 2) < 1e-15);
  const w1 = wasserstein1dPow(Float64Array.from([0, 1]), Float64Array.from([0, 0.5, 1]), 1);
  assert.ok(Math.abs(w1 - (1 / 6) * 0.5 * 2) < 1e-15);
});

test('sliced W₂ matches the closed form for Gaussians and is ≈ 0 for two samples of one distribution', () => {
  const rng = new Generator(7);
  // isotropic: SW₂² = ‖Δμ‖²/2 + (s₁ − s₂)² in 2-D
  const iso = gaussianSlicedW2Squared2d([0, 0], [1, 0, 0, 1], [1, 2], [0.25, 0, 0, 0.25]);
  assert.ok(Math.abs(iso - (5 / 2 + 0.25)) < 1e-12);
  const c1: [number, number, number, number] = [1, 0.6, 0.6, 0.8], c2: [number, number, number, number] = [0.3, -0.1, -0.1, 1.5];
  const exact = gaussianSlicedW2Squared2d([0, 0], c1, [1, -0.5], c2);
  const x = gaussian2d(5000, rng, [0, 0], c1), y = gaussian2d(5000, rng, [1, -0.5], c2);
  const sw = slicedWasserstein(x, y, { rng, projections: 200 });
  assert.ok(Math.abs(sw * sw - exact) / exact < 0.1, `SW₂² ${sw * sw} vs closed form ${exact}`);
  const x2 = gaussian2d(5000, rng, [0, 0], c1);
  const self = slicedWasserstein(x, x2, { rng, projections: 50 });
  assert.ok(self < 0.05 && self < 0.1 * sw, `SW₂ of one distribution ${self}`);
});

test('RBF MMD² matches its closed form for Gaussians and is ≈ 0 for one distribution; median heuristic', () => {
  const rng = new Generator(8);
  const c1: [number, number, number, number] = [1, 0.3, 0.3, 0.5], c2: [number, number, number, number] = [0.6, 0, 0, 0.6];
  const x = gaussian2d(1500, rng, [0, 0], c1), y = gaussian2d(1500, rng, [0.7, 0.2], c2);
  const sigma = 1;
  const exact = gaussianMmd2Rbf([0, 0], c1, [0.7, 0.2], c2, sigma);
  const est = mmdRbf(x, y, { bandwidth: sigma });
  assert.ok(Math.abs(est.mmd2 - exact) < 0.1 * exact, `MMD² ${est.mmd2} vs ${exact}`);
  const x2 = gaussian2d(1500, rng, [0, 0], c1);
  const same = mmdRbf(x, x2, { bandwidth: sigma });
  assert.ok(Math.abs(same.mmd2) < 0.1 * exact, `MMD² of one distribution ${same.mmd2}`);
  // median of the pairwise distances of {0, 1, 3} (1-D as 2-D points): distances 1, 3, 2 → 2
  assert.equal(medianBandwidth(points([0, 0, 1, 0], 2), points([3, 0], 2)), 2);
  assert.ok(mmdRbf(x, y).bandwidth > 0);
});

test('grid KL and JS: zero for equal densities, log 2 for disjoint ones, and a hand-computed KL', () => {
  const p = [0.5, 0.5, 0, 0], q = [0, 0, 0.5, 0.5];
  assert.ok(Math.abs(jsDivergence(p, q) - Math.log(2)) < 1e-12);
  assert.equal(jsDivergence(p, p), 0);
  assert.ok(Math.abs(klDivergence([0.25, 0.75], [0.5, 0.5], 0) - (0.25 * Math.log(0.5) + 0.75 * Math.log(1.5))) < 1e-12);
  assert.ok(klDivergence(p, p) < 1e-12);
  const rng = new Generator(9);
  const grid = { range: [[-3, 3], [-3, 3]] as const, bins: 30 };
  const a = histogram2d(points(ring(20000, rng)), grid), b = histogram2d(points(ring(20000, rng)), grid);
  assert.equal(a.inside, 1);
  assert.ok(jsDivergence(a.p, b.p) < 0.005);
  // the exact density of a standard normal on the grid vs a histogram of its samples
  return gridDensity((c) => Float64Array.from({ length: c.length / 2 }, (_, i) => -0.5 * (c[2 * i]! ** 2 + c[2 * i + 1]! ** 2)), grid).then((dens) => {
    const h = histogram2d(points(rng.normal(2 * 50000)), grid);
    assert.ok(klDivergence(h.p, dens) < 0.02, `KL(hist ‖ density) ${klDivergence(h.p, dens)}`);
  });
});

test("mode statistics (VEEGAN's definitions) on the ring of 8 Gaussians", () => {
  const rng = new Generator(10);
  const entry = toy2d.ring!;
  const good = modeStats(points(entry.sample(5000, rng)), entry.modes!, entry.modeStd!);
  assert.equal(good.modesCaptured, 8);
  // P(‖z‖ ≤ 3) for a 2-D standard normal is 1 − e^{−9/2} ≈ 0.9889
  assert.ok(Math.abs(good.highQuality - (1 - Math.exp(-4.5))) < 0.01, `high quality ${good.highQuality}`);
  const collapsed = points(Float32Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? 2 : 0.01)));
  const bad = modeStats(collapsed, entry.modes!, entry.modeStd!);
  assert.equal(bad.modesCaptured, 1);
  assert.equal(bad.highQuality, 1);
  const off = modeStats(points([0, 0, 1, 1]), entry.modes!, entry.modeStd!);
  assert.deepEqual([off.modesCaptured, off.highQuality], [0, 0]);
});

test('evaluate() on 2-D points: the data set itself scores near zero, a collapsed model does not', async () => {
  const rng = new Generator(11);
  const good = await evaluate({ dataset: 'ring', samples: toy2d.ring!.sample(2000, rng), metrics: ['swd', 'mmd', 'js', 'modes'], seed: 1 });
  const collapsed = ring(2000, rng, { modes: 1, radius: 2 });
  const bad = await evaluate({ dataset: 'ring', samples: collapsed, metrics: ['swd', 'mmd', 'js', 'modes'], seed: 1 });
  // two finite samples of a mixture differ in their components' weights, so SW₂ is not tiny
  assert.ok((good.swd as number) < 0.3 && (bad.swd as number) > 1.5, `swd ${good.swd} vs ${bad.swd}`);
  assert.ok((good.mmd as { mmd2: number }).mmd2 < 0.005 && (bad.mmd as { mmd2: number }).mmd2 > 0.1);
  assert.ok((good.js as number) < 0.02 && (bad.js as number) > 0.4);
  assert.equal((good.modes as { modesCaptured: number }).modesCaptured, 8);
  assert.equal((bad.modes as { modesCaptured: number }).modesCaptured, 1);
  const withModel = await evaluate({ dataset: 'ring', run: { family: normalFamily, model: normalModel }, n: 1000, metrics: ['nll', 'modes'] });
  assert.ok(Math.abs((withModel.nll as { nll: number }).nll - (Math.log(2 * Math.PI) + 0.5 * 4.0008)) < 0.05); // E‖x‖² on the ring = 4 + 2·0.02²
  assert.ok((withModel.modes as { modesCaptured: number }).modesCaptured < 8);
  await assert.rejects(evaluate({ dataset: 'ring', samples: collapsed, metrics: ['fid'] }), /does not apply/);
  await assert.rejects(evaluate({ dataset: 'twoMoons', samples: collapsed, metrics: ['modes'] }), /Gaussian mixture/);
});

test('the example of the metrics module comment (src/metrics/index.ts) gives the values it states', async () => {
  const { metrics } = await import('../src/index.ts');
  const rng = new Generator(0);
  const a = metrics.points(rng.normal(2000)), b = metrics.points(rng.normal(2000, 0.5));
  const swd = metrics.slicedWasserstein(a, b, { rng });
  const { mmd2 } = metrics.mmdRbf(a, b);
  assert.ok(Math.abs(swd - 0.49) < 0.01, `swd ${swd}`);
  assert.ok(Math.abs(mmd2 - 0.06) < 0.005, `mmd² ${mmd2}`);
});
