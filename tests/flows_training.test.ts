// Flows that must train: a deep affine-coupling stack stays finite, and a small RealNVP reaches a
// held-out NLL on two moons within a margin of its PyTorch twin (scripts/fixtures/flows_2d_torch.py
// --fixture, the same architecture and budget; three seeds in tests/fixtures/flows_2d_torch.json).
// Quality thresholds after a fixed number of steps; never timings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Generator, noGrad, scope, tensor } from '../src/index.ts';
import { toy2d } from '../src/data/toy2d.ts';
import { trainFlow2d } from '../scripts/flows-2d-lib.ts';

const fixture = JSON.parse(readFileSync(new URL('./fixtures/flows_2d_torch.json', import.meta.url), 'utf8')) as { heldOutNll: number[] };

test('numerical stability: a 32-layer affine-coupling flow trains 30 steps at lr 1e-2 with no NaN or Inf', () => {
  const r = trainFlow2d({ family: 'realnvp', dataset: 'eightGaussians', steps: 30, batchSize: 32, lr: 1e-2, seed: 0, testSize: 256, config: { couplings: 32, hidden: [8] } });
  assert.ok(r.finite, 'every loss and every parameter is finite');
  assert.ok(r.losses.every(Number.isFinite));
  assert.ok(Number.isFinite(r.testNll));
  const first = r.losses.slice(0, 5).reduce((a, b) => a + b) / 5, last = r.losses.slice(-5).reduce((a, b) => a + b) / 5;
  assert.ok(last < first - 0.5, `the loss went down (${first.toFixed(3)} → ${last.toFixed(3)})`);
  // sampling (the inverse of all 32 layers) and the round trip stay finite and exact
  scope(() => noGrad(() => {
    const flow = r.model.net;
    flow.eval();
    const s = flow.sample(256, new Generator(1), { temperature: 1 });
    assert.ok(s.dataSync().every(Number.isFinite), 'samples are finite');
    const x = tensor(toy2d.eightGaussians!.sample(256, new Generator(2)), { shape: [256, 2] });
    const back = flow.inverse(flow.forward(x).z).x;
    assert.ok(Math.max(...Array.from(back.sub(x).abs().dataSync())) < 1e-3, 'round trip through 32 layers in float32');
  }));
});

test('learning: RealNVP (4 couplings, MLP 2-32-32-4) reaches a held-out NLL ≤ 1.40 nats on two moons in 300 steps, within 0.1 of PyTorch', () => {
  const r = trainFlow2d({ family: 'realnvp', dataset: 'twoMoons', steps: 300, batchSize: 128, lr: 3e-3, seed: 0, testSize: 2000, config: { couplings: 4, hidden: [32, 32] } });
  assert.ok(r.finite);
  // a single Gaussian fitted to two moons scores ≈ 1.91 nats; the flow must model the two arcs
  assert.ok(r.testNll <= 1.4, `held-out NLL ${r.testNll.toFixed(3)} nats > 1.40`);
  const worstTorch = Math.max(...fixture.heldOutNll);
  assert.ok(r.testNll <= worstTorch + 0.1, `held-out NLL ${r.testNll.toFixed(3)} vs PyTorch ${fixture.heldOutNll.join(', ')}`);
});
