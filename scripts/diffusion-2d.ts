/**
 * The 2-D learning runs of the diffusion issue: MLP models trained as VP-ε, EDM and flow matching
 * on each toy set, a fixed budget, sliced Wasserstein distance to held-out data against the
 * data-to-data baseline (two independent held-out sets; see `iidPair`). Weights are averaged by an
 * EMA (0.999) and sampled with enough steps that the sampler's error is below the model's.
 * Usage: `npx tsx scripts/diffusion-2d.ts [--steps 3000] [--datasets twoMoons,eightGaussians]`.
 */
import { parseArgs } from 'node:util';
import { train2d } from './diffusion-2d-lib.ts';

const { values } = parseArgs({ options: { steps: { type: 'string', default: '3000' }, datasets: { type: 'string', default: 'twoMoons,eightGaussians,gaussianGrid,checkerboard,pinwheel,swissRoll,circles,ring' } } });
const steps = Number(values.steps);
const configs = [
  { parameterization: 'vp', prediction: 'eps', sampler: 'dpmpp2m', steps: 50 },
  { parameterization: 'edm', sampler: 'heun', steps: 50 },
  { parameterization: 'flow', sampler: 'euler', steps: 200 },
] as const;
console.log('dataset          param    steps   SWD      baseline  ratio');
for (const dataset of values.datasets!.split(',')) {
  for (const config of configs) {
    const r = train2d({ dataset, config: config as never, steps, ema: 0.999 });
    console.log(`${dataset.padEnd(16)} ${r.parameterization.padEnd(8)} ${String(steps).padEnd(7)} ${r.swd.toFixed(4).padEnd(8)} ${r.baseline.toFixed(4).padEnd(9)} ${r.ratio.toFixed(2)}`);
  }
}
