/**
 * The diffusion networks (src/models/diffusion/nets/): the U-Net and the MLP against their PyTorch
 * twins (scripts/fixtures/unet_torch.py) in both directions, shapes over several configs, gradients
 * to every parameter (and a finite-difference check), class conditioning with the null class, the
 * embeddings' closed forms and determinism, and createNet's configs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type Tensor, Generator, noGrad, randn, tensor, io, setBackend, getBackend, backendNames, memory, scope } from '../src/index.ts';
import {
  createNet, MlpNet, UNet, positionalEmbedding, resolveUNetOptions, resolveMlpOptions,
  type NetConfig, type UNetConfig, type MlpConfig,
} from '../src/models/diffusion/nets/index.ts';
import type { DataSpec } from '../src/models/registry.ts';
import { precondition, edm } from '../src/models/diffusion/precond.ts';
import { buildNet, randomizeParameters, fixtureInputs, type NetFixture } from '../scripts/fixtures/make_genlab_unet.ts';

// The reference backend (float64 for the finite differences); the parity tests also run on the others.
setBackend('cpu');

const FIX = new URL('./fixtures/unet/', import.meta.url);
const readFixture = (name: string): NetFixture & { keys?: string[] } => JSON.parse(readFileSync(new URL(`${name}.json`, FIX), 'utf8')) as NetFixture & { keys?: string[] };
const readWeights = (name: string): Record<string, Tensor> => io.stateDictFromBytes(readFileSync(new URL(`${name}.safetensors`, FIX)));

/** max |a − b| / max |b|. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'length');
  let d = 0, m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    m = Math.max(m, Math.abs(b[i]!));
  }
  return d / m;
}

function runFixture(net: UNet | MlpNet, f: NetFixture): Float32Array {
  net.eval();
  const { x, cNoise, classes } = fixtureInputs(f);
  return noGrad(() => net.forward(x, cNoise, { classes })).dataSync() as Float32Array;
}

const tiny = (over: Partial<UNetConfig> = {}): Partial<UNetConfig> => ({ channels: 4, channelMult: [1, 2], numResBlocks: 1, numHeads: 2, dropout: 0, ...over });

// ---------------------------------------------------------------------------------------------
// PyTorch parity
// ---------------------------------------------------------------------------------------------

/** Run `fn` with `name` as the current backend. */
function onBackend<T>(name: string, fn: () => T): T {
  const prev = getBackend().name;
  setBackend(name);
  try {
    return fn();
  } finally {
    setBackend(prev);
  }
}

for (const [name, backend] of ['unet_cond', 'unet_odd', 'mlp_cond'].flatMap((n) => backendNames().filter((b) => b === 'cpu' || b === 'wasm').map((b) => [n, b] as const))) {
  test(`PyTorch → genlab (${backend}): ${name} loads strictly and matches the twin's output to 1e-4`, () => onBackend(backend, () => {
    const f = readFixture(`torch_${name}`);
    const net = buildNet(f, new Generator(0));
    assert.deepEqual(Object.keys(net.stateDict()).sort(), [...f.keys!].sort(), 'state-dict keys are the twin\'s');
    const { missingKeys, unexpectedKeys } = net.loadStateDict(readWeights(`torch_${name}`), { strict: true });
    assert.deepEqual([missingKeys, unexpectedKeys], [[], []]);
    const y = runFixture(net, f);
    assert.deepEqual([...f.output.shape], name === 'mlp_cond' ? [4, 3] : f.input.shape.map((d, i) => (i === 1 ? (f.config as UNetConfig).outChannels : d)));
    const err = relErr(y, f.output.data);
    assert.ok(err < 1e-4, `relative error ${err.toExponential(3)}`);
  }));
}

test('genlab → PyTorch fixture: genlab still reproduces the output recorded with the weights it wrote', () => {
  // The PyTorch side of this direction: /usr/bin/python3 scripts/fixtures/unet_torch.py --check
  //   tests/fixtures/unet/genlab_unet_cond.safetensors tests/fixtures/unet/genlab_unet_cond.json
  const f = readFixture('genlab_unet_cond');
  const net = buildNet(f, new Generator(1));
  net.loadStateDict(readWeights('genlab_unet_cond'));
  const err = relErr(runFixture(net, f), f.output.data);
  assert.ok(err < 1e-6, `relative error ${err}`);
});

test('the default configs resolve as the twin builds them and have its parameter counts', () => {
  const defaults = JSON.parse(readFileSync(new URL('defaults.json', FIX), 'utf8')) as Record<string, { kind: string; config: UNetConfig | MlpConfig; num_parameters: number; num_tensors: number }>;
  const data: Record<string, DataSpec> = {
    unet_fashion_mnist: { kind: 'images', shape: [1, 28, 28], numClasses: 10 },
    unet_digits: { kind: 'images', shape: [1, 8, 8] },
    mlp_2d: { kind: 'points', shape: [2] },
  };
  for (const [name, d] of Object.entries(defaults)) {
    const spec = data[name]!;
    const resolved = d.kind === 'unet'
      ? resolveUNetOptions({ inChannels: spec.shape[0]!, resolution: spec.shape[1]!, numClasses: spec.numClasses ?? 0 })
      : resolveMlpOptions({ dataDim: spec.shape[0]!, numClasses: spec.numClasses ?? 0 });
    assert.deepEqual(resolved, d.config, name);
  }
  // building the big ones takes a moment; the small U-Net and the MLP are enough for the counts
  for (const name of ['unet_digits', 'mlp_2d']) {
    const net = createNet({ kind: defaults[name]!.kind } as NetConfig, data[name]!, new Generator(0));
    assert.equal(net.numParameters(), defaults[name]!.num_parameters, name);
    assert.equal(Object.keys(net.stateDict()).length, defaults[name]!.num_tensors, name);
    net.dispose();
  }
});

// ---------------------------------------------------------------------------------------------
// Shapes
// ---------------------------------------------------------------------------------------------

test('U-Net shapes: 28×28 with channelMult [1, 2, 2], 8×8, odd channel counts, 2× output, scalar c_noise', () => {
  const rng = new Generator(0);
  const cases: [Partial<UNetConfig>, number[], number][] = [
    [tiny({ channelMult: [1, 2, 2], attnResolutions: [14] }), [2, 1, 28, 28], 1],
    [tiny({ numResBlocks: 2 }), [3, 3, 8, 8], 3],
    [tiny({ channels: 9, numGroups: 3, numHeads: 3, channelMult: [1, 2], attnResolutions: [8, 4] }), [2, 1, 8, 8], 1],
    [tiny({ channels: 5, numGroups: 5, numHeads: 1, channelMult: [1, 1, 3], attnResolutions: [] , midAttention: false}), [1, 2, 9, 11], 2],
    [tiny({ outChannels: 6 }), [2, 3, 8, 8], 6],
  ];
  for (const [cfg, shape, outCh] of cases) {
    const net = createNet({ kind: 'unet', ...cfg }, { kind: 'images', shape: shape.slice(1) }, rng);
    const y = noGrad(() => net.forward(randn(shape, { rng }), randn([shape[0]!], { rng })));
    assert.deepEqual(y.shape, [shape[0], outCh, shape[2], shape[3]], JSON.stringify(cfg));
  }
  const net = createNet({ kind: 'unet', ...tiny() }, { kind: 'images', shape: [1, 8, 8] }, rng);
  randomizeParameters(net, rng);
  const x = randn([3, 1, 8, 8], { rng });
  const a = noGrad(() => net.forward(x, tensor(0.7)));
  const b = noGrad(() => net.forward(x, tensor([0.7, 0.7, 0.7])));
  assert.ok(relErr(a.dataSync(), b.dataSync()) < 1e-6, 'a scalar c_noise is broadcast over the batch');
});

test('MLP shapes: points, flat images, one c_noise for the batch', () => {
  const rng = new Generator(0);
  const net = createNet({ kind: 'mlp', hidden: 16, depth: 2 }, { kind: 'points', shape: [2] }, rng);
  assert.deepEqual(noGrad(() => net.forward(randn([5, 2], { rng }), randn([5], { rng }))).shape, [5, 2]);
  const img = createNet({ kind: 'mlp', hidden: 16, depth: 1 }, { kind: 'images', shape: [1, 4, 4] }, rng);
  assert.equal((img as MlpNet).config.dataDim, 16);
  assert.deepEqual(noGrad(() => img.forward(randn([3, 1, 4, 4], { rng }), tensor(0.3))).shape, [3, 1, 4, 4]);
  assert.throws(() => net.forward(randn([5, 3], { rng }), randn([5], { rng })), /2 values per item/);
  assert.throws(() => net.forward(randn([5, 2], { rng }), randn([4], { rng })), /does not match a batch of 5/);
});

// ---------------------------------------------------------------------------------------------
// Gradients
// ---------------------------------------------------------------------------------------------

for (const kind of ['unet', 'mlp'] as const) {
  test(`${kind}: gradients reach every parameter and match a finite difference (float64)`, () => {
    const rng = new Generator(7);
    const data: DataSpec = kind === 'unet' ? { kind: 'images', shape: [2, 8, 8], numClasses: 3 } : { kind: 'points', shape: [2], numClasses: 3 };
    const cfg: NetConfig = kind === 'unet' ? { kind, ...tiny({ attnResolutions: [4] }) } : { kind, hidden: 8, depth: 2, noiseFeatures: 'fourier', featureDim: 6 };
    const net = createNet(cfg, data, rng, { dtype: 'float64' });
    randomizeParameters(net, rng);
    const x = randn([3, ...data.shape], { rng, dtype: 'float64' });
    const c = randn([3], { rng, dtype: 'float64' });
    const classes = tensor([0, 2, -1], { dtype: 'int32' });
    const w = randn([3, ...data.shape], { rng, dtype: 'float64' });
    const loss = () => net.forward(x, c, { classes }).mul(w).sum();
    net.zeroGrad();
    loss().backward();
    const params = net.namedParameters();
    const silent = params.filter(([, p]) => !p.grad || Math.max(...Array.from(p.grad.abs().dataSync())) === 0).map(([n]) => n);
    // the null-class row gets gradient through label −1; every other row through the labels 0 and 2, except row 1
    assert.deepEqual(silent, [], 'parameters without gradient');
    const embGrad = (net.label_emb!.weight.grad!.abs().sum(1).dataSync());
    assert.ok(embGrad[0]! > 0 && embGrad[2]! > 0 && embGrad[3]! > 0 && embGrad[1] === 0, 'label rows used get gradient, the unused one none');

    // directional derivative: (L(θ + εv) − L(θ − εv)) / 2ε against Σ ∇L·v
    const dirs = params.map(([, p]) => randn(p.shape, { rng, dtype: 'float64' }));
    let analytic = 0;
    params.forEach(([, p], i) => { analytic += p.grad!.mul(dirs[i]!).sum().itemSync(); });
    const shift = (s: number) => noGrad(() => params.forEach(([, p], i) => p.assign(p.add(dirs[i]!.mul(s)))));
    const eps = 1e-5;
    shift(eps);
    const lp = noGrad(loss).itemSync();
    shift(-2 * eps);
    const lm = noGrad(loss).itemSync();
    shift(eps);
    const numeric = (lp - lm) / (2 * eps);
    assert.ok(Math.abs(numeric - analytic) <= 1e-6 * Math.max(1, Math.abs(analytic)), `finite difference ${numeric} vs autograd ${analytic}`);
  });
}

test('U-Net: at initialisation the output convolution is zero, and still receives gradient', () => {
  const rng = new Generator(3);
  const net = createNet({ kind: 'unet', ...tiny() }, { kind: 'images', shape: [1, 8, 8] }, rng) as UNet;
  const y = net.forward(randn([2, 1, 8, 8], { rng }), randn([2], { rng }));
  assert.equal(Math.max(...Array.from(y.abs().dataSync())), 0);
  y.sum().backward();
  assert.ok(Math.max(...Array.from(net.conv_out.weight.grad!.abs().dataSync())) > 0, 'conv_out.weight has a gradient');
});

// ---------------------------------------------------------------------------------------------
// Conditioning
// ---------------------------------------------------------------------------------------------

for (const kind of ['unet', 'mlp'] as const) {
  test(`${kind}: class labels change the output; −1, the null index and no labels agree; unconditional nets ignore labels`, () => {
    const rng = new Generator(11);
    const data: DataSpec = kind === 'unet' ? { kind: 'images', shape: [1, 8, 8], numClasses: 4 } : { kind: 'points', shape: [2], numClasses: 4 };
    const cfg: NetConfig = kind === 'unet' ? { kind, ...tiny() } : { kind, hidden: 16, depth: 2 };
    const net = createNet(cfg, data, rng);
    randomizeParameters(net, rng);
    net.eval();
    const x = randn([2, ...data.shape], { rng });
    const c = randn([2], { rng });
    const run = (classes?: number[]) => noGrad(() => net.forward(x, c, classes ? { classes: tensor(classes, { dtype: 'int32' }) } : undefined)).dataSync();
    const y0 = run([0, 0]), y1 = run([1, 1]);
    assert.ok(relErr(y0, y1) > 1e-2, 'classes 0 and 1 give different outputs');
    const nullMinus = run([-1, -1]), nullIndex = run([4, 4]), none = run();
    assert.deepEqual(nullMinus, nullIndex);
    assert.deepEqual(nullMinus, none);
    assert.ok(relErr(nullMinus, y0) > 1e-2, 'the null class differs from class 0');
    // per-example: a mixed batch equals the rows of the uniform ones
    const mixed = run([1, -1]);
    const half = mixed.length / 2;
    assert.deepEqual(Array.from(mixed.slice(0, half)), Array.from(y1.slice(0, half)));
    assert.deepEqual(Array.from(mixed.slice(half)), Array.from(none.slice(half)));

    const uncond = createNet({ ...cfg, numClasses: 0 }, data, rng);
    assert.equal(Object.keys(uncond.stateDict()).some((k) => k.startsWith('label_emb')), false);
    const a = noGrad(() => uncond.forward(x, c, { classes: tensor([0, 1], { dtype: 'int32' }) })).dataSync();
    const b = noGrad(() => uncond.forward(x, c)).dataSync();
    assert.deepEqual(a, b);
  });
}

test('a network drives a preconditioned denoiser (EDM) with classes through the Cond', () => {
  const rng = new Generator(5);
  const net = createNet({ kind: 'unet', ...tiny() }, { kind: 'images', shape: [1, 8, 8], numClasses: 2 }, rng);
  const D = precondition(edm(), (x, cNoise, cond) => net.forward(x, cNoise, cond));
  const x = randn([2, 1, 8, 8], { rng });
  const d = noGrad(() => D(x, tensor([0.5, 3]), { classes: tensor([1, -1], { dtype: 'int32' }) }));
  // with the zero-initialised output, D = c_skip·x = σ_d²/(σ² + σ_d²)·x
  const xs = x.dataSync(), ds = d.dataSync();
  for (const [i, s] of [[0, 0.5], [1, 3]] as const) {
    const cSkip = 0.25 / (s * s + 0.25);
    for (let j = 0; j < 64; j++) assert.ok(Math.abs(ds[i * 64 + j]! - cSkip * xs[i * 64 + j]!) < 1e-6, `D = c_skip·x at ${i}, ${j}`);
  }
});

// ---------------------------------------------------------------------------------------------
// Embeddings
// ---------------------------------------------------------------------------------------------

test('sinusoidal embedding: cos/sin of c·10000^(−i/half), a zero column for odd widths', () => {
  const c = [0, 1.5, 999];
  for (const dim of [8, 7]) {
    const e = positionalEmbedding(tensor(c, { dtype: 'float64' }), dim).dataSync();
    const half = Math.floor(dim / 2);
    c.forEach((v, n) => {
      for (let i = 0; i < half; i++) {
        const a = v * 10000 ** (-i / half);
        assert.ok(Math.abs(e[n * dim + i]! - Math.cos(a)) < 1e-9, `cos ${dim} ${n} ${i}`);
        assert.ok(Math.abs(e[n * dim + half + i]! - Math.sin(a)) < 1e-9, `sin ${dim} ${n} ${i}`);
      }
      if (dim % 2) assert.equal(e[n * dim + dim - 1], 0);
    });
  }
});

test('MLP: the Fourier embedding is a buffer drawn from the seed — the same seed gives the same net, another seed another', () => {
  const make = (seed: number) => new MlpNet({ dataDim: 2, hidden: 8, depth: 1, noiseFeatures: 'fourier', featureDim: 16, fourierScale: 3 }, { rng: new Generator(seed) });
  const a = make(42), b = make(42), c = make(43);
  const sd = a.stateDict();
  assert.ok('temb.fourier.freqs' in sd && !a.parameters().includes(sd['temb.fourier.freqs']!), 'freqs is a buffer, not a parameter');
  const freqs = sd['temb.fourier.freqs']!.dataSync();
  assert.equal(freqs.length, 8);
  // N(0, 3²) draws: not all tiny, not absurd
  const sdev = Math.sqrt(Array.from(freqs).reduce((s, v) => s + v * v, 0) / 8);
  assert.ok(sdev > 1 && sdev < 6, `frequency scale ${sdev}`);
  for (const [k, t] of Object.entries(sd)) assert.deepEqual(t.dataSync(), b.stateDict()[k]!.dataSync(), k);
  assert.notDeepEqual(freqs, c.stateDict()['temb.fourier.freqs']!.dataSync());
  const cn = tensor([-0.5, 0, 0.25]);
  const ea = noGrad(() => a.temb.forward(cn)).dataSync(), eb = noGrad(() => b.temb.forward(cn)).dataSync();
  assert.deepEqual(ea, eb);
  // the features themselves: [sin(2π c w), cos(2π c w)]
  const f = noGrad(() => a.temb.fourier!.forward(cn)).dataSync();
  for (let i = 0; i < 8; i++) {
    // row 0 is c = −0.5
    assert.ok(Math.abs(f[i]! - Math.sin(2 * Math.PI * -0.5 * freqs[i]!)) < 1e-5, `sin feature ${i}`);
    assert.ok(Math.abs(f[8 + i]! - Math.cos(2 * Math.PI * -0.5 * freqs[i]!)) < 1e-5, `cos feature ${i}`);
  }
  // a saved net reloads the same frequencies into a net drawn from another seed
  c.loadStateDict(sd);
  assert.deepEqual(noGrad(() => c.temb.forward(cn)).dataSync(), ea);
});

test('dropout is active in training mode only', () => {
  const rng = new Generator(9);
  const net = createNet({ kind: 'unet', ...tiny({ dropout: 0.5 }) }, { kind: 'images', shape: [1, 8, 8] }, rng);
  randomizeParameters(net, rng);
  const x = randn([2, 1, 8, 8], { rng }), c = randn([2], { rng });
  net.train();
  const t1 = noGrad(() => net.forward(x, c)).dataSync(), t2 = noGrad(() => net.forward(x, c)).dataSync();
  assert.ok(relErr(t1, t2) > 1e-3, 'two training-mode passes differ');
  net.eval();
  assert.deepEqual(noGrad(() => net.forward(x, c)).dataSync(), noGrad(() => net.forward(x, c)).dataSync());
});

// ---------------------------------------------------------------------------------------------
// Configs
// ---------------------------------------------------------------------------------------------

test('createNet: configs are JSON, filled from the data, and rebuild the same network', () => {
  const rng = new Generator(0);
  const net = createNet({ kind: 'unet', ...tiny({ attnResolutions: [4] }) }, { kind: 'images', shape: [3, 8, 8], numClasses: 5 }, rng) as UNet;
  assert.equal(net.config.inChannels, 3);
  assert.equal(net.config.outChannels, 3);
  assert.equal(net.config.resolution, 8);
  assert.equal(net.config.numClasses, 5);
  assert.deepEqual(net.label_emb!.weight.shape, [6, 16], 'numClasses + 1 rows (the null class), embedMult·channels wide');
  const json = JSON.parse(JSON.stringify({ kind: 'unet', ...net.config })) as NetConfig;
  const again = createNet(json, { kind: 'images', shape: [3, 8, 8] }, new Generator(1));
  assert.deepEqual(Object.fromEntries(Object.entries(again.stateDict()).map(([k, t]) => [k, t.shape])), Object.fromEntries(Object.entries(net.stateDict()).map(([k, t]) => [k, t.shape])));
  again.loadStateDict(net.stateDict());
  const x = randn([1, 3, 8, 8], { rng });
  randomizeParameters(net, rng);
  again.loadStateDict(net.stateDict());
  assert.deepEqual(noGrad(() => again.eval().forward(x, tensor([1]))).dataSync(), noGrad(() => net.eval().forward(x, tensor([1]))).dataSync());

  assert.throws(() => createNet({ kind: 'unet' }, { kind: 'points', shape: [2] }, rng), /needs images/);
  assert.throws(() => createNet({ kind: 'unet', ...tiny({ attnResolutions: [16] }) }, { kind: 'images', shape: [1, 8, 8] }, rng), /not stage resolutions.*8, 4/);
  assert.throws(() => createNet({ kind: 'unet', ...tiny({ channels: 12, numGroups: 8 }) }, { kind: 'images', shape: [1, 8, 8] }, rng), /GroupNorm over 12 channels cannot have 8 groups/);
  assert.throws(() => createNet({ kind: 'unet', ...tiny({ numHeads: 3 }) }, { kind: 'images', shape: [1, 8, 8] }, rng), /not divisible by numHeads 3/);
  assert.throws(() => createNet({ kind: 'gan' } as unknown as NetConfig, { kind: 'points', shape: [2] }, rng), /unknown network kind 'gan'/);
});

test('the example in nets/index.ts runs as written', async () => {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const src = readFileSync(join(root, 'src/models/diffusion/nets/index.ts'), 'utf8');
  const block = /```ts\n([\s\S]*?)```/.exec(src);
  assert.ok(block, 'nets/index.ts has a ```ts example');
  const code = block[1]!.split('\n').map((l) => l.replace(/^ \* ?/, '')).join('\n')
    .replace(/from 'genlab\/diffusion'/g, `from '${pathToFileURL(join(root, 'src/models/diffusion/index.ts')).href}'`)
    .replace(/from 'genlab'/g, `from '${pathToFileURL(join(root, 'src/index.ts')).href}'`)
    .replace(/console\.log\(/g, 'logged.push(') + '\nexport { y };\n';
  const dir = mkdtempSync(join(tmpdir(), 'genlab-nets-'));
  try {
    const file = join(dir, 'example.mts');
    writeFileSync(file, `const logged = [];\nexport { logged };\n${code}`);
    const mod = (await import(pathToFileURL(file).href)) as { y: Tensor; logged: unknown[] };
    assert.deepEqual(mod.y.shape, [2, 1, 8, 8]);
    assert.deepEqual(mod.logged, [[2, 1, 8, 8]]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a U-Net forward without a graph (sampling) frees each block\'s intermediates: its peak is well under a graph-building forward', () => {
  const net = createNet({ kind: 'unet', ...tiny({ channels: 8, numResBlocks: 2 }) } as NetConfig, { kind: 'images', shape: [1, 16, 16] }, new Generator(0));
  const x = randn([8, 1, 16, 16], { rng: new Generator(1) });
  const c = tensor(new Float32Array(8).fill(0.5));
  const backend = x.backend;
  const before = memory().bytes;
  backend.resetPeakMemory();
  scope(() => void noGrad(() => net.forward(x, c)));
  const samplingPeak = memory().peakBytes - before;
  backend.resetPeakMemory();
  scope(() => void net.forward(x, c));
  const graphPeak = memory().peakBytes - before;
  // keeping every intermediate until the caller's scope ends made the two equal
  assert.ok(samplingPeak < 0.5 * graphPeak, `peak ${samplingPeak} bytes without a graph vs ${graphPeak} with one`);
  assert.equal(memory().bytes, before);
});
