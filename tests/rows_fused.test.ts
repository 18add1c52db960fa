// The fused row kernels against the compositions they replace: the row normalisation behind
// layerNorm and groupNorm (`normalizeRows`: normRows / normRowsBackward) and softmax / log-softmax
// over the last axis (softmaxRows / softmaxRowsBackward). Forward, the gradient, the gradient of
// the gradient (createGraph), odd sizes, non-contiguous inputs, infinities, finite differences.
// Runs on every backend (the cpu reference has the kernels too).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Tensor, Generator, tensor, randn, scope, nn, grad, getBackend } from '../src/index.ts';
import { normalizeRows } from '../src/core/tensor.ts';
import { maxAbsDiff } from './gradcheck.ts';

/** The composition the fused kernels replace: (x − μ)/√(σ² + eps) per row. */
function composed(x: Tensor, eps: number): Tensor {
  const d = x.sub(x.mean(1, true));
  return d.mul(d.square().mean(1, true).add(eps).rsqrt());
}

const SHAPES: [number, number][] = [[1, 1], [1, 7], [3, 8], [5, 13], [4, 1000], [33, 65], [2, 4099]];

test('the backend has the fused row kernels', () => {
  scope(() => assert.ok(normalizeRows(randn([2, 3], { rng: new Generator(0) }), 1e-5), `backend ${getBackend().name} has normRows`));
  const k = getBackend().kernels;
  assert.ok(k.normRowsBackward && k.softmaxRows && k.softmaxRowsBackward, `backend ${getBackend().name} has all four row kernels`);
});

test('normalizeRows equals the composed formula, rows of every length, with a shifted mean', () => {
  const rng = new Generator(1);
  for (const [rows, n] of SHAPES) {
    scope(() => {
      // an offset of 30 makes cancellation visible if a kernel used E[x²] − μ²
      const x = randn([rows, n], { rng }).mul(2).add(30);
      const y = normalizeRows(x, 1e-5)!;
      assert.deepEqual(y.shape, [rows, n]);
      const err = maxAbsDiff(y, composed(x, 1e-5));
      assert.ok(err < (n === 1 ? 1e-6 : 2e-5), `[${rows}, ${n}]: max |fused − composed| = ${err}`);
      if (n > 1) {
        const v = y.dataSync();
        for (let r = 0; r < rows; r++) {
          let s = 0, ss = 0;
          for (let i = 0; i < n; i++) { s += v[r * n + i]!; ss += v[r * n + i]! ** 2; }
          assert.ok(Math.abs(s / n) < 1e-5, `[${rows}, ${n}] row ${r}: mean ${s / n}`);
          assert.ok(Math.abs(ss / n - 1) < 1e-3, `[${rows}, ${n}] row ${r}: variance ${ss / n}`);
        }
      }
    });
  }
});

test('normalizeRows: a constant row gives zeros (σ² = 0, eps keeps it finite)', () => {
  scope(() => {
    const y = normalizeRows(tensor([3, 3, 3, 3, 3, -1, -1, -1, -1, -1], { shape: [2, 5] }), 1e-5)!;
    assert.deepEqual(Array.from(y.dataSync()), new Array(10).fill(0));
  });
});

test('its gradient equals the composed gradient and finite differences', () => {
  const rng = new Generator(2);
  for (const [rows, n] of SHAPES) {
    scope(() => {
      const x = randn([rows, n], { rng }).add(3);
      const w = randn([rows, n], { rng });
      const gf = grad((t: Tensor) => normalizeRows(t, 1e-5)!.mul(w).sum())(x);
      const gc = grad((t: Tensor) => composed(t, 1e-5).mul(w).sum())(x);
      const err = maxAbsDiff(gf, gc);
      assert.ok(err < 5e-5, `[${rows}, ${n}]: max |∂fused − ∂composed| = ${err}`);
    });
  }
  // central differences in float64 of the composed loss at a few coordinates
  scope(() => {
    const rows = 3, n = 11;
    const xs = Float64Array.from(new Generator(3).normal(rows * n));
    const ws = Float64Array.from(new Generator(4).normal(rows * n));
    const loss = (v: Float64Array) => {
      let L = 0;
      for (let r = 0; r < rows; r++) {
        const row = v.subarray(r * n, r * n + n);
        const mu = row.reduce((a, b) => a + b, 0) / n;
        const s2 = row.reduce((a, b) => a + (b - mu) ** 2, 0) / n;
        for (let i = 0; i < n; i++) L += ws[r * n + i]! * (row[i]! - mu) / Math.sqrt(s2 + 1e-5);
      }
      return L;
    };
    const x = tensor(Float32Array.from(xs), { shape: [rows, n] }), w = tensor(Float32Array.from(ws), { shape: [rows, n] });
    const g = grad((t: Tensor) => normalizeRows(t, 1e-5)!.mul(w).sum())(x).dataSync();
    for (const k of [0, 5, 12, 32]) {
      const h = 1e-4, p = Float64Array.from(xs), m = Float64Array.from(xs);
      p[k]! += h;
      m[k]! -= h;
      const fd = (loss(p) - loss(m)) / (2 * h);
      assert.ok(Math.abs(g[k]! - fd) < 2e-3 * (1 + Math.abs(fd)), `coordinate ${k}: ${g[k]} against ${fd}`);
    }
  });
});

test('the gradient of its gradient (createGraph) equals the composed one', () => {
  const rng = new Generator(5);
  scope(() => {
    const x = randn([4, 9], { rng }), w = randn([4, 9], { rng }), v = randn([4, 9], { rng });
    // ∂/∂x of ⟨v, ∂/∂x ⟨w, f(x)⟩⟩: the inner grad records its graph inside the outer one
    const second = (f: (t: Tensor) => Tensor) => grad((t: Tensor) => grad((u: Tensor) => f(u).mul(w).sum())(t).mul(v).sum())(x);
    const err = maxAbsDiff(second((t) => normalizeRows(t, 1e-5)!), second((t) => composed(t, 1e-5)));
    assert.ok(err < 1e-4, `second derivative: max difference ${err}`);
  });
});

test('layerNorm and groupNorm through the fused kernels agree with the composition, non-contiguous input included', () => {
  const rng = new Generator(6);
  scope(() => {
    const x = randn([2, 6, 5, 3], { rng }).permute([0, 3, 2, 1]); // [2, 3, 5, 6], strided
    const w = randn([6], { rng }), b = randn([6], { rng });
    const ln = nn.F.layerNorm(x, [6], w, b);
    const ref = composed(x.contiguous().reshape([-1, 6]), 1e-5).reshape(x.shape).mul(w).add(b);
    assert.ok(maxAbsDiff(ln, ref) < 2e-5, 'layerNorm');
    const xg = randn([3, 8, 4, 5], { rng });
    const wg = randn([8], { rng }), bg = randn([8], { rng });
    const gn = nn.F.groupNorm(xg, 4, wg, bg);
    const refg = composed(xg.reshape([12, 40]), 1e-5).reshape(xg.shape).mul(wg.reshape([1, 8, 1, 1])).add(bg.reshape([1, 8, 1, 1]));
    assert.ok(maxAbsDiff(gn, refg) < 2e-5, 'groupNorm');
  });
});

/** The composition Tensor.softmax / logSoftmax fall back to. */
const composedSoftmax = (x: Tensor, log: boolean) => (log ? x.sub(x.logsumexp(-1, true)) : x.sub(x.logsumexp(-1, true)).exp());

test('softmax and logSoftmax over the last axis equal the composition; other axes still work', () => {
  const rng = new Generator(7);
  for (const [rows, n] of [...SHAPES, [6, 49] as [number, number]]) {
    for (const log of [false, true]) {
      scope(() => {
        const x = randn([rows, n], { rng }).mul(4);
        const y = log ? x.logSoftmax(-1) : x.softmax(-1);
        const err = maxAbsDiff(y, composedSoftmax(x, log));
        assert.ok(err < (log ? 1e-5 : 1e-6), `[${rows}, ${n}] ${log ? 'logSoftmax' : 'softmax'}: max difference ${err}`);
        if (!log) {
          const v = y.dataSync();
          for (let r = 0; r < rows; r++) {
            let s = 0;
            for (let i = 0; i < n; i++) s += v[r * n + i]!;
            assert.ok(Math.abs(s - 1) < 1e-5, `row ${r} sums to ${s}`);
          }
        }
      });
    }
  }
  scope(() => {
    // a 3-D strided input over its last axis, and a middle axis (composed)
    const x = randn([3, 5, 4], { rng }).permute([2, 0, 1]);
    assert.ok(maxAbsDiff(x.softmax(-1), x.sub(x.logsumexp(-1, true)).exp()) < 1e-6);
    assert.ok(maxAbsDiff(x.softmax(1), x.sub(x.logsumexp(1, true)).exp()) < 1e-6);
  });
});

test('softmax with infinities behaves as the composition (and PyTorch): −∞ entries get 0, a row of −∞ gives NaN', () => {
  scope(() => {
    const x = tensor([0, -Infinity, 1, -Infinity, -Infinity, -Infinity, Infinity, 2, 3, 1e30, -1e30, 0], { shape: [4, 3] });
    for (const log of [false, true]) {
      const got = Array.from((log ? x.logSoftmax(-1) : x.softmax(-1)).dataSync());
      const want = Array.from(composedSoftmax(x, log).dataSync());
      got.forEach((v, i) => {
        if (Number.isNaN(want[i]!)) assert.ok(Number.isNaN(v), `${log ? 'log' : ''}softmax[${i}]: ${v}, want NaN`);
        else assert.ok(Math.abs(v - want[i]!) <= 1e-6 * Math.max(1, Math.abs(want[i]!)) || v === want[i], `${log ? 'log' : ''}softmax[${i}]: ${v}, want ${want[i]}`);
      });
    }
    const s = Array.from(x.softmax(-1).dataSync());
    assert.equal(s[1], 0);
    assert.ok(Number.isNaN(s[3]!) && Number.isNaN(s[6]!), 'a row of −∞ and an +∞ entry give NaN');
  });
});

test('softmax and logSoftmax: gradients equal the composed ones, and so do second derivatives', () => {
  const rng = new Generator(8);
  for (const [rows, n] of SHAPES) {
    for (const log of [false, true]) {
      scope(() => {
        const x = randn([rows, n], { rng }).mul(3), w = randn([rows, n], { rng });
        const gf = grad((t: Tensor) => (log ? t.logSoftmax(-1) : t.softmax(-1)).mul(w).sum())(x);
        const gc = grad((t: Tensor) => composedSoftmax(t, log).mul(w).sum())(x);
        const err = maxAbsDiff(gf, gc);
        assert.ok(err < 2e-5, `[${rows}, ${n}] ${log ? 'logSoftmax' : 'softmax'}: gradient differs by ${err}`);
      });
    }
  }
  scope(() => {
    const x = randn([4, 9], { rng }), w = randn([4, 9], { rng }), v = randn([4, 9], { rng });
    for (const log of [false, true]) {
      const second = (f: (t: Tensor) => Tensor) => grad((t: Tensor) => grad((u: Tensor) => f(u).mul(w).sum())(t).mul(v).sum())(x);
      const err = maxAbsDiff(second((t) => (log ? t.logSoftmax(-1) : t.softmax(-1))), second((t) => composedSoftmax(t, log)));
      assert.ok(err < 1e-5, `${log ? 'logSoftmax' : 'softmax'} second derivative differs by ${err}`);
    }
  });
});
