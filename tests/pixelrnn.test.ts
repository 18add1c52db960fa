// PixelRNN with Row LSTM layers (src/models/autoregressive/pixelrnn.ts): the exact dependency
// pattern checked by autograd (output i sees only pixels before i, and every pixel of its
// triangular receptive field), exact normalisation over all tiny images, logProb against a slow
// pixel-by-pixel loop and a PyTorch golden forward (eq. 3 of van den Oord et al. 2016), the
// incremental sampler against exp(logProb), the registry family, and a learning check on the 8×8
// digits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Generator, tensor, randn, noGrad, setBackend, getBackend, scope, optim, memory, type Tensor } from '../src/index.ts';
import { PixelRNN } from '../src/models/autoregressive/pixelrnn.ts';
import { families, familyByName } from '../src/models/index.ts';
import type { DataSpec } from '../src/models/registry.ts';
import { loadDigits } from '../src/data/locate.ts';
import { binarize } from '../src/data/binarize.ts';

// float64 on the reference backend: exact zeros and sums to 1e-9 (the learning check runs on the default one)
const defaultBackend = getBackend().name;
setBackend('cpu');
const dtype = 'float64' as const;

/** |∂ out[:, :, i, j] / ∂ x| summed over batch and channels: which input pixels influence output pixel (i, j). */
function influence(net: PixelRNN, x: Tensor, i: number, j: number): number[][] {
  const xr = x.detach();
  xr.requiresGrad = true;
  const out = net.forward(xr);
  const [, oc, H, W] = out.shape as [number, number, number, number];
  const seed = new Float64Array(oc * H * W);
  for (let c = 0; c < oc; c++) seed[(c * H + i) * W + j] = 1;
  out.backward(tensor(seed, { shape: out.shape, dtype: out.dtype }));
  return xr.grad!.abs().sum([0, 1]).arraySync() as number[][];
}

/**
 * The receptive field of the architecture as the paper describes it, by propagating dependency
 * sets (no tensors): the type-A k₁×k₁ first layer, then per layer the 1×k type-B input-to-state
 * taps (j−p … j) on the stream, the 1×k state-to-state taps (j−p … j+p) on the previous row's
 * state, and the residual stream. Returns, for output (i, j), the set of input pixels r·W + c.
 */
function receptiveField(H: number, W: number, k1: number, k: number, L: number, i: number, j: number): Set<number> {
  const p1 = Math.floor(k1 / 2), p = Math.floor(k / 2);
  const at = (r: number, c: number) => r * W + c;
  let feat: Set<number>[] = [];
  for (let r = 0; r < H; r++) {
    for (let c = 0; c < W; c++) {
      const s = new Set<number>();
      for (let dr = -p1; dr <= 0; dr++) {
        for (let dc = -p1; dc <= p1; dc++) {
          if (dr === 0 && dc >= 0) continue; // type A
          const rr = r + dr, cc = c + dc;
          if (rr >= 0 && cc >= 0 && cc < W) s.add(at(rr, cc));
        }
      }
      feat.push(s);
    }
  }
  for (let l = 0; l < L; l++) {
    const state: Set<number>[] = [];
    const next: Set<number>[] = [];
    for (let r = 0; r < H; r++) {
      for (let c = 0; c < W; c++) {
        const s = new Set<number>();
        for (let dc = -p; dc <= 0; dc++) if (c + dc >= 0) for (const v of feat[at(r, c + dc)]!) s.add(v);
        if (r > 0) for (let dc = -p; dc <= p; dc++) if (c + dc >= 0 && c + dc < W) for (const v of state[at(r - 1, c + dc)]!) s.add(v);
        state.push(s);
        next.push(new Set([...feat[at(r, c)]!, ...s]));
      }
    }
    feat = next;
  }
  return feat[at(i, j)]!;
}

test('Row LSTM: output (i, j) depends exactly on its triangular receptive field, never on (i, j) or later (every position)', () => {
  const H = 7, W = 8, L = 2;
  const net = new PixelRNN({ inChannels: 2, hidden: 6, layers: L, outHidden: 6, firstKernel: 5, kernel: 3, rng: new Generator(1), dtype });
  const x = randn([1, 2, H, W], { rng: new Generator(2), dtype });
  let past = 0;
  for (let i = 0; i < H; i++) {
    for (let j = 0; j < W; j++) {
      const g = influence(net, x, i, j);
      const field = receptiveField(H, W, 5, 3, L, i, j);
      for (let r = 0; r < H; r++) {
        for (let c = 0; c < W; c++) {
          const inField = field.has(r * W + c);
          if (inField) assert.ok(r < i || (r === i && c < j), `the receptive field of (${i},${j}) reaches (${r},${c})`);
          assert.equal(g[r]![c]! > 0, inField, `output (${i},${j}) ${inField ? 'should' : 'should not'} depend on input (${r},${c})`);
        }
      }
      if (i > 0 || j > 0) assert.ok(field.size > 0);
      past += field.size;
    }
  }
  assert.ok(past > 0);
  // the triangle: from (6, 3), row 6 − d is seen up to column 3 + d + 1 (first layer's reach p₁ = 2
  // one row up, then one column per row through K_ss); no blind spot above-right.
  const f = receptiveField(H, W, 5, 3, L, 6, 3);
  for (let d = 1; d <= 3; d++) {
    assert.ok(f.has((6 - d) * W + Math.min(W - 1, 3 + d + 1)), `row ${6 - d} should be seen up to column ${3 + d + 1}`);
    if (3 + d + 2 < W) assert.ok(!f.has((6 - d) * W + 3 + d + 2));
  }
});

/** Every configuration of n variables with k values each, as rows of digits (first variable slowest). */
function allConfigs(n: number, k: number): number[][] {
  const out: number[][] = [];
  for (let m = 0; m < k ** n; m++) out.push(Array.from({ length: n }, (_, d) => Math.floor(m / k ** (n - 1 - d)) % k));
  return out;
}

test('Σ p(x) = 1 over all 2⁹ binary 3×3 images and all 3⁴ categorical 2×2 maps (K = 3)', () => {
  const x = tensor(allConfigs(9, 2).flat(), { shape: [512, 1, 3, 3], dtype });
  const net = new PixelRNN({ hidden: 6, layers: 2, rng: new Generator(3), dtype });
  const total = noGrad(() => net.logProb(x).logsumexp(0).exp().itemSync());
  assert.ok(Math.abs(total - 1) < 1e-9, `Σ p = ${total}`);
  const cat = new PixelRNN({ classes: 3, hidden: 6, embeddingDim: 4, layers: 2, firstKernel: 3, rng: new Generator(4), dtype });
  const maps = tensor(allConfigs(4, 3).flat(), { shape: [81, 2, 2], dtype: 'int32' });
  const totalCat = noGrad(() => cat.logProb(maps).logsumexp(0).exp().itemSync());
  assert.ok(Math.abs(totalCat - 1) < 1e-9, `Σ p = ${totalCat}`);
});

test('logProb equals the sum of the per-pixel conditionals of a slow loop (pixels at and after i scrambled)', () => {
  const H = 4, W = 5;
  const net = new PixelRNN({ hidden: 5, layers: 2, rng: new Generator(5), dtype });
  const xs = Array.from({ length: 2 * H * W }, (_, t) => ((t * 7 + 3) % 5 < 2 ? 1 : 0));
  const want = noGrad(() => net.logProb(tensor(xs, { shape: [2, 1, H, W], dtype })).dataSync());
  const rng = new Generator(6);
  for (let b = 0; b < 2; b++) {
    const x = xs.slice(b * H * W, (b + 1) * H * W);
    let lp = 0;
    for (let i = 0; i < H; i++) {
      for (let j = 0; j < W; j++) {
        // the conditional of pixel (i, j) must not change whatever the pixels at and after it are
        const u = rng.uniform(H * W);
        const z = x.map((v, t) => (t >= i * W + j ? (u[t]! < 0.5 ? 1 : 0) : v));
        const logit = noGrad(() => net.forward(tensor(z, { shape: [1, 1, H, W], dtype })).index(0, 0, i, j).itemSync());
        const p1 = 1 / (1 + Math.exp(-logit));
        lp += Math.log(x[i * W + j] ? p1 : 1 - p1);
      }
    }
    assert.ok(Math.abs(lp - want[b]!) < 1e-10, `example ${b}: slow loop ${lp} vs logProb ${want[b]}`);
  }
});

test('golden forward against PyTorch (tests/fixtures/pixelrnn_rowlstm.json: 2 Row LSTM layers, eq. 3, fixed weights)', () => {
  interface Arr { shape: number[]; data: number[] }
  const fx = JSON.parse(readFileSync(new URL('./fixtures/pixelrnn_rowlstm.json', import.meta.url), 'utf8')) as {
    config: { inChannels: number; hidden: number; outHidden: number; layers: number; firstKernel: number; kernel: number };
    stateDict: Record<string, Arr>; x: Arr; logits: number[]; logProb: number[];
  };
  const net = new PixelRNN({ ...fx.config, rng: new Generator(0), dtype });
  const sd = Object.fromEntries(Object.entries(fx.stateDict).map(([k, v]) => [k, tensor(v.data, { shape: v.shape, dtype })]));
  const { missingKeys, unexpectedKeys } = net.loadStateDict(sd, { strict: false });
  assert.deepEqual(unexpectedKeys, []);
  assert.ok(missingKeys.every((k) => k.endsWith('.mask')), `missing ${missingKeys.join(', ')}`);
  const x = tensor(fx.x.data, { shape: fx.x.shape, dtype });
  const logits = noGrad(() => net.forward(x).dataSync());
  assert.equal(logits.length, fx.logits.length);
  for (let t = 0; t < logits.length; t++) assert.ok(Math.abs(logits[t]! - fx.logits[t]!) < 1e-9, `logit ${t}: ${logits[t]} vs ${fx.logits[t]}`);
  const lp = noGrad(() => net.logProb(x).dataSync());
  fx.logProb.forEach((v, b) => assert.ok(Math.abs(lp[b]! - v) < 1e-9, `logProb ${b}: ${lp[b]} vs ${v}`));
});

test('samples follow exp(logProb): 3×2 binary images, 4000 draws (the sampler carries row states); seeded; temperature', () => {
  const H = 3, W = 2, D = H * W;
  const net = new PixelRNN({ hidden: 6, layers: 2, firstKernel: 3, rng: new Generator(7) });
  noGrad(() => net.head2.weight.assign(net.head2.weight.mul(8))); // sharpen, so the 64 probabilities differ
  const p = noGrad(() => net.logProb(tensor(allConfigs(D, 2).flat(), { shape: [64, 1, H, W] })).exp().dataSync());
  const n = 4000;
  const s = net.sample(n, [H, W], new Generator(8)).dataSync();
  const counts = new Array<number>(64).fill(0);
  for (let b = 0; b < n; b++) {
    let m = 0;
    for (let d = 0; d < D; d++) m = m * 2 + s[b * D + d]!;
    counts[m]! += 1;
  }
  for (let m = 0; m < 64; m++) {
    const se = Math.sqrt((p[m]! * (1 - p[m]!)) / n);
    assert.ok(Math.abs(counts[m]! / n - p[m]!) < 4.5 * se + 1e-3, `image ${m}: frequency ${counts[m]! / n} vs p ${p[m]}`);
  }
  assert.deepEqual(Array.from(net.sample(20, [H, W], new Generator(8)).dataSync()), Array.from(net.sample(20, [H, W], new Generator(8)).dataSync()));
  // T → 0 concentrates the draws on the per-pixel modes
  const cold = net.sample(300, [H, W], new Generator(9), { temperature: 0.02 }).dataSync();
  const distinct = new Set(Array.from({ length: 300 }, (_, b) => Array.from(cold.subarray(D * b, D * b + D)).join(''))).size;
  assert.ok(distinct <= 2, `temperature 0.02 should give (almost) one image, got ${distinct} distinct`);
  const cat = new PixelRNN({ classes: 5, hidden: 4, layers: 1, rng: new Generator(10) });
  const z = cat.sample(3, [3, 4], new Generator(11));
  assert.deepEqual(z.shape, [3, 3, 4]);
  assert.equal(z.dtype, 'int32');
  assert.ok(Array.from(z.dataSync()).every((v) => v >= 0 && v < 5));
});

test('registry family pixelrnn: loss = −mean log p, dynamic binarisation, 256-way softmax on grey levels, samples, errors', () => {
  assert.ok(Object.hasOwn(families, 'pixelrnn'));
  const fam = familyByName('pixelrnn');
  const data: DataSpec = { kind: 'images', shape: [1, 3, 4] };
  const small = { hidden: 4, outHidden: 4, layers: 1 };
  const xBin = tensor(Array.from({ length: 2 * 12 }, (_, t) => (t % 3 === 0 ? 1 : -1)), { shape: [2, 1, 3, 4] });
  const model = fam.create({ ...fam.defaults(data), ...small, binarized: true }, data, new Generator(12));
  const ll = fam.logLikelihood!(model, { x: xBin }, new Generator(13));
  assert.equal(ll.bound, false);
  const direct = noGrad(() => (model.net as PixelRNN).logProb(xBin.add(1).div(2)).dataSync());
  assert.deepEqual(Array.from(ll.logLik.dataSync()), Array.from(direct));
  const loss = fam.loss(model, { x: xBin }, new Generator(14));
  assert.ok(Math.abs(loss.itemSync() + (direct[0]! + direct[1]!) / 2) < 1e-4);
  loss.backward();
  assert.ok(model.net.parameters().every((q) => q.grad && q.grad.abs().sum().itemSync() > 0), 'every parameter gets a gradient');
  const grey = tensor(Array.from({ length: 2 * 12 }, (_, t) => Math.sin(t)), { shape: [2, 1, 3, 4] });
  const dyn = fam.create({ ...fam.defaults(data), ...small }, data, new Generator(12));
  assert.notEqual(fam.loss(dyn, { x: grey }, new Generator(15)).itemSync(), fam.loss(dyn, { x: grey }, new Generator(16)).itemSync());
  const s = fam.sample(model, 3, new Generator(17));
  assert.deepEqual(s.shape, [3, 1, 3, 4]);
  assert.ok(Array.from(s.dataSync()).every((v) => v === 1 || v === -1));
  // categorical: log p of 256-level images is a sum of 12 log-softmax terms, ≈ 12·log(1/256) at init
  const catModel = fam.create({ ...fam.defaults(data), ...small, output: 'categorical' }, data, new Generator(18));
  const lc = fam.logLikelihood!(catModel, { x: grey }, new Generator(0)).logLik.dataSync();
  for (const v of lc) assert.ok(v < 0 && Math.abs(v - 12 * Math.log(1 / 256)) < 12, `categorical log p ${v}`);
  const sc = fam.sample(catModel, 2, new Generator(19));
  assert.deepEqual(sc.shape, [2, 1, 3, 4]);
  for (const v of sc.dataSync()) assert.ok(v >= -1 && v <= 1 && Math.abs(((v + 1) / 2) * 255 - Math.round(((v + 1) / 2) * 255)) < 1e-4);
  assert.throws(() => fam.sample(model, 1, new Generator(0), { sampler: 'heun' }), /unknown sampler 'heun' \(ancestral\)/);
  assert.throws(() => fam.create({ ...fam.defaults(data), output: 'gaussian' }, data, new Generator(0)), /config\.output must be 'bernoulli' or 'categorical'/);
  assert.throws(() => fam.create({ ...fam.defaults(data), output: 'categorical' }, { kind: 'images', shape: [3, 4, 4] }, new Generator(0)), /one channel/);
  assert.throws(() => new PixelRNN({ kernel: 2, rng: new Generator(0) }), /odd/);
});

test('memory: training steps in scopes and a full sampling run leave no buffers alive', () => {
  const net = new PixelRNN({ hidden: 4, layers: 2, firstKernel: 3, rng: new Generator(23) });
  const opt = new optim.Adam(net.parameters(), { lr: 1e-3 });
  const x = tensor(Array.from({ length: 2 * 12 }, (_, t) => t % 2), { shape: [2, 1, 3, 4] });
  const step = () => scope(() => {
    opt.zeroGrad();
    net.logProb(x).mean().neg().backward();
    opt.step();
  });
  step(); // creates the gradients and the optimiser state
  const live = memory().buffers;
  step();
  step();
  assert.equal(memory().buffers, live);
  net.sample(3, [3, 4], new Generator(24)).dispose();
  assert.equal(memory().buffers, live);
});

test('learning: binarised 8×8 digits, 100 Adam steps × 32 cut the held-out NLL by over 15 nats, to below 32', async () => {
  setBackend(defaultBackend);
  const d = await loadDigits();
  const bits = binarize(d.images, { mode: 'stochastic', rng: new Generator(20) });
  const all = tensor(bits, { shape: [d.n, 1, 8, 8], dtype: 'float32' });
  const train = all.slice(0, 0, 1400), test = all.slice(0, 1400, 1790);
  const net = new PixelRNN({ hidden: 16, layers: 1, outHidden: 16, firstKernel: 5, rng: new Generator(21) });
  const testNll = () => scope(() => noGrad(() => net.logProb(test).mean().neg().itemSync()));
  const before = testNll();
  const opt = new optim.Adam(net.parameters(), { lr: 1e-2 });
  const rng = new Generator(22);
  for (let step = 0; step < 100; step++) {
    scope(() => {
      const idx = tensor(rng.randint(32, 0, 1400), { dtype: 'int32' });
      opt.zeroGrad();
      net.logProb(train.indexSelect(0, idx)).mean().neg().backward();
      opt.step();
    });
  }
  const after = testNll();
  console.log(`digits: held-out NLL ${before.toFixed(2)} → ${after.toFixed(2)} nats`);
  setBackend('cpu');
  assert.ok(before > 40, `initial NLL ${before}`); // 64·log 2 = 44.4 for p = ½ everywhere
  assert.ok(after < 32 && before - after > 15, `held-out NLL after 100 steps: ${after} nats (from ${before})`);
});
