// Decoder likelihoods (src/models/likelihoods.ts): closed forms, normalisation of the discretised
// logistic over its bins (edges included), a direct float64 CDF computation, gradients by finite
// differences, and the samplers' histograms against the probabilities.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Generator, setBackend, tensor, linspace } from '../src/index.ts';
import {
  bernoulliLogProb, bernoulliSample, gaussianLogProb, gaussianSample, discretizedLogisticLogProb, discretizedLogisticSample,
  discretizedLogisticMixtureLogProb, discretizedLogisticMixtureSample, quantize,
} from '../src/models/likelihoods.ts';
import { gradcheck } from './gradcheck.ts';

setBackend('cpu');
const dtype = 'float64' as const;

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));
/** P(bin k) of a discretised logistic computed directly from the logistic CDF in float64. */
function directMass(mu: number, s: number, k: number, levels: number): number {
  const h = 1 / (levels - 1);
  const x = -1 + 2 * k * h;
  const hi = k === levels - 1 ? 1 : sigmoid((x + h - mu) / s);
  const lo = k === 0 ? 0 : sigmoid((x - h - mu) / s);
  return hi - lo;
}

test('bernoulliLogProb and gaussianLogProb equal their closed forms', () => {
  const logits = [-3, -0.5, 0, 0.7, 4];
  const xs = [0, 1, 1, 0, 1];
  const lp = bernoulliLogProb(tensor(logits, { dtype }), tensor(xs, { dtype })).dataSync();
  logits.forEach((l, i) => {
    const p = sigmoid(l);
    assert.ok(Math.abs(lp[i]! - Math.log(xs[i] ? p : 1 - p)) < 1e-12);
  });
  const mu = [0.3, -1, 2], ls = [-1, 0, 0.5], x = [0, -1.5, 4];
  const g = gaussianLogProb(tensor(mu, { dtype }), tensor(ls, { dtype }), tensor(x, { dtype })).dataSync();
  mu.forEach((m, i) => {
    const s = Math.exp(ls[i]!);
    const want = -0.5 * Math.log(2 * Math.PI) - Math.log(s) - ((x[i]! - m) ** 2) / (2 * s * s);
    assert.ok(Math.abs(g[i]! - want) < 1e-12, `${g[i]} vs ${want}`);
  });
});

test('discretised logistic: the 256 bins (edges included) sum to 1 and match the float64 CDF', () => {
  for (const levels of [256, 16]) {
    const x = linspace(-1, 1, levels, { dtype });
    for (const [mu, logS] of [[0, -2], [0.9, -4], [-0.99, -3], [0.2, 0.5], [1.3, -1], [-0.5, -6.5]] as const) {
      const lp = discretizedLogisticLogProb(tensor([mu], { dtype }).expand([levels]), tensor([logS], { dtype }).expand([levels]), x, { levels }).dataSync();
      let total = 0;
      for (let k = 0; k < levels; k++) {
        const p = Math.exp(lp[k]!);
        total += p;
        const want = directMass(mu, Math.exp(logS), k, levels);
        // bins holding mass ≥ 1e-5 are exact; below that the code's centre-density fallback is used
        if (want > 1e-5) assert.ok(Math.abs(lp[k]! - Math.log(want)) < 1e-9, `levels ${levels} μ=${mu} log s=${logS} bin ${k}: ${lp[k]} vs ${Math.log(want)}`);
        else assert.ok(p < 2e-5, `bin ${k}: tiny mass ${p}`);
      }
      assert.ok(Math.abs(total - 1) < 1e-4 * (levels / 16), `levels ${levels} μ=${mu} log s=${logS}: Σ P = ${total}`);
    }
  }
});

test('discretised logistic: float32 also normalises (edge bins take the tails)', () => {
  const levels = 256;
  const x = linspace(-1, 1, levels);
  const lp = discretizedLogisticLogProb(tensor([0.995]).expand([levels]), tensor([-2.5]).expand([levels]), x, { levels }).dataSync();
  const total = Array.from(lp).reduce((s, v) => s + Math.exp(v), 0);
  assert.ok(Math.abs(total - 1) < 2e-3, `Σ P = ${total}`);
  // the +1 edge holds the upper tail: 1 − σ((1 − 1/255 − 0.995)/e^{−2.5})
  const want = 1 - sigmoid((1 - 1 / 255 - 0.995) / Math.exp(-2.5));
  assert.ok(Math.abs(Math.exp(lp[255]!) - want) < 1e-5);
});

test('discretised logistic mixture: normalised, and equal to log Σ π_k P_k', () => {
  const levels = 64, K = 3;
  const logitPi = [0.3, -1, 1.2], mus = [-0.6, 0.1, 0.95], logS = [-2, -3.5, -1.5];
  const x = linspace(-1, 1, levels, { dtype });
  const p = (v: number[]) => tensor(v, { dtype }).reshape(1, K).expand([levels, K]);
  const lp = discretizedLogisticMixtureLogProb(p(logitPi), p(mus), p(logS), x, { levels }).dataSync();
  const z = logitPi.reduce((s, l) => s + Math.exp(l), 0);
  let total = 0;
  for (let k = 0; k < levels; k++) {
    const masses = mus.map((m, j) => directMass(m, Math.exp(logS[j]!), k, levels));
    const want = logitPi.reduce((s, l, j) => s + (Math.exp(l) / z) * masses[j]!, 0);
    // exact where every component's bin mass is ≥ 1e-5; below that the centre-density fallback is used
    if (masses.every((m) => m >= 1e-5)) assert.ok(Math.abs(lp[k]! - Math.log(want)) < 1e-9, `bin ${k}: ${lp[k]} vs ${Math.log(want)}`);
    else assert.ok(Math.abs(Math.exp(lp[k]!) - want) < 1e-6, `bin ${k}: ${Math.exp(lp[k]!)} vs ${want}`);
    total += Math.exp(lp[k]!);
  }
  assert.ok(Math.abs(total - 1) < 1e-5, `Σ P = ${total}`);
  // the component axis can sit elsewhere: [K, levels] parameters, axis 0
  const q = (v: number[]) => tensor(v, { dtype }).reshape(K, 1).expand([K, levels]);
  const lp0 = discretizedLogisticMixtureLogProb(q(logitPi), q(mus), q(logS), x, { levels, axis: 0 }).dataSync();
  for (let k = 0; k < levels; k++) assert.ok(Math.abs(lp0[k]! - lp[k]!) < 1e-12);
});

test('discretised logistic: gradients in mean and log-scale match finite differences', () => {
  const x = tensor([-1, -1 + 2 / 255, 0, 0.5, 1, 1 - 2 / 255], { dtype });
  const mean = tensor([-0.9, -0.95, 0.1, 0.45, 0.8, 0.99], { dtype });
  const logS = tensor([-2, -3, -1, -4, -2.5, -3.5], { dtype });
  const r = gradcheck((m, s) => discretizedLogisticLogProb(m, s, x), [mean, logS], { eps: 1e-6, atol: 1e-5, rtol: 1e-4 });
  assert.ok(r.checked === 12);
});

test('samplers: histograms match the probabilities', () => {
  const rng = new Generator(7);
  const n = 40000;
  // Bernoulli
  const b = bernoulliSample(tensor([0.8]).expand([n]), rng).dataSync();
  const freq = Array.from(b).reduce((s, v) => s + v, 0) / n;
  assert.ok(Math.abs(freq - sigmoid(0.8)) < 0.01, `Bernoulli frequency ${freq}`);
  // Gaussian
  const g = gaussianSample(tensor([1.5]).expand([n]), tensor([-0.5]).expand([n]), rng).dataSync();
  const gm = Array.from(g).reduce((s, v) => s + v, 0) / n;
  const gs = Math.sqrt(Array.from(g).reduce((s, v) => s + (v - gm) ** 2, 0) / n);
  assert.ok(Math.abs(gm - 1.5) < 0.02 && Math.abs(gs - Math.exp(-0.5)) < 0.02, `Gaussian mean ${gm} std ${gs}`);
  // discretised logistic (16 levels, mass at the +1 edge) and a 2-component mixture
  const levels = 16;
  const hist = (v: ArrayLike<number>) => {
    const h = new Float64Array(levels);
    for (let i = 0; i < v.length; i++) h[Math.round(((v[i]! + 1) * (levels - 1)) / 2)]! += 1 / v.length;
    return h;
  };
  const d = discretizedLogisticSample(tensor([0.8]).expand([n]), tensor([-1.5]).expand([n]), rng, { levels }).dataSync();
  const hd = hist(d);
  let tv = 0;
  for (let k = 0; k < levels; k++) tv += 0.5 * Math.abs(hd[k]! - directMass(0.8, Math.exp(-1.5), k, levels));
  assert.ok(tv < 0.015, `discretised logistic total variation ${tv}`);
  const pi = [0.2, -0.4], mus = [-0.7, 0.4], ls = [-2, -1.2];
  const p = (v: number[]) => tensor(v).reshape(1, 2).expand([n, 2]);
  const m = discretizedLogisticMixtureSample(p(pi), p(mus), p(ls), rng, { levels }).dataSync();
  const hm = hist(m);
  const z = Math.exp(pi[0]!) + Math.exp(pi[1]!);
  tv = 0;
  for (let k = 0; k < levels; k++) {
    const want = (Math.exp(pi[0]!) / z) * directMass(mus[0]!, Math.exp(ls[0]!), k, levels) + (Math.exp(pi[1]!) / z) * directMass(mus[1]!, Math.exp(ls[1]!), k, levels);
    tv += 0.5 * Math.abs(hm[k]! - want);
  }
  assert.ok(tv < 0.015, `mixture total variation ${tv}`);
});

test('quantize rounds to bin centres and bad levels are named', () => {
  const q = quantize(tensor([-1.2, -0.99, 0.01, 0.5, 1.3]), 5).dataSync();
  assert.deepEqual(Array.from(q), [-1, -1, 0, 0.5, 1]);
  assert.throws(() => discretizedLogisticLogProb(tensor([0]), tensor([0]), tensor([0]), { levels: 1 }), /levels must be an integer ≥ 2/);
});
