/**
 * Weights that cross over to PyTorch and back, and checkpoints.
 *
 * Fixtures (tests/fixtures/weights/):
 *   torch_convnet.safetensors + torch_convnet_io.json    written by PyTorch 1.13
 *       (scripts/fixtures/make_weights_fixture.py): a small conv net with BatchNorm whose running
 *       statistics were updated by training-mode passes, a fixed input and its eval-mode output.
 *   genlab_convnet.safetensors + genlab_convnet_io.json  written by genlab
 *       (scripts/fixtures/make_genlab_weights.ts); `make_weights_fixture.py --check` loads it into
 *       the PyTorch net with load_state_dict(strict=True) and compares outputs (≤ 1e-5).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Tensor, Generator, noGrad, randn, tensor, nn, optim, io } from '../src/index.ts';
import { saveSafetensors, loadSafetensors, saveCheckpoint, loadCheckpoint } from '../src/node.ts';
import { convNet, CONVNET_CONFIG, type ConvNetConfig } from '../scripts/fixtures/make_genlab_weights.ts';

const WEIGHTS = new URL('./fixtures/weights/', import.meta.url);

interface IoFixture {
  keys: string[];
  dtypes: Record<string, string>;
  num_batches_tracked: number;
  input: { shape: number[]; data: number[] };
  output: { shape: number[]; data: number[] };
}

const readJson = (name: string): IoFixture => JSON.parse(readFileSync(new URL(name, WEIGHTS), 'utf8')) as IoFixture;
const readBytes = (name: string): Uint8Array => readFileSync(new URL(name, WEIGHTS));

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'length');
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

async function evalOutput(net: nn.Sequential, x: Tensor): Promise<Float32Array> {
  net.eval();
  return (await noGrad(() => net.forward(x)).data()) as Float32Array;
}

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'genlab-io-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

// ---------------------------------------------------------------------------------------------
// PyTorch → genlab
// ---------------------------------------------------------------------------------------------

test('PyTorch weights load strictly into the genlab twin and reproduce its output', async () => {
  const ref = readJson('torch_convnet_io.json');
  const sd = await loadSafetensors(fileURLToPath(new URL('torch_convnet.safetensors', WEIGHTS)));
  assert.deepEqual(Object.keys(sd).sort(), [...ref.keys].sort(), 'file keys = torch state_dict keys');

  const net = convNet(CONVNET_CONFIG, new Generator(123));
  assert.deepEqual(Object.keys(net.stateDict()), ref.keys, 'genlab state-dict keys, in PyTorch order');
  const x = tensor(Float32Array.from(ref.input.data), { shape: ref.input.shape });
  const before = await evalOutput(net, x);
  assert.ok(maxAbsDiff(before, ref.output.data) > 1e-2, 'a freshly initialised twin differs from the torch net');

  const { missingKeys, unexpectedKeys } = net.loadStateDict(sd, { strict: true });
  assert.deepEqual(missingKeys, []);
  assert.deepEqual(unexpectedKeys, []);
  const bn = net.at(1) as nn.BatchNorm2d;
  assert.equal(bn.num_batches_tracked!.dtype, 'int32');
  assert.equal(await bn.num_batches_tracked!.item(), ref.num_batches_tracked);
  assert.equal(ref.num_batches_tracked, 3);
  // The running statistics are not the defaults (0 and 1), so eval mode really uses them.
  const rm0 = await bn.running_mean!.data();
  assert.ok(rm0.some((v) => Math.abs(v) > 1e-3), 'running_mean moved away from 0');

  const y = await evalOutput(net, x);
  assert.deepEqual(ref.output.shape, [2, 10]);
  const diff = maxAbsDiff(y, ref.output.data);
  assert.ok(diff <= 1e-5, `max abs diff vs PyTorch ${diff}`);
});

// ---------------------------------------------------------------------------------------------
// genlab → PyTorch
// ---------------------------------------------------------------------------------------------

test('the genlab-written fixture has exactly PyTorch\'s keys and shapes, and reproduces its recorded output', async () => {
  const torchFile = io.parseSafetensors(readBytes('torch_convnet.safetensors'));
  const ours = io.parseSafetensors(readBytes('genlab_convnet.safetensors'));
  assert.deepEqual(Object.keys(ours.tensors).sort(), Object.keys(torchFile.tensors).sort());
  for (const [k, t] of Object.entries(torchFile.tensors)) {
    assert.deepEqual(ours.tensors[k]!.shape, t.shape, `shape of ${k}`);
    const expected = k.endsWith('num_batches_tracked') ? ['I64', 'I32'] : ['F32', 'F32'];
    assert.equal(t.sourceDtype, expected[0], `torch dtype of ${k}`);
    // genlab has no int64: it writes I32, which torch's load_state_dict copies into its int64 buffer.
    assert.equal(ours.tensors[k]!.sourceDtype, expected[1], `genlab dtype of ${k}`);
  }
  assert.equal(ours.metadata.format, 'pt');

  // The committed weights, loaded back into a genlab twin, give the output recorded beside them
  // (the output that make_weights_fixture.py --check compares PyTorch's against).
  const rec = readJson('genlab_convnet_io.json');
  assert.equal(rec.num_batches_tracked, 3);
  const net = convNet(CONVNET_CONFIG, new Generator(7));
  net.loadStateDict(io.stateDictFromBytes(readBytes('genlab_convnet.safetensors')));
  const y = await evalOutput(net, tensor(Float32Array.from(rec.input.data), { shape: rec.input.shape }));
  const diff = maxAbsDiff(y, rec.output.data);
  assert.ok(diff <= 1e-6, `max abs diff vs the recorded genlab output ${diff}`);
});

// ---------------------------------------------------------------------------------------------
// Round trips
// ---------------------------------------------------------------------------------------------

test('model → bytes → new model gives identical outputs and identical bytes', async (t) => {
  const rng = new Generator(1);
  const net = convNet(CONVNET_CONFIG, rng);
  net.train();
  noGrad(() => net.forward(randn([6, 1, 8, 8], { rng }))); // non-default BatchNorm statistics
  const bytes = await io.stateDictToBytes(net.stateDict(), { format: 'pt' });

  const twin = convNet(CONVNET_CONFIG, new Generator(2));
  const x = randn([3, 1, 8, 8], { rng });
  assert.ok(maxAbsDiff(await evalOutput(net, x), await evalOutput(twin, x)) > 1e-3, 'different seeds differ before loading');
  twin.loadStateDict(io.stateDictFromBytes(bytes));
  assert.deepEqual(await evalOutput(twin, x), await evalOutput(net, x));
  assert.deepEqual(await io.stateDictToBytes(twin.stateDict(), { format: 'pt' }), bytes);

  // The same through a file on disk.
  const dir = await tempDir(t);
  const path = join(dir, 'net.safetensors');
  await saveSafetensors(path, net.stateDict(), { format: 'pt' });
  assert.deepEqual(new Uint8Array(await readFile(path)), bytes);
  const third = convNet(CONVNET_CONFIG, new Generator(3));
  third.loadStateDict(await loadSafetensors(path));
  assert.deepEqual(await evalOutput(third, x), await evalOutput(net, x));
  assert.deepEqual(await readdir(dir), ['net.safetensors'], 'no temporary files left');
});

test('toRaw / fromRaw keep dtype, shape and values; errors name the tensor', async () => {
  const a = tensor([[1.5, -2], [3, 4]]).transpose(); // non-contiguous view
  const raw = await io.toRaw(a);
  assert.equal(raw.dtype, 'float32');
  assert.deepEqual(raw.shape, [2, 2]);
  assert.deepEqual(Array.from(raw.data), [1.5, 3, -2, 4]);
  const b = io.fromRaw({ dtype: 'int32', shape: [3], data: Int32Array.from([7, -1, 2]) });
  assert.equal(b.dtype, 'int32');
  assert.deepEqual(Array.from(await b.data()), [7, -1, 2]);

  const dead = tensor([1, 2]);
  dead.dispose();
  await assert.rejects(io.stateDictToBytes({ 'layer.weight': dead }), /tensor "layer\.weight": .*dispose/);
  assert.throws(() => io.stateDictFromBytes(new Uint8Array(4)), io.SafetensorsError);
});

// ---------------------------------------------------------------------------------------------
// Checkpoints
// ---------------------------------------------------------------------------------------------

/** A twin with Adam that has taken `steps` training steps on seeded batches. */
function trained(seed: number, steps: number) {
  const rng = new Generator(seed);
  const net = convNet(CONVNET_CONFIG, rng);
  const opt = new optim.Adam(net.parameters(), { lr: 1e-2, betas: [0.8, 0.99] });
  const batches = Array.from({ length: steps + 1 }, () => ({ x: randn([4, 1, 8, 8], { rng }), y: randn([4, 10], { rng }) }));
  return { net, opt, batches };
}

function trainStep(net: nn.Sequential, opt: optim.Optimizer, batch: { x: Tensor; y: Tensor }): void {
  net.train();
  opt.zeroGrad();
  nn.F.mseLoss(net.forward(batch.x), batch.y).backward();
  opt.step();
}

test('checkpoint save/load round trip restores model, config and optimizer state', async (t) => {
  const dir = join(await tempDir(t), 'ckpt');
  const { net, opt, batches } = trained(10, 2);
  trainStep(net, opt, batches[0]!);
  trainStep(net, opt, batches[1]!);
  const config: ConvNetConfig = { ...CONVNET_CONFIG };
  await saveCheckpoint(dir, { model: net, config, optimizer: opt, step: 2, extra: { dataset: 'toy' } });

  assert.deepEqual((await readdir(dir)).sort(), ['config.json', 'meta.json', 'model.safetensors', 'optimizer.json', 'optimizer.safetensors']);
  assert.equal(await readFile(join(dir, 'config.json'), 'utf8'), `${JSON.stringify(config, null, 2)}\n`);
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

  const ckpt = await loadCheckpoint<ConvNetConfig>(dir);
  assert.deepEqual(ckpt.config, config);
  assert.equal(ckpt.meta.step, 2);
  assert.equal(ckpt.meta.genlabVersion, pkg.version);
  assert.ok(!Number.isNaN(Date.parse(ckpt.meta.time)));
  assert.deepEqual(ckpt.meta.extra, { dataset: 'toy' });
  assert.ok(ckpt.optimizer, 'optimizer state present');
  assert.ok(Object.keys(ckpt.optimizer.state).some((k) => k.endsWith('.exp_avg_sq')));

  // Rebuild from the checkpoint alone, then take the same third step on both: a lost moment
  // estimate, step count or hyperparameter would make the parameters differ.
  const net2 = convNet(ckpt.config, new Generator(99));
  net2.loadStateDict(ckpt.state);
  const opt2 = new optim.Adam(net2.parameters(), { lr: 0.5 });
  opt2.loadStateDict(ckpt.optimizer);
  assert.equal(opt2.lr, 1e-2);
  trainStep(net, opt, batches[2]!);
  trainStep(net2, opt2, batches[2]!);
  const a = net.stateDict();
  const b = net2.stateDict();
  for (const k of Object.keys(a)) assert.deepEqual(await b[k]!.data(), await a[k]!.data(), k);

  // Without an optimizer: no optimizer files, and none reported.
  const dir2 = join(dir, '..', 'model-only');
  await saveCheckpoint(dir2, { model: net, config });
  assert.deepEqual((await readdir(dir2)).sort(), ['config.json', 'meta.json', 'model.safetensors']);
  const c2 = await loadCheckpoint(dir2);
  assert.equal(c2.optimizer, undefined);
  assert.equal(c2.meta.step, null);
});

test('loadCheckpoint errors name the missing file; saveCheckpoint rejects non-JSON config', async (t) => {
  const root = await tempDir(t);
  const { net, opt, batches } = trained(11, 1);
  trainStep(net, opt, batches[0]!);
  const make = async (name: string) => {
    const d = join(root, name);
    await saveCheckpoint(d, { model: net, config: CONVNET_CONFIG, optimizer: opt, step: 1 });
    return d;
  };
  for (const file of ['model.safetensors', 'config.json', 'meta.json', 'optimizer.json', 'optimizer.safetensors']) {
    const d = await make(`missing-${file}`);
    await rm(join(d, file));
    await assert.rejects(loadCheckpoint(d), (e: Error) => e.message.includes(`missing ${file}`) && e.message.includes(d), file);
  }
  await assert.rejects(loadCheckpoint(join(root, 'nowhere')), /loadCheckpoint\(".*nowhere"\): the checkpoint directory does not exist/);

  // A corrupt model file is named too.
  const bad = await make('corrupt');
  await writeFile(join(bad, 'model.safetensors'), new Uint8Array([1, 2, 3]));
  await assert.rejects(loadCheckpoint(bad), /invalid model\.safetensors: .*too short/);

  await assert.rejects(
    saveCheckpoint(join(root, 'rng'), { model: net, config: { ...CONVNET_CONFIG, rng: new Generator(0) } }),
    /config\.rng is a Generator, not plain JSON data/,
  );
  await assert.rejects(saveCheckpoint(join(root, 'nan'), { model: net, config: { lr: NaN } }), /config\.lr is NaN/);
  assert.deepEqual((await readdir(root)).filter((n) => n.startsWith('rng') || n.startsWith('nan')), [], 'nothing written');
});

test('an interrupted checkpoint write leaves the previous checkpoint intact', async (t) => {
  const root = await tempDir(t);
  const { net, opt, batches } = trained(12, 2);
  trainStep(net, opt, batches[0]!);
  const x = batches[2]!.x;
  const firstOut = await evalOutput(net, x);

  // The previous checkpoint lives under a name so long (250 bytes) that writeDirAtomic's
  // temporary sibling `<name>.tmp-<pid>-<n>` exceeds the file-name limit (255 bytes): the next
  // save fails inside writeDirAtomic, after it has found the existing checkpoint.
  const long = join(root, 'c'.repeat(250));
  const staging = join(root, 'staging');
  await saveCheckpoint(staging, { model: net, config: CONVNET_CONFIG, optimizer: opt, step: 1 });
  await rename(staging, long);
  const before = new Map<string, Buffer>();
  for (const f of await readdir(long)) before.set(f, await readFile(join(long, f)));

  trainStep(net, opt, batches[1]!);
  assert.notDeepEqual(await evalOutput(net, x), firstOut, 'the model changed after another step');
  await assert.rejects(saveCheckpoint(long, { model: net, config: CONVNET_CONFIG, optimizer: opt, step: 2 }), /cannot write directory/);

  for (const [f, bytes] of before) assert.deepEqual(await readFile(join(long, f)), bytes, `${f} unchanged`);
  assert.deepEqual((await readdir(root)).sort(), [long.slice(root.length + 1)], 'no temporary or half-written directories');
  const ckpt = await loadCheckpoint<ConvNetConfig>(long);
  assert.equal(ckpt.meta.step, 1);
  const restored = convNet(ckpt.config, new Generator(5));
  restored.loadStateDict(ckpt.state);
  assert.deepEqual(await evalOutput(restored, x), firstOut);

  // A missing parent directory fails before anything is written.
  await assert.rejects(
    saveCheckpoint(join(root, 'no', 'such', 'ckpt'), { model: net, config: CONVNET_CONFIG }),
    /parent directory ".*such" does not exist/,
  );

  // A crash between writeDirAtomic's two renames leaves only `<dir>.old-…`: loading says so.
  const gone = join(root, 'gone');
  await mkdir(join(root, 'gone.old-1-1'));
  await assert.rejects(loadCheckpoint(gone), /does not exist \(found "gone\.old-1-1" beside it: an interrupted write/);
});
