/**
 * Higher-order gradients: backward({ createGraph }) and nested grad(grad(f)) against closed forms
 * and finite differences of gradients (float64, cpu); the gradient penalty of WGAN-GP, a
 * Hessian-vector product, Hutchinson's trace ingredient; vjp / valueAndGrad; retainGraph; and a
 * sweep that checks the double backward of every vector-Jacobian rule against finite differences.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gradcheck, randn64, rand64, type GradcheckOptions } from './gradcheck.ts';
import { type Tensor, Generator, tensor, grad, valueAndGrad, vjp, autogradGrad, noGrad, concat, stack, where, pad, roll, einsum, linalg, nn, setBackend } from '../src/index.ts';

// float64 finite differences: on the reference backend (the only one that stores float64)
setBackend('cpu');

const F = nn.functional;

const rng = new Generator(31337);
const f64 = (data: number[] | number[][], shape?: number[]) => tensor(data as number[], { dtype: 'float64', ...(shape ? { shape } : {}) });
const int = (data: number[], shape?: number[]) => tensor(data, { dtype: 'int32', ...(shape ? { shape } : {}) });
const normal = (...shape: number[]) => randn64(rng, shape);
const values = (t: Tensor) => [...t.dataSync()];

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!, e = expected[i]!;
    assert.ok(Math.abs(a - e) <= tol * Math.max(1, Math.abs(e)), `${what}[${i}]: got ${a}, expected ${e}`);
  }
}

const POINTS = [-2, -0.7, 0, 0.4, 1, 3];

// ---------------------------------------------------------------------------------------------
// second derivatives against closed forms
// ---------------------------------------------------------------------------------------------

test('x³: second derivative 6x via backward({ createGraph }) and via grad(grad(f))', () => {
  for (const cube of [(u: Tensor) => u.pow(3), (u: Tensor) => u.mul(u).mul(u)]) {
    const x = f64(POINTS);
    x.requiresGrad = true;
    cube(x).sum().backward(undefined, { createGraph: true });
    const g1 = x.grad!;
    assert.ok(g1.requiresGrad, 'with createGraph the gradient is itself differentiable');
    assertClose(values(g1), POINTS.map((p) => 3 * p * p), 1e-12, 'dx³/dx');
    x.grad = null;
    g1.sum().backward();
    assertClose(values(x.grad!), POINTS.map((p) => 6 * p), 1e-12, 'd²x³/dx² (backward)');

    const d1 = grad((u: Tensor) => cube(u).sum());
    const d2 = grad((u: Tensor) => d1(u).sum());
    const d3 = grad((u: Tensor) => d2(u).sum());
    const x0 = f64(POINTS);
    assertClose(values(d1(x0)), POINTS.map((p) => 3 * p * p), 1e-12, 'grad');
    assertClose(values(d2(x0)), POINTS.map((p) => 6 * p), 1e-12, 'grad∘grad');
    assertClose(values(d3(x0)), POINTS.map(() => 6), 1e-12, 'grad∘grad∘grad');
    assert.ok(!d2(x0).requiresGrad, 'a top-level grad of untracked inputs returns a plain tensor');
  }
});

test('sin: second derivative −sin and third −cos, both ways', () => {
  const x = f64(POINTS);
  x.requiresGrad = true;
  x.sin().sum().backward(undefined, { createGraph: true });
  const g1 = x.grad!;
  x.grad = null;
  g1.sum().backward(undefined, { createGraph: true });
  assertClose(values(x.grad!), POINTS.map((p) => -Math.sin(p)), 1e-12, 'sin″ (backward)');
  const g2 = x.grad!;
  x.grad = null;
  g2.sum().backward();
  assertClose(values(x.grad!), POINTS.map((p) => -Math.cos(p)), 1e-12, 'sin‴ (backward)');

  const d2 = grad((u: Tensor) => grad((v: Tensor) => v.sin().sum())(u).sum());
  assertClose(values(d2(f64(POINTS))), POINTS.map((p) => -Math.sin(p)), 1e-12, 'sin″ (grad∘grad)');
});

test('second derivatives of exp, tanh, sigmoid, softplus, silu, log, sqrt, erf match closed forms', () => {
  const xs = [-3, -1.2, -0.3, 0.2, 0.9, 2.5];
  const pos = [0.2, 0.5, 1, 1.7, 3, 6];
  const sig = (v: number) => 1 / (1 + Math.exp(-v));
  const cases: [string, (u: Tensor) => Tensor, number[], (v: number) => number][] = [
    ['exp', (u) => u.exp(), xs, (v) => Math.exp(v)],
    ['tanh', (u) => u.tanh(), xs, (v) => -2 * Math.tanh(v) * (1 - Math.tanh(v) ** 2)],
    ['sigmoid', (u) => u.sigmoid(), xs, (v) => sig(v) * (1 - sig(v)) * (1 - 2 * sig(v))],
    ['softplus', (u) => u.softplus(), xs, (v) => sig(v) * (1 - sig(v))],
    ['silu', (u) => u.silu(), xs, (v) => sig(v) * (1 - sig(v)) * (2 + v * (1 - 2 * sig(v)))],
    ['log', (u) => u.log(), pos, (v) => -1 / (v * v)],
    ['sqrt', (u) => u.sqrt(), pos, (v) => -0.25 * v ** -1.5],
    ['erf', (u) => u.erf(), xs, (v) => (-4 * v * Math.exp(-v * v)) / Math.sqrt(Math.PI)],
  ];
  for (const [name, f, pts, d2] of cases) {
    const h = grad((u: Tensor) => grad((v: Tensor) => f(v).sum())(u).sum())(f64(pts));
    assertClose(values(h), pts.map(d2), 1e-11, `${name}″`);
  }
});

test('logsumexp: Hessian diag(p) − ppᵀ, row by row and as a Hessian-vector product', () => {
  const xv = [0.3, -1.1, 2.0, 0.5];
  const x = f64(xv);
  const m = Math.max(...xv);
  const e = xv.map((v) => Math.exp(v - m));
  const p = e.map((v) => v / e.reduce((a, b) => a + b, 0));
  const gradLse = (u: Tensor) => grad((v: Tensor) => v.logsumexp())(u);
  assertClose(values(gradLse(x)), p, 1e-14, 'gradient = softmax');
  for (let i = 0; i < 4; i++) {
    const row = grad((u: Tensor) => gradLse(u).index(i))(x);
    assertClose(values(row), p.map((pj, j) => (i === j ? p[i]! : 0) - p[i]! * pj), 1e-13, `Hessian row ${i}`);
  }
  const v = [1, -2, 0.5, 3];
  const pv = p.reduce((s, pi, i) => s + pi * v[i]!, 0);
  const hvp = grad((u: Tensor) => gradLse(u).mul(f64(v)).sum())(x);
  assertClose(values(hvp), p.map((pi, i) => pi * v[i]! - pi * pv), 1e-13, 'Hv');
});

// ---------------------------------------------------------------------------------------------
// Hessian-vector product of a small MLP
// ---------------------------------------------------------------------------------------------

const X = normal(5, 3), Y = normal(5, 2);
const SIZES = [[3, 4], [4], [4, 2], [2]];
const NTHETA = 26;
/** An MLP loss as a function of one flat parameter vector θ. */
function mlpLoss(theta: Tensor): Tensor {
  let at = 0;
  const [W1, b1, W2, b2] = SIZES.map((s) => {
    const n = s.reduce((a, b) => a * b, 1);
    const t = theta.slice(0, at, at + n).reshape(s);
    at += n;
    return t;
  });
  const h = X.matmul(W1!).add(b1!).tanh();
  return F.mseLoss(h.matmul(W2!).add(b2!).softplus(), Y);
}

test('Hessian-vector product of an MLP loss matches finite differences of its gradient', () => {
  const theta = normal(NTHETA).mul(0.7);
  const v = normal(NTHETA), u = normal(NTHETA);
  const gradAt = (t: Tensor) => grad(mlpLoss)(t);
  const hvp = (w: Tensor) => grad((t: Tensor) => gradAt(t).mul(w).sum())(theta);

  const hv = values(hvp(v));
  const eps = 1e-5;
  const fd = noGrad(() => gradAt(theta.add(v.mul(eps))).sub(gradAt(theta.sub(v.mul(eps)))).div(2 * eps));
  assertClose(hv, values(fd), 1e-7, 'Hv vs (∇L(θ+εv) − ∇L(θ−εv)) / 2ε');
  assert.ok(hv.some((h) => Math.abs(h) > 1e-3), 'the product is not trivially zero');

  // the same through backward({ createGraph }) on a leaf
  const leaf = theta.detach();
  leaf.requiresGrad = true;
  mlpLoss(leaf).backward(undefined, { createGraph: true });
  const g = leaf.grad!;
  leaf.grad = null;
  g.mul(v).sum().backward();
  assertClose(values(leaf.grad!), hv, 1e-12, 'Hv via backward');

  // the Hessian is symmetric: uᵀ(Hv) = vᵀ(Hu)
  const uHv = values(hvp(v)).reduce((s, h, i) => s + h * u.dataSync()[i]!, 0);
  const vHu = values(hvp(u)).reduce((s, h, i) => s + h * v.dataSync()[i]!, 0);
  assert.ok(Math.abs(uHv - vHu) < 1e-12 * Math.max(1, Math.abs(uHv)), `uᵀHv ${uHv} vs vᵀHu ${vHu}`);
});

// ---------------------------------------------------------------------------------------------
// gradient penalty (WGAN-GP, Gulrajani et al. 2017)
// ---------------------------------------------------------------------------------------------

const REAL = normal(4, 3), Z = normal(4, 2), MIX = rand64(rng, [4, 1], 0, 1);
const critic = (x: Tensor, W1: Tensor, b1: Tensor, W2: Tensor, b2: Tensor) => x.matmul(W1).add(b1).tanh().matmul(W2).add(b2);
/** E[(‖∇ₓD(x̂)‖ − 1)²] at x̂ = a·real + (1 − a)·fake. */
const penaltyOf = (gx: Tensor) => gx.square().sum(1).sqrt().sub(1).square().mean();

test('gradient penalty ‖∇ₓD(x)‖ differentiated w.r.t. D\'s weights (autogradGrad with createGraph)', () => {
  const weights = [normal(3, 5), normal(5), normal(5, 1), normal(1)];
  const r = gradcheck((W1, b1, W2, b2) => {
    const x = REAL.detach();
    x.requiresGrad = true;
    const [gx] = autogradGrad(critic(x, W1!, b1!, W2!, b2!).sum(), [x], { createGraph: true });
    return penaltyOf(gx!);
  }, weights);
  assert.ok(r.grads[2]!.some((g) => Math.abs(g) > 1e-3), 'the penalty depends on the weights');
  assert.ok(r.grads[3]!.every((g) => g === 0), 'the output bias does not change ∇ₓD');
});

test('gradient penalty through the functional grad() closing over the critic, and through the generator', () => {
  const weights = [normal(3, 5), normal(5), normal(5, 1), normal(1), normal(2, 3)];
  gradcheck((W1, b1, W2, b2, G) => {
    const fake = Z.matmul(G!).tanh(); // a generator: the interpolate depends on its weights too
    const xhat = REAL.mul(MIX).add(fake.mul(MIX.rsub(1)));
    const gx = grad((x: Tensor) => critic(x, W1!, b1!, W2!, b2!).sum())(xhat);
    return penaltyOf(gx);
  }, weights);
  // the same with the fake batch detached (the critic step of WGAN-GP): still differentiable in D's weights
  const G = normal(2, 3);
  gradcheck((W1, b1, W2) => {
    const xhat = REAL.mul(MIX).add(noGrad(() => Z.matmul(G).tanh()).mul(MIX.rsub(1)));
    return penaltyOf(grad((x: Tensor) => critic(x, W1!, b1!, W2!, f64([0.1])).sum())(xhat));
  }, weights.slice(0, 3));
});

// ---------------------------------------------------------------------------------------------
// Hutchinson's trace estimator: vᵀ(∂f/∂x)v
// ---------------------------------------------------------------------------------------------

/** A small map ℝ² → ℝ², batched: f(x) = (tanh(a₀x₀ + a₁x₁), x₀x₁ + sin x₁). */
function map2(x: Tensor, a: Tensor): Tensor {
  const x0 = x.index(null, 0), x1 = x.index(null, 1);
  return stack([x0.mul(a.index(0)).add(x1.mul(a.index(1))).tanh(), x0.mul(x1).add(x1.sin())], -1);
}

test('Hutchinson: vᵀJv from vjp equals the exact Jacobian terms; its mean over ±1 vectors is the trace', () => {
  const xv = [[0.3, -0.8], [1.2, 0.4], [-0.5, 2.0]];
  const av = [0.7, -1.3];
  const x = f64(xv), a = f64(av);
  const [y, pullback] = vjp((u) => map2(u, a), x);
  assert.deepEqual(y.shape, [3, 2]);
  const J = xv.map(([x0, x1]) => {
    const s = 1 - Math.tanh(av[0]! * x0! + av[1]! * x1!) ** 2;
    return [[av[0]! * s, av[1]! * s], [x1!, x0! + Math.cos(x1!)]];
  });
  const trace = J.map((j) => j[0]![0]! + j[1]![1]!);
  const mean = [0, 0, 0];
  for (const [s0, s1] of [[1, 1], [1, -1], [-1, 1], [-1, -1]] as const) {
    const v = f64(xv.map(() => [s0, s1]));
    const est = values(pullback(v).mul(v).sum(-1));
    // vᵀJv = tr J + v₀v₁ (J₀₁ + J₁₀)
    assertClose(est, J.map((j, n) => trace[n]! + s0 * s1 * (j[0]![1]! + j[1]![0]!)), 1e-13, `vᵀJv for v = (${s0}, ${s1})`);
    est.forEach((e, n) => (mean[n]! += e / 4));
  }
  assertClose(mean, trace, 1e-13, 'mean over all Rademacher vectors = tr J');
});

test('Hutchinson: the estimator is differentiable w.r.t. the map\'s parameters (as FFJORD trains it)', () => {
  const x = f64([[0.3, -0.8], [1.2, 0.4], [-0.5, 2.0]]);
  const v = f64([[1, -1], [-1, -1], [1, 1]]);
  gradcheck((a) => {
    const [, pullback] = vjp((u) => map2(u, a), x);
    return pullback(v).mul(v).sum(-1);
  }, [f64([0.7, -1.3])]);
});

// ---------------------------------------------------------------------------------------------
// functional forms and graph retention
// ---------------------------------------------------------------------------------------------

test('valueAndGrad and vjp return the value and the right gradients', () => {
  const x = f64([0.5, -1, 2]), y = f64([3, 0.25, -2]);
  const [val, [gx, gy]] = valueAndGrad((a: Tensor, b: Tensor) => a.mul(b).sum().add(a.sin().sum()))(x, y);
  const xv = [0.5, -1, 2], yv = [3, 0.25, -2];
  assertClose([val.itemSync()], [xv.reduce((s, v, i) => s + v * yv[i]! + Math.sin(v), 0)], 1e-14, 'value');
  assert.ok(!val.requiresGrad, 'value of an untracked call is detached');
  assertClose(values(gx!), xv.map((v, i) => yv[i]! + Math.cos(v)), 1e-14, '∂/∂x');
  assertClose(values(gy!), xv, 1e-14, '∂/∂y');
  // an argument f ignores gets zeros
  const [, [g0, g1]] = valueAndGrad((a: Tensor, _b: Tensor) => a.exp().sum())(x, y);
  assertClose(values(g0!), xv.map(Math.exp), 1e-14, 'used');
  assert.ok(values(g1!).every((v) => v === 0), 'unused argument: zeros');
  assert.throws(() => valueAndGrad((a: Tensor) => a.mul(2))(x), /scalar/);

  const Av = [[1, 2], [3, 4], [5, 6]];
  const [out, pullback] = vjp((u) => u.matmul(f64(Av)).square(), x); // [2]
  const lin = [0, 1].map((j) => xv.reduce((s, v, i) => s + v * Av[i]![j]!, 0));
  assertClose(values(out), lin.map((l) => l * l), 1e-14, 'vjp value');
  for (const w of [[1, 0], [0.5, -2]]) { // the pullback can be called repeatedly
    const expected = xv.map((_, i) => [0, 1].reduce((s, j) => s + w[j]! * 2 * lin[j]! * Av[i]![j]!, 0));
    assertClose(values(pullback(f64(w))), expected, 1e-13, `vjp(${w})`);
  }
});

test('retainGraph lets backward run twice (gradients add up); without it the second backward throws', () => {
  const x = f64([1, -2, 3]);
  x.requiresGrad = true;
  const y = x.mul(x).sum();
  y.backward(undefined, { retainGraph: true });
  assert.deepEqual(values(x.grad!), [2, -4, 6]);
  y.backward();
  assert.deepEqual(values(x.grad!), [4, -8, 12], 'gradients accumulate');
  // the graph is now released: a third backward is an error that says what to do, and changes nothing
  assert.throws(() => y.backward(), /already freed.*retainGraph/);
  assert.deepEqual(values(x.grad!), [4, -8, 12]);

  // a released intermediate is just as unusable from a new root
  const h = x.exp();
  h.sum().backward();
  assert.throws(() => h.mul(2).sum().backward(), /already freed/);

  // createGraph keeps the graph by default
  const z = x.pow(3).sum();
  x.grad = null;
  z.backward(undefined, { createGraph: true });
  z.backward(undefined, { createGraph: true });
  assertClose(values(x.grad!), [6, 24, 54], 1e-14, 'twice 3x²');

  // autogradGrad: the same rule
  const w = x.sin().sum();
  autogradGrad(w, [x]);
  assert.throws(() => autogradGrad(w, [x]), /already freed/);
});

// ---------------------------------------------------------------------------------------------
// double backward of every vector-Jacobian rule
// ---------------------------------------------------------------------------------------------

/**
 * Check the gradient of f (projected to a scalar) against finite differences: this exercises the
 * differentiability of each backward rule, which createGraph relies on.
 */
function gradgradcheck(f: (...xs: Tensor[]) => Tensor, inputs: Tensor[], opts: GradcheckOptions = {}): void {
  const outShape = noGrad(() => f(...inputs).shape);
  const r = randn64(new Generator(99), outShape);
  gradcheck((...xs) => {
    const gs = valueAndGrad((...us: Tensor[]) => f(...us).mul(r).sum())(...xs)[1];
    return concat(gs.map((g) => g.reshape(-1)));
  }, inputs, { atol: 1e-5, rtol: 1e-5, ...opts });
}

const awayFromZero = (...shape: number[]) => noGrad(() => rand64(rng, shape, 0.3, 1.5).mul(rand64(rng, shape, -1, 1).sign()));
const positive = (...shape: number[]) => rand64(rng, shape, 0.4, 2);

test('double backward: unary, binary (broadcast), pow in both arguments', () => {
  const x = normal(2, 3);
  const unary: ((u: Tensor) => Tensor)[] = [
    (u) => u.neg(), (u) => u.exp(), (u) => u.expm1(), (u) => u.sin(), (u) => u.cos(), (u) => u.tanh(),
    (u) => u.sigmoid(), (u) => u.erf(), (u) => u.softplus(), (u) => u.gelu(), (u) => u.gelu('tanh'), (u) => u.silu(),
    (u) => u.logSigmoid(), (u) => u.square(),
  ];
  for (const f of unary) gradgradcheck(f, [x]);
  const nz = awayFromZero(2, 3), pos = positive(2, 3);
  for (const f of [(u: Tensor) => u.abs().mul(u), (u: Tensor) => u.reciprocal(), (u: Tensor) => u.elu().mul(u), (u: Tensor) => u.relu().mul(u)]) gradgradcheck(f, [nz]);
  for (const f of [(u: Tensor) => u.log(), (u: Tensor) => u.log1p(), (u: Tensor) => u.sqrt(), (u: Tensor) => u.rsqrt()]) gradgradcheck(f, [pos]);
  for (const [sa, sb] of [[[2, 3], [2, 3]], [[2, 1], [3]], [[], [2, 2]]] as number[][][]) {
    const a = normal(...sa!), b = normal(...sb!);
    gradgradcheck((u, v) => u.add(v).mul(u), [a, b]);
    gradgradcheck((u, v) => u.sub(v).mul(v), [a, b]);
    gradgradcheck((u, v) => u.mul(v), [a, b]);
    gradgradcheck((u, v) => u.div(v), [a, awayFromZero(...sb!)]);
    gradgradcheck((u, v) => u.maximum(v).mul(u.minimum(v)), [a, b.add(0.01)]);
    gradgradcheck((u, v) => u.pow(v), [positive(...sa!), b]);
  }
});

test('double backward: reductions, softmax family, var, cumsum', () => {
  const x = normal(2, 3, 2);
  gradgradcheck((u) => u.sum(1).square(), [x]);
  gradgradcheck((u) => u.mean([0, 2]).exp(), [x]);
  gradgradcheck((u) => u.prod(1), [awayFromZero(2, 3, 2)]);
  gradgradcheck((u) => u.max(1).mul(u.min(1)), [x]);
  gradgradcheck((u) => u.logsumexp(1), [x]);
  gradgradcheck((u) => u.softmax(-1), [x]);
  gradgradcheck((u) => u.logSoftmax(0), [x]);
  gradgradcheck((u) => u.var(1), [x]);
  gradgradcheck((u) => u.std([0, 2]), [x]);
  gradgradcheck((u) => u.cumsum(1).square(), [x]);
});

test('double backward: matmul, einsum, views, concat, pad, roll, gather/scatter, where, clamp', () => {
  gradgradcheck((a, b) => a.matmul(b), [normal(2, 1, 3, 2), normal(3, 2, 2)]);
  gradgradcheck((a, b) => a.matmul(b).square(), [normal(3), normal(3, 2)]);
  gradgradcheck((a, b) => einsum('bi,bj->ij', a, b).square(), [normal(2, 3), normal(2, 2)]);
  const x = normal(3, 4);
  gradgradcheck((u) => u.permute(1, 0).reshape(2, 6).square(), [x]);
  gradgradcheck((u) => u.slice(1, 3, 0, -2).square(), [x]);
  gradgradcheck((u) => u.flip(0).index(1, [undefined, undefined, 2]).exp(), [x]);
  gradgradcheck((u) => u.unsqueeze(0).expand(2, 3, 4).sin(), [x]);
  gradgradcheck((u, v) => concat([u, v], 0).square(), [x, normal(1, 4)]);
  gradgradcheck((u) => { const [p, q] = u.split([1, 3], 1); return p!.mul(q!); }, [x]);
  gradgradcheck((u) => pad(u, [1, 2, -1, 0], 0.5).square(), [x]);
  gradgradcheck((u) => roll(u, 1, 1).mul(u), [x]);
  gradgradcheck((u) => u.gather(1, int([0, 3, 3, 1, 2, 0], [3, 2])).square(), [x]);
  gradgradcheck((u, s) => u.scatterAdd(1, int([0, 0, 3, 1, 2, 2], [3, 2]), s).square(), [x, normal(3, 2)]);
  gradgradcheck((u) => u.indexSelect(0, int([2, 0, 2])).exp(), [x]);
  const c = tensor([[true, false, true, false], [false, true, true, false], [true, true, false, false]]);
  gradgradcheck((u, v) => where(c, u.square(), v.exp()), [x, normal(4)]);
  gradgradcheck((u) => u.clamp(-0.5, 0.5).mul(u), [f64([[-1.3, -0.2, 0.4, 0.8], [1.7, -0.7, 0.1, -0.35], [0.45, 2, -2, 0.3]])]);
});

test('double backward: conv, transposed conv, pools, interpolate, norms, losses, attention, linalg', () => {
  gradgradcheck((x, w) => F.conv2d(x, w, null, { stride: 2, padding: 1, groups: 2 }).square(), [normal(1, 2, 4, 3), normal(2, 1, 2, 2)]);
  gradgradcheck((x, w) => F.conv2d(x, w).square(), [normal(2, 3, 2, 3), normal(2, 3, 1, 1)]);
  gradgradcheck((x, w) => F.conv1d(x, w, null, { dilation: 2 }).tanh(), [normal(1, 2, 5), normal(2, 2, 2)]);
  gradgradcheck((x, w) => F.convTranspose2d(x, w, null, { stride: 2, outputPadding: 1 }).square(), [normal(1, 2, 2, 2), normal(2, 1, 2, 2)]);
  const distinct = tensor(Float64Array.from(rng.permutation(16), (v) => v * 0.3 - 2), { shape: [1, 1, 4, 4], dtype: 'float64' });
  gradgradcheck((x) => F.maxPool2d(x, 2).square(), [distinct]);
  gradgradcheck((x) => F.avgPool2d(x, 3, { stride: 1, padding: 1 }).square(), [normal(1, 1, 3, 3)]);
  gradgradcheck((x) => F.interpolate(x, { size: [3, 5], mode: 'bilinear' }).square(), [normal(1, 1, 2, 3)]);
  gradgradcheck((x, w, b) => F.layerNorm(x, [3], w, b), [normal(2, 3), normal(3), normal(3)]);
  gradgradcheck((x) => F.groupNorm(x, 2), [normal(2, 4, 2)]);
  gradgradcheck((x, w) => F.batchNorm(x, null, null, w, null, true), [normal(4, 2), normal(2)]);
  gradgradcheck((x) => F.crossEntropy(x, int([1, 0, 2]), { labelSmoothing: 0.1 }), [normal(3, 3)]);
  gradgradcheck((x, t) => F.binaryCrossEntropyWithLogits(x, t), [awayFromZero(2, 3), rand64(rng, [2, 3], 0, 1)]);
  gradgradcheck((x) => F.binaryCrossEntropy(x, f64([[0.2, 0.9], [0.5, 0.1]])), [rand64(rng, [2, 2], 0.1, 0.9)]);
  gradgradcheck((q, k, v) => F.scaledDotProductAttention(q, k, v, { causal: true }), [normal(3, 2), normal(3, 2), normal(3, 2)]);
  const eye = f64([[2, 0, 0], [0, 2, 0], [0, 0, 2]]);
  const m = noGrad(() => normal(3, 3).mul(0.4).add(eye));
  gradgradcheck((a) => linalg.inv(a), [m]);
  gradgradcheck((a) => linalg.det(a), [m]);
  gradgradcheck((a) => linalg.slogdet(a).logAbsDet, [m]);
  gradgradcheck((a, b) => linalg.solve(a, b), [m, normal(3, 2)]);
});
