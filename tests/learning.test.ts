import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Generator } from '../src/index.ts';
import { trainDigitsMlp } from '../examples/digits-mlp-lib.ts';

// The engine's learning check: an MLP on the 8×8 digits (1,437 train / 360 test, a fixed split)
// must reach ≥ 95% test accuracy in a fixed number of steps — a quality threshold, not a time.
test('MLP 64→128→10 on the 8×8 digits reaches ≥ 95% test accuracy in 400 AdamW steps', async () => {
  const r = await trainDigitsMlp({ steps: 400, rng: new Generator(0) });
  assert.equal(r.testSize, 359);
  assert.ok(r.testAccuracy >= 0.95, `test accuracy ${(100 * r.testAccuracy).toFixed(2)}% < 95%`);
  assert.ok(r.finalLoss < 0.3, `final training loss ${r.finalLoss}`);
});

test('the same seed gives the same run (data order, init and noise are all seeded)', async () => {
  const a = await trainDigitsMlp({ steps: 30, rng: new Generator(7) });
  const b = await trainDigitsMlp({ steps: 30, rng: new Generator(7) });
  assert.equal(a.finalLoss, b.finalLoss);
  assert.equal(a.testAccuracy, b.testAccuracy);
});
