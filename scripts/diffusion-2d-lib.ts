/**
 * 2-D diffusion learning runs, shared by `scripts/diffusion-2d.ts` and the learning test: train a
 * noise-conditioned MLP with one parameterisation on a toy set, sample, and compare with held-out
 * data by the sliced Wasserstein distance, against the data-to-data baseline.
 */
import { Generator, scope, tensor, optim } from '../src/index.ts';
import { toy2d } from '../src/data/toy2d.ts';
import { diffusionFamily, type DiffusionConfig } from '../src/models/diffusion/family.ts';
import { slicedWasserstein, points } from '../src/metrics/points.ts';

export interface Run2d {
  dataset: string;
  parameterization: string;
  steps: number;
  swd: number;
  baseline: number;
  ratio: number;
  finalLoss: number;
}

export function train2d(opts: { dataset: string; config: Partial<DiffusionConfig>; steps: number; batch?: number; lr?: number; seed?: number; nEval?: number; sampler?: string; sampleSteps?: number }): Run2d {
  const entry = toy2d[opts.dataset];
  if (!entry) throw new Error(`unknown 2-D data set '${opts.dataset}'`);
  const rng = new Generator(opts.seed ?? 0);
  const [initRng, dataRng, noiseRng, evalRng] = rng.split(4);
  const data = { kind: 'points' as const, shape: [2] };
  const config = { ...diffusionFamily.defaults(data), ...opts.config } as DiffusionConfig;
  const model = diffusionFamily.create(config, data, initRng!);
  const opt = new optim.Adam(model.net.parameters(), { lr: opts.lr ?? 2e-3 });
  const sched = new optim.LRScheduler(opt, optim.warmupCosine({ warmupSteps: Math.floor(opts.steps / 20), totalSteps: opts.steps, etaMin: 0 }));
  const batch = opts.batch ?? 512;
  let finalLoss = NaN;
  for (let step = 0; step < opts.steps; step++) {
    finalLoss = scope(() => {
      const x = tensor(entry.sample(batch, dataRng!), { shape: [batch, 2] });
      opt.zeroGrad();
      const loss = diffusionFamily.loss(model, { x }, noiseRng!);
      loss.backward();
      opt.step();
      return loss.itemSync();
    });
    sched.step();
  }
  const n = opts.nEval ?? 2000;
  const samples = scope(() => diffusionFamily.sample(model, n, evalRng!, { sampler: opts.sampler, steps: opts.sampleSteps }).dataSync());
  const heldOut = entry.sample(n, evalRng!), other = entry.sample(n, evalRng!);
  const swd = slicedWasserstein(points(samples), points(heldOut), { rng: new Generator(1) });
  const baseline = slicedWasserstein(points(other), points(heldOut), { rng: new Generator(1) });
  model.net.dispose();
  return { dataset: opts.dataset, parameterization: config.parameterization + (config.prediction ? `-${config.prediction}` : ''), steps: opts.steps, swd, baseline, ratio: swd / baseline, finalLoss };
}
