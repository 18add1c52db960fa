// The energy-based model (src/models/ebm): the replay buffer's 95% / 5% mix and write-back, the
// contrastive-divergence loss against its formula, learning a 2-D Gaussian (the normalised grid
// density exp(−E) reaches the data's mean and variance), sampling by ULA/MALA from the learned
// energy, and exact resume through the Trainer (the buffer is part of the state dict).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Tensor, Generator, tensor, randn, optim, io, scope } from '../src/index.ts';
import { ArrayDataset, DataLoader } from '../src/data/index.ts';
import { ebmFamily, ebmDefaults, replayStart, type EbmConfig, type EbmModel } from '../src/models/ebm/index.ts';
import type { Model } from '../src/models/registry.ts';
import { Trainer, type TrainerSnapshot } from '../src/train/trainer.ts';
import { resolveTrainOptions } from '../src/train/config.ts';

const POINTS = { kind: 'points' as const, shape: [2] };
const vals = (t: Tensor) => [...t.dataSync()];

function make(over: Partial<EbmConfig>, seed = 0): EbmModel {
  return ebmFamily.create({ ...ebmDefaults(POINTS), ...over }, POINTS, new Generator(seed)) as EbmModel;
}

test('replay buffer: ~5% of chains restart from uniform noise, the rest continue buffer entries', () => {
  const model = make({ bufferSize: 500, reinitFreq: 0.05, initRange: [10, 11] });
  // put the buffer far from the noise range, so fresh and replayed starts are told apart by value
  model.net.replay_buffer.assign(model.net.replay_buffer.sub(20));
  const rng = new Generator(1);
  const { x, index, fresh } = replayStart(model, 4000, rng);
  const v = vals(x), buf = vals(model.net.replay_buffer);
  let nFresh = 0;
  for (let i = 0; i < 4000; i++) {
    if (fresh[i]) {
      nFresh++;
      assert.ok(v[2 * i]! >= 10 && v[2 * i]! <= 11, `fresh start ${v[2 * i]} outside the noise range`);
    } else {
      assert.equal(v[2 * i], buf[2 * index[i]!]);
      assert.equal(v[2 * i + 1], buf[2 * index[i]! + 1]);
    }
  }
  assert.ok(Math.abs(nFresh / 4000 - 0.05) < 0.012, `fresh share ${nFresh / 4000}`);
});

test('the loss is E(x⁺) − E(x⁻) + α(E(x⁺)² + E(x⁻)²) and the chains are written back into the buffer', () => {
  const model = make({ bufferSize: 64, langevinSteps: 3, alpha: 0.5, reinitFreq: 0 });
  const before = vals(model.net.replay_buffer);
  const x = randn([64, 2], { rng: new Generator(2) });
  const loss = ebmFamily.loss(model, { x }, new Generator(3)).itemSync();
  const after = vals(model.net.replay_buffer);
  const changed = after.filter((a, i) => a !== before[i]).length;
  assert.ok(changed > 0.5 * 128, `only ${changed} buffer values changed`);
  // recompute: the negatives are the chains just written at the drawn indices
  const g = new Generator(3);
  const { index } = replayStart(model, 64, g); // same draws as inside the loss (same seed)
  const neg = tensor(Array.from(index).flatMap((j) => [after[2 * j]!, after[2 * j + 1]!]), { shape: [64, 2] });
  const eP = vals(model.net.forward(x)), eN = vals(model.net.forward(neg));
  const m = (a: number[]) => a.reduce((s, y) => s + y, 0) / a.length;
  const expected = m(eP) - m(eN) + 0.5 * (m(eP.map((e) => e * e)) + m(eN.map((e) => e * e)));
  // a buffer index drawn twice holds the later chain; compare loosely enough for that
  assert.ok(Math.abs(loss - expected) < 0.05 * Math.max(1, Math.abs(expected)), `loss ${loss} vs ${expected}`);
});

/** The model density exp(−E) normalised on a grid over [−4, 4]²: mean and variance per axis. */
function gridMoments(model: EbmModel): { mean: number[]; var: number[] } {
  const B = 60, pts: number[] = [];
  for (let i = 0; i < B; i++) for (let j = 0; j < B; j++) pts.push(-4 + (8 * (i + 0.5)) / B, -4 + (8 * (j + 0.5)) / B);
  const e = scope(() => vals(model.net.forward(tensor(pts, { shape: [B * B, 2] }))));
  const mn = Math.min(...e);
  const w = e.map((v) => Math.exp(-(v - mn)));
  const Z = w.reduce((a, b) => a + b, 0);
  const mean = [0, 1].map((k) => w.reduce((s, wi, i) => s + wi * pts[2 * i + k]!, 0) / Z);
  const variance = [0, 1].map((k) => w.reduce((s, wi, i) => s + wi * (pts[2 * i + k]! - mean[k]!) ** 2, 0) / Z);
  return { mean, var: variance };
}

test('learning N((1, −1), 0.6²I): the grid density exp(−E) reaches the mean and variance; ULA and MALA samples follow', () => {
  const model = make({ hidden: [32, 32], bufferSize: 1000, langevinSteps: 10, initRange: [-4, 4], alpha: 0.1 });
  const opt = new optim.Adam(model.net.parameters(), { lr: 2e-3, betas: [0.9, 0.999] });
  const data = new Generator(4), noise = new Generator(5);
  for (let step = 0; step < 250; step++) {
    scope(() => {
      opt.zeroGrad();
      const x = randn([128, 2], { rng: data }).mul(0.6).add(tensor([1, -1]));
      ebmFamily.loss(model, { x }, noise).backward();
      opt.step();
    });
  }
  const m = gridMoments(model);
  assert.ok(Math.abs(m.mean[0]! - 1) < 0.2 && Math.abs(m.mean[1]! + 1) < 0.2, `grid mean ${m.mean}`);
  for (const v of m.var) assert.ok(v > 0.36 * 0.6 && v < 0.36 * 1.6, `grid variance ${m.var} vs 0.36`);
  for (const sampler of ['ula', 'mala']) {
    // short-run chains mix slowly far from the data: run them long enough to equilibrate
    const s = vals(ebmFamily.sample(model, 500, new Generator(6), { sampler, steps: 2000 }));
    const mx = s.filter((_, i) => i % 2 === 0).reduce((a, b) => a + b, 0) / 500;
    const my = s.filter((_, i) => i % 2 === 1).reduce((a, b) => a + b, 0) / 500;
    // within 3σ of the grid mean (a few chains still far out after 2000 steps count against it)
    let bulk = 0;
    for (let i = 0; i < 500; i++) if (Math.hypot(s[2 * i]! - m.mean[0]!, s[2 * i + 1]! - m.mean[1]!) < 3 * Math.sqrt(m.var[0]!)) bulk++;
    assert.ok(Math.abs(mx - m.mean[0]!) < 0.2 && Math.abs(my - m.mean[1]!) < 0.2, `${sampler} sample mean (${mx}, ${my}) vs grid (${m.mean})`);
    assert.ok(bulk / 500 > 0.9, `${sampler}: ${bulk / 500} of the samples within 3σ of the mean`);
  }
  console.log(`EBM grid mean ${m.mean.map((v) => v.toFixed(3))}, var ${m.var.map((v) => v.toFixed(3))} (data 1, −1; 0.36)`);
});

test('EBM through the Trainer: 10 steps straight equal 4 + resume + 6 (the replay buffer is in the state dict)', async () => {
  const setup = () => {
    const o = resolveTrainOptions({ steps: 10, batchSize: 32, lr: 1e-3, warmupSteps: 0, logEvery: 5, ema: 0 });
    const [initRng, dataRng, noiseRng] = new Generator(o.seed).split(3);
    const model = ebmFamily.create({ ...ebmDefaults(POINTS), hidden: [16], bufferSize: 100, langevinSteps: 3 }, POINTS, initRng!) as Model;
    const loader = new DataLoader(new ArrayDataset({ x: { data: Float32Array.from(new Generator(8).normal(2 * 256)), itemShape: [2], dtype: 'float32' } }), { batchSize: 32, shuffle: true, rng: dataRng!, dropLast: true });
    return { family: ebmFamily, model, loader, options: o, rng: noiseRng! };
  };
  const a = setup();
  await new Trainer(a).run();
  const b = setup();
  let saved: TrainerSnapshot | null = null;
  const back = async (sd: Record<string, Tensor>) => io.stateDictFromBytes(await io.stateDictToBytes(sd));
  await new Trainer({ ...b, stopAt: 4, saveCheckpoint: async (s) => { saved = { ...s, model: await back(s.model), optimizer: { state: await back(s.optimizer.state), hyper: JSON.parse(JSON.stringify(s.optimizer.hyper)) }, state: JSON.parse(JSON.stringify(s.state)) }; } }).run();
  assert.ok(Object.keys(saved!.model).includes('replay_buffer'));
  const c = setup();
  const t = new Trainer(c);
  t.restore(saved!);
  await t.run();
  const w = (m: Model) => Object.values(m.net.stateDict()).flatMap((x) => vals(x));
  assert.deepEqual(w(c.model), w(a.model));
});

test('ebm config errors name the field', () => {
  assert.throws(() => make({ reinitFreq: 2 }), /'reinitFreq' must be in \[0, 1\]/);
  assert.throws(() => make({ initRange: [1, -1] }), /'initRange'/);
  assert.throws(() => ebmFamily.sample(make({}), 2, new Generator(0), { sampler: 'hmc' }), /unknown sampler 'hmc'/);
});
