// F.linear with a bias: x·Wᵀ + b with the bias added by the matmul kernel (`linearWithBias`), against
// the composition x.matmul(W.mT).add(b) it replaces: forward, the three gradients, the gradient of
// the gradient (createGraph), batched inputs, the shapes that take the thin kernels (a dimension
// of at most four), and float64 sums of products as the closed form. Runs on every backend.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Tensor, Generator, randn, scope, grad, nn, noGrad, getBackend, tensor } from '../src/index.ts';
import { linearWithBias } from '../src/core/tensor.ts';
import { maxAbsDiff } from './gradcheck.ts';

const F = nn.functional;

// [rows, in, out]: packed GEMM with tile edges, K > 256 (several blocks of K), and the thin routes
const SHAPES: [number, number, number][] = [[5, 7, 9], [33, 300, 17], [64, 256, 256], [167, 20, 24], [200, 3, 64], [300, 64, 2], [1, 5, 3], [2, 1, 1], [0, 4, 3]];

test('linear with a bias: the kernel adds the bias (a custom node), and the result is x·Wᵀ + b in float64', () => {
  const rng = new Generator(1);
  for (const [rows, nIn, nOut] of SHAPES) {
    scope(() => {
      const x = randn([rows, nIn], { rng }), w = randn([nOut, nIn], { rng }).requiresGrad_(), b = randn([nOut], { rng }).mul(3).requiresGrad_();
      const y = F.linear(x, w, b);
      assert.deepEqual(y.shape, [rows, nOut]);
      if (rows > 0) assert.ok(linearWithBias(x, w, b), `[${rows}, ${nIn}, ${nOut}] takes the fused path`);
      const xv = x.dataSync(), wv = w.dataSync(), bv = b.dataSync(), yv = y.dataSync();
      for (let i = 0; i < rows; i++) {
        for (let j = 0; j < nOut; j++) {
          let s = bv[j]!, abs = Math.abs(bv[j]!);
          for (let k = 0; k < nIn; k++) { s += xv[i * nIn + k]! * wv[j * nIn + k]!; abs += Math.abs(xv[i * nIn + k]! * wv[j * nIn + k]!); }
          const bound = (nIn + 1) * 2 ** -23 * abs + 1e-30;
          assert.ok(Math.abs(yv[i * nOut + j]! - s) <= bound, `[${rows}, ${nIn}, ${nOut}] (${i}, ${j}): ${yv[i * nOut + j]} against ${s} (bound ${bound})`);
        }
      }
    });
  }
});

test('its gradients equal the composed ones: ∂x = g·W, ∂W = gᵀ·x, ∂b = Σ g', () => {
  const rng = new Generator(2);
  for (const [rows, nIn, nOut] of SHAPES) {
    scope(() => {
      const x = randn([rows, nIn], { rng }), w = randn([nOut, nIn], { rng }), b = randn([nOut], { rng }), u = randn([rows, nOut], { rng });
      const fused = grad((xx: Tensor, ww: Tensor, bb: Tensor) => F.linear(xx, ww, bb).mul(u).sum())(x, w, b) as Tensor[];
      const composed = grad((xx: Tensor, ww: Tensor, bb: Tensor) => xx.matmul(ww.mT).add(bb).mul(u).sum())(x, w, b) as Tensor[];
      ['x', 'W', 'b'].forEach((name, i) => {
        const err = maxAbsDiff(fused[i]!, composed[i]!);
        assert.ok(err < 1e-4 * Math.max(1, Math.sqrt(rows * nIn)), `[${rows}, ${nIn}, ${nOut}] ∂${name}: max |fused − composed| = ${err}`);
      });
    });
  }
});

test('batched input [B, T, in], and no graph under noGrad', () => {
  scope(() => {
    const rng = new Generator(3);
    const x = randn([3, 5, 8], { rng }), w = randn([6, 8], { rng }).requiresGrad_(), b = randn([6], { rng });
    const y = F.linear(x, w, b);
    assert.deepEqual(y.shape, [3, 5, 6]);
    assert.ok(maxAbsDiff(y, x.matmul(w.mT).add(b)) < 1e-5);
    const yn = noGrad(() => F.linear(x, w, b));
    assert.equal(yn.requiresGrad, false);
    assert.ok(maxAbsDiff(yn, y) === 0);
  });
});

test('the gradient of the gradient (createGraph) equals the composed one', () => {
  scope(() => {
    const rng = new Generator(4);
    const x = randn([7, 5], { rng }), w = randn([4, 5], { rng }), b = randn([4], { rng });
    // d/dW of |∂x|² where ∂x flows through tanh(linear(x)): needs the rule to be differentiable
    const pen = (lin: (xx: Tensor, ww: Tensor) => Tensor) => grad((ww: Tensor) => grad((xx: Tensor) => lin(xx, ww).tanh().sum())(x).square().sum())(w);
    const err = maxAbsDiff(pen((xx, ww) => F.linear(xx, ww, b)), pen((xx, ww) => xx.matmul(ww.mT).add(b)));
    assert.ok(err < 1e-4, `max |fused − composed| = ${err}`);
  });
});

test('a bias of the wrong shape is refused by the kernel, by name', () => {
  scope(() => {
    const a = tensor([1, 2, 3, 4], { shape: [2, 2] }), bias = tensor([1, 2, 3]);
    assert.throws(() => getBackend().kernels.matmul(a.view(), a.view(), bias.view()), /matmul: expected a (float32 )?bias of (shape \[2\]|2 values)/);
  });
});
