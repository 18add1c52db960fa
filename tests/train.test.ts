// The shared training loop as a library (src/train): exact resumption through a serialised
// snapshot (with dropout, whose Generator lives in the module), the NaN guard, stopping by an
// AbortSignal, the learning-rate schedules, memory after many steps, config overrides, and
// the progress text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Generator, memory, randn, tensor, nn, io, type Tensor } from '../src/index.ts';
import { ArrayDataset, DataLoader } from '../src/data/index.ts';
import type { Family, Model } from '../src/models/registry.ts';
import { Trainer, TrainingDivergedError, makeSchedule, moduleGenerators, type TrainerSnapshot } from '../src/train/trainer.ts';
import { resolveTrainOptions, applySets, deepMerge, TRAIN_DEFAULTS, type TrainOptions } from '../src/train/config.ts';
import { progressBar, logLine, formatDuration } from '../src/train/progress.ts';

/** A toy family: regress y = sum(x) with an MLP that has dropout; `nanAt` makes the loss NaN at that call. */
function toyFamily(opts: { nanAt?: number } = {}): Family<{ hidden: number }> {
  let calls = 0;
  return {
    name: 'toy', description: 'test', samplers: ['none'],
    defaults: () => ({ hidden: 8 }),
    create(config, data, rng) {
      const net = new nn.Sequential(new nn.Linear(4, config.hidden, { rng }), new nn.ReLU(), new nn.Dropout(0.3, { rng: rng.split() }), new nn.Linear(config.hidden, 1, { rng }));
      return { family: 'toy', config, data, net };
    },
    loss(model, batch, rng) {
      calls++;
      const noise = randn(batch.x.shape, { rng }).mul(0.1); // training noise from the trainer's Generator
      const pred = (model.net as nn.Sequential).forward(batch.x.add(noise));
      const l = pred.squeeze(1).sub(batch.x.sum(1)).square().mean();
      return calls === opts.nanAt ? l.mul(NaN) : l;
    },
    sample: () => { throw new Error('no sampling'); },
  };
}

function dataset(): ArrayDataset {
  const g = new Generator(5);
  return new ArrayDataset({ x: { data: Float32Array.from(g.normal(4 * 100)), itemShape: [4], dtype: 'float32' } });
}

function setup(options: Partial<TrainOptions>, family = toyFamily()) {
  const o = resolveTrainOptions({ steps: 20, batchSize: 16, lr: 0.01, warmupSteps: 3, logEvery: 5, ema: 0.9, ...options });
  const [initRng, dataRng, noiseRng] = new Generator(o.seed).split(3);
  const model: Model = family.create(family.defaults({ kind: 'points', shape: [4] }), { kind: 'points', shape: [4] }, initRng) as Model;
  const loader = new DataLoader(dataset(), { batchSize: o.batchSize, shuffle: true, rng: dataRng, dropLast: true });
  return { family, model, loader, options: o, rng: noiseRng };
}

/** A snapshot through bytes and JSON, as it goes to disk and back. */
async function roundTrip(s: TrainerSnapshot): Promise<TrainerSnapshot> {
  const back = async (sd: Record<string, Tensor>) => io.stateDictFromBytes(await io.stateDictToBytes(sd));
  return {
    step: s.step,
    model: await back(s.model),
    ema: s.ema ? await back(s.ema) : null,
    optimizer: { state: await back(s.optimizer.state), hyper: JSON.parse(JSON.stringify(s.optimizer.hyper)) },
    state: JSON.parse(JSON.stringify(s.state)),
  };
}

async function weights(model: Model): Promise<number[]> {
  const out: number[] = [];
  for (const t of Object.values(model.net.stateDict())) out.push(...(await t.data()));
  return out;
}

test('20 steps straight equal 8 steps + snapshot/restore in a fresh trainer + 12 steps, bit for bit (dropout included)', async () => {
  const a = setup({});
  const straight = new Trainer(a);
  await straight.run();

  const b = setup({});
  const saved: TrainerSnapshot[] = [];
  const ac = new AbortController();
  const first = new Trainer({ ...b, signal: ac.signal, onStep: (p) => { if (p.step === 8) ac.abort(); }, saveCheckpoint: async (s) => { saved.push(await roundTrip(s)); } });
  const r1 = await first.run();
  assert.equal(r1.status, 'interrupted');
  assert.equal(r1.step, 8);
  assert.equal(saved.length, 1);
  assert.equal(saved[0]!.state.step, 8);
  assert.ok(Object.keys(saved[0]!.state.moduleRngs).includes('2.rng'), JSON.stringify(Object.keys(saved[0]!.state.moduleRngs)));

  // a new process: fresh model, loader and generators, then the snapshot
  const c = setup({});
  const second = new Trainer(c);
  second.restore(saved[0]!);
  const r2 = await second.run();
  assert.equal(r2.status, 'done');
  assert.equal(r2.step, 20);
  assert.deepEqual(await weights(c.model), await weights(a.model));
  const ema = (t: Trainer) => [...t.ema!.shadow.values()].flatMap((x) => [...x.dataSync()]);
  assert.deepEqual(ema(second), ema(straight));

  // without restoring the dropout Generator, the weights would differ: the check above has teeth
  const d = setup({});
  const third = new Trainer(d);
  const snap = { ...saved[0]!, state: { ...saved[0]!.state, moduleRngs: {} } };
  third.restore(snap);
  await third.run();
  assert.notDeepEqual(await weights(d.model), await weights(a.model));
});

test('moduleGenerators finds the Generators held by modules, by dotted path', () => {
  const rng = new Generator(0);
  const net = new nn.Sequential(new nn.Linear(2, 2, { rng }), new nn.Dropout(0.5, { rng: rng.split() }), new nn.Sequential(new nn.Dropout(0.1, { rng: rng.split() })));
  assert.deepEqual(moduleGenerators(net).map(([k]) => k), ['1.rng', '2.0.rng']);
});

test('a NaN loss throws TrainingDivergedError naming the step, before the weights change', async () => {
  const s = setup({ gradClip: 0 }, toyFamily({ nanAt: 6 }));
  const before: number[][] = [];
  const trainer = new Trainer({ ...s, onStep: () => { before.push(Object.values(s.model.net.stateDict()).flatMap((t) => [...t.dataSync()])); } });
  await assert.rejects(trainer.run(), (e: unknown) => {
    assert.ok(e instanceof TrainingDivergedError);
    assert.equal(e.step, 6);
    assert.equal(e.what, 'loss');
    assert.match(e.message, /training diverged at step 6: the loss is NaN/);
    return true;
  });
  assert.equal(trainer.step, 5);
  assert.deepEqual(await weights(s.model), before[4]);
});

test('learning-rate schedules: warm-up, then constant, cosine or linear to minLr', () => {
  const o = (schedule: TrainOptions['schedule']) => resolveTrainOptions({ steps: 100, warmupSteps: 10, lr: 1, minLr: 0.1, schedule });
  for (const s of ['constant', 'cosine', 'linear'] as const) {
    const f = makeSchedule(o(s));
    assert.equal(f(0, 1), 0);
    assert.equal(f(5, 1), 0.5);
    assert.equal(f(10, 1), 1);
  }
  assert.equal(makeSchedule(o('constant'))(99, 1), 1);
  assert.ok(Math.abs(makeSchedule(o('cosine'))(55, 1) - 0.55) < 1e-12); // half way: (1 + 0.1)/2
  assert.ok(Math.abs(makeSchedule(o('linear'))(55, 1) - 0.55) < 1e-12);
  assert.ok(Math.abs(makeSchedule(o('cosine'))(100, 1) - 0.1) < 1e-12);
  assert.ok(Math.abs(makeSchedule(o('linear'))(100, 1) - 0.1) < 1e-12);
});

test('training steps leave no buffers behind', async () => {
  const s = setup({ steps: 3 });
  const trainer = new Trainer(s);
  await trainer.run(); // optimizer and EMA state exist from here on
  const live = memory().buffers;
  (trainer.options as { steps: number }).steps = 13;
  await trainer.run();
  assert.equal(memory().buffers, live);
});

test('training options: defaults, validation naming the valid keys, and --set overrides', () => {
  assert.deepEqual(resolveTrainOptions({}), TRAIN_DEFAULTS);
  assert.throws(() => resolveTrainOptions({ lrr: 1 } as never), /unknown training option 'train\.lrr' \(valid: steps, batchSize, optimizer, lr,/);
  assert.throws(() => resolveTrainOptions({ optimizer: 'adagrad' } as never), /train\.optimizer must be 'adam', 'adamw' or 'sgd', got "adagrad"/);
  assert.throws(() => resolveTrainOptions({ steps: 0 }), /train\.steps must be an integer ≥ 1/);
  const cfg = applySets({ train: { lr: 1 }, model: { net: { kind: 'mlp' } } }, ['train.lr=3e-4', 'model.net.hidden=64', 'model.net.kind=unet', 'model.betas=[0.5,0.9]', 'data.name=moons']);
  assert.deepEqual(cfg, { train: { lr: 3e-4 }, model: { net: { kind: 'unet', hidden: 64 }, betas: [0.5, 0.9] }, data: { name: 'moons' } });
  assert.throws(() => applySets({}, ['novalue']), /--set expects key=value/);
  assert.deepEqual(deepMerge({ a: { b: 1, c: [1, 2] }, d: 1 }, { a: { c: [3] }, e: 2 }), { a: { b: 1, c: [3] }, d: 1, e: 2 });
});

test('progress text: a bar with step, loss, rate and ETA; plain log lines', () => {
  const bar = progressBar({ step: 25, total: 100, loss: 0.41234, lr: 1e-3, stepsPerSec: 12.5, etaSec: 6, elapsedSec: 2 }, 100);
  assert.match(bar, /^ 25\/100 \|█+[ ▏▎▍▌▋▊▉]* *\| {2}25% loss 0\.4123 {2}· lr 1\.0e-3 · {2}12\.5 it\/s · 0:02 < 0:06$/);
  assert.ok(bar.length <= 100);
  assert.equal(formatDuration(3725), '1:02:05');
  const line = logLine({ step: 50, loss: 1.5, lr: 0.002, stepsPerSec: 20, examplesPerSec: 100, elapsedSec: 61, eval: { sw: 0.05 }, time: '' }, 100);
  assert.equal(line, 'step  50/100 · loss 1.5 · lr 0.002 · 20.0 it/s · 1:01 · sw 0.05');
  assert.ok(tensor([1]).size === 1);
});
