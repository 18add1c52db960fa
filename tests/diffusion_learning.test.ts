import { test } from 'node:test';
import assert from 'node:assert/strict';
import { train2d } from '../scripts/diffusion-2d-lib.ts';

// A regression guard on learning (the full table is `scripts/diffusion-2d.ts`): an EDM MLP on two
// moons after 800 steps, against the sliced Wasserstein distance between two independent held-out
// sets of the same size. An untrained model sits at a ratio of about 9; 800 steps reach about 0.9.
test('an EDM MLP on two moons gets within 2× of the data-to-data sliced Wasserstein in 800 steps', () => {
  const r = train2d({ dataset: 'twoMoons', config: { parameterization: 'edm' }, steps: 800, nEval: 1000 });
  assert.ok(Number.isFinite(r.finalLoss));
  assert.ok(r.ratio < 2, `SWD ${r.swd.toFixed(4)} is ${r.ratio.toFixed(2)}× the baseline ${r.baseline.toFixed(4)}`);
});
