/**
 * nn layers, Module and init.
 *
 * Golden values: tests/fixtures/nn.json, written by scripts/fixtures/make_nn_fixtures.py with
 * PyTorch. For every layer the fixture holds PyTorch's state_dict keys (in order) and shapes,
 * randomised weights, inputs and the outputs of forward calls in train and/or eval mode, and the
 * state after the calls (BatchNorm's running statistics). Each genlab layer, built with the same
 * configuration, must have the same keys in the same order, load the weights with a strict
 * loadStateDict, and reproduce every output and the final state.
 *
 * Metric, per element: |got − ref| / max(|ref|, 0.1·max|ref|) ≤ 1e-5 (relative error with an
 * absolute floor at a tenth of the tensor's scale); integer outputs must match exactly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { type Tensor, Generator, tensor, randn, zeros, ones, noGrad, nn } from '../src/index.ts';
import { onCpu } from './gradcheck.ts';

const { init } = nn;

// ---------------------------------------------------------------------------------------------
// fixture plumbing
// ---------------------------------------------------------------------------------------------

interface JTensor { dtype: 'float32' | 'int32' | 'bool'; shape: number[]; data: number[] }
interface Call { mode: 'train' | 'eval'; inputs: Record<string, JTensor>; outputs: JTensor[] }
interface Case { name: string; keys: [string, number[]][]; state: Record<string, JTensor>; calls: Call[]; after: Record<string, JTensor> }
interface Nested { keys: [string, number[]][]; parameters: string[]; buffers: string[]; modules: string[] }

const fixture = JSON.parse(readFileSync(new URL('./fixtures/nn.json', import.meta.url), 'utf8')) as { torch: string; cases: Case[]; nested: Nested };

function fromJson(j: JTensor): Tensor {
  const data = j.dtype === 'float32' ? Float32Array.from(j.data) : j.dtype === 'int32' ? Int32Array.from(j.data) : Uint8Array.from(j.data);
  return tensor(data, { shape: j.shape, dtype: j.dtype });
}

const RTOL = 1e-5;

/** Worst error under the metric in the header. */
function worstError(got: ArrayLike<number>, ref: readonly number[]): number {
  let scale = 0;
  for (const r of ref) scale = Math.max(scale, Math.abs(r));
  let worst = 0;
  for (let i = 0; i < ref.length; i++) {
    const r = ref[i]!, g = got[i]!;
    if (r === g) continue;
    worst = Math.max(worst, Math.abs(g - r) / Math.max(Math.abs(r), 0.1 * scale, 1e-30));
  }
  return worst;
}

function assertClose(got: Tensor, ref: JTensor, what: string, errors: number[]): void {
  assert.deepEqual(got.shape, ref.shape, `${what}: shape`);
  const data = got.dataSync();
  if (ref.dtype !== 'float32') {
    assert.deepEqual(Array.from(data), ref.data, `${what}: values`);
    return;
  }
  const err = worstError(data, ref.data);
  errors.push(err);
  assert.ok(err <= RTOL, `${what}: worst relative error ${err.toExponential(2)} > ${RTOL}`);
}

// ---------------------------------------------------------------------------------------------
// the same layers in genlab
// ---------------------------------------------------------------------------------------------

type Call1 = (m: nn.Module, inputs: Record<string, Tensor>) => (Tensor | null)[];
const fwd: Call1 = (m, i) => [(m as nn.TensorModule).forward(i.x!)];
const mha = (m: nn.Module) => m as nn.MultiheadAttention;

const rng = new Generator(1234);
const E = 8, H = 2;
const builders: Record<string, [() => nn.Module, Call1?]> = {
  linear: [() => new nn.Linear(5, 3, { rng })],
  linear_nobias: [() => new nn.Linear(5, 3, { rng, bias: false })],
  conv1d: [() => new nn.Conv1d(3, 4, 3, { rng, stride: 2, padding: 1 })],
  conv1d_circular: [() => new nn.Conv1d(2, 3, 3, { rng, padding: 1, paddingMode: 'circular' })],
  conv2d: [() => new nn.Conv2d(4, 6, 3, { rng, stride: 2, padding: 1, dilation: 2, groups: 2 })],
  conv2d_same_reflect: [() => new nn.Conv2d(2, 3, [4, 3], { rng, padding: 'same', paddingMode: 'reflect' })],
  conv1d_same: [() => new nn.Conv1d(2, 3, 4, { rng, padding: 'same' })],
  conv2d_valid: [() => new nn.Conv2d(2, 2, 2, { rng, padding: 'valid', stride: [1, 2] })],
  conv2d_replicate: [() => new nn.Conv2d(2, 2, 3, { rng, padding: 2, paddingMode: 'replicate', bias: false })],
  conv_transpose1d: [() => new nn.ConvTranspose1d(4, 2, 3, { rng, stride: 2, padding: 1, outputPadding: 1 })],
  conv_transpose2d: [() => new nn.ConvTranspose2d(4, 6, 3, { rng, stride: 2, padding: 1, outputPadding: 1, groups: 2 })],
  conv_transpose2d_dilated: [() => new nn.ConvTranspose2d(2, 3, [2, 3], { rng, stride: [1, 2], dilation: 2, bias: false })],
  embedding: [() => new nn.Embedding(10, 4, { rng, paddingIdx: 0 })],
  layer_norm: [() => new nn.LayerNorm([3, 4])],
  layer_norm_noaffine: [() => new nn.LayerNorm(5, { elementwiseAffine: false })],
  group_norm: [() => new nn.GroupNorm(2, 4)],
  batch_norm1d: [() => new nn.BatchNorm1d(3)],
  batch_norm1d_3d: [() => new nn.BatchNorm1d(3, { momentum: 0.3 })],
  batch_norm2d: [() => new nn.BatchNorm2d(3)],
  batch_norm2d_cma: [() => new nn.BatchNorm2d(2, { momentum: null })],
  batch_norm2d_noaffine: [() => new nn.BatchNorm2d(2, { affine: false })],
  batch_norm2d_notrack: [() => new nn.BatchNorm2d(2, { trackRunningStats: false })],
  relu: [() => new nn.ReLU()],
  leaky_relu: [() => new nn.LeakyReLU({ negativeSlope: 0.2 })],
  elu: [() => new nn.ELU({ alpha: 0.5 })],
  gelu: [() => new nn.GELU()],
  gelu_tanh: [() => new nn.GELU({ approximate: 'tanh' })],
  silu: [() => new nn.SiLU()],
  sigmoid: [() => new nn.Sigmoid()],
  tanh: [() => new nn.Tanh()],
  softplus: [() => new nn.Softplus({ beta: 2, threshold: 3 })],
  softmax: [() => new nn.Softmax({ dim: 0 })],
  log_softmax: [() => new nn.LogSoftmax({ dim: 1 })],
  identity: [() => new nn.Identity()],
  flatten: [() => new nn.Flatten()],
  flatten_0_1: [() => new nn.Flatten({ startDim: 0, endDim: 1 })],
  upsample_nearest: [() => new nn.Upsample({ scaleFactor: 2 })],
  upsample_bilinear: [() => new nn.Upsample({ size: [5, 7], mode: 'bilinear' })],
  upsample_bilinear_ac: [() => new nn.Upsample({ scaleFactor: 2, mode: 'bilinear', alignCorners: true })],
  max_pool2d: [() => new nn.MaxPool2d(3, { stride: 2, padding: 1 })],
  avg_pool2d: [() => new nn.AvgPool2d(2)],
  avg_pool2d_pad: [() => new nn.AvgPool2d(3, { stride: 2, padding: 1 })],
  mha_self_causal_kpm: [
    () => new nn.MultiheadAttention(E, H, { rng, batchFirst: true }),
    (m, i) => mha(m).forward(i.x!, i.x!, i.x!, { attnMask: i.attn_mask ?? null, keyPaddingMask: i.key_padding_mask ?? null }),
  ],
  mha_cross_kvdim: [
    () => new nn.MultiheadAttention(E, H, { rng, kdim: 6, vdim: 5 }),
    (m, i) => mha(m).forward(i.q!, i.k!, i.v!, { attnMask: i.attn_mask!, averageAttnWeights: false }),
  ],
  mha_unbatched_nobias: [
    () => new nn.MultiheadAttention(E, 4, { rng, bias: false }),
    (m, i) => mha(m).forward(i.x!, i.x!, i.x!, { keyPaddingMask: i.key_padding_mask! }),
  ],
  mha_cross_packed: [
    () => new nn.MultiheadAttention(E, H, { rng, batchFirst: true }),
    (m, i) => mha(m).forward(i.q!, i.kv!, i.kv!, { attnMask: i.attn_mask! }),
  ],
  sequential_net: [
    () => new nn.Sequential(
      new nn.Conv2d(2, 4, 3, { rng, padding: 1 }), new nn.BatchNorm2d(4), new nn.ReLU(), new nn.MaxPool2d(2),
      new nn.Flatten(), new nn.Linear(4 * 2 * 2, 3, { rng }),
    ),
  ],
};

const fixtureErrors = new Map<string, number>();

for (const c of fixture.cases) {
  test(`${c.name}: keys, outputs${c.calls.some((k) => k.mode === 'train') ? ' (train and eval)' : ''} match PyTorch`, () => {
    const b = builders[c.name];
    assert.ok(b, `no genlab builder for fixture case '${c.name}'`);
    const m = b[0]();
    const call = b[1] ?? fwd;
    const sd = m.stateDict();
    assert.deepEqual(Object.entries(sd).map(([k, t]) => [k, [...t.shape]]), c.keys, 'state-dict keys, order and shapes');
    const { missingKeys, unexpectedKeys } = m.loadStateDict(Object.fromEntries(Object.entries(c.state).map(([k, v]) => [k, fromJson(v)])));
    assert.deepEqual([missingKeys, unexpectedKeys], [[], []]);
    const errors: number[] = [];
    c.calls.forEach((k, ci) => {
      if (k.mode === 'train') m.train();
      else m.eval();
      const inputs = Object.fromEntries(Object.entries(k.inputs).map(([n, v]) => [n, fromJson(v)]));
      const outs = noGrad(() => call(m, inputs));
      assert.equal(outs.length, k.outputs.length, `call ${ci}: number of outputs`);
      outs.forEach((o, oi) => assertClose(o!, k.outputs[oi]!, `call ${ci} (${k.mode}) output ${oi}`, errors));
    });
    const after = m.stateDict();
    for (const [k, v] of Object.entries(c.after)) assertClose(after[k]!, v, `state '${k}' after the calls`, errors);
    fixtureErrors.set(c.name, Math.max(0, ...errors));
  });
}

test('MultiheadAttention: causal: true equals PyTorch with the explicit triangular mask', () => {
  const c = fixture.cases.find((k) => k.name === 'mha_self_causal_kpm')!;
  const m = new nn.MultiheadAttention(E, H, { rng, batchFirst: true }).eval();
  m.loadStateDict(Object.fromEntries(Object.entries(c.state).map(([k, v]) => [k, fromJson(v)])));
  const call = c.calls[0]!;
  const x = fromJson(call.inputs.x!), kpm = fromJson(call.inputs.key_padding_mask!);
  const [out, w] = m.forward(x, x, x, { causal: true, keyPaddingMask: kpm });
  const errors: number[] = [];
  assertClose(out, call.outputs[0]!, 'output', errors);
  assertClose(w!, call.outputs[1]!, 'weights', errors);
  // needWeights: false returns null weights and the same output
  const [out2, w2] = m.forward(x, x, x, { causal: true, keyPaddingMask: kpm, needWeights: false });
  assert.equal(w2, null);
  assertClose(out2, call.outputs[0]!, 'output without weights', errors);
  // a padded key gets zero weight, and a query never looks ahead
  const wd = w!.dataSync();
  for (let i = 0; i < 5; i++) for (let j = 0; j < 5; j++) {
    if (j > i || j >= 3) assert.equal(wd[i * 5 + j], 0, `batch 0 weight [${i}, ${j}]`);
    if (j > i) assert.equal(wd[25 + i * 5 + j], 0, `batch 1 weight [${i}, ${j}]`);
  }
});

test('fixture summary: worst relative error per case', () => {
  // printed for the report; each case asserted its own bound above
  assert.equal(fixtureErrors.size, fixture.cases.length, 'every fixture case ran');
  const worst = [...fixtureErrors.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8);
  for (const [name, e] of worst) assert.ok(e <= RTOL, `${name}: ${e}`);
  console.log(`nn fixtures (torch ${fixture.torch}): ${fixtureErrors.size} cases; worst: ${worst.map(([n, e]) => `${n} ${e.toExponential(1)}`).join(', ')}`);
});

// ---------------------------------------------------------------------------------------------
// a nested model: keys, parameter / buffer / module names as PyTorch
// ---------------------------------------------------------------------------------------------

class Block extends nn.Module {
  conv1 = new nn.Conv2d(4, 8, 3, { rng, padding: 1 });
  norm = new nn.GroupNorm(2, 8);
  act = new nn.SiLU();
  conv2 = new nn.ConvTranspose2d(8, 4, 4, { rng, stride: 2, padding: 1, bias: false });
  forward(x: Tensor): Tensor {
    return this.conv2.forward(this.act.forward(this.norm.forward(this.conv1.forward(x))));
  }
}

class Net extends nn.Module {
  stem = new nn.Sequential(new nn.Conv2d(3, 4, 3, { rng }), new nn.BatchNorm2d(4), new nn.ReLU());
  blocks = new nn.ModuleList([new Block(), new Block()]);
  heads = new nn.ModuleDict({ mu: new nn.Linear(4, 2, { rng }), logvar: new nn.Linear(4, 2, { rng, bias: false }) });
  attn = new nn.MultiheadAttention(4, 2, { rng });
  emb = new nn.Embedding(5, 4, { rng });
  ln = new nn.LayerNorm(4);
  bn1 = new nn.BatchNorm1d(4, { affine: false });
  forward(x: Tensor): Tensor {
    let h = this.stem.forward(x);
    for (const b of this.blocks) h = b.forward(h);
    return h;
  }
}

test('nested model: state-dict keys and shapes, namedParameters, namedBuffers, namedModules equal PyTorch', () => {
  const net = new Net();
  const n = fixture.nested;
  assert.deepEqual(Object.entries(net.stateDict()).map(([k, t]) => [k, [...t.shape]]), n.keys);
  assert.deepEqual(net.namedParameters().map(([k]) => k), n.parameters);
  assert.deepEqual(net.namedBuffers().map(([k]) => k), n.buffers);
  assert.deepEqual(net.namedModules().map(([k]) => k), n.modules);
  assert.equal(net.parameters().length, n.parameters.length);
  assert.equal(net.numParameters(), n.keys.filter(([k]) => n.parameters.includes(k)).reduce((s, [, sh]) => s + sh.reduce((a, b) => a * b, 1), 0));
  assert.deepEqual(net.forward(randn([1, 3, 6, 6], { rng })).shape, [1, 4, 16, 16]);
});

// ---------------------------------------------------------------------------------------------
// Module behaviour
// ---------------------------------------------------------------------------------------------

test('loadStateDict: strict errors name missing and unexpected keys; non-strict returns them', () => {
  const m = new nn.Sequential(new nn.Linear(3, 2, { rng }), new nn.ReLU(), new nn.Linear(2, 1, { rng }));
  const sd = { '0.weight': ones([2, 3]), '0.bias': zeros([2]), '2.weight': ones([1, 2]), 'extra.weight': ones([1]) };
  assert.throws(() => m.loadStateDict(sd), (e: Error) => e.message.includes('2.bias') && e.message.includes('extra.weight'));
  // nothing was copied by the failed strict load
  assert.notDeepEqual(Array.from(m.at(0).stateDict().weight!.dataSync()), [1, 1, 1, 1, 1, 1]);
  const r = m.loadStateDict(sd, { strict: false });
  assert.deepEqual(r, { missingKeys: ['2.bias'], unexpectedKeys: ['extra.weight'] });
  assert.deepEqual(Array.from(m.at(0).stateDict().weight!.dataSync()), [1, 1, 1, 1, 1, 1]);
  assert.deepEqual(Array.from(m.at(2).stateDict().weight!.dataSync()), [1, 1]);
});

test('loadStateDict: a shape mismatch names the key and both shapes', () => {
  const m = new nn.Sequential(new nn.Linear(3, 2, { rng }));
  assert.throws(() => m.loadStateDict({ '0.weight': ones([3, 2]), '0.bias': zeros([2]) }), /'0\.weight' has shape \[3, 2\] in the state dict but \[2, 3\]/);
});


test('loadStateDict: values are cast to the module dtype (int32 num_batches_tracked, float64 weights)', () => onCpu(() => {
  const bn = new nn.BatchNorm1d(2);
  bn.loadStateDict({ weight: tensor([2, 3], { dtype: 'float64' }), bias: zeros([2]), running_mean: zeros([2]), running_var: ones([2]), num_batches_tracked: tensor(7, { dtype: 'float32' }) });
  assert.equal(bn.num_batches_tracked!.dtype, 'int32');
  assert.equal(bn.num_batches_tracked!.itemSync(), 7);
  assert.equal(bn.weight!.dtype, 'float32');
  assert.deepEqual(Array.from(bn.weight!.dataSync()), [2, 3]);
}));

test('parameters: PyTorch order, and a shared parameter appears once under its first name', () => {
  const a = new nn.Linear(3, 3, { rng }), b = new nn.Linear(3, 3, { rng });
  const tied = new nn.Sequential(a, new nn.ReLU(), a, b);
  assert.deepEqual(tied.namedParameters().map(([k]) => k), ['0.weight', '0.bias', '3.weight', '3.bias']);
  assert.deepEqual(tied.parameters(), [a.weight, a.bias, b.weight, b.bias]);
  // state dicts list a shared module under each name, as PyTorch's
  assert.deepEqual(Object.keys(tied.stateDict()), ['0.weight', '0.bias', '2.weight', '2.bias', '3.weight', '3.bias']);
  // one gradient accumulates both uses
  const x = randn([4, 3], { rng });
  tied.forward(x).sum().backward();
  assert.ok(a.weight.grad && b.weight.grad);
  assert.ok(tied.parameters().every((p) => p.requiresGrad));
});

test('train() / eval() reach every submodule; zeroGrad clears every gradient', () => {
  const net = new Net();
  assert.ok(net.modules().every((m) => m.training));
  net.eval();
  assert.ok(net.modules().every((m) => !m.training));
  net.blocks.at(1).train();
  assert.deepEqual(net.namedModules().filter(([, m]) => m.training).map(([k]) => k), ['blocks.1', 'blocks.1.conv1', 'blocks.1.norm', 'blocks.1.act', 'blocks.1.conv2']);
  net.train();
  assert.ok(net.modules().every((m) => m.training));

  const lin = new nn.Sequential(new nn.Linear(3, 4, { rng }), new nn.Tanh(), new nn.Linear(4, 1, { rng }));
  lin.forward(randn([5, 3], { rng })).sum().backward();
  assert.ok(lin.parameters().every((p) => p.grad !== null));
  lin.zeroGrad();
  assert.ok(lin.parameters().every((p) => p.grad === null));
});

test('containers: Sequential indexing and iteration, ModuleList, ModuleDict keeps insertion order', () => {
  const s = new nn.Sequential(new nn.Linear(2, 3, { rng }), new nn.ReLU());
  assert.equal(s.length, 2);
  assert.ok(s.at(-1) instanceof nn.ReLU && s[0] instanceof nn.Linear);
  s.append(new nn.Linear(3, 1, { rng }));
  assert.deepEqual(Object.keys(s.stateDict()), ['0.weight', '0.bias', '2.weight', '2.bias']);
  assert.deepEqual([...s].length, 3);
  assert.throws(() => s.at(3), /out of range/);
  const l = new nn.ModuleList([new nn.ReLU()]);
  assert.throws(() => l.forward(), /no forward/);
  // [key, module] pairs keep their order even for integer-like keys (a JS object literal would not)
  const d = new nn.ModuleDict<nn.Module>([['z', new nn.Linear(1, 1, { rng })], ['10', new nn.Linear(1, 1, { rng, bias: false })], ['2', new nn.Linear(1, 1, { rng, bias: false })]]);
  assert.deepEqual(Object.keys(d.stateDict()), ['z.weight', 'z.bias', '10.weight', '2.weight']);
  assert.deepEqual([...d.keys()], ['z', '10', '2']);
  d.set('a', new nn.ReLU());
  assert.deepEqual([...d.keys()], ['z', '10', '2', 'a']);
  assert.ok(d.get('a') instanceof nn.ReLU && d.has('10') && d.size === 4);
  assert.throws(() => d.get('nope'), /no module named 'nope'/);
  assert.throws(() => d.set('a.b', new nn.ReLU()), /no '\.'/);
});

// ---------------------------------------------------------------------------------------------
// init
// ---------------------------------------------------------------------------------------------

function stats(t: Tensor): { mean: number; variance: number; min: number; max: number } {
  const d = t.dataSync();
  let s = 0, min = Infinity, max = -Infinity;
  for (const v of d) {
    s += v;
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  const mean = s / d.length;
  let q = 0;
  for (const v of d) q += (v - mean) ** 2;
  return { mean, variance: q / (d.length - 1), min, max };
}

test('init.kaimingUniform: bound = gain·√(3/fanIn); samples fill [−bound, bound] with variance bound²/3', () => {
  const w = init.kaimingUniform([500, 400], { rng: new Generator(7) }); // leaky_relu, a = 0: gain √2
  const bound = Math.SQRT2 * Math.sqrt(3 / 400);
  const s = stats(w);
  assert.ok(s.max <= bound && s.max > bound * 0.999, `max ${s.max} vs bound ${bound}`);
  assert.ok(s.min >= -bound && s.min < -bound * 0.999, `min ${s.min}`);
  assert.ok(Math.abs(s.variance / (bound ** 2 / 3) - 1) < 0.01, `variance ${s.variance} vs ${bound ** 2 / 3}`);
  assert.ok(Math.abs(s.mean) < 0.02 * bound);
  // mode fanOut uses shape[0]; a = √5 gives PyTorch's Linear bound 1/√fanIn
  assert.ok(stats(init.kaimingUniform([300, 20], { rng: new Generator(1), mode: 'fanOut', nonlinearity: 'relu' })).max <= Math.SQRT2 * Math.sqrt(3 / 300));
  const lin = stats(init.kaimingUniform([300, 100], { rng: new Generator(2), a: Math.sqrt(5) }));
  assert.ok(lin.max <= 0.1 && lin.max > 0.0995 && Math.abs(lin.variance / (0.01 / 3) - 1) < 0.02, JSON.stringify(lin));
});

test('init: kaimingNormal, xavierUniform, xavierNormal, normal, uniform, truncNormal statistics', () => {
  const g = new Generator(11);
  const kn = stats(init.kaimingNormal([400, 50, 3, 3], { rng: g, nonlinearity: 'relu' }));
  assert.ok(Math.abs(kn.variance / (2 / 450) - 1) < 0.01, `kaimingNormal variance ${kn.variance}`);
  const xa = 1 * Math.sqrt(6 / (300 + 200));
  const xu = stats(init.xavierUniform([300, 200], { rng: g }));
  assert.ok(xu.max <= xa && xu.max > 0.999 * xa && Math.abs(xu.variance / (xa ** 2 / 3) - 1) < 0.02);
  const xn = stats(init.xavierNormal([300, 200], { rng: g, gain: init.calculateGain('tanh') }));
  assert.ok(Math.abs(xn.variance / ((5 / 3) ** 2 * 2 / 500) - 1) < 0.02, `xavierNormal variance ${xn.variance}`);
  const nm = stats(init.normal([200000], { rng: g, mean: 3, std: 0.5 }));
  assert.ok(Math.abs(nm.mean - 3) < 0.005 && Math.abs(nm.variance - 0.25) < 0.005);
  const un = stats(init.uniform([200000], { rng: g, low: -2, high: 4 }));
  assert.ok(un.min >= -2 && un.max < 4 && Math.abs(un.mean - 1) < 0.02 && Math.abs(un.variance - 3) < 0.03);
  const tn = stats(init.truncNormal([100000], { rng: g, std: 1, a: -1, b: 1 }));
  // N(0, 1) truncated to [−1, 1]: variance 1 − 2φ(1)/(2Φ(1) − 1) = 0.29112
  assert.ok(tn.min >= -1 && tn.max <= 1 && Math.abs(tn.variance - 0.29112) < 0.005, `truncNormal variance ${tn.variance}`);
});

test('init: calculateGain and fanInAndFanOut as PyTorch', () => {
  assert.equal(init.calculateGain('linear'), 1);
  assert.equal(init.calculateGain('conv_transpose2d'), 1);
  assert.equal(init.calculateGain('sigmoid'), 1);
  assert.equal(init.calculateGain('tanh'), 5 / 3);
  assert.equal(init.calculateGain('relu'), Math.SQRT2);
  assert.equal(init.calculateGain('selu'), 0.75);
  assert.ok(Math.abs(init.calculateGain('leaky_relu') - Math.sqrt(2 / 1.0001)) < 1e-15);
  assert.ok(Math.abs(init.calculateGain('leaky_relu', Math.sqrt(5)) - Math.sqrt(1 / 3)) < 1e-15);
  assert.deepEqual(init.fanInAndFanOut([16, 8, 3, 5]), { fanIn: 120, fanOut: 240 });
  assert.deepEqual(init.fanInAndFanOut(zeros([7, 3])), { fanIn: 3, fanOut: 7 });
  assert.throws(() => init.fanInAndFanOut([5]), /fewer than 2 dimensions/);
});

test('init: in place fill of a parameter keeps the tensor; same seed gives the same values', () => {
  const lin = new nn.Linear(4, 3, { rng });
  const w = lin.weight;
  const r = init.constant(w, 0.25);
  assert.equal(r, w);
  assert.equal(lin.weight, w);
  assert.ok(w.requiresGrad && w.isLeaf);
  assert.deepEqual(Array.from(w.dataSync()), new Array(12).fill(0.25));
  init.xavierNormal(w, { rng: new Generator(5) });
  assert.deepEqual(Array.from(w.dataSync()), Array.from(init.xavierNormal([3, 4], { rng: new Generator(5) }).dataSync()));
  onCpu(() => {
    assert.deepEqual(Array.from(init.ones([2], { dtype: 'float64' }).dataSync()), [1, 1]);
    assert.equal(init.zeros([2, 2], { dtype: 'float64' }).dtype, 'float64');
  });
});

test('init.orthogonal: WᵀW = gain²·I for tall, WWᵀ = gain²·I for wide', () => {
  for (const [shape, gain] of [[[6, 4], 1], [[3, 2, 2, 2], 2]] as const) {
    const w = init.orthogonal(shape, { rng: new Generator(3), gain }).reshape([shape[0], -1]);
    const tall = w.shape[0]! >= w.shape[1]!;
    const gram = (tall ? w.mT.matmul(w) : w.matmul(w.mT)).dataSync();
    const n = Math.min(...w.shape);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      assert.ok(Math.abs(gram[i * n + j]! - (i === j ? gain * gain : 0)) < 1e-5, `gram[${i}, ${j}] = ${gram[i * n + j]}`);
    }
  }
});

// ---------------------------------------------------------------------------------------------
// default initialisation of the layers, in distribution as PyTorch's
// ---------------------------------------------------------------------------------------------

test('default init: Linear/Conv weights and biases within U(±1/√fanIn), variance bound²/3', () => {
  const lin = new nn.Linear(256, 512, { rng: new Generator(21) });
  const b = 1 / 16;
  const ws = stats(lin.weight), bs = stats(lin.bias!);
  assert.ok(ws.max <= b && ws.max > 0.999 * b && ws.min >= -b && Math.abs(ws.variance / (b * b / 3) - 1) < 0.02, JSON.stringify(ws));
  assert.ok(bs.max <= b && bs.min >= -b && bs.max > 0.9 * b, JSON.stringify(bs));
  // ConvTranspose: PyTorch's fan-in is weight.shape[1]·k·k = (out/groups)·k·k
  const ct = new nn.ConvTranspose2d(8, 32, 4, { rng: new Generator(22), groups: 2 });
  const cb = 1 / Math.sqrt(16 * 16);
  const cs = stats(ct.weight), cbs = stats(ct.bias!);
  assert.deepEqual(ct.weight.shape, [8, 16, 4, 4]);
  assert.ok(cs.max <= cb && cs.max > 0.99 * cb && cbs.max <= cb && cbs.min >= -cb, JSON.stringify([cs, cbs]));
  const conv = new nn.Conv1d(6, 9, 5, { rng: new Generator(23), groups: 3 });
  assert.deepEqual(conv.weight.shape, [9, 2, 5]);
  assert.ok(stats(conv.weight).max <= 1 / Math.sqrt(10) && stats(conv.weight).max > 0.9 / Math.sqrt(10));
});

test('default init: Embedding N(0, 1) with a zero padding row; norms ones/zeros; MHA xavier and zero biases', () => {
  const e = new nn.Embedding(1000, 64, { rng: new Generator(31), paddingIdx: -1 });
  assert.equal(e.paddingIdx, 999);
  const es = stats(e.weight.slice(0, 0, 999));
  assert.ok(Math.abs(es.mean) < 0.01 && Math.abs(es.variance - 1) < 0.02, JSON.stringify(es));
  assert.deepEqual(Array.from(e.weight.slice(0, 999).dataSync()), new Array(64).fill(0));
  const bn = new nn.BatchNorm2d(3);
  assert.deepEqual([bn.weight, bn.bias, bn.running_mean, bn.running_var].map((t) => Array.from(t!.dataSync())), [[1, 1, 1], [0, 0, 0], [0, 0, 0], [1, 1, 1]]);
  assert.equal(bn.num_batches_tracked!.itemSync(), 0);
  const ln = new nn.LayerNorm([2, 2]);
  assert.deepEqual([Array.from(ln.weight!.dataSync()), Array.from(ln.bias!.dataSync())], [[1, 1, 1, 1], [0, 0, 0, 0]]);
  const a = new nn.MultiheadAttention(64, 4, { rng: new Generator(32) });
  const bound = Math.sqrt(6 / (64 + 192));
  const ws = stats(a.in_proj_weight!);
  assert.ok(ws.max <= bound && ws.max > 0.99 * bound && Math.abs(ws.variance / (bound ** 2 / 3) - 1) < 0.03, JSON.stringify(ws));
  assert.deepEqual([stats(a.in_proj_bias!).max, stats(a.out_proj.bias!).max, stats(a.in_proj_bias!).min], [0, 0, 0]);
  assert.ok(stats(a.out_proj.weight).max <= 1 / 8 && stats(a.out_proj.weight).max > 0.99 / 8);
});

// ---------------------------------------------------------------------------------------------
// Dropout, Embedding gradient, BatchNorm counters
// ---------------------------------------------------------------------------------------------

test('Dropout: in training zeroes about p and scales the rest by 1/(1 − p); identity in eval', () => {
  const p = 0.3;
  const x = randn([100, 100], { rng: new Generator(41) });
  const d = new nn.Dropout(p, { rng: new Generator(42) });
  const y = d.forward(x);
  const xv = x.dataSync(), yv = y.dataSync();
  let zeros = 0;
  for (let i = 0; i < xv.length; i++) {
    if (yv[i] === 0) zeros++;
    else assert.ok(Math.abs(yv[i]! - xv[i]! / (1 - p)) <= 1e-6 * Math.abs(xv[i]! / (1 - p)), `element ${i}`);
  }
  // binomial(10⁴, 0.3): sd ≈ 46
  assert.ok(Math.abs(zeros - 3000) < 200, `zeroed ${zeros} of 10000`);
  d.eval();
  assert.equal(d.forward(x), x);
  // the Generator given to forward wins, and the same seed gives the same mask
  const d2 = new nn.Dropout(0.5);
  assert.throws(() => d2.forward(x), /Generator/);
  const a = d2.forward(x, { rng: new Generator(9) }).dataSync(), b = d2.forward(x, { rng: new Generator(9) }).dataSync();
  assert.deepEqual(Array.from(a), Array.from(b));
  assert.ok(Array.from(new nn.Dropout(1, { rng }).forward(x).dataSync()).every((v) => v === 0));
});

test('Embedding: any index shape; the padding row gets no gradient, others accumulate', () => {
  const e = new nn.Embedding(6, 3, { rng, paddingIdx: 2 });
  const idx = tensor([[[2, 0]], [[0, 5]]], { dtype: 'int32' });
  const y = e.forward(idx);
  assert.deepEqual(y.shape, [2, 1, 2, 3]);
  assert.deepEqual(Array.from(y.dataSync().slice(0, 3)), [0, 0, 0]);
  y.sum().backward();
  const g = Array.from(e.weight.grad!.dataSync());
  assert.deepEqual(g, [2, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1]);
  assert.throws(() => e.forward(tensor([0.0, 1.0])), /int32/);
});

test('BatchNorm: num_batches_tracked counts training batches only; eval leaves the statistics alone', () => {
  const bn = new nn.BatchNorm1d(2);
  const x = randn([8, 2], { rng });
  bn.forward(x);
  bn.forward(x);
  assert.equal(bn.num_batches_tracked!.itemSync(), 2);
  const rm = Array.from(bn.running_mean!.dataSync());
  bn.eval().forward(x);
  assert.equal(bn.num_batches_tracked!.itemSync(), 2);
  assert.deepEqual(Array.from(bn.running_mean!.dataSync()), rm);
  // gradients reach weight and bias through the batch statistics
  bn.train();
  const xg = randn([8, 2], { rng, requiresGrad: true });
  bn.forward(xg).mul(randn([8, 2], { rng })).sum().backward();
  assert.ok(bn.weight!.grad && bn.bias!.grad && xg.grad);
  assert.throws(() => bn.forward(randn([1, 2], { rng })), /more than one value per channel/);
});

test('MultiheadAttention: gradients reach every parameter; bad shapes are reported', () => {
  const a = new nn.MultiheadAttention(E, H, { rng, kdim: 3, vdim: 5, batchFirst: true });
  assert.deepEqual(Object.keys(a.stateDict()), ['q_proj_weight', 'k_proj_weight', 'v_proj_weight', 'in_proj_bias', 'out_proj.weight', 'out_proj.bias']);
  const [out] = a.forward(randn([2, 4, E], { rng }), randn([2, 6, 3], { rng }), randn([2, 6, 5], { rng }), { causal: true });
  out.square().sum().backward();
  for (const [k, p] of a.namedParameters()) assert.ok(p.grad && stats(p.grad).max !== 0, `no gradient for ${k}`);
  assert.throws(() => a.forward(randn([2, 4, E], { rng }), randn([2, 6, 4], { rng }), randn([2, 6, 5], { rng })), /key \[2, 6, 4\]/);
  assert.throws(() => a.forward(randn([2, 4, E], { rng }), randn([2, 6, 3], { rng }), randn([2, 6, 5], { rng }), { keyPaddingMask: zeros([2, 4], { dtype: 'bool' }) }), /keyPaddingMask must be \[2, 6\]/);
});

test('Conv: unbatched input equals the batched result; MHA dropout is seeded and only in training', () => {
  const conv = new nn.Conv2d(3, 4, 3, { rng, padding: 1, paddingMode: 'circular' });
  const x = randn([3, 5, 6], { rng });
  assert.deepEqual(Array.from(conv.forward(x).dataSync()), Array.from(conv.forward(x.unsqueeze(0)).dataSync()));
  assert.throws(() => new nn.Conv2d(3, 4, 3, { rng, padding: 'same', stride: 2 }), /'same' needs stride 1/);

  const a = new nn.MultiheadAttention(E, H, { rng: new Generator(5), dropout: 0.5, batchFirst: true });
  const q = randn([1, 4, E], { rng });
  const run = (seed: number) => Array.from(a.forward(q, q, q, { rng: new Generator(seed), averageAttnWeights: false })[1]!.dataSync());
  assert.deepEqual(run(1), run(1));
  assert.notDeepEqual(run(1), run(2));
  // weights after dropout: each entry is 0 or 2× the eval weight
  const w1 = run(1);
  a.eval();
  const w0 = run(1);
  assert.ok(w1.every((v, i) => v === 0 || Math.abs(v - 2 * w0[i]!) < 1e-6), 'dropped-out weights are 0 or scaled by 1/(1 − p)');
  assert.ok(Math.abs(w0.slice(0, 4).reduce((s, v) => s + v, 0) - 1) < 1e-6, 'eval weights sum to 1');
});
