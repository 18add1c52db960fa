import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import '../src/backends/cpu/index.ts';
import { Tensor, tensor, zeros, scope, memory, noGrad } from '../src/core/index.ts';
import { type Backend, getBackend } from '../src/core/backend.ts';
import { Module, parameter } from '../src/nn/module.ts';
import { parseSafetensors, serializeSafetensors, type RawTensor } from '../src/nn/io/safetensors.ts';
import {
  SGD, Adam, AdamW, type Optimizer, type OptimizerStateDict, type HyperValue, type ParamsArg, type SGDHyper, type SGDOptions, type AdamHyper, type AdamOptions,
  clipGradNorm, clipGradNormAsync, clipGradValue,
  type Schedule, lambdaLR, linearWarmup, cosineAnnealing, stepLR, exponentialLR, warmupCosine, withWarmup, LRScheduler,
  EMA,
} from '../src/nn/optim/index.ts';

// ---------------------------------------------------------------------------------------------
// Fixture (scripts/fixtures/make_optim_fixtures.py, PyTorch 1.13)
// ---------------------------------------------------------------------------------------------

interface OptimCase {
  name: string;
  class: 'SGD' | 'Adam' | 'AdamW';
  kwargs: Record<string, number | boolean | number[]>;
  negate: boolean;
  groups: Record<string, number | boolean | number[]>[] | null;
  trajectory: { W: number[]; b: number[] }[];
}
interface Fixture {
  steps: number;
  problem: { X: number[]; Y: number[]; W0: number[]; b0: number[] };
  optimizers: OptimCase[];
  schedules: { name: string; args: Record<string, number>; lrs: number[][] }[];
  clip: {
    grads: [number[], number[]];
    norm: { maxNorm: number; normType: number | 'inf'; totalNorm: number; grads: [number[], number[]] }[];
    value: { clipValue: number; grads: [number[], number[]] };
  };
}
const FX = JSON.parse(readFileSync(new URL('./fixtures/optim.json', import.meta.url), 'utf8')) as Fixture;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/** Max over entries of |a − b| / max(|b|, floor), and assert it is ≤ tol. */
function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string, floor = 1e-3): number {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!, a = actual[i]!;
    const err = Math.abs(a - e) / Math.max(Math.abs(e), floor);
    if (!(err <= tol)) assert.fail(`${what}[${i}]: got ${a}, expected ${e} (relative error ${err.toExponential(2)} > ${tol})`);
    worst = Math.max(worst, err);
  }
  return worst;
}

/**
 * |a − e| ≤ tol · max|expected| for every entry: relative to the tensor's scale, since entries
 * pass through zero during training, where an entrywise relative error means nothing.
 */
function assertCloseToScale(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): number {
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]!));
  return assertClose(actual, expected, tol, what, scale);
}

const TORCH_NAMES: Record<string, string> = { weight_decay: 'weightDecay' };
function camel(kw: Record<string, number | boolean | number[]>): Record<string, HyperValue> {
  return Object.fromEntries(Object.entries(kw).map(([k, v]) => [TORCH_NAMES[k] ?? k, v]));
}

/** The fixture's problem: fresh W [3,4], b [4] and the loss closure. */
function problem(negate = false) {
  const X = tensor(FX.problem.X, { shape: [8, 3] });
  const Y = tensor(FX.problem.Y, { shape: [8, 4] });
  const W = tensor(FX.problem.W0, { shape: [3, 4], requiresGrad: true });
  const b = tensor(FX.problem.b0, { shape: [4], requiresGrad: true });
  const loss = () => {
    const r = X.matmul(W).add(b).sub(Y);
    const l = r.mul(r).mean().add(W.pow(4).sum().mul(0.05));
    return negate ? l.neg() : l;
  };
  const dispose = () => [X, Y, W, b].forEach((t) => t.dispose());
  return { X, Y, W, b, loss, dispose };
}

function makeOptimizer(c: OptimCase, W: Tensor, b: Tensor): Optimizer {
  const kw = camel(c.kwargs);
  const params = c.groups ? [{ params: [W], ...camel(c.groups[0]!) }, { params: [b], ...camel(c.groups[1]!) }] : [W, b];
  if (c.class === 'SGD') return new SGD(params as ParamsArg<SGDHyper>, kw as SGDOptions);
  return new { Adam, AdamW }[c.class](params as ParamsArg<AdamHyper>, kw as AdamOptions);
}

/** One training step in a scope: zeroGrad, backward, step. */
function trainStep(opt: { zeroGrad(): void; step(): void }, loss: () => Tensor): void {
  scope(() => {
    opt.zeroGrad();
    loss().backward();
    opt.step();
  });
}

// ---------------------------------------------------------------------------------------------
// Golden trajectories
// ---------------------------------------------------------------------------------------------

test('optimizers reproduce PyTorch trajectories for 20 steps (float32, ≤ 1e-5 of each tensor\'s scale)', () => {
  const worst: string[] = [];
  for (const c of FX.optimizers) {
    const pr = problem(c.negate);
    const opt = makeOptimizer(c, pr.W, pr.b);
    let w = 0;
    c.trajectory.forEach((expected, step) => {
      trainStep(opt, pr.loss);
      w = Math.max(w, assertCloseToScale(pr.W.dataSync(), expected.W, 1e-5, `${c.name} step ${step + 1} W`));
      w = Math.max(w, assertCloseToScale(pr.b.dataSync(), expected.b, 1e-5, `${c.name} step ${step + 1} b`));
    });
    worst.push(`${c.name} ${w.toExponential(1)}`);
    opt.dispose();
    pr.dispose();
  }
  assert.equal(worst.length, 16);
});

test('trajectories actually move and differ between configurations (the fixture is not degenerate)', () => {
  const last = new Map(FX.optimizers.map((c) => [c.name, c.trajectory[FX.steps - 1]!.W]));
  const dist = (a: number[], b: number[]) => Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));
  assert.ok(dist(last.get('adam')!, FX.problem.W0) > 0.05);
  assert.ok(dist(last.get('sgd_momentum')!, last.get('sgd_nesterov')!) > 1e-3);
  assert.ok(dist(last.get('adamw')!, last.get('adam_weight_decay')!) > 1e-3);
  assert.ok(dist(last.get('sgd_momentum')!, last.get('sgd_dampening')!) > 1e-3);
  // maximize(−loss) is minimize(loss)
  assert.ok(dist(last.get('adam')!, last.get('adam_maximize')!) < 1e-6);
});

// ---------------------------------------------------------------------------------------------
// Memory
// ---------------------------------------------------------------------------------------------

test('a scoped training step leaves no new live buffers after the first step', () => {
  for (const [make, stateTensors] of [
    [(W: Tensor, b: Tensor) => new SGD([W, b], { lr: 0.05, momentum: 0.9, weightDecay: 0.1 }), 2],
    [(W: Tensor, b: Tensor) => new Adam([W, b], { lr: 0.05, amsgrad: true, weightDecay: 0.1 }), 6],
    [(W: Tensor, b: Tensor) => new AdamW([W, b], { lr: 0.05 }), 4],
  ] as const) {
    const pr = problem();
    const opt = make(pr.W, pr.b);
    const before = memory().buffers;
    trainStep(opt, pr.loss);
    const afterFirst = memory().buffers;
    // two grads and the optimizer state (a buffer per state tensor), nothing else
    assert.equal(afterFirst - before, 2 + stateTensors, opt.constructor.name);
    for (let i = 0; i < 5; i++) trainStep(opt, pr.loss);
    assert.equal(memory().buffers, afterFirst, `${opt.constructor.name}: buffers grew`);
    // step() cleans up after itself outside any scope too
    const b0 = memory().buffers;
    opt.step();
    assert.equal(memory().buffers, b0);
    opt.zeroGrad();
    opt.dispose();
    assert.equal(memory().buffers, before, 'dispose frees the state and zeroGrad the grads');
    pr.dispose();
  }
});

// ---------------------------------------------------------------------------------------------
// State dict: save → load → continue is bit-identical
// ---------------------------------------------------------------------------------------------

/** Round-trip a state dict through safetensors bytes and JSON, as a checkpoint does. */
function roundTrip(sd: OptimizerStateDict, params: Tensor[]): { state: Record<string, Tensor>; hyper: OptimizerStateDict['hyper']; params: Tensor[] } {
  const raw: Record<string, RawTensor> = {};
  for (const [k, t] of Object.entries(sd.state)) raw[k] = { dtype: 'float32', shape: [...t.shape], data: t.dataSync() as Float32Array };
  params.forEach((p, i) => (raw[`param.${i}`] = { dtype: 'float32', shape: [...p.shape], data: p.dataSync() as Float32Array }));
  const bytes = serializeSafetensors(raw);
  const json = JSON.stringify(sd.hyper);
  const back = parseSafetensors(bytes).tensors;
  const state: Record<string, Tensor> = {};
  for (const [k, r] of Object.entries(back)) if (!k.startsWith('param.')) state[k] = tensor(r.data, { shape: r.shape });
  const loadedParams = params.map((_, i) => tensor(back[`param.${i}`]!.data, { shape: back[`param.${i}`]!.shape, requiresGrad: true }));
  return { state, hyper: JSON.parse(json) as OptimizerStateDict['hyper'], params: loadedParams };
}

test('stateDict → safetensors + JSON → loadStateDict → continue gives bit-identical parameters', () => {
  const configs: [string, (W: Tensor, b: Tensor) => Optimizer, (opt: Optimizer) => LRScheduler][] = [
    ['Adam amsgrad + groups + cosine', (W, b) => new Adam([{ params: [W], weightDecay: 0.1 }, { params: [b], lr: 0.01, betas: [0.5, 0.9] }], { lr: 0.05, amsgrad: true }), (o) => new LRScheduler(o, cosineAnnealing({ tMax: 12, etaMin: 1e-3 }))],
    ['AdamW + warmupCosine', (W, b) => new AdamW([W, b], { lr: 0.05, weightDecay: 0.2 }), (o) => new LRScheduler(o, warmupCosine({ warmupSteps: 4, totalSteps: 20 }))],
    ['SGD nesterov + stepLR', (W, b) => new SGD([W, b], { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 0.01 }), (o) => new LRScheduler(o, stepLR({ stepSize: 3, gamma: 0.7 }))],
  ];
  for (const [name, makeOpt, makeSched] of configs) {
    // uninterrupted: 20 steps
    const a = problem();
    const optA = makeOpt(a.W, a.b);
    const schedA = makeSched(optA);
    for (let i = 0; i < 20; i++) {
      trainStep(optA, a.loss);
      schedA.step();
    }
    // interrupted after 9 steps
    const b = problem();
    const optB = makeOpt(b.W, b.b);
    const schedB = makeSched(optB);
    for (let i = 0; i < 9; i++) {
      trainStep(optB, b.loss);
      schedB.step();
    }
    const saved = roundTrip(optB.stateDict(), [b.W, b.b]);
    const schedState = JSON.parse(JSON.stringify(schedB.stateDict())) as ReturnType<LRScheduler['stateDict']>;
    assert.ok(Object.keys(saved.state).some((k) => k.startsWith('1.')), `${name}: state for the second parameter`);
    optB.dispose();
    b.dispose();

    // resume into fresh objects
    const c = problem();
    noGrad(() => {
      c.W.assign(saved.params[0]!);
      c.b.assign(saved.params[1]!);
    });
    const optC = makeOpt(c.W, c.b);
    const schedC = makeSched(optC);
    optC.loadStateDict(saved);
    schedC.loadStateDict(schedState);
    for (const t of [...Object.values(saved.state), ...saved.params]) t.dispose(); // the optimizer holds its own references
    for (let i = 9; i < 20; i++) {
      trainStep(optC, c.loss);
      schedC.step();
    }
    assert.deepEqual(c.W.dataSync(), a.W.dataSync(), `${name}: W`);
    assert.deepEqual(c.b.dataSync(), a.b.dataSync(), `${name}: b`);
    assert.deepEqual(schedC.getLastLr(), schedA.getLastLr(), `${name}: lr`);
    assert.deepEqual(optC.stateDict().hyper, optA.stateDict().hyper, `${name}: hyper`);
    optA.dispose();
    optC.dispose();
    a.dispose();
    c.dispose();
  }
});

test('stateDict uses torch-style keys and JSON hyperparameters; loadStateDict validates', () => {
  const pr = problem();
  const opt = new Adam([{ params: [pr.W] }, { params: [pr.b], lr: 0.1 }], { lr: 0.01, amsgrad: true });
  trainStep(opt, pr.loss);
  const sd = opt.stateDict();
  assert.deepEqual(Object.keys(sd.state).sort(), ['0.exp_avg', '0.exp_avg_sq', '0.max_exp_avg_sq', '1.exp_avg', '1.exp_avg_sq', '1.max_exp_avg_sq']);
  assert.deepEqual(sd.hyper.steps, { 0: 1, 1: 1 });
  assert.deepEqual(sd.hyper.groups[1], { lr: 0.1, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: true, maximize: false, params: [1] });
  assert.deepEqual(JSON.parse(JSON.stringify(sd.hyper)), sd.hyper);
  const other = new Adam([pr.W, pr.b]);
  assert.throws(() => other.loadStateDict(sd), /2 parameter groups/);
  const wrongShape = new Adam([{ params: [pr.b] }, { params: [pr.W] }]);
  assert.throws(() => wrongShape.loadStateDict(sd), /shape/);
  opt.dispose();
  pr.dispose();
});

// ---------------------------------------------------------------------------------------------
// Parameter groups and API details
// ---------------------------------------------------------------------------------------------

test('params without grad are skipped; zeroGrad disposes grads; lr get/set; argument checks', () => {
  const p = tensor([1, 2, 3], { requiresGrad: true });
  const q = tensor([4, 5], { requiresGrad: true });
  const opt = new SGD([{ params: [p] }, { params: [q], lr: 0.5 }], { lr: 0.1, momentum: 0.9 });
  p.mul(p).sum().backward(); // q gets no grad
  opt.step();
  assert.deepEqual([...p.dataSync()], [1 - 0.2, 2 - 0.4, 3 - 0.6].map(Math.fround));
  assert.deepEqual([...q.dataSync()], [4, 5]);
  assert.deepEqual(Object.keys(opt.stateDict().state), ['0.momentum_buffer']);
  const g = p.grad!;
  opt.zeroGrad();
  assert.equal(p.grad, null);
  assert.ok(g.isDisposed);
  assert.equal(opt.lr, 0.1);
  assert.equal(opt.paramGroups[1]!.lr, 0.5);
  opt.lr = 0.01;
  assert.deepEqual(opt.paramGroups.map((gr) => gr.lr), [0.01, 0.01]);
  assert.throws(() => new SGD([p, p], { lr: 0.1 }), /more than once/);
  assert.throws(() => new SGD([p], { lr: 0.1, nesterov: true }), /Nesterov/);
  assert.throws(() => new SGD([p], { lr: -1 }), /learning rate/);
  assert.throws(() => new Adam([p], { betas: [0.9, 1] }), /beta/);
  assert.throws(() => new Adam([], {}), /empty/);
  assert.throws(() => new Adam([p.mul(2)]), /non-leaf/);
  opt.dispose();
});

test('AdamW default weight decay is 1e-2 and Adam defaults match torch', () => {
  const p = tensor([1], { requiresGrad: true });
  assert.equal(new AdamW([p]).paramGroups[0]!.weightDecay, 1e-2);
  const a = new Adam([p]).paramGroups[0]!;
  assert.deepEqual([a.lr, a.betas, a.eps, a.weightDecay, a.amsgrad], [1e-3, [0.9, 0.999], 1e-8, 0, false]);
  // the first Adam step is −lr·g/(|g| + eps) whatever the gradient's scale (bias correction)
  const x = tensor([1, -2, 3], { requiresGrad: true });
  const opt = new Adam([x], { lr: 0.1, eps: 1e-4 });
  const g = [1e-3, 10, -100];
  x.mul(tensor(g)).sum().backward();
  opt.step();
  assertClose(x.dataSync(), [1, -2, 3].map((v, i) => v - (0.1 * g[i]!) / (Math.abs(g[i]!) + 1e-4)), 1e-6, 'first Adam step');
});

// ---------------------------------------------------------------------------------------------
// Schedules
// ---------------------------------------------------------------------------------------------

test('schedules through LRScheduler match torch lr sequences (two groups)', () => {
  const make: Record<string, (a: Record<string, number>) => Schedule> = {
    cosine: (a) => cosineAnnealing({ tMax: a.tMax!, etaMin: a.etaMin! }),
    cosine_eta0: (a) => cosineAnnealing({ tMax: a.tMax! }),
    step: (a) => stepLR({ stepSize: a.stepSize!, gamma: a.gamma! }),
    exponential: (a) => exponentialLR(a.gamma!),
    lambda_warmup: (a) => linearWarmup(a.warmupSteps!),
    warmup_cosine: (a) => warmupCosine({ warmupSteps: a.warmupSteps!, totalSteps: a.totalSteps! }),
  };
  for (const s of FX.schedules) {
    const p1 = zeros([1], { requiresGrad: true }), p2 = zeros([1], { requiresGrad: true });
    const opt = new SGD([{ params: [p1], lr: 0.1 }, { params: [p2], lr: 0.02 }], { lr: 0.1 });
    const sched = new LRScheduler(opt, make[s.name]!(s.args));
    s.lrs.forEach((expected, t) => {
      if (t > 0) sched.step();
      // torch's CosineAnnealingLR is recursive; the closed form agrees to rounding
      assertClose(sched.getLastLr(), expected, 1e-12, `${s.name} t=${t}`, 1e-9);
    });
    assert.equal(sched.lastStep, s.lrs.length - 1);
  }
});

test('schedule functions: closed forms and composition', () => {
  const lam = lambdaLR((t) => 1 / (1 + t));
  assert.equal(lam(3, 0.4), 0.1);
  const w = withWarmup(2, exponentialLR(0.5));
  assert.deepEqual([0, 1, 2, 3, 4].map((t) => w(t, 1)), [0, 0.5, 1, 0.5, 0.25]);
  assert.equal(linearWarmup(0)(0, 0.3), 0.3);
  const wc = warmupCosine({ warmupSteps: 2, totalSteps: 6, etaMin: 0.01 });
  assert.equal(wc(2, 1), 1);
  assert.ok(Math.abs(wc(4, 1) - (0.01 + 0.99 * 0.5)) < 1e-15);
  assert.equal(wc(6, 1), 0.01);
  assert.equal(wc(100, 1), 0.01); // held at etaMin after totalSteps
  assert.ok(Math.abs(cosineAnnealing({ tMax: 5 })(10, 1) - 1) < 1e-15); // periodic like torch
  assert.throws(() => cosineAnnealing({ tMax: 0 }), /tMax/);
  assert.throws(() => warmupCosine({ warmupSteps: 5, totalSteps: 5 }), /exceed/);
});

test('the scheduled lr is the one the optimizer uses', () => {
  const p = zeros([2], { requiresGrad: true });
  const opt = new SGD([p], { lr: 0.8 });
  const sched = new LRScheduler(opt, exponentialLR(0.5));
  for (let i = 0; i < 3; i++) {
    opt.zeroGrad();
    p.sum().backward(); // grad 1
    opt.step();
    sched.step();
  }
  assertClose(p.dataSync(), [-(0.8 + 0.4 + 0.2), -(0.8 + 0.4 + 0.2)], 1e-7, 'p');
  assert.throws(() => new LRScheduler(opt, [exponentialLR(0.5), exponentialLR(0.5)]), /2 schedules for 1/);
  opt.zeroGrad();
});

// ---------------------------------------------------------------------------------------------
// Gradient clipping
// ---------------------------------------------------------------------------------------------

function gradsOf(): [Tensor, Tensor] {
  const p1 = zeros([3, 4], { requiresGrad: true }), p2 = zeros([4], { requiresGrad: true });
  p1.grad = tensor(FX.clip.grads[0], { shape: [3, 4] });
  p2.grad = tensor(FX.clip.grads[1], { shape: [4] });
  return [p1, p2];
}

test('clipGradNorm matches torch.nn.utils.clip_grad_norm_ (total norm and clipped grads)', async () => {
  for (const c of FX.clip.norm) {
    const ps = gradsOf();
    const total = clipGradNorm(ps, c.maxNorm, c.normType);
    assertClose([total], [c.totalNorm], 1e-6, `total norm p=${c.normType}`);
    assertClose(ps[0].grad!.dataSync(), c.grads[0], 1e-6, `grad 0 p=${c.normType}`);
    assertClose(ps[1].grad!.dataSync(), c.grads[1], 1e-6, `grad 1 p=${c.normType}`);
    ps.forEach((p) => p.dispose());
    // the async form agrees
    const qs = gradsOf();
    const totalAsync = await clipGradNormAsync(qs, c.maxNorm, c.normType);
    assert.equal(totalAsync, total);
    assertClose(qs[0].grad!.dataSync(), c.grads[0], 1e-6, `async grad 0 p=${c.normType}`);
    assertClose(qs[1].grad!.dataSync(), c.grads[1], 1e-6, `async grad 1 p=${c.normType}`);
    qs.forEach((p) => p.dispose());
  }
  // the clipped total norm is maxNorm
  const ps = gradsOf();
  clipGradNorm(ps, 0.5);
  assertClose([clipGradNorm(ps, 1e9)], [0.5], 1e-5, 'norm after clipping');
  ps.forEach((p) => p.dispose());
});

test('clipGradNorm: no grads, non-finite norms, no leaks; clipGradValue matches torch', () => {
  const bare = zeros([2], { requiresGrad: true });
  assert.equal(clipGradNorm([bare], 1), 0);
  const [p1, p2] = gradsOf();
  const before = memory().buffers;
  clipGradNorm([p1, p2, bare], 0.3);
  assert.equal(memory().buffers, before, 'clipGradNorm leaves no buffers behind');
  p2.grad!.assign(tensor([1, NaN, 0, 0]));
  assert.throws(() => clipGradNorm([p1, p2], 1, 2, { errorIfNonfinite: true }), /non-finite/);
  assert.ok(Number.isNaN(clipGradNorm([p1, p2], 1)));
  assert.throws(() => clipGradNorm([p1], 1, 0), /normType/);
  [p1, p2].forEach((p) => p.dispose());

  const qs = gradsOf();
  clipGradValue(qs, FX.clip.value.clipValue);
  assert.deepEqual([...qs[0].grad!.dataSync()], FX.clip.value.grads[0]);
  assert.deepEqual([...qs[1].grad!.dataSync()], FX.clip.value.grads[1]);
  qs.forEach((p) => p.dispose());
  bare.dispose();
});

// ---------------------------------------------------------------------------------------------
// EMA
// ---------------------------------------------------------------------------------------------

class Tiny extends Module {
  w = parameter(tensor([[1, 2], [3, 4]]));
  b = parameter(tensor([0.5, -0.5]));
  forward(x: Tensor): Tensor {
    return x.matmul(this.w).add(this.b);
  }
}

test('EMA follows ema ← d·ema + (1−d)·p, with and without decay warm-up', () => {
  for (const warmup of [false, true]) {
    const net = new Tiny();
    const ema = new EMA(net, { decay: 0.9, warmup });
    const ref = { w: [1, 2, 3, 4], b: [0.5, -0.5] };
    const before = memory().buffers;
    for (let n = 0; n < 6; n++) {
      // new weights: p ← p·0.8 + n
      const nw = ref.w.map((_, i) => (net.w.dataSync()[i]! * 0.8 + n));
      const nb = ref.b.map((_, i) => (net.b.dataSync()[i]! * 0.8 + n));
      scope(() =>
        noGrad(() => {
          net.w.assign(tensor(nw, { shape: [2, 2] }));
          net.b.assign(tensor(nb));
        }),
      );
      const d = warmup ? Math.min(0.9, (1 + n) / (10 + n)) : 0.9;
      assert.equal(ema.currentDecay(), d);
      scope(() => ema.update(net));
      ref.w = ref.w.map((e, i) => d * e + (1 - d) * Math.fround(nw[i]!));
      ref.b = ref.b.map((e, i) => d * e + (1 - d) * Math.fround(nb[i]!));
      assertClose(ema.shadow.get('w')!.dataSync(), ref.w, 1e-6, `ema w n=${n}`);
      assertClose(ema.shadow.get('b')!.dataSync(), ref.b, 1e-6, `ema b n=${n}`);
    }
    assert.equal(memory().buffers - before, 0, 'updates leave no new buffers'); // param storages swapped, shadows swapped
    assert.equal(ema.numUpdates, 6);

    // copyTo writes the average into a model; stateDict round-trips
    const other = new Tiny();
    ema.copyTo(other);
    assertClose(other.w.dataSync(), ref.w, 1e-6, 'copyTo');
    const sd = ema.stateDict();
    assert.deepEqual(Object.keys(sd.state), ['w', 'b']);
    assert.deepEqual(sd.hyper, { decay: 0.9, warmup, numUpdates: 6 });
    const ema2 = new EMA(new Tiny(), { decay: 0.9, warmup });
    ema2.loadStateDict({ state: { w: sd.state.w!.clone(), b: sd.state.b!.clone() }, hyper: sd.hyper });
    assert.deepEqual(ema2.shadow.get('w')!.dataSync(), ema.shadow.get('w')!.dataSync());
    assert.equal(ema2.currentDecay(), ema.currentDecay());
    assert.throws(() => ema2.loadStateDict({ state: { w: sd.state.w! }, hyper: sd.hyper }), /missing keys \[b\]/);
    [ema, ema2].forEach((e) => e.dispose());
    [net, other].forEach((m) => m.dispose());
  }
});

test('EMA of a tensor list; shadows survive the scope they were made in', () => {
  const p = tensor([2, 4], { requiresGrad: true });
  const ema = scope(() => new EMA([p], { decay: 0.5 }));
  noGrad(() => p.assign(tensor([0, 0])));
  ema.update([p]);
  assert.deepEqual([...ema.shadow.get('0')!.dataSync()], [1, 2]);
  ema.copyTo([p]);
  assert.deepEqual([...p.dataSync()], [1, 2]);
  assert.throws(() => ema.update([p, p]), /2 parameters/);
  ema.dispose();
  p.dispose();
});

// ---------------------------------------------------------------------------------------------
// The fused Adam kernel is the composed update, bit for bit
// ---------------------------------------------------------------------------------------------

test('fused Adam/AdamW steps equal the composed elementwise update bit for bit (on the default backend)', () => {
  const be = getBackend();
  assert.ok(be.kernels.adamStep, `backend ${be.name} has the fused kernel`);
  // the same backend without the fused kernel: the optimizer composes the update
  const plain = Object.create(be, { kernels: { value: { ...be.kernels, adamStep: undefined } }, name: { value: `${be.name}-composed` } }) as Backend;
  const configs: [string, (ps: Tensor[]) => Optimizer][] = [
    ['Adam', (ps) => new Adam(ps, { lr: 0.03 })],
    ['Adam L2 + maximize', (ps) => new Adam(ps, { lr: 0.01, weightDecay: 0.1, maximize: true, betas: [0.8, 0.95] })],
    ['AdamW', (ps) => new AdamW(ps, { lr: 0.02, weightDecay: 0.3, eps: 1e-6 })],
  ];
  const n = 1003; // not a multiple of the SIMD width
  const init = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) * 2);
  for (const [name, make] of configs) {
    const run = (backend: Backend): Float32Array[] => {
      const p = tensor(init, { backend, requiresGrad: true });
      const opt = make([p]);
      for (let s = 0; s < 7; s++) {
        scope(() => {
          opt.zeroGrad();
          p.mul(p).mul(p.sin()).sum().backward();
          opt.step();
        });
      }
      const st = opt.stateDict().state;
      const out = [p.dataSync() as Float32Array, ...Object.values(st).map((t) => t.dataSync() as Float32Array)];
      opt.dispose();
      p.dispose();
      return out;
    };
    const a = run(be), b = run(plain);
    assert.equal(a.length, 3, `${name}: parameter and two moments`);
    a.forEach((x, i) => assert.deepEqual(x, b[i], `${name}: tensor ${i} differs between fused and composed`));
    assert.ok(a[0]!.some((v, i) => v !== init[i]), `${name}: the parameter moved`);
  }
});
