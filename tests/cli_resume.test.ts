// Exact resumption and the training faults, through the command line: N steps straight and
// k + resume + (N − k) steps give byte-identical weights; Ctrl-C saves a checkpoint that resumes
// exactly; a NaN/Inf loss stops the run naming the step and leaves the last good checkpoint.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { genlab, start, scratch, writePreset } from './cli_util.ts';
import '../src/index.ts';
import { loadTrainingCheckpoint } from '../src/train/node.ts';

const bytes = (dir: string, f: string) => readFileSync(join(dir, 'checkpoint', f));
const step = (dir: string) => (JSON.parse(readFileSync(join(dir, 'checkpoint', 'meta.json'), 'utf8')) as { step: number }).step;

function assertSameWeights(a: string, b: string): void {
  for (const f of ['model.safetensors', 'ema.safetensors', 'optimizer.safetensors', 'trainer.json']) {
    if (f === 'trainer.json') {
      // everything but the wall-clock time
      const strip = (d: string) => ({ ...JSON.parse(bytes(d, f).toString()), elapsedSec: 0 });
      assert.deepEqual(strip(a), strip(b), f);
    } else assert.ok(bytes(a, f).equals(bytes(b, f)), `${f} differs between ${a} and ${b}`);
  }
}

test('60 steps straight and 30 (--until) + resume + 30 give byte-identical weights, EMA and optimizer state', async () => {
  const dir = scratch();
  // a cosine schedule, so that the resumed part must also continue the learning rate exactly
  const preset = writePreset(dir, 'tiny', { train: { steps: 60, schedule: 'cosine', checkpointEvery: 25, evalEvery: 0, logEvery: 10 } });
  const [straight, first] = await Promise.all([
    genlab(['train', preset, '--out', 'a'], dir),
    genlab(['train', preset, '--out', 'b', '--until', '30'], dir),
  ]);
  assert.equal(straight.code, 0, straight.stderr);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /paused at step 30 of 60; checkpoint saved in b\/checkpoint\ncontinue with: genlab train --resume b/);
  assert.equal(step(join(dir, 'b')), 30);
  const again = await genlab(['train', preset, '--out', 'b'], dir);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /b already holds a run: pass --resume to continue it/);
  const resumed = await genlab(['train', '--resume', 'b'], dir);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stdout, /^resuming at step 30: diffusion/);
  assert.equal(step(join(dir, 'b')), 60);
  assertSameWeights(join(dir, 'a'), join(dir, 'b'));
  // the metrics log continues where the checkpoint was, with the same numbers
  const log = (d: string) => readFileSync(join(dir, d, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(log('b').map((l) => l.step), [10, 20, 30, 40, 50, 60]);
  assert.deepEqual(log('b').map((l) => [l.loss, l.lr]), log('a').map((l) => [l.loss, l.lr]));
  // extending a finished run
  const more = await genlab(['train', '--resume', 'b', '--steps', '70'], dir);
  assert.equal(more.code, 0, more.stderr);
  assert.equal(step(join(dir, 'b')), 70);
  const done = await genlab(['train', '--resume', 'b'], dir);
  assert.match(done.stdout, /already at step 70 of 70; pass --steps N/);
});

test('Ctrl-C saves a checkpoint and exits 130; resuming it matches an uninterrupted run exactly', async () => {
  const dir = scratch();
  const preset = writePreset(dir, 'tiny', { train: { steps: 100000, logEvery: 5, evalEvery: 0, checkpointEvery: 0 } });
  let sent = false;
  const { done } = start(['train', preset, '--out', 'c'], dir, (out, child) => {
    if (!sent && /step +\d+\/100000/.test(out)) {
      sent = true;
      child.kill('SIGINT');
    }
  });
  const r = await done;
  assert.equal(r.code, 130, r.stderr + r.stdout);
  assert.match(r.stdout, /stopped at step (\d+) of 100000; checkpoint saved in c\/checkpoint\ncontinue with: genlab train --resume c/);
  const k = step(join(dir, 'c'));
  assert.ok(k >= 5 && k < 100000, `stopped at ${k}`);
  const total = k + 7;
  const [resumed, straight] = await Promise.all([
    genlab(['train', '--resume', 'c', '--steps', String(total)], dir),
    genlab(['train', preset, '--out', 'd', '--steps', String(total)], dir),
  ]);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.equal(straight.code, 0, straight.stderr);
  assertSameWeights(join(dir, 'c'), join(dir, 'd'));
});

test('a NaN or infinite loss stops the run naming the step; the last good checkpoint stays', async () => {
  const dir = scratch();
  // plain SGD with an absurd learning rate and no clipping: the weights blow up within a few steps
  const preset = writePreset(dir, 'absurd', {
    train: { optimizer: 'sgd', lr: 1e12, momentum: 0, gradClip: 0, warmupSteps: 0, ema: 0, steps: 50, checkpointEvery: 1, logEvery: 1, evalEvery: 0 },
  });
  const r = await genlab(['train', preset, '--out', 'nan'], dir);
  assert.equal(r.code, 1, r.stdout);
  const m = /training diverged at step (\d+): the loss is (NaN|Infinity|-Infinity) \(try a lower train\.lr/.exec(r.stderr);
  assert.ok(m, r.stderr);
  const bad = Number(m[1]);
  assert.ok(bad >= 2 && bad < 50, `diverged at ${bad}`);
  assert.match(r.stderr, /nan\/checkpoint holds the last good one/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  // the checkpoint is the one of the step before, and every weight in it is finite
  const ck = await loadTrainingCheckpoint(join(dir, 'nan', 'checkpoint'));
  assert.equal(ck.step, bad - 1);
  for (const [k, t] of Object.entries(ck.model)) assert.ok(t.dataSync().every(Number.isFinite), `${k} is not finite`);
  const log = readFileSync(join(dir, 'nan', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(log.at(-1), { ...log.at(-1), step: bad, event: 'diverged', what: 'loss' });
});
