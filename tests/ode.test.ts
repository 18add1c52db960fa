import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tensor, scope, memory, type Tensor, setBackend } from '../src/index.ts';
import { odeintDopri5, odeintRk4 } from '../src/models/ode.ts';

// float64 closed forms: on the reference backend (the only one that stores float64)
setBackend('cpu');

test('Dormand–Prince: exponential decay and a rotation match their closed forms to the tolerance', () => {
  const r = odeintDopri5((_t, [y]) => [y!.neg()], [tensor([1, 2], { dtype: 'float64' })], 0, 2, { rtol: 1e-8, atol: 1e-10 });
  const y = r.y[0]!.dataSync();
  assert.ok(Math.abs(y[0]! - Math.exp(-2)) < 1e-8 && Math.abs(y[1]! - 2 * Math.exp(-2)) < 1e-8, `${y}`);
  assert.ok(r.nfe < 200, `nfe ${r.nfe}`);
  // dy/dt = [[0, -1], [1, 0]] y: a rotation by angle t; integrate backwards in time too
  const rot = (_t: number, [v]: readonly Tensor[]) => [v!.matmul(tensor([[0, 1], [-1, 0]], { dtype: 'float64' }))];
  const fwd = odeintDopri5(rot, [tensor([[1, 0]], { dtype: 'float64' })], 0, Math.PI / 2, { rtol: 1e-9, atol: 1e-12 }).y[0]!.dataSync();
  assert.ok(Math.abs(fwd[0]!) < 1e-8 && Math.abs(fwd[1]! - 1) < 1e-8, `${fwd}`);
  const back = odeintDopri5(rot, [tensor([[0, 1]], { dtype: 'float64' })], Math.PI / 2, 0, { rtol: 1e-9, atol: 1e-12 }).y[0]!.dataSync();
  assert.ok(Math.abs(back[0]! - 1) < 1e-8 && Math.abs(back[1]!) < 1e-8, `${back}`);
});

test('Dormand–Prince is 5th order: tighter tolerances cost more steps and give smaller errors', () => {
  const f = (t: number, [y]: readonly Tensor[]) => [y!.mul(Math.cos(t))]; // y = exp(sin t)
  const errs = [1e-3, 1e-6, 1e-9].map((tol) => {
    const r = odeintDopri5(f, [tensor([1], { dtype: 'float64' })], 0, 5, { rtol: tol, atol: tol });
    return { err: Math.abs(r.y[0]!.itemSync() - Math.exp(Math.sin(5))), nfe: r.nfe };
  });
  assert.ok(errs[0]!.err > errs[1]!.err && errs[1]!.err > errs[2]!.err, JSON.stringify(errs));
  assert.ok(errs[2]!.err < 1e-7 && errs[0]!.nfe < errs[2]!.nfe, JSON.stringify(errs));
});

test('RK4 converges at 4th order; the solvers leave no live buffers', () => {
  const f = (_t: number, [y]: readonly Tensor[]) => [y!.neg()];
  const e = (n: number) => Math.abs(odeintRk4(f, [tensor([1], { dtype: 'float64' })], 0, 1, n).y[0]!.itemSync() - Math.exp(-1));
  const ratio = e(10) / e(20);
  assert.ok(ratio > 14 && ratio < 18, `error ratio ${ratio} (expected ≈ 16)`);
  const before = memory().buffers;
  scope(() => void odeintDopri5(f, [tensor([1, 2, 3])], 0, 1));
  assert.equal(memory().buffers, before);
});
