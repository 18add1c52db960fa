/**
 * Classifier guidance (Dhariwal & Nichol 2021) against closed forms, and the noise-conditional
 * classifier of src/models/diffusion/classifier.ts.
 *
 * Data: a 2-class mixture in 2-D, x₀ | y = k ~ N(μ_k, s_k²·I) with prior π_k. At noise σ,
 * x | y = k ~ N(μ_k, (s_k² + σ²)·I), so
 *   - the class-conditional ideal denoiser is D_k(x; σ) = μ_k + s_k²/(s_k² + σ²)·(x − μ_k),
 *   - the exact noise-conditional classifier is p(y = k | x, σ) ∝ π_k·N(x; μ_k, (s_k² + σ²)·I),
 *   - the unconditional ideal denoiser is D(x; σ) = Σ_k p(k | x, σ)·D_k(x; σ).
 * By Tweedie, D = x + σ²·∇log p(x) and D_y = x + σ²·∇log p(x | y), so
 * D + s·σ²·∇log p(y | x, σ) = D + s·(D_y − D): scale 1 is exactly the conditional denoiser.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tensor, randn, zeros, Generator, stack, noGrad, setBackend, type Tensor } from '../src/index.ts';
import { type Denoiser } from '../src/models/diffusion/denoiser.ts';
import { classifierGuidance } from '../src/models/diffusion/guidance.ts';
import { heun } from '../src/models/diffusion/samplers.ts';
import { karrasSigmas } from '../src/models/diffusion/schedules.ts';
import { NoisyClassifier, noisyClassifierLoss, noisyClassifierFromState } from '../src/models/diffusion/classifier.ts';

// float64 throughout the closed-form checks: the reference backend stores it
setBackend('cpu');

const PI = [0.3, 0.7];
const MU = [[-1, 0.5], [1.5, -0.5]];
const S = [0.4, 0.7];
const D = 2;

/** v_k = s_k² + σ² as [N, 1] for each class. */
const variances = (sigma: Tensor) => S.map((s) => sigma.square().add(s * s).reshape([-1, 1]));

/** log π_k + log N(x; μ_k, v_k·I): the exact noise-conditional classifier's logits [N, 2]. */
function exactLogits(x: Tensor, sigma: Tensor): Tensor {
  const vs = variances(sigma.cast('float64'));
  return stack(MU.map((mu, k) => {
    const v = vs[k]!;
    const r2 = x.sub(tensor([mu], { dtype: 'float64' })).square().sum(1, true);
    return r2.div(v).add(v.mul(2 * Math.PI).log().mul(D)).mul(-0.5).add(Math.log(PI[k]!)).reshape([-1]);
  }), 1);
}

/** D_k(x; σ) for every class: [N, 2] each. */
function classDenoisers(x: Tensor, sigma: Tensor): Tensor[] {
  const vs = variances(sigma.cast('float64'));
  return MU.map((mu, k) => {
    const m = tensor([mu], { dtype: 'float64' });
    return x.sub(m).mul(vs[k]!.reciprocal().mul(S[k]! * S[k]!)).add(m);
  });
}

/** The unconditional ideal denoiser Σ_k p(k | x, σ)·D_k (labels are ignored). */
const unconditional: Denoiser = (x, sigma) => {
  const p = exactLogits(x, sigma).softmax(-1);
  const dk = classDenoisers(x, sigma);
  return dk[0]!.mul(p.slice(1, 0, 1)).add(dk[1]!.mul(p.slice(1, 1, 2)));
};

/** D_y(x; σ) written directly in JS numbers, independent of the tensor code above. */
function conditionalByHand(x: Float64Array, sigma: number, y: Int32Array): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < y.length; i++) {
    const k = y[i]!, a = (S[k]! * S[k]!) / (S[k]! * S[k]! + sigma * sigma);
    for (let d = 0; d < D; d++) out[i * D + d] = MU[k]![d]! + a * (x[i * D + d]! - MU[k]![d]!);
  }
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

const N = 64;
const labels = Int32Array.from({ length: N }, (_, i) => i % 2);

test('classifier guidance with the exact p(y | x, σ) at scale 1 is the class-conditional ideal denoiser', () => {
  const rng = new Generator(1);
  const guided = classifierGuidance(unconditional, exactLogits, 1);
  const classes = tensor(labels, { dtype: 'int32', shape: [N] });
  for (const sigma of [0.05, 0.3, 1, 3, 10]) {
    // points spread over both modes and between them, at the scale of the noisy marginal
    const x = randn([N, D], { rng, dtype: 'float64' }).mul(Math.sqrt(1 + sigma * sigma)).add(0.25);
    const s = tensor(new Float64Array(N).fill(sigma), { dtype: 'float64' });
    const got = noGrad(() => guided(x, s, { classes })).dataSync(); // samplers run without a graph
    const want = conditionalByHand(x.dataSync() as Float64Array, sigma, labels);
    const uncond = unconditional(x, s).dataSync();
    const err = maxAbsDiff(got, want), moved = maxAbsDiff(uncond, want);
    assert.ok(err < 1e-9 * Math.max(1, sigma * sigma), `σ = ${sigma}: guided vs conditional max |Δ| = ${err}`);
    assert.ok(moved > 1e-3, `σ = ${sigma}: the unconditional denoiser is already conditional (${moved}); the check would be empty`);
  }
});

test('classifier guidance at scale s is D + s·(D_y − D); no labels or s = 0 leave D unchanged', () => {
  const rng = new Generator(2);
  const classes = tensor(labels, { dtype: 'int32', shape: [N] });
  const sigma = 0.8;
  const x = randn([N, D], { rng, dtype: 'float64' }).mul(1.3);
  const s = tensor(new Float64Array(N).fill(sigma), { dtype: 'float64' });
  const d = unconditional(x, s).dataSync();
  const dy = conditionalByHand(x.dataSync() as Float64Array, sigma, labels);
  for (const scale of [0.5, 3]) {
    const got = noGrad(() => classifierGuidance(unconditional, exactLogits, scale)(x, s, { classes })).dataSync();
    const want = Float64Array.from(d, (v, i) => v + scale * (dy[i]! - v));
    assert.ok(maxAbsDiff(got, want) < 1e-9, `scale ${scale}: max |Δ| = ${maxAbsDiff(got, want)}`);
  }
  assert.deepEqual([...classifierGuidance(unconditional, exactLogits, 0)(x, s, { classes }).dataSync()], [...d]);
  assert.deepEqual([...classifierGuidance(unconditional, exactLogits, 2)(x, s).dataSync()], [...d]);
});

test('Heun driving the guided unconditional denoiser samples each class\'s Gaussian', () => {
  const rng = new Generator(3);
  const n = 1000;
  const guided = classifierGuidance(unconditional, exactLogits, 1);
  const sigmas = karrasSigmas(40, 0.002, 40);
  for (const k of [0, 1]) {
    const classes = tensor(new Int32Array(n).fill(k), { dtype: 'int32', shape: [n] });
    const xT = randn([n, D], { rng, dtype: 'float64' }).mul(sigmas[0]!);
    const x = heun(guided, xT, sigmas, { cond: { classes } });
    const mean = x.mean(0).dataSync(), variance = x.var(0).dataSync();
    for (let d = 0; d < D; d++) {
      // standard error of the mean s_k/√n ≈ 0.02; of the variance s_k²·√(2/n) ≈ 4.5%
      assert.ok(Math.abs(mean[d]! - MU[k]![d]!) < 5 * S[k]! / Math.sqrt(n), `class ${k}: mean[${d}] = ${mean[d]} (want ${MU[k]![d]})`);
      assert.ok(Math.abs(variance[d]! / (S[k]! * S[k]!) - 1) < 0.2, `class ${k}: var[${d}] = ${variance[d]} (want ${S[k]! * S[k]!})`);
    }
  }
});

test('noisyClassifierLoss draws ln σ ~ N(pMean, pStd²) and x = x₀ + σε', () => {
  const rng = new Generator(4);
  const n = 20000, pMean = -0.7, pStd = 0.9;
  const x0 = zeros([n, 1, 1, 2]).add(tensor([0.25, -0.5]).reshape([1, 1, 1, 2]));
  let seen: Tensor | null = null;
  const probe = (x: Tensor) => {
    seen = x;
    return zeros([n, 3]);
  };
  const { loss, sigma } = noisyClassifierLoss(probe, x0, zeros([n], { dtype: 'int32' }), rng, { pMean, pStd });
  assert.ok(Math.abs(loss.itemSync() - Math.log(3)) < 1e-5, 'cross-entropy of uniform logits is ln K');
  const s = sigma.dataSync();
  const logs = Float64Array.from(s, Math.log);
  const m = logs.reduce((a, b) => a + b, 0) / n;
  const v = logs.reduce((a, b) => a + (b - m) ** 2, 0) / (n - 1);
  assert.ok(Math.abs(m - pMean) < (4 * pStd) / Math.sqrt(n), `mean ln σ = ${m} (want ${pMean})`);
  assert.ok(Math.abs(v / (pStd * pStd) - 1) < 4 * Math.sqrt(2 / n), `var ln σ = ${v} (want ${pStd * pStd})`);
  // the noise is σ·ε with ε standard normal, one σ per example
  const eps = Array.from(seen!.sub(x0).div(sigma.reshape([n, 1, 1, 1])).reshape([-1]).dataSync());
  const em = eps.reduce((a, b) => a + b, 0) / eps.length;
  const ev = eps.reduce((a, b) => a + (b - em) ** 2, 0) / (eps.length - 1);
  assert.ok(Math.abs(em) < 4 / Math.sqrt(eps.length) && Math.abs(ev - 1) < 4 * Math.sqrt(2 / eps.length), `ε: mean ${em}, var ${ev}`);
});

test('NoisyClassifier: logits [N, K], EDM input scaling, state-dict round trip, guidance gradient inside noGrad', () => {
  const cfg = { inChannels: 1, numClasses: 3, channels: 8, channelMult: [1, 2], numGroups: 4 };
  const net = new NoisyClassifier(cfg, { rng: new Generator(5) });
  const rng = new Generator(6);
  const x = randn([4, 1, 8, 8], { rng });
  const sigma = tensor([0.1, 0.5, 2, 10]);
  const logits = net.forward(x, sigma);
  assert.deepEqual(logits.shape, [4, 3]);
  // the input is c_in(σ)·x = x/√(σ² + σ_data²): with σ = 0.5 and σ_data = 0.5, doubling x and
  // raising σ_data to √(3σ² + 4·0.5²) = √1.75 gives the network the same input (c_noise is unchanged)
  const s05 = tensor([0.5, 0.5, 0.5, 0.5]);
  const wider = new NoisyClassifier({ ...cfg, sigmaData: Math.sqrt(1.75) }, { rng: new Generator(7) });
  wider.loadStateDict(net.stateDict());
  const a = net.forward(x, s05).dataSync(), b = wider.forward(x.mul(2), s05).dataSync(), c = net.forward(x.mul(2), s05).dataSync();
  assert.ok(maxAbsDiff(a, b) < 1e-5, `c_in: max |Δ| = ${maxAbsDiff(a, b)}`);
  assert.ok(maxAbsDiff(a, c) > 1e-3, 'doubling x alone changes the logits (the check above is not empty)');
  const keys = Object.keys(net.stateDict());
  for (const k of ['temb.dense.0.weight', 'temb.fourier.freqs', 'conv_in.weight', 'down.0.block.0.norm1.weight', 'down.0.downsample.conv.weight', 'down.1.block.0.nin_shortcut.weight', 'norm_out.weight', 'out.weight']) {
    assert.ok(keys.includes(k), `state dict has ${k} (keys: ${keys.join(', ')})`);
  }
  const again = noisyClassifierFromState(net.config, net.stateDict(), { rng: new Generator(99) });
  assert.deepEqual([...again.forward(x, sigma).dataSync()], [...logits.dataSync()]);
  // through classifierGuidance, inside noGrad as a sampler runs it: a finite nonzero push
  const zero: Denoiser = (xx) => xx.mul(0);
  const g = noGrad(() => classifierGuidance(zero, (xx, s) => net.forward(xx, s), 1)(x, sigma, { classes: tensor([0, 1, 2, 0], { dtype: 'int32' }) })).dataSync();
  assert.ok(g.every(Number.isFinite) && g.some((v) => v !== 0), 'guidance term is finite and nonzero');
});
