/**
 * The 2-D learning runs of the diffusion issue: MLP models trained as VP-ε, EDM and flow matching
 * on each toy set, a fixed budget, sliced Wasserstein distance to held-out data against the
 * data-to-data baseline (two independent held-out sets; see `iidPair`). Weights are averaged by an
 * EMA (0.999) and sampled with enough steps that the sampler's error is below the model's.
 * Usage: `npx tsx scripts/diffusion-2d.ts [--steps 3000] [--datasets twoMoons,eightGaussians]
 * [--params vp,edm,flow] [--hidden 128] [--eval-repeats 1] [--baseline-repeats 0] [--seed 0]`.
 * `--eval-repeats k` averages the SWD and the baseline over k evaluation draws; `--baseline-repeats B`
 * takes the baseline as the mean over B i.i.d. data pairs instead (`dataBaseline`). The table in
 * docs/diffusion/README.md is the default single draw; its second table used 5 and 100.
 */
import { parseArgs } from 'node:util';
import { train2d } from './diffusion-2d-lib.ts';

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '3000' },
    datasets: { type: 'string', default: 'twoMoons,eightGaussians,gaussianGrid,checkerboard,pinwheel,swissRoll,circles,ring' },
    params: { type: 'string', default: 'vp,edm,flow' },
    hidden: { type: 'string', default: '128' },
    'eval-repeats': { type: 'string', default: '1' },
    'baseline-repeats': { type: 'string', default: '0' },
    seed: { type: 'string', default: '0' },
  },
});
const steps = Number(values.steps);
const net = { kind: 'mlp', hidden: Number(values.hidden), depth: 3 };
const configs = {
  vp: { parameterization: 'vp', prediction: 'eps', sampler: 'dpmpp2m', steps: 50 },
  edm: { parameterization: 'edm', sampler: 'heun', steps: 50 },
  flow: { parameterization: 'flow', sampler: 'euler', steps: 200 },
} as const;
console.log('dataset          param    steps   SWD      baseline  ratio');
for (const dataset of values.datasets!.split(',')) {
  for (const name of values.params!.split(',') as (keyof typeof configs)[]) {
    const config = { ...configs[name], net };
    const r = train2d({ dataset, config: config as never, steps, ema: 0.999, seed: Number(values.seed), evalRepeats: Number(values['eval-repeats']), baselineRepeats: Number(values['baseline-repeats']) });
    console.log(`${dataset.padEnd(16)} ${r.parameterization.padEnd(8)} ${String(steps).padEnd(7)} ${r.swd.toFixed(4).padEnd(8)} ${r.baseline.toFixed(4).padEnd(9)} ${r.ratio.toFixed(2)}`);
  }
}
