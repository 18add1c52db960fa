import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tensor, randn, rand, randint, randperm, bernoulli, categorical, Generator, linalg, eye, setBackend } from '../src/index.ts';

// float64 closed forms: on the reference backend (the only one that stores float64)
setBackend('cpu');

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number) => {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= tol, `entry ${i}: ${a[i]} vs ${b[i]}`);
};

test('lu: P·L·U reproduces A, L unit lower-triangular, U upper-triangular, P a permutation', () => {
  const rng = new Generator(3);
  for (const n of [1, 3, 6]) {
    const A = randn([n, n], { rng, dtype: 'float64' });
    const { P, L, U } = linalg.luSync(A);
    close(P.matmul(L).matmul(U).dataSync(), A.dataSync(), 1e-12);
    const l = L.arraySync() as number[][], u = U.arraySync() as number[][], p = P.arraySync() as number[][];
    for (let i = 0; i < n; i++) {
      assert.equal(l[i]![i], 1);
      for (let j = i + 1; j < n; j++) assert.equal(l[i]![j], 0);
      for (let j = 0; j < i; j++) assert.equal(u[i]![j], 0);
      assert.equal(p[i]!.reduce((s, v) => s + v, 0), 1);
    }
  }
});

test('lu needs pivoting: a matrix with a zero leading entry', async () => {
  const A = tensor([[0, 1], [2, 3]], { dtype: 'float64' });
  const { P, L, U } = await linalg.lu(A);
  close(P.matmul(L).matmul(U).dataSync(), [0, 1, 2, 3], 0);
  assert.throws(() => linalg.luSync(tensor([1, 2, 3])), /lu: expected a square matrix, got \[3\]/);
});

test('inv, det and slogdet agree with closed forms', () => {
  const A = tensor([[4, 7], [2, 6]], { dtype: 'float64' });
  close(linalg.inv(A).dataSync(), [0.6, -0.7, -0.2, 0.4], 1e-12);
  close(linalg.det(A).dataSync(), [10], 1e-12);
  const { sign, logAbsDet } = linalg.slogdet(tensor([[0, 1], [1, 0]], { dtype: 'float64' }));
  close(sign.dataSync(), [-1], 0);
  close(logAbsDet.dataSync(), [0], 1e-15);
  close(linalg.det(eye(4, 4, { dtype: 'float64' }).mul(2)).dataSync(), [16], 1e-12);
  close(linalg.solve(A, tensor([[1], [2]], { dtype: 'float64' })).dataSync(), [0.6 - 1.4, -0.2 + 0.8], 1e-12);
});

test('random tensors: shapes, ranges, moments and determinism', () => {
  const x = randn([200, 500], { rng: new Generator(1) });
  assert.deepEqual(x.shape, [200, 500]);
  assert.ok(Math.abs(x.mean().itemSync()) < 0.01);
  assert.ok(Math.abs(x.var().itemSync() - 1) < 0.01);
  assert.deepEqual(randn([5], { rng: new Generator(9) }).dataSync(), randn([5], { rng: new Generator(9) }).dataSync());
  const u = rand([10000], { rng: new Generator(2), low: -2, high: 3 });
  assert.ok(u.min().itemSync() >= -2 && u.max().itemSync() < 3);
  assert.ok(Math.abs(u.mean().itemSync() - 0.5) < 0.05);
  const k = randint(3, 7, [1000], { rng: new Generator(3) });
  assert.equal(k.dtype, 'int32');
  assert.equal(k.min().itemSync(), 3);
  assert.equal(k.max().itemSync(), 6);
  const perm = [...randperm(50, { rng: new Generator(4) }).dataSync()].sort((a, b) => a - b);
  assert.deepEqual(perm, Array.from({ length: 50 }, (_, i) => i));
  const b = bernoulli(tensor([0, 1, 0.5]).reshape([1, 3]).expand([4000, 3]), null, { rng: new Generator(5) }).mean(0).dataSync();
  assert.equal(b[0], 0);
  assert.equal(b[1], 1);
  assert.ok(Math.abs(b[2]! - 0.5) < 0.04);
  const c = categorical(tensor([[0, 1, 3], [5, 0, 0]]), 4000, { rng: new Generator(6) });
  assert.deepEqual(c.shape, [2, 4000]);
  const row0 = [...c.index(0).dataSync()];
  assert.ok(!row0.includes(0));
  assert.ok(Math.abs(row0.filter((v) => v === 2).length / 4000 - 0.75) < 0.03);
  assert.ok([...c.index(1).dataSync()].every((v) => v === 0));
  assert.throws(() => randn([2], {} as never), /randn: pass a Generator as \{ rng \}/);
});
