// PixelCNN and Gated PixelCNN (src/models/autoregressive/pixelcnn.ts): the raster-order masks
// checked by autograd (output i depends only on inputs before i), the blind spot of the plain
// PixelCNN and its absence in the gated one, exact normalisation (Σ_x p(x) = 1 over every
// configuration of tiny images), and samples that follow the model's own probabilities.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Generator, tensor, randn, noGrad, setBackend, type Tensor } from '../src/index.ts';
import { PixelCNN, rasterMask, type PixelCNNOptions } from '../src/models/autoregressive/pixelcnn.ts';
import { discretizedLogisticMixtureLogProb } from '../src/models/likelihoods.ts';

/** |∂ out[:, :, i, j] / ∂ x| summed over channels: which input pixels influence output pixel (i, j). */
function influence(net: PixelCNN, x: Tensor, i: number, j: number, labels?: Tensor): number[][] {
  const xr = x.detach();
  xr.requiresGrad = true;
  const out = net.forward(xr, labels);
  const [, oc, H, W] = out.shape as [number, number, number, number];
  const seed = new Float64Array(oc * H * W);
  for (let c = 0; c < oc; c++) seed[(c * H + i) * W + j] = 1;
  out.backward(tensor(seed, { shape: out.shape, dtype: out.dtype }));
  const g = xr.grad!.abs().sum([0, 1]).arraySync() as number[][];
  return g;
}

// float64 on the reference backend: exact zeros and sums to 1e-9
setBackend('cpu');

const before = (r: number, c: number, i: number, j: number) => r < i || (r === i && c < j);

test('raster masks of type A and B', () => {
  assert.deepEqual(Array.from(rasterMask(3, 3, 'A')), [1, 1, 1, 1, 0, 0, 0, 0, 0]);
  assert.deepEqual(Array.from(rasterMask(3, 3, 'B')), [1, 1, 1, 1, 1, 0, 0, 0, 0]);
  assert.deepEqual(Array.from(rasterMask(1, 3, 'A')), [1, 0, 0]);
});

for (const arch of ['pixelcnn', 'gated'] as const) {
  test(`${arch}: output (i, j) depends only on pixels before (i, j) (type A first, B after; every position)`, () => {
    const H = 6, W = 5;
    const net = new PixelCNN({ arch, inChannels: 2, output: 'logistic-mixture', mixtures: 2, hidden: 8, layers: 3, firstKernel: 5, kernel: 3, rng: new Generator(1), dtype: 'float64' });
    const x = randn([1, 2, H, W], { rng: new Generator(2), dtype: 'float64' });
    for (let i = 0; i < H; i++) {
      for (let j = 0; j < W; j++) {
        const g = influence(net, x, i, j);
        for (let r = 0; r < H; r++) {
          for (let c = 0; c < W; c++) {
            if (!before(r, c, i, j)) assert.equal(g[r]![c], 0, `${arch}: output (${i},${j}) depends on input (${r},${c})`);
          }
        }
        // the nearest past pixels are seen
        if (j > 0) assert.ok(g[i]![j - 1]! > 0, `${arch}: output (${i},${j}) ignores its left neighbour`);
        if (i > 0) assert.ok(g[i - 1]![j]! > 0, `${arch}: output (${i},${j}) ignores the pixel above`);
      }
    }
  });
}

test('blind spot: a plain 3×3 PixelCNN misses pixels above-right; the gated PixelCNN sees its whole receptive field', () => {
  const H = 9, W = 9, L = 4; // 4 masked 3×3 layers (1 type A + 3 type B; gated: 1 first + 3)
  const x = randn([1, 1, H, W], { rng: new Generator(3), dtype: 'float64' });
  const i = 6, j = 4;
  const plain = new PixelCNN({ arch: 'pixelcnn', hidden: 8, layers: L - 1, firstKernel: 3, kernel: 3, rng: new Generator(4), dtype: 'float64' });
  const gp = influence(plain, x, i, j);
  // Type-B 3×3 taps move up-and-right at most one column per row: (i−1, j+2) is never reached,
  // although (i−2, j+2) and (i−1, j+1) are.
  assert.equal(gp[i - 1]![j + 2], 0, 'plain PixelCNN should have a blind spot at (i−1, j+2)');
  assert.equal(gp[i - 1]![j + 3], 0);
  assert.equal(gp[i - 2]![j + 3], 0);
  assert.ok(gp[i - 2]![j + 2]! > 0 && gp[i - 1]![j + 1]! > 0);
  // Gated: exactly rows i−1−L·p … i−1 with |col − j| ≤ L·p, plus row i columns j − L·p … j − 1 (p = 1).
  const gated = new PixelCNN({ arch: 'gated', hidden: 8, layers: L - 1, kernel: 3, rng: new Generator(5), dtype: 'float64' });
  const gg = influence(gated, x, i, j);
  const R = L; // L·⌊3/2⌋
  for (let r = 0; r < H; r++) {
    for (let c = 0; c < W; c++) {
      const inField = (r < i && r >= i - 1 - R && Math.abs(c - j) <= R) || (r === i && c < j && c >= j - R);
      assert.equal(gg[r]![c]! > 0, inField, `gated: input (${r},${c}) ${inField ? 'should' : 'should not'} influence output (${i},${j})`);
    }
  }
  assert.ok(gg[i - 1]![j + 2]! > 0, 'the gated PixelCNN has no blind spot');
});

test('gated PixelCNN with class conditioning: labels change the output, masks still hold', () => {
  const net = new PixelCNN({ arch: 'gated', numLabels: 3, hidden: 8, layers: 2, rng: new Generator(6), dtype: 'float64' });
  const x = randn([1, 1, 4, 4], { rng: new Generator(7), dtype: 'float64' });
  const a = net.forward(x, tensor([0], { dtype: 'int32' })).sub(net.forward(x, tensor([2], { dtype: 'int32' }))).abs().max().itemSync();
  assert.ok(a > 1e-6);
  const g = influence(net, x, 2, 1, tensor([1], { dtype: 'int32' }));
  for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) if (!before(r, c, 2, 1)) assert.equal(g[r]![c], 0);
  assert.throws(() => net.forward(x), /class-conditional/);
});

/** Every configuration of n variables with `k` values each, as rows of digits (first variable slowest). */
function allConfigs(n: number, k: number): number[][] {
  const out: number[][] = [];
  for (let m = 0; m < k ** n; m++) out.push(Array.from({ length: n }, (_, d) => Math.floor(m / k ** (n - 1 - d)) % k));
  return out;
}

function totalProb(net: PixelCNN, x: Tensor, labels?: Tensor): number {
  return noGrad(() => net.logProb(x, labels).logsumexp(0).exp().itemSync());
}

for (const arch of ['pixelcnn', 'gated'] as const) {
  test(`${arch}: Σ p(x) = 1 over all 2⁹ binary 3×3 images (Bernoulli), conditional too`, () => {
    const cfg = allConfigs(9, 2);
    const x = tensor(cfg.flat(), { shape: [512, 1, 3, 3], dtype: 'float64' });
    const net = new PixelCNN({ arch, hidden: 8, layers: 2, firstKernel: 3, rng: new Generator(8), dtype: 'float64' });
    assert.ok(Math.abs(totalProb(net, x) - 1) < 1e-9);
    const cnet = new PixelCNN({ arch, numLabels: 2, hidden: 8, layers: 2, firstKernel: 3, rng: new Generator(9), dtype: 'float64' });
    for (const y of [0, 1]) assert.ok(Math.abs(totalProb(cnet, x, tensor(new Int32Array(512).fill(y))) - 1) < 1e-9);
  });

  test(`${arch}: Σ p(x) = 1 for a categorical K = 3 map (2×2, 81 maps) and a 4-level logistic mixture (2 channels × 1×2, 256 images)`, () => {
    const catNet = new PixelCNN({ arch, classes: 3, hidden: 8, embeddingDim: 4, layers: 2, firstKernel: 3, rng: new Generator(10), dtype: 'float64' });
    const maps = tensor(allConfigs(4, 3).flat(), { shape: [81, 2, 2], dtype: 'int32' });
    assert.ok(Math.abs(totalProb(catNet, maps) - 1) < 1e-9);
    const mixNet = new PixelCNN({ arch, output: 'logistic-mixture', inChannels: 2, levels: 4, mixtures: 3, hidden: 8, layers: 2, firstKernel: 3, rng: new Generator(11), dtype: 'float64' });
    const grey = tensor(allConfigs(4, 4).flat().map((k) => (k / 3) * 2 - 1), { shape: [256, 2, 1, 2], dtype: 'float64' });
    assert.ok(Math.abs(totalProb(mixNet, grey) - 1) < 1e-9);
  });
}

test('discretised logistic (src/models/likelihoods.ts, as PixelCNN uses it): closed form of one logistic on L levels', () => {
  const L = 8, mu = 0.1, s = 0.3;
  const sig = (z: number) => 1 / (1 + Math.exp(-z));
  const xs = Array.from({ length: L }, (_, k) => (k / (L - 1)) * 2 - 1);
  const want = xs.map((x, k) => {
    const hi = k === L - 1 ? 1 : sig((x + 1 / (L - 1) - mu) / s);
    const lo = k === 0 ? 0 : sig((x - 1 / (L - 1) - mu) / s);
    return Math.log(hi - lo);
  });
  const x = tensor(xs, { dtype: 'float64' });
  const param = (v: number) => tensor([[v]], { dtype: 'float64' }).expand([1, L]);
  const got = discretizedLogisticMixtureLogProb(param(0), param(mu), param(Math.log(s)), x, { levels: L, axis: 0 }).dataSync();
  for (let k = 0; k < L; k++) assert.ok(Math.abs(got[k]! - want[k]!) < 1e-10, `level ${k}: ${got[k]} vs ${want[k]}`);
});

test('samples follow exp(logProb): 2×2 binary gated PixelCNN, 4000 draws; seeded; temperature', () => {
  const opts: PixelCNNOptions = { arch: 'gated', hidden: 8, layers: 1, rng: new Generator(12) };
  const net = new PixelCNN(opts);
  // sharpen the model so that the 16 probabilities differ clearly
  noGrad(() => net.head2.weight.assign(net.head2.weight.mul(6)));
  const cfg = allConfigs(4, 2);
  const p = noGrad(() => net.logProb(tensor(cfg.flat(), { shape: [16, 1, 2, 2] })).exp().dataSync());
  const n = 4000;
  const s = net.sample(n, [2, 2], new Generator(13)).dataSync();
  const counts = new Array<number>(16).fill(0);
  for (let b = 0; b < n; b++) counts[s[4 * b]! * 8 + s[4 * b + 1]! * 4 + s[4 * b + 2]! * 2 + s[4 * b + 3]!]! += 1;
  for (let m = 0; m < 16; m++) {
    const se = Math.sqrt((p[m]! * (1 - p[m]!)) / n);
    assert.ok(Math.abs(counts[m]! / n - p[m]!) < 4.5 * se + 1e-3, `config ${m}: frequency ${counts[m]! / n} vs p ${p[m]}`);
  }
  const again = net.sample(n, [2, 2], new Generator(13)).dataSync();
  assert.deepEqual(Array.from(again), Array.from(s));
  // T → 0 concentrates the draws on the per-pixel modes (less entropy than T = 1)
  const cold = net.sample(400, [2, 2], new Generator(14), { temperature: 0.05 }).dataSync();
  const distinct = new Set(Array.from({ length: 400 }, (_, b) => Array.from(cold.subarray(4 * b, 4 * b + 4)).join(''))).size;
  assert.ok(distinct <= 2, `temperature 0.05 should give (almost) one image, got ${distinct} distinct`);
});

test('categorical and mixture sampling: shapes, support, labels', () => {
  const cat = new PixelCNN({ classes: 5, hidden: 8, layers: 1, rng: new Generator(15) });
  const z = cat.sample(3, [3, 4], new Generator(16));
  assert.deepEqual(z.shape, [3, 3, 4]);
  assert.equal(z.dtype, 'int32');
  assert.ok(Array.from(z.dataSync()).every((v) => v >= 0 && v < 5));
  const mix = new PixelCNN({ output: 'logistic-mixture', arch: 'pixelcnn', numLabels: 10, hidden: 8, layers: 1, firstKernel: 3, rng: new Generator(17) });
  const g = mix.sample(2, [3, 3], new Generator(18), { labels: tensor([1, 7], { dtype: 'int32' }) });
  assert.deepEqual(g.shape, [2, 1, 3, 3]);
  for (const v of g.dataSync()) assert.ok(v >= -1 && v <= 1 && Math.abs(((v + 1) / 2) * 255 - Math.round(((v + 1) / 2) * 255)) < 1e-4);
  assert.ok(Number.isFinite(mix.logProb(g, tensor([1, 7], { dtype: 'int32' })).sum().itemSync()));
});

test('clear errors for bad config and input', () => {
  assert.throws(() => new PixelCNN({ kernel: 4, rng: new Generator(0) }), /odd/);
  assert.throws(() => new PixelCNN({ classes: 1, rng: new Generator(0) }), /classes must be an integer ≥ 2/);
  assert.throws(() => new PixelCNN({ arch: 'blind' as never, rng: new Generator(0) }), /arch must be/);
  const net = new PixelCNN({ classes: 4, hidden: 4, layers: 0, rng: new Generator(0) });
  assert.throws(() => net.logProb(tensor([[[0.5]]])), /int32 \[N, H, W\]/);
});
