// Flows beyond the per-bijector property test: MADE's autoregressive structure, the flow's
// density and sampling against closed forms, dequantisation and bits/dim, the CNF's trace
// estimator and solvers, Glow's initialisations, state dicts, and the registry families.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Tensor, Generator, setBackend, tensor, randn, rand, zeros, noGrad, vjp, linalg, scope, memory, optim } from '../src/index.ts';
import { Linear } from '../src/nn/layers/linear.ts';
import { getFamily, familyNames, type DataSpec } from '../src/models/registry.ts';
import {
  MADE, Flow, StandardNormal, DiagonalNormal, ConditionalDiagonalNormal, FixedAffine, Logit, ActNorm, InvertibleConv1x1,
  AffineCoupling, MLP, halfMask, Permutation, CNF, OdeNet, bitsPerDim, discreteLogLikelihood, toLevels, fromLevels,
  uniformDequantize, flowFamilies, registerFlows, buildGlow, type FlowModel,
} from '../src/models/flows/index.ts';

setBackend('cpu');
const dtype = 'float64' as const;
const LOG_2PI = Math.log(2 * Math.PI);

function close(a: number, b: number, tol: number, what = ''): void {
  assert.ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b} (tol ${tol})`);
}

/** ∂out_j/∂x_i ≠ 0 pattern of a map [1, D] → [1, K·D], from one vjp per output. */
function dependence(f: (x: Tensor) => Tensor, x: Tensor): boolean[][] {
  const [y, pull] = vjp(f, x);
  return Array.from({ length: y.size }, (_, j) => {
    const v = new Float64Array(y.size);
    v[j] = 1;
    return Array.from(pull(tensor(v, { shape: y.shape, dtype })).dataSync(), (g) => Math.abs(g) > 1e-12);
  });
}

test('MADE: output d depends exactly on the inputs before d in the ordering, for every output block', () => {
  const D = 5, K = 3;
  for (const [ordering, hiddenDegrees] of [['natural', 'sequential'], ['reverse', 'sequential'], ['random', 'random'], [[2, 0, 4, 1, 3], 'sequential']] as const) {
    const rng = new Generator(7);
    const made = new MADE({ inFeatures: D, hidden: [12, 12], outMultiplier: K, ordering, hiddenDegrees, activation: 'tanh', rng, dtype });
    const deg = made.degrees.dataSync();
    if (Array.isArray(ordering)) ordering.forEach((i, k) => assert.equal(deg[i], k + 1));
    const dep = dependence((x) => made.forward(x), randn([1, D], { rng, dtype }));
    for (let j = 0; j < K * D; j++) {
      const d = j % D;
      for (let i = 0; i < D; i++) {
        const allowed = deg[i]! < deg[d]!;
        // sequential degrees with ≥ D−1 units per layer connect every allowed pair
        if (hiddenDegrees === 'sequential') assert.equal(dep[j]![i], allowed, `${String(ordering)}: output ${j} on input ${i}`);
        else assert.ok(!dep[j]![i] || allowed, `${String(ordering)}: output ${j} must not see input ${i}`);
      }
    }
  }
});

test('MADE: a context reaches every output, including the first in the ordering; masks are saved', () => {
  const rng = new Generator(3);
  const made = new MADE({ inFeatures: 3, hidden: [8], contextFeatures: 2, outMultiplier: 2, rng, dtype });
  const x = randn([1, 3], { rng, dtype });
  const dep = dependence((c) => made.forward(x, c), randn([1, 2], { rng, dtype }));
  assert.ok(dep.every((row) => row.some(Boolean)), 'every output depends on the context');
  assert.throws(() => made.forward(x), /conditional/);
  const keys = Object.keys(made.stateDict());
  assert.deepEqual(keys, ['degrees', 'layers.0.weight', 'layers.0.bias', 'layers.0.mask', 'layers.1.weight', 'layers.1.bias', 'layers.1.mask', 'context.weight']);
});

test('Flow.logProb is the change of variables: an affine flow gives a Gaussian density in closed form', () => {
  // z = 2x + 1 with z ~ N(0, I) means x ~ N(−½, ¼ I): log p(x) = Σ −½((x + ½)/½)² − log ½ − ½ log 2π
  const flow = new Flow(new StandardNormal([3], { dtype }), [new FixedAffine(2, 1)]);
  const x = tensor([[0.3, -1, 2], [0, 0, 0]], { dtype });
  const lp = flow.logProb(x).dataSync();
  const X = x.arraySync() as number[][];
  X.forEach((row, n) => close(lp[n]!, row.reduce((s, v) => s - 0.5 * ((v + 0.5) / 0.5) ** 2 - Math.log(0.5) - 0.5 * LOG_2PI, 0), 1e-12, 'log p'));
  // samples at temperature T have std T/2 around −½
  const rng = new Generator(1);
  for (const T of [1, 0.5]) {
    const s = flow.sample(4000, rng, { temperature: T });
    const mean = s.mean().itemSync(), std = s.std().itemSync();
    close(mean, -0.5, 0.02, 'mean');
    close(std, T / 2, 0.02, `std at T=${T}`);
  }
  // sampleWithLogProb agrees with logProb of the drawn points
  const { x: xs, logProb } = flow.sampleWithLogProb(5, rng);
  assert.ok(Math.max(...Array.from(logProb.sub(flow.logProb(xs)).abs().dataSync())) < 1e-12);
});

test('base distributions: diagonal and conditional normals match their closed forms', () => {
  const d = new DiagonalNormal([2], { dtype });
  noGrad(() => {
    d.loc.assign(tensor([1, -2], { dtype }));
    d.logScale.assign(tensor([Math.log(0.5), Math.log(3)], { dtype }));
  });
  const x = tensor([[0, 0]], { dtype });
  const expect = -0.5 * ((0 - 1) / 0.5) ** 2 - Math.log(0.5) - 0.5 * ((0 + 2) / 3) ** 2 - Math.log(3) - LOG_2PI;
  close(d.logProb(x).itemSync(), expect, 1e-12, 'diagonal normal');
  const rng = new Generator(2);
  const net = new Linear(1, 4, { rng, dtype });
  noGrad(() => {
    net.weight.assign(tensor([[1], [0], [0], [0]], { dtype }));
    net.bias!.assign(tensor([0, -2, Math.log(0.5), Math.log(3)], { dtype }));
  });
  const cond = new ConditionalDiagonalNormal([2], net);
  close(cond.logProb(x, tensor([[1]], { dtype })).itemSync(), expect, 1e-12, 'conditional normal');
  const s = cond.sample(4000, rng, zeros([4000, 1], { dtype }).add(1));
  close(s.slice(1, 0, 1).std().itemSync(), 0.5, 0.03, 'conditional std');
});

test('dequantisation and bits/dim: uniform density is 8 bits/dim; the logit log-det is counted', () => {
  const levels = tensor([[0, 128, 255, 17]], { dtype });
  assert.deepEqual(Array.from(toLevels(fromLevels(levels)).dataSync()), [0, 128, 255, 17]);
  const xq = uniformDequantize(levels, new Generator(0));
  const v = xq.dataSync(), k = levels.dataSync();
  for (let i = 0; i < 4; i++) assert.ok(v[i]! >= k[i]! / 256 && v[i]! < (k[i]! + 1) / 256);
  // uniform density on [0, 1)^D: log p = 0, so bits/dim = log2 256 = 8 and log P(k) ≥ −D log 256
  close(bitsPerDim(zeros([1], { dtype }), 4).itemSync(), 8, 1e-12);
  close(discreteLogLikelihood(zeros([1], { dtype }), 4).itemSync(), -4 * Math.log(256), 1e-9);
  // logit then N(0, 1): log p(x) = Σ log N(logit p) + log(1 − 2α) − log p − log(1 − p), p = α + (1 − 2α)x
  const alpha = 0.05;
  const flow = new Flow(new StandardNormal([4], { dtype }), [new Logit(alpha)]);
  const lp = flow.logProb(xq).itemSync();
  let expect = 0;
  for (const x of v) {
    const p = alpha + (1 - 2 * alpha) * x, y = Math.log(p / (1 - p));
    expect += -0.5 * y * y - 0.5 * LOG_2PI + Math.log(1 - 2 * alpha) - Math.log(p) - Math.log(1 - p);
  }
  close(lp, expect, 1e-9, 'log p through the logit');
  close(bitsPerDim(tensor([lp], { dtype }), 4).itemSync(), (-expect + 4 * Math.log(256)) / (4 * Math.LN2), 1e-9, 'bits/dim');
});

test('CNF: Hutchinson estimates are unbiased for the exact log-det; dopri5 agrees with fine RK4; dopri5 refuses to train', () => {
  const rng = new Generator(5);
  const net = new OdeNet(3, { hidden: [16], rng, dtype });
  // the same discretisation for both: the path z(t) does not depend on the probe, so the mean of
  // the discrete Hutchinson log-det is the discrete exact one
  const exact = new CNF(net, { solver: { method: 'rk4', steps: 4 } });
  const hutch = new CNF(net, { trace: 'hutchinson', solver: { method: 'rk4', steps: 4 } });
  const x = randn([1, 3], { rng, dtype });
  const reps = 1000;
  noGrad(() => {
    const ref = exact.forward(x).logDet.itemSync();
    // every row of the batch is the same point with its own Rademacher probe
    const est = hutch.forward(x.expand([reps, 3]), null, { rng }).logDet;
    const mean = est.mean().itemSync(), se = est.std().itemSync() / Math.sqrt(reps);
    assert.ok(se > 0, 'the estimator is random');
    assert.ok(Math.abs(mean - ref) < 4 * se + 1e-9, `Hutchinson mean ${mean} vs exact ${ref} (s.e. ${se})`);
    const fine = exact.forward(x, null, { ode: { method: 'rk4', steps: 60 } });
    const dp = exact.forward(x, null, { ode: { method: 'dopri5', rtol: 1e-8, atol: 1e-8 } });
    assert.ok(Math.max(...Array.from(dp.y.sub(fine.y).abs().dataSync())) < 1e-6);
    close(dp.logDet.itemSync(), fine.logDet.itemSync(), 1e-6, 'dopri5 log-det');
  });
  assert.throws(() => exact.forward(x, null, { ode: { method: 'dopri5' } }), /no gradients/);
  assert.throws(() => hutch.forward(x), /pass \{ rng \}/);
});

test('Glow: actnorm standardises its first batch and is not re-initialised after loading; LU 1×1 starts as the rotation', () => {
  const rng = new Generator(9);
  const a = new ActNorm(3, { dtype });
  const x = randn([64, 3, 2, 2], { rng, dtype }).mul(tensor([2, 0.5, 3], { dtype }).reshape([1, 3, 1, 1])).add(4);
  const y = a.forward(x).y;
  const m = y.mean([0, 2, 3]).dataSync(), s = y.sub(y.mean([0, 2, 3], true)).square().mean([0, 2, 3]).sqrt().dataSync();
  for (let c = 0; c < 3; c++) {
    close(m[c]!, 0, 1e-9, 'mean');
    close(s[c]!, 1, 1e-5, 'std');
  }
  const b = new ActNorm(3, { dtype });
  b.loadStateDict(a.stateDict());
  const before = b.bias.dataSync().slice();
  b.forward(x.mul(10)); // would re-initialise if the flag were not loaded
  assert.deepEqual(Array.from(b.bias.dataSync()), Array.from(before));

  const conv = new InvertibleConv1x1(4, { rng: new Generator(1), dtype, lu: true });
  const plain = new InvertibleConv1x1(4, { rng: new Generator(1), dtype });
  assert.ok(Math.max(...Array.from(conv.matrix().sub(plain.weight!).abs().dataSync())) < 1e-12, 'P·L·U reproduces the initial rotation');
  close(conv.logAbsDetW().itemSync(), linalg.logAbsDet(conv.matrix()).itemSync(), 1e-12, 'Σ log|s| = log|det W|');
});

test('state dicts round-trip a flow (random permutations and split priors included)', () => {
  const data: DataSpec = { kind: 'images', shape: [1, 4, 4] };
  const cfg = { ...flowFamilies.glow.defaults(data), steps: 1, hiddenChannels: 4 };
  const a = buildGlow(cfg, data.shape, { rng: new Generator(1), dtype });
  const b = buildGlow(cfg, data.shape, { rng: new Generator(2), dtype });
  const x = rand([3, 1, 4, 4], { rng: new Generator(3), dtype });
  a.logProb(x); // actnorm initialisation
  a.eval();
  b.loadStateDict(a.stateDict());
  b.eval();
  assert.ok(Math.max(...Array.from(a.logProb(x).sub(b.logProb(x)).abs().dataSync())) < 1e-10);
  assert.ok(Object.keys(a.stateDict()).some((k) => k.includes('priors.0.conv')), 'split priors are saved');
  const p = Permutation.random(6, new Generator(4)), q = Permutation.reverse(6);
  q.loadStateDict(p.stateDict());
  const v = randn([2, 6], { rng: new Generator(5), dtype });
  assert.deepEqual(Array.from(q.inverse(p.forward(v).y).x.dataSync()), Array.from(v.dataSync()));
});

test('registry: every flow family creates, trains one step, samples and scores points and images', () => {
  registerFlows();
  for (const name of ['nice', 'realnvp', 'glow', 'maf', 'cnf']) assert.ok(familyNames().includes(name));
  const points: DataSpec = { kind: 'points', shape: [2] };
  const images: DataSpec = { kind: 'images', shape: [1, 4, 4] };
  const small: Record<string, Record<string, unknown>> = {
    nice: { couplings: 2, hidden: [8] }, realnvp: { couplings: 2, hidden: [8], hiddenChannels: 4, blocks: 0 },
    glow: { steps: 2, hidden: [8], hiddenChannels: 4 }, maf: { layers: 2, hidden: [8] }, cnf: { hidden: [8], trainSolver: { method: 'rk4', steps: 2 } },
  };
  for (const name of Object.keys(flowFamilies)) {
    for (const data of name === 'cnf' ? [points] : [points, images]) {
      scope(() => {
        const fam = getFamily<Record<string, unknown>>(name);
        const rng = new Generator(0);
        const model = fam.create({ ...fam.defaults(data), ...small[name] }, data, rng) as FlowModel<Record<string, unknown>>;
        const x = data.kind === 'points' ? randn([6, 2], { rng }) : rand([6, 1, 4, 4], { rng, low: -1, high: 1 });
        const loss = fam.loss(model, { x }, rng);
        assert.equal(loss.size, 1);
        loss.backward();
        assert.ok(model.net.parameters().some((p) => p.grad && p.grad.abs().sum().itemSync() > 0), `${name}: gradients reach the parameters`);
        const { logLik, bound } = fam.logLikelihood!(model, { x }, rng);
        assert.equal(bound, data.kind === 'images');
        assert.deepEqual(logLik.shape, [6]);
        assert.ok(logLik.dataSync().every(Number.isFinite));
        if (data.kind === 'images') {
          // the loss is the mean bits/dim of the same kind of dequantised draw: −logLik/(D ln 2) ≈ loss
          const bpd = -logLik.mean().itemSync() / (16 * Math.LN2);
          assert.ok(Math.abs(bpd - loss.itemSync()) < 0.5, `${name}: bits/dim ${bpd} vs loss ${loss.itemSync()}`);
        } else close(-logLik.mean().itemSync(), loss.itemSync(), name === 'cnf' ? 1e-2 : 1e-4, `${name}: logLik vs loss`);
        const s = fam.sample(model, 3, rng, { temperature: 0.7 });
        assert.deepEqual(s.shape, [3, ...data.shape]);
        assert.ok(s.dataSync().every(Number.isFinite));
        if (data.kind === 'images') assert.ok(s.dataSync().every((v) => v >= -1 && v <= 1));
      });
    }
  }
  assert.throws(() => flowFamilies.cnf.create(flowFamilies.cnf.defaults({ kind: 'images', shape: [1, 4, 4] }), { kind: 'images', shape: [1, 4, 4] }, new Generator(0)), /only points/);
});

test('conditional flow: an affine coupling conditioned on a label shifts the density by the label', () => {
  // a coupling whose conditioner ignores x and outputs t = (0, ctx): with a standard normal base,
  // p(x | c) = N(x₂; −c, 1)·N(x₁; 0, 1)
  const rng = new Generator(11);
  const net = new MLP(2, [], 4, { rng, dtype, zeroLast: true, contextFeatures: 1 });
  noGrad(() => {
    const w = zeros([4, 3], { dtype }).add(tensor([[0, 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 1]], { dtype }));
    net.layers.at(0).weight.assign(w);
  });
  const flow = new Flow(new StandardNormal([2], { dtype }), [new AffineCoupling(halfMask(2, 0, dtype), net, { scale: 'exp', dtype })]);
  const x = tensor([[0.5, -1.5]], { dtype });
  const lp = flow.logProb(x, tensor([[2]], { dtype })).itemSync();
  close(lp, -0.5 * 0.25 - 0.5 * (-1.5 + 2) ** 2 - LOG_2PI, 1e-12);
  const s = flow.sample(4000, rng, { ctx: zeros([4000, 1], { dtype }).add(3) });
  close(s.slice(1, 1, 2).mean().itemSync(), -3, 0.06, 'conditional mean');
});

test('memory: training steps and a sampling run leave no buffers alive (actnorm, LU, batch norm, CNF)', () => {
  const points: DataSpec = { kind: 'points', shape: [2] };
  const cases: [string, Record<string, unknown>][] = [
    ['glow', { steps: 2, hidden: [8] }],
    ['realnvp', { couplings: 2, hidden: [8], batchNorm: true }],
    ['maf', { layers: 2, hidden: [8] }],
    ['cnf', { hidden: [8], trainSolver: { method: 'rk4', steps: 2 } }],
  ];
  for (const [name, cfg] of cases) {
    const fam = flowFamilies[name as keyof typeof flowFamilies] as unknown as ReturnType<typeof getFamily<Record<string, unknown>>>;
    const rng = new Generator(0);
    const model = fam.create({ ...fam.defaults(points), ...cfg }, points, rng);
    const opt = new optim.Adam(model.net.parameters(), { lr: 1e-3 });
    const step = () => scope(() => {
      opt.zeroGrad();
      fam.loss(model, { x: randn([16, 2], { rng }) }, rng).backward();
      opt.step();
    });
    step(); // creates the optimizer state and initialises actnorm
    const before = memory().buffers;
    for (let i = 0; i < 3; i++) step();
    scope(() => void fam.sample(model, 8, rng));
    scope(() => void fam.logLikelihood!(model, { x: randn([8, 2], { rng }) }, rng));
    assert.equal(memory().buffers, before, `${name}: live buffers`);
  }
});
