// Train a tiny preset through the command line, then sample, evaluate and inspect the run as a
// user would; a damaged checkpoint is refused with a message naming the file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, truncateSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { genlab, scratch, writePreset, TINY } from './cli_util.ts';
import { decodePng } from '../src/data/png.ts';
import '../src/index.ts';
import { loadTrainingCheckpoint } from '../src/train/node.ts';

const dir = scratch();
const preset = writePreset(dir, 'tiny');
const run = join(dir, 'run');
const trained = genlab(['train', preset, '--out', 'run', '--set', 'model.net.hidden=12'], dir);

test('train writes the resolved config, checkpoints, a metrics line per logging step, pictures and metrics', async () => {
  const r = await trained;
  assert.equal(r.code, 0, r.stderr);
  // not a terminal: plain progress lines, then a summary
  assert.match(r.stdout, /step 10\/40 · loss \d/);
  assert.match(r.stdout, /sliced Wasserstein-2 to held-out data \d/);
  const config = JSON.parse(readFileSync(join(run, 'config.json'), 'utf8'));
  assert.equal(config.family, 'diffusion');
  assert.equal(config.model.net.hidden, 12); // --set
  assert.equal(config.model.net.depth, 2); // preset
  assert.equal(config.model.net.dataDim, 2); // resolved network option
  assert.equal(config.train.steps, 40);
  assert.equal(config.train.optimizer, 'adam'); // default filled in
  assert.deepEqual(config.dataSpec, { kind: 'points', shape: [2] });
  assert.deepEqual(JSON.parse(readFileSync(join(run, 'checkpoint', 'config.json'), 'utf8')), config);
  const lines = readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => l.step), [10, 20, 30, 40]);
  for (const l of lines) assert.ok(Number.isFinite(l.loss) && l.loss > 0 && l.lr > 0 && l.stepsPerSec > 0, JSON.stringify(l));
  assert.ok(Number.isFinite(lines[1].eval?.swd) && Number.isFinite(lines[3].eval?.swd), JSON.stringify(lines));
  assert.equal(lines[0].eval, undefined);
  const ck = await loadTrainingCheckpoint(join(run, 'checkpoint'));
  assert.equal(ck.step, 40);
  // EMA weights for every parameter (buffers such as the Fourier frequencies are not averaged)
  assert.ok(ck.ema && Object.keys(ck.ema).length > 0 && Object.keys(ck.ema).every((k) => k in ck.model), 'EMA weights');
  assert.ok(Object.keys(ck.model).includes('layers.0.weight'));
  const ev = JSON.parse(readFileSync(join(run, 'eval.json'), 'utf8'));
  assert.ok(ev.swd > 0 && ev.swdData > 0 && ev.step === 40, JSON.stringify(ev));
  for (const f of ['samples.png', 'samples/step-000020.png']) {
    const img = await decodePng(readFileSync(join(run, f)));
    assert.ok(img.width > 300 && img.height > 300, f);
  }
});

test('sample writes a picture, a CSV of points and an animation of the trajectory', async () => {
  await trained;
  const [png, csv] = await Promise.all([
    genlab(['sample', 'run', '--n', '300', '--out', 'heun.png', '--animate', 'traj.gif'], dir),
    genlab(['sample', 'run', '--n', '50', '--sampler', 'euler', '--steps', '3', '--seed', '7', '--out', 'pts.csv', '--animate', 'traj.png'], dir),
  ]);
  assert.equal(png.code, 0, png.stderr);
  assert.match(png.stdout, /300 points from diffusion \(step 40, EMA weights\)/);
  assert.match(png.stdout, /trajectory: 4 frames/); // the preset's 4 Heun steps
  assert.ok((await decodePng(readFileSync(join(dir, 'heun.png')))).width > 0);
  assert.equal(readFileSync(join(dir, 'traj.gif')).subarray(0, 6).toString(), 'GIF89a');
  assert.equal(csv.code, 0, csv.stderr);
  const rows = readFileSync(join(dir, 'pts.csv'), 'utf8').trim().split('\n');
  assert.equal(rows[0], 'x0,x1');
  assert.equal(rows.length, 51);
  assert.ok(rows.slice(1).every((r) => r.split(',').map(Number).every(Number.isFinite)));
  const apng = readFileSync(join(dir, 'traj.png'));
  assert.ok(apng.includes(Buffer.from('acTL')) && apng.includes(Buffer.from('fdAT')), 'an APNG');
  // the same seed gives the same samples
  const again = await genlab(['sample', 'run', '--n', '50', '--sampler', 'euler', '--steps', '3', '--seed', '7', '--out', 'pts2.csv'], dir);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(readFileSync(join(dir, 'pts2.csv'), 'utf8'), readFileSync(join(dir, 'pts.csv'), 'utf8'));
  const bad = await genlab(['sample', 'run', '--sampler', 'eulr'], dir);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unknown sampler 'eulr' for the 'diffusion' family \(available: euler, heun, /);
});

test('eval measures the run against held-out data; info describes it', async () => {
  await trained;
  const [ev, info, bad] = await Promise.all([
    genlab(['eval', 'run', '--metrics', 'swd,mmd,kl', '--n', '300', '--out', 'ev.json'], dir),
    genlab(['info', 'run'], dir),
    genlab(['eval', 'run', '--metrics', 'fidd'], dir),
  ]);
  assert.equal(ev.code, 0, ev.stderr);
  assert.match(ev.stdout, /sliced Wasserstein-2 +\d/);
  assert.match(ev.stdout, /KL\(data ‖ samples\), grid +\d/);
  const res = JSON.parse(readFileSync(join(dir, 'ev.json'), 'utf8'));
  assert.ok(res.swd > 0 && res.swd < 3 && Number.isFinite(res.mmd.mmd2) && res.kl > 0, JSON.stringify(res));
  assert.equal(res.step, 40);
  assert.equal(info.code, 0, info.stderr);
  assert.match(info.stdout, /model +diffusion \(preset tiny\)/);
  assert.match(info.stdout, /training +step 40 of 40, batch 64, adam/);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unknown metric 'fidd' \(available: swd, mmd, kl, js, modes, nll, fid, kid, is, pr, bpd\)/);
});

test('a damaged checkpoint is refused with a clear error naming the file', async () => {
  await trained;
  cpSync(run, join(dir, 'broken'), { recursive: true });
  const weights = join(dir, 'broken', 'checkpoint', 'model.safetensors');
  truncateSync(weights, Math.floor(statSync(weights).size / 2));
  const [s, resume] = await Promise.all([
    genlab(['sample', 'broken'], dir),
    genlab(['train', '--resume', 'broken', '--steps', '50'], dir),
  ]);
  for (const r of [s, resume]) {
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, /invalid model\.safetensors/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
  const missing = await genlab(['sample', 'nowhere'], dir);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no run at nowhere: no such directory/);
  assert.equal(TINY.train.steps, 40);
});
