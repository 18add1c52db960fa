// SiLU's fused backward (`OtherKernels.siluBackward`: g·silu′(x) in one pass, from x and the
// forward's output) against the closed forms silu′(x) = σ(x)·(1 + x·(1 − σ(x))) and
// silu″(x) = σ(1 − σ)·(2 + x·(1 − 2σ)) in float64, over the whole float range: near 0 (where the
// wasm kernel switches from y/x to 1/2 + x/4), large |x|, non-finite x, strided and broadcast
// operands. Runs on every backend (the cpu reference has the kernel too).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Tensor, Generator, tensor, randn, scope, grad, getBackend } from '../src/index.ts';

const f32 = Math.fround;
const sigma = (x: number) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
const dsilu = (x: number) => sigma(x) * (1 + x * sigma(-x));
const d2silu = (x: number) => { const s = sigma(x); return s * (1 - s) * (2 + x * (1 - 2 * s)); };

/** Inputs across the range: tiny, either side of the 2⁻¹⁰ switch, moderate, large. */
function inputs(): number[] {
  const xs = [0, -0, 1e-30, -1e-30, 1e-8, -3e-5, 3.99, 4.01, -4.01, 13.8, 14, 2 ** -10, -(2 ** -10), 0.99 * 2 ** -10, 1.01 * 2 ** -10, 0.5, -0.5, 1, -1, 3, -3, 10, -10, 17, -17, 30, -30, 60, -60, 87, -87, 100, -100];
  const rng = new Generator(5);
  for (const scale of [1e-3, 0.1, 1, 4, 20]) for (const v of rng.normal(40)) xs.push(v * scale);
  return xs.map(f32);
}

function gradOf(x: Tensor, w: Tensor): Float32Array {
  return grad((t: Tensor) => t.silu().mul(w).sum())(x).dataSync() as Float32Array;
}

test('the backend has the fused SiLU backward, and silu() uses it when a gradient is wanted', () => {
  assert.ok(getBackend().kernels.siluBackward, `backend ${getBackend().name} has siluBackward`);
  scope(() => {
    const x = randn([3], { rng: new Generator(0) }).requiresGrad_();
    assert.equal((x.silu() as unknown as { _node: { op: string } | null })._node?.op, 'custom');
  });
});

test('its gradient equals σ(x)·(1 + x·(1 − σ(x))) in float64, across the range', () => {
  scope(() => {
    const xs = inputs();
    const ws = Array.from(new Generator(6).normal(xs.length), f32);
    const g = gradOf(tensor(xs), tensor(ws));
    let worst = 0, at = 0;
    for (let i = 0; i < xs.length; i++) {
      const want = ws[i]! * dsilu(xs[i]!);
      const err = Math.abs(g[i]! - want) / Math.max(1, Math.abs(ws[i]!));
      if (err > worst) [worst, at] = [err, xs[i]!];
    }
    // float32 rounding of σ, y and the products: a few ulps of values of order 1
    assert.ok(worst < 5e-7, `max |∂ − w·silu′(x)| = ${worst} at x = ${at}`);
  });
});

test('non-finite inputs give NaN, as the composed rule does', () => {
  scope(() => {
    const g = gradOf(tensor([Infinity, -Infinity, NaN]), tensor([1, 1, 1]));
    assert.deepEqual(Array.from(g, Number.isNaN), [true, true, true]);
  });
});

test('strided x and a broadcast incoming gradient', () => {
  scope(() => {
    const rng = new Generator(7);
    const base = randn([6, 5], { rng }).mul(3);
    const x = base.transpose(0, 1); // [5, 6], strides [1, 5]
    const gx = grad((t: Tensor) => t.silu().sum())(x); // ∂/∂y of a sum is a broadcast 1
    const xv = x.dataSync(), gv = gx.dataSync();
    for (let i = 0; i < xv.length; i++) assert.ok(Math.abs(gv[i]! - dsilu(xv[i]!)) < 1e-6, `element ${i}: ${gv[i]} against ${dsilu(xv[i]!)}`);
    const w = randn([6], { rng });
    const gw = grad((t: Tensor) => t.silu().mul(w).sum())(x).dataSync(); // w broadcast over rows
    const wv = w.dataSync();
    for (let i = 0; i < xv.length; i++) assert.ok(Math.abs(gw[i]! - wv[i % 6]! * dsilu(xv[i]!)) < 1e-6, `element ${i}`);
  });
});

test('the gradient of the gradient (createGraph) is silu″(x)', () => {
  scope(() => {
    const xs = inputs().filter((v) => Math.abs(v) < 40);
    const x = tensor(xs);
    const h = grad((t: Tensor) => grad((u: Tensor) => u.silu().sum())(t).sum())(x).dataSync();
    for (let i = 0; i < xs.length; i++) assert.ok(Math.abs(h[i]! - d2silu(xs[i]!)) < 2e-6, `x = ${xs[i]}: ${h[i]} against ${d2silu(xs[i]!)}`);
  });
});

test('a wrong call is refused by name', () => {
  const k = getBackend().kernels.siluBackward!;
  scope(() => {
    const a = randn([4], { rng: new Generator(8) }), b = randn([5], { rng: new Generator(9) });
    assert.throws(() => k(a.view(), b.view(), b.view()), /siluBackward: expected float32 g, x and y of one shape/);
  });
});
