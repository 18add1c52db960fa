/**
 * WaveNet (src/models/wavenet/): μ-law round-trip properties, causality by autograd, exact
 * normalisation of the autoregressive likelihood, fast (queued) generation drawing exactly the
 * naive generator's samples, the sampler's temperature, the registry family, and a small
 * learning run on sines that must beat the marginal-histogram baseline.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Generator, tensor, randn, noGrad, scope, memory, optim } from '../src/index.ts';
import {
  muLawCompress, muLawExpand, muLawEncode, muLawDecode, muLawBinEdges, muLawEncodeTensor, muLawDecodeTensor,
  WaveNet, type WaveNetConfig, waveNetLoss, fastGenerate, naiveGenerate, drawLevels,
} from '../src/models/wavenet/index.ts';
import { families, familyByName } from '../src/models/index.ts';
import type { DataSpec } from '../src/models/registry.ts';

const small = (over: Partial<WaveNetConfig> = {}): WaveNetConfig => ({
  quantization: 256, stacks: 2, layersPerStack: 3, residualChannels: 8, gateChannels: 8, skipChannels: 16, ...over,
});

// ----- μ-law ------------------------------------------------------------------------------------

test('μ-law: the paper’s formula, odd symmetry, endpoints, and compress ∘ expand = identity', () => {
  assert.equal(muLawCompress(0), 0);
  assert.equal(muLawCompress(1), 1);
  assert.equal(muLawCompress(-1), -1);
  // f(0.5) = ln(1 + 127.5)/ln 256
  assert.ok(Math.abs(muLawCompress(0.5) - Math.log(128.5) / Math.log(256)) < 1e-15);
  const rng = new Generator(1);
  for (const x of rng.uniform(2000, -1, 1)) {
    assert.ok(Math.abs(muLawCompress(-x) + muLawCompress(x)) < 1e-15);
    assert.ok(Math.abs(muLawExpand(muLawCompress(x)) - x) < 1e-12, `expand(compress(${x}))`);
  }
  // clipping outside [−1, 1]
  assert.equal(muLawCompress(3), 1);
  assert.equal(muLawEncode([3, -3, 0])[0], 255);
  assert.deepEqual([...muLawEncode([1, -1, 0])], [255, 0, 128]);
});

test('μ-law: encode(decode(q)) = q for every level; decode(encode(x)) stays within half a level', () => {
  const q = Int32Array.from({ length: 256 }, (_, i) => i);
  assert.deepEqual([...muLawEncode(muLawDecode(q))], [...q]);
  const dec = muLawDecode(q);
  for (let i = 1; i < 256; i++) assert.ok(dec[i]! > dec[i - 1]!, 'levels increase');
  const x = new Generator(2).uniform(5000, -1, 1);
  const back = muLawDecode(muLawEncode(x));
  for (let i = 0; i < x.length; i++) {
    // in the compressed domain a level is 2/μ wide: the centre is at most 1/μ away (+ float32 rounding)
    assert.ok(Math.abs(muLawCompress(back[i]!) - muLawCompress(x[i]!)) <= 1 / 255 + 1e-6);
  }
  // small amplitudes keep fine resolution: the step around 0 is ~ (256^(1/255) − 1)/255·2 ≈ 1.7e-4 wide
  const s = muLawDecode([128, 129]);
  assert.ok(s[1]! - s[0]! < 2e-4 && s[1]! - s[0]! > 1e-4);
  assert.throws(() => muLawDecode([256]), /expected an integer in \[0, 255\]/);
  assert.throws(() => muLawEncode([0], 0), /mu must be a positive integer/);
});

test('μ-law: bin edges bracket each level; the tensor versions agree with the typed-array ones', () => {
  const edges = muLawBinEdges();
  assert.equal(edges.length, 257);
  for (let qq = 1; qq < 256; qq++) {
    assert.equal(muLawEncode([edges[qq]! + 1e-9])[0], qq);
    assert.equal(muLawEncode([edges[qq]! - 1e-9])[0], qq - 1);
  }
  const x = new Generator(3).uniform(4000, -1.2, 1.2);
  const ref = muLawEncode(x);
  const got = muLawEncodeTensor(tensor(Float32Array.from(x))).dataSync();
  let mismatches = 0;
  for (let i = 0; i < x.length; i++) if (got[i] !== ref[i]) mismatches++;
  assert.ok(mismatches <= 2, `${mismatches} of 4000 levels differ`); // float32 vs float64 exactly at a bin edge
  const lv = Int32Array.from({ length: 256 }, (_, i) => i);
  const d1 = muLawDecode(lv), d2 = muLawDecodeTensor(tensor(lv)).dataSync();
  for (let i = 0; i < 256; i++) assert.ok(Math.abs(d1[i]! - d2[i]!) < 1e-6);
});

// ----- the network --------------------------------------------------------------------------------

test('WaveNet: dilations, receptive field, config errors, and logits(levels) = forward(oneHot)', () => {
  const net = new WaveNet(small(), { rng: new Generator(0) });
  assert.deepEqual(net.dilations, [1, 2, 4, 1, 2, 4]);
  assert.equal(net.receptiveField, 1 + 2 * 7);
  assert.ok(net.stateDict()['layers.3.dilated.conv.weight']);
  assert.throws(() => new WaveNet(small({ stacks: 0 }), { rng: new Generator(0) }), /config\.stacks must be an integer ≥ 1/);
  assert.throws(() => new WaveNet(small({ residualChannels: 2.5 }), { rng: new Generator(0) }), /config\.residualChannels/);
  const levels = tensor(new Generator(1).randint(2 * 40, 0, 256), { shape: [2, 40] });
  const a = net.logits(levels).dataSync(), b = net.forwardOneHot(levels).dataSync();
  let err = 0;
  for (let i = 0; i < a.length; i++) err = Math.max(err, Math.abs(a[i]! - b[i]!));
  assert.ok(err < 1e-5, `max |Δ| = ${err}`);
});

test('WaveNet is causal: ∂ output t / ∂ input s is zero for s ≥ t and outside the receptive field, nonzero inside it', () => {
  const Q = 16;
  const net = new WaveNet(small({ quantization: Q }), { rng: new Generator(4) });
  const T = 48, rf = net.receptiveField; // 15
  const rng = new Generator(5);
  for (const t of [0, 7, 20, 47]) {
    const x = randn([1, Q, T], { rng }).requiresGrad_();
    const w = randn([Q], { rng });
    net.forward(x).slice(2, t, t + 1).reshape([Q]).mul(w).sum().backward();
    const g = x.grad!.dataSync(); // [1, Q, T]
    for (let s = 0; s < T; s++) {
      let mag = 0;
      for (let c = 0; c < Q; c++) mag += Math.abs(g[c * T + s]!);
      const inside = s < t && s >= t - rf;
      if (inside) assert.ok(mag > 1e-7, `output ${t} should depend on input ${s} (|grad| = ${mag})`);
      else assert.equal(mag, 0, `output ${t} must not depend on input ${s}`);
    }
    x.dispose();
  }
});

test('the autoregressive likelihood is normalised: Σ over all sequences of p(x) = 1 (Q = 3, T = 4)', () => {
  const Q = 3, T = 4;
  const net = new WaveNet(small({ quantization: Q, stacks: 1, layersPerStack: 2 }), { rng: new Generator(6) });
  const all = new Int32Array(Q ** T * T);
  for (let i = 0; i < Q ** T; i++) for (let t = 0, r = i; t < T; t++, r = Math.floor(r / Q)) all[i * T + t] = r % Q;
  const total = noGrad(() => net.logProbs(tensor(all, { shape: [Q ** T, T] })).sum(1).exp().sum().itemSync());
  assert.ok(Math.abs(total - 1) < 1e-5, `Σ p = ${total}`);
  // and the training loss is the mean of −log p per sample
  const lv = tensor(all.subarray(0, 5 * T), { shape: [5, T] });
  const loss = waveNetLoss(net, lv).itemSync();
  const ref = -net.logProbs(lv).mean().itemSync();
  assert.ok(Math.abs(loss - ref) < 1e-6);
});

// ----- generation -------------------------------------------------------------------------------

test('fast generation (Paine et al. queues) draws exactly the naive generator’s samples from the same seed', () => {
  const net = new WaveNet(small(), { rng: new Generator(7) });
  const T = 3 * net.receptiveField + 10; // 55: well past the receptive field, every queue wraps
  for (const temperature of [1, 0.7]) {
    const fast = fastGenerate(net, 3, T, new Generator(8), { temperature }).dataSync();
    const naive = naiveGenerate(net, 3, T, new Generator(8), { temperature }).dataSync();
    assert.deepEqual([...fast], [...naive]);
    assert.ok(new Set(fast).size > 5, 'the samples vary');
  }
  // and it leaves no buffers behind
  const before = memory().buffers;
  fastGenerate(net, 1, 20, new Generator(9)).dispose(); // n = 1: no broadcast views in the queues
  assert.equal(memory().buffers, before);
});

test('drawLevels: frequencies follow softmax(logits / temperature); temperature 0 is argmax', () => {
  const logits = [0.5, 2, -1, 1];
  for (const tau of [1, 0.5, 2]) {
    const n = 20000;
    const rows = new Float32Array(n * 4);
    for (let i = 0; i < n; i++) rows.set(logits, 4 * i);
    const lv = drawLevels(rows, n, 4, tau, new Generator(10));
    const z = logits.map((l) => Math.exp(l / tau)), Z = z.reduce((a, b) => a + b, 0);
    for (let k = 0; k < 4; k++) {
      const p = z[k]! / Z, f = lv.filter((v) => v === k).length / n;
      assert.ok(Math.abs(f - p) < 4 * Math.sqrt((p * (1 - p)) / n) + 1e-3, `τ=${tau} level ${k}: ${f} vs ${p}`);
    }
  }
  assert.deepEqual([...drawLevels([0, 3, 1, 5, 0, 0], 2, 3, 0, new Generator(0))], [1, 0]);
});

// ----- the registry family ----------------------------------------------------------------------------

test('wavenet family: registered; loss, exact log-likelihood and samples agree with the network', () => {
  assert.equal(families.wavenet, familyByName('wavenet'));
  const fam = familyByName('wavenet');
  const data: DataSpec = { kind: 'audio', shape: [64] };
  assert.throws(() => fam.defaults({ kind: 'images', shape: [1, 8, 8] }), /kind 'audio' with shape \[T\]/);
  const config = { ...fam.defaults(data), layersPerStack: 3, residualChannels: 8, gateChannels: 8, skipChannels: 8 };
  assert.throws(() => fam.create({ ...config, mu: 0 }, data, new Generator(0)), /config\.mu/);
  const model = fam.create(config, data, new Generator(11));
  const t = Array.from({ length: 64 }, (_, i) => i);
  const x = tensor([t.map((i) => 0.5 * Math.sin(i / 3)), t.map((i) => 0.2 * Math.sin(i / 5 + 1))]);
  const loss = fam.loss(model, { x }, new Generator(0)).itemSync();
  const { logLik, bound } = fam.logLikelihood!(model, { x }, new Generator(0));
  assert.equal(bound, false);
  const ll = logLik.dataSync();
  assert.ok(Math.abs(loss - -(ll[0]! + ll[1]!) / (2 * 64)) < 1e-4, 'loss = mean NLL per sample');
  assert.ok(Math.abs(loss - Math.log(256)) < 0.5, `an untrained net is near uniform: ${loss}`);
  const s = fam.sample(model, 2, new Generator(12), { temperature: 0.9 });
  assert.deepEqual(s.shape, [2, 64]);
  const v = s.dataSync();
  assert.ok(v.every((y) => y >= -1 && y <= 1));
  const naive = fam.sample(model, 2, new Generator(12), { temperature: 0.9, sampler: 'naive' }).dataSync();
  assert.deepEqual([...v], [...naive]);
  assert.throws(() => fam.sample(model, 1, new Generator(0), { sampler: 'heun' }), /unknown sampler 'heun'/);
});

// ----- learning ----------------------------------------------------------------------------------

/** Sines of random frequency (0.02–0.08 cycles/sample), amplitude and phase. */
function sines(n: number, T: number, rng: Generator): Float32Array {
  const out = new Float32Array(n * T);
  const f = rng.uniform(n, 0.02, 0.08), a = rng.uniform(n, 0.3, 0.9), ph = rng.uniform(n, 0, 2 * Math.PI);
  for (let i = 0; i < n; i++) for (let t = 0; t < T; t++) out[i * T + t] = a[i]! * Math.sin(2 * Math.PI * f[i]! * t + ph[i]!);
  return out;
}

test('a small WaveNet learns sines: held-out NLL below the marginal μ-law histogram’s cross-entropy', () => {
  const rng = new Generator(13);
  const T = 128;
  const trainX = sines(256, T, rng), testX = sines(32, T, rng);
  // baseline: the training histogram of levels (add-one smoothed), scored on the test set
  const counts = new Float64Array(256).fill(1);
  for (const q of muLawEncode(trainX)) counts[q]!++;
  const total = counts.reduce((a, b) => a + b, 0);
  let histNll = 0;
  const testQ = muLawEncode(testX);
  for (const q of testQ) histNll -= Math.log(counts[q]! / total);
  histNll /= testQ.length;

  const net = new WaveNet(small({ stacks: 1, layersPerStack: 4, residualChannels: 16, gateChannels: 16, skipChannels: 32 }), { rng: new Generator(14) });
  const opt = new optim.Adam(net.parameters(), { lr: 1e-2 });
  const trainQ = muLawEncode(trainX);
  const pick = new Generator(15);
  for (let step = 0; step < 120; step++) {
    scope(() => {
      const idx = pick.randint(8, 0, 256);
      const batch = new Int32Array(8 * T);
      idx.forEach((k, i) => batch.set(trainQ.subarray(k * T, (k + 1) * T), i * T));
      opt.zeroGrad();
      waveNetLoss(net, tensor(batch, { shape: [8, T] })).backward();
      opt.step();
    });
  }
  const nll = noGrad(() => -net.logProbs(tensor(testQ, { shape: [32, T] })).mean().itemSync());
  assert.ok(nll < histNll - 1, `WaveNet ${nll.toFixed(3)} nats/sample vs histogram ${histNll.toFixed(3)}`);
});
