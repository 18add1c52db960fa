// FVSBN, NADE and MADE (src/models/autoregressive/, src/nn/made.ts): the autoregressive property
// checked by autograd (∂ logit_d / ∂ x_j = 0 unless j comes before d in the ordering) for MADE
// under several orderings and resampled masks; exact normalisation over all 2^D binary vectors;
// NADE's O(DH) recursion against the paper's formula; samples that follow exp(logProb); the
// registry families.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Generator, tensor, randn, noGrad, setBackend, type Tensor } from '../src/index.ts';
import { MADE } from '../src/nn/made.ts';
import { FVSBN } from '../src/models/autoregressive/fvsbn.ts';
import { NADE } from '../src/models/autoregressive/nade.ts';
import { BernoulliMADE } from '../src/models/autoregressive/made.ts';
import { families, familyByName } from '../src/models/index.ts';
import type { DataSpec } from '../src/models/registry.ts';

// float64 on the reference backend: exact zeros and sums to 1e-9
setBackend('cpu');
const dtype = 'float64' as const;

/** J[d][j] = |∂ f(x)_d / ∂ x_j| for f: [1, D] → [1, D·K] (first D outputs), by one backward pass per output. */
function jacobian(f: (x: Tensor) => Tensor, D: number, seed = 0): number[][] {
  const x0 = randn([1, D], { rng: new Generator(100 + seed), dtype });
  const J: number[][] = [];
  for (let d = 0; d < D; d++) {
    const x = x0.detach();
    x.requiresGrad = true;
    const y = f(x);
    const g = new Float64Array(y.size);
    g[d] = 1;
    y.backward(tensor(g, { shape: y.shape, dtype }));
    J.push(Array.from(x.grad!.abs().dataSync()));
  }
  return J;
}

/** Every 0/1 vector of length D, as rows (first variable slowest). */
function allBinary(D: number): Tensor {
  return tensor(Array.from({ length: 2 ** D }, (_, m) => Array.from({ length: D }, (_, d) => (m >> (D - 1 - d)) & 1)).flat(), { shape: [2 ** D, D], dtype });
}

function checkAutoregressive(J: number[][], degrees: ArrayLike<number>, what: string, full = false): void {
  const D = J.length;
  for (let d = 0; d < D; d++) {
    for (let j = 0; j < D; j++) {
      const allowed = degrees[j]! < degrees[d]!;
      if (!allowed) assert.equal(J[d]![j], 0, `${what}: output ${d} (degree ${degrees[d]}) depends on input ${j} (degree ${degrees[j]})`);
      else if (full) assert.ok(J[d]![j]! > 0, `${what}: output ${d} should see input ${j}`);
    }
  }
}

test('MADE: output d depends only on earlier inputs, for several orderings, hidden degrees and resampled masks', () => {
  const D = 6;
  const orderings = ['natural', 'reverse', 'random', [3, 0, 5, 1, 4, 2]] as const;
  for (const [k, ordering] of orderings.entries()) {
    for (const hiddenDegrees of ['sequential', 'random'] as const) {
      const made = new MADE({ inFeatures: D, hidden: [12, 9], ordering, hiddenDegrees, activation: 'tanh', outMultiplier: 2, rng: new Generator(k), dtype });
      const deg = made.degrees.dataSync();
      // sequential degrees with ≥ D − 1 units per layer: every allowed connection is present
      checkAutoregressive(jacobian((x) => made.forward(x), D), deg, `MADE ${JSON.stringify(ordering)}/${hiddenDegrees}`, hiddenDegrees === 'sequential');
      // the second block of K outputs obeys the same masks
      checkAutoregressive(jacobian((x) => made.forward(x).slice(1, D), D), deg, 'MADE second output block');
    }
  }
  // resampling masks in place: new degrees each time, weights untouched, property kept
  const made = new MADE({ inFeatures: D, hidden: [16], activation: 'tanh', rng: new Generator(9), dtype });
  const w = Array.from(made.layers.at(0).weight.dataSync());
  const rng = new Generator(10);
  const seen = new Set<string>();
  for (let r = 0; r < 5; r++) {
    made.resampleMasks({ ordering: 'random', hiddenDegrees: 'random', rng });
    const deg = made.degrees.dataSync();
    seen.add(Array.from(deg).join(','));
    checkAutoregressive(jacobian((x) => made.forward(x), D, r), deg, `MADE resampled ${r}`);
  }
  assert.ok(seen.size >= 4, 'resampled orderings should differ');
  assert.deepEqual(Array.from(made.layers.at(0).weight.dataSync()), w);
});

test('FVSBN and NADE: logit d depends only on x_<d (autograd)', () => {
  const D = 7;
  const fv = new FVSBN({ features: D, dtype });
  noGrad(() => fv.weight.assign(randn([D, D], { rng: new Generator(1), dtype })));
  const natural = Array.from({ length: D }, (_, d) => d);
  checkAutoregressive(jacobian((x) => fv.forward(x), D), natural, 'FVSBN', true);
  const nade = new NADE({ features: D, hidden: 5, rng: new Generator(2), dtype });
  checkAutoregressive(jacobian((x) => nade.forward(x), D), natural, 'NADE', true);
});

test('Σ_x p(x) = 1 over all 2⁶ binary vectors: FVSBN, NADE, MADE (one mask; ensemble of 3 order-agnostic masks)', () => {
  const D = 6;
  const x = allBinary(D);
  const total = (lp: Tensor) => noGrad(() => lp.logsumexp(0).exp().itemSync());
  const fv = new FVSBN({ features: D, dtype });
  noGrad(() => {
    fv.weight.assign(randn([D, D], { rng: new Generator(3), dtype }));
    fv.bias.assign(randn([D], { rng: new Generator(4), dtype }));
  });
  assert.ok(Math.abs(total(fv.logProb(x)) - 1) < 1e-10);
  const nade = new NADE({ features: D, hidden: 4, rng: new Generator(5), dtype });
  noGrad(() => nade.c.assign(randn([4], { rng: new Generator(6), dtype })));
  assert.ok(Math.abs(total(nade.logProb(x)) - 1) < 1e-10);
  const one = new BernoulliMADE({ features: D, hidden: [10, 10], rng: new Generator(7), dtype });
  assert.ok(Math.abs(total(one.logProb(x)) - 1) < 1e-10);
  const ens = new BernoulliMADE({ features: D, hidden: [10], masks: 3, orderAgnostic: true, rng: new Generator(8), dtype });
  assert.ok(Math.abs(total(ens.logProb(x)) - 1) < 1e-10);
  // each mask set alone is normalised too, and the ensemble is their average
  const per = [0, 1, 2].map((m) => {
    ens.useMask(m);
    assert.ok(Math.abs(total(ens.logProbCurrent(x)) - 1) < 1e-10);
    return noGrad(() => ens.logProbCurrent(x).exp().dataSync());
  });
  const mix = noGrad(() => ens.logProb(x).exp().dataSync());
  for (let i = 0; i < 2 ** D; i++) assert.ok(Math.abs(mix[i]! - (per[0]![i]! + per[1]![i]! + per[2]![i]!) / 3) < 1e-12);
});

test('FVSBN at its zero initialisation: ∂(−log p)/∂b_d = Σ_n (½ − x_nd), ∂/∂W_dj = Σ_n (½ − x_nd) x_nj (j < d)', () => {
  // logits exactly 0: catches a softplus whose gradient at 0 is not ½
  const D = 5;
  const fv = new FVSBN({ features: D, dtype });
  const xs = [[1, 0, 1, 1, 0], [0, 1, 1, 0, 0], [1, 1, 1, 0, 1]];
  fv.logProb(tensor(xs.flat(), { shape: [3, D], dtype })).sum().neg().backward();
  const gb = fv.bias.grad!.dataSync(), gw = fv.weight.grad!.dataSync();
  for (let d = 0; d < D; d++) {
    assert.ok(Math.abs(gb[d]! - xs.reduce((a, x) => a + 0.5 - x[d]!, 0)) < 1e-12);
    for (let j = 0; j < D; j++) assert.ok(Math.abs(gw[d * D + j]! - (j < d ? xs.reduce((a, x) => a + (0.5 - x[d]!) * x[j]!, 0) : 0)) < 1e-12);
  }
});

test('NADE: the batched cumsum equals the recursion a_{d+1} = a_d + W[:, d] x_d of Larochelle & Murray (eq. 9)', () => {
  const D = 8, H = 5;
  const nade = new NADE({ features: D, hidden: H, rng: new Generator(11), dtype });
  noGrad(() => {
    nade.c.assign(randn([H], { rng: new Generator(12), dtype }));
    nade.b.assign(randn([D], { rng: new Generator(13), dtype }));
  });
  const W = nade.W.dataSync(), c = nade.c.dataSync(), V = nade.V.dataSync(), b = nade.b.dataSync();
  const xs = [[1, 0, 1, 1, 0, 0, 1, 0], [0, 0, 0, 1, 1, 1, 0, 1]];
  const got = nade.logProb(tensor(xs.flat(), { shape: [2, D], dtype })).dataSync();
  xs.forEach((x, i) => {
    const a = Array.from(c);
    let lp = 0;
    for (let d = 0; d < D; d++) {
      let l = b[d]!;
      for (let k = 0; k < H; k++) l += V[d * H + k]! / (1 + Math.exp(-a[k]!));
      const p = 1 / (1 + Math.exp(-l));
      lp += Math.log(x[d] ? p : 1 - p);
      for (let k = 0; k < H; k++) a[k]! += W[k * D + d]! * x[d]!;
    }
    assert.ok(Math.abs(got[i]! - lp) < 1e-10, `example ${i}: ${got[i]} vs ${lp}`);
  });
});

/** Frequencies of the 2^D vectors among n samples [n, D] against probabilities p. */
function checkFrequencies(s: ArrayLike<number>, n: number, D: number, p: ArrayLike<number>, what: string): void {
  const counts = new Array<number>(2 ** D).fill(0);
  for (let i = 0; i < n; i++) {
    let m = 0;
    for (let d = 0; d < D; d++) m = m * 2 + s[i * D + d]!;
    counts[m]! += 1;
  }
  for (let m = 0; m < 2 ** D; m++) {
    const se = Math.sqrt((p[m]! * (1 - p[m]!)) / n);
    assert.ok(Math.abs(counts[m]! / n - p[m]!) < 4.5 * se + 1e-3, `${what}, vector ${m}: frequency ${counts[m]! / n} vs p ${p[m]}`);
  }
}

test('ancestral samples follow exp(logProb): FVSBN, NADE, MADE ensemble of 2 orderings (D = 4, 4000 draws); seeded', () => {
  const D = 4, n = 4000;
  const x = allBinary(D);
  const fv = new FVSBN({ features: D, dtype });
  noGrad(() => {
    fv.weight.assign(randn([D, D], { rng: new Generator(20), dtype }).mul(2));
    fv.bias.assign(randn([D], { rng: new Generator(21), dtype }));
  });
  const nade = new NADE({ features: D, hidden: 3, rng: new Generator(22), dtype });
  noGrad(() => nade.V.assign(nade.V.mul(8)));
  const made = new BernoulliMADE({ features: D, hidden: [8], masks: 2, orderAgnostic: true, maskSeed: 3, rng: new Generator(23), dtype });
  noGrad(() => made.made.layers.at(1).weight.assign(made.made.layers.at(1).weight.mul(6)));
  for (const [what, m] of [['FVSBN', fv], ['NADE', nade], ['MADE', made]] as const) {
    const p = noGrad(() => m.logProb(x).exp().dataSync());
    const s = m.sample(n, new Generator(24)).dataSync();
    checkFrequencies(s, n, D, p, what);
    assert.deepEqual(Array.from(m.sample(50, new Generator(25)).dataSync()), Array.from(m.sample(50, new Generator(25)).dataSync()));
  }
});

test('registry families fvsbn / nade / made / pixelcnn: loss = −mean log p on binary data, dynamic binarisation, samples, errors', () => {
  for (const name of ['fvsbn', 'nade', 'made', 'pixelcnn']) assert.ok(Object.hasOwn(families, name), `family ${name} registered`);
  const data: DataSpec = { kind: 'images', shape: [1, 3, 3] };
  const xBin = tensor(Array.from({ length: 4 * 9 }, (_, i) => ((i * 7) % 3 === 0 ? 1 : -1)), { shape: [4, 1, 3, 3] });
  const grey = tensor(Array.from({ length: 4 * 9 }, (_, i) => Math.sin(i)), { shape: [4, 1, 3, 3] });
  for (const name of ['fvsbn', 'nade', 'made', 'pixelcnn']) {
    const fam = familyByName(name);
    const small = name === 'nade' ? { hidden: 6 } : name === 'made' ? { hidden: [16], masks: 2, orderAgnostic: true } : name === 'pixelcnn' ? { hidden: 8, outHidden: 8, layers: 1 } : {};
    const binCfg = { ...fam.defaults(data), ...small, binarized: true };
    const model = fam.create(binCfg, data, new Generator(30));
    const ll = fam.logLikelihood!(model, { x: xBin }, new Generator(31));
    assert.equal(ll.bound, false);
    assert.deepEqual(ll.logLik.shape, [4]);
    const loss = fam.loss({ ...model }, { x: xBin }, new Generator(32));
    if (name !== 'made') assert.ok(Math.abs(loss.itemSync() + ll.logLik.mean().itemSync()) < 1e-4, `${name}: loss is −mean log p`);
    loss.backward();
    assert.ok(model.net.parameters().some((p) => p.grad && p.grad.abs().sum().itemSync() > 0), `${name}: gradients reach the parameters`);
    // dynamic binarisation: two draws of the same grey batch differ, both finite
    const dyn = fam.create({ ...fam.defaults(data), ...small }, data, new Generator(30));
    if (dyn.net instanceof FVSBN) noGrad(() => (dyn.net as FVSBN).bias.assign(randn([9], { rng: new Generator(36) }))); // starts uniform
    const l1 = fam.loss(dyn, { x: grey }, new Generator(33)).itemSync(), l2 = fam.loss(dyn, { x: grey }, new Generator(34)).itemSync();
    assert.ok(Number.isFinite(l1) && Number.isFinite(l2) && l1 !== l2, `${name}: dynamic binarisation`);
    const s = fam.sample(model, 3, new Generator(35));
    assert.deepEqual(s.shape, [3, 1, 3, 3]);
    assert.ok(Array.from(s.dataSync()).every((v) => v === 1 || v === -1));
    assert.throws(() => fam.sample(model, 1, new Generator(0), { sampler: 'heun' }), /unknown sampler 'heun' \(ancestral\)/);
  }
  assert.throws(() => familyByName('pixelcnn').create({ ...familyByName('pixelcnn').defaults(data), output: 'gaussian' }, data, new Generator(0)), /config\.output must be 'bernoulli' or 'logistic-mixture'/);
  assert.throws(() => new NADE({ features: 4, hidden: 0, rng: new Generator(0) }), /hidden must be a positive integer/);
  assert.throws(() => new BernoulliMADE({ features: 4, hidden: [4], masks: 0, rng: new Generator(0) }), /masks must be a positive integer/);
});

test('pixelcnn family with a logistic mixture on grey levels: exact log-likelihood of 256-level images, in [−1, 1] samples', () => {
  const fam = familyByName('pixelcnn');
  const data: DataSpec = { kind: 'images', shape: [1, 4, 4], numClasses: 3 };
  const model = fam.create({ ...fam.defaults(data), output: 'logistic-mixture', mixtures: 2, hidden: 8, outHidden: 8, layers: 1, conditional: true }, data, new Generator(40));
  const x = tensor(Array.from({ length: 2 * 16 }, (_, i) => Math.round(((Math.cos(i) + 1) / 2) * 255) / 127.5 - 1), { shape: [2, 1, 4, 4] });
  const y = tensor([0, 2], { dtype: 'int32' });
  const ll = fam.logLikelihood!(model, { x, y }, new Generator(41)).logLik.dataSync();
  // a discrete log-probability: at most 0, and above the uniform model's 16·log(1/256) by a finite margin
  for (const v of ll) assert.ok(v < 0 && Number.isFinite(v));
  assert.throws(() => fam.loss(model, { x }, new Generator(0)), /batch needs labels/);
  const s = fam.sample(model, 2, new Generator(42), { classes: y });
  assert.ok(Array.from(s.dataSync()).every((v) => v >= -1 && v <= 1));
});
