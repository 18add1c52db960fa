/**
 * GANs and the EBM on the 2-D mode-collapse benchmarks: the ring of 8 Gaussians (radius 2, std
 * 0.02) and the 5×5 grid of 25 Gaussians (spacing 2, std 0.05). Every model trains through the
 * shared Trainer (the GAN family's `phases`: n_critic discriminator updates, then one generator
 * update) on a fixed training set of 20 000 points, and is scored on 2 500 samples of the EMA
 * generator with VEEGAN's metrics (src/metrics/points.ts modeStats): modes captured and the share
 * of high-quality samples (within 3σ of a mode). The EBM also reports KL(data ‖ model) on a 64×64
 * grid (histogram of 100 000 data points vs exp(−E) at the cell centres, as src/metrics' 'kl').
 * Scatter plots go to docs/gan/.
 *
 * GANs use the loss's paper betas and n_critic (ganDefaults) with both learning rates set to --lr
 * (default 1e-3: the papers' 1e-4…2e-4 need tens of thousands of steps on these sets); samples of
 * the raw generator and of its EMA (decay 0.999) are both scored.
 *
 * The EBM (10 Langevin steps per update, λ = σ² = 0.02) trains `--ebm-steps` (default steps/2) updates;
 * every net is an MLP with `--hidden` widths (default 64,64,64).
 *
 *   node --import tsx scripts/gan-2d.ts [--steps 4000] [--ebm-steps 1500] [--hidden 64,64,64] [--lr 1e-3] [--models ns,wgan-gp,f-gan:reverse-kl,f-gan:squared-hellinger,ebm] [--datasets ring,gaussianGrid]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Generator, tensor, scope, noGrad } from '../src/index.ts';
import { ArrayDataset, DataLoader } from '../src/data/index.ts';
import { toy2d } from '../src/data/toy2d.ts';
import { encodePng } from '../src/data/png.ts';
import { scatterPlot, hstack } from '../src/viz/index.ts';
import { points as mat, modeStats, histogram2d, gridDensity, klDivergence, type Grid2d } from '../src/metrics/points.ts';
import { ganFamily, ganDefaults, type GanConfig } from '../src/models/gan/index.ts';
import { ebmFamily, ebmDefaults, type EbmConfig, type EnergyNet } from '../src/models/ebm/index.ts';
import type { AnyFamily } from '../src/models/index.ts';
import type { Model } from '../src/models/registry.ts';
import { Trainer } from '../src/train/trainer.ts';
import { resolveTrainOptions } from '../src/train/config.ts';

const args = process.argv.slice(2);
const arg = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : dflt;
};
const steps = Number(arg('steps', '4000'));
// f-gan:jensen-shannon is the non-saturating GAN up to constants (same gradients, same run): not repeated
const models = arg('models', 'ns,wgan-gp,f-gan:reverse-kl,f-gan:squared-hellinger,ebm').split(',');
const datasets = arg('datasets', 'ring,gaussianGrid').split(',');
const out = arg('out', 'docs/gan');
const lr = Number(arg('lr', '1e-3'));
const ebmSteps = Number(arg('ebm-steps', String(Math.ceil(steps / 2))));
const hidden = arg('hidden', '64,64,64').split(',').map(Number);
mkdirSync(out, { recursive: true });

const SPEC = { kind: 'points' as const, shape: [2] };
const BATCH = 128, NSAMPLES = 2500, SEED = 0;

/** A square grid over the data's bounding box, padded by 10% (as src/metrics/evaluate.ts). */
function gridFor(data: Float32Array, bins: number): Grid2d {
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (let i = 0; i < data.length; i += 2) {
    x0 = Math.min(x0, data[i]!); x1 = Math.max(x1, data[i]!);
    y0 = Math.min(y0, data[i + 1]!); y1 = Math.max(y1, data[i + 1]!);
  }
  const cx = (x0 + x1) / 2, cy = (y0 + y1) / 2, h = (Math.max(x1 - x0, y1 - y0) / 2) * 1.1;
  return { range: [[cx - h, cx + h], [cy - h, cy + h]], bins };
}

interface Row { dataset: string; model: string; steps: number; modes: string; highQuality: number; emaModes?: string; emaHighQuality?: number; klGrid?: number; finite: boolean; seconds: number }
const rows: Row[] = [];

for (const dataset of datasets) {
  const entry = toy2d[dataset]!;
  const train = entry.sample(20000, new Generator(1));
  const tiles = [scatterPlot([{ points: train.slice(0, 2 * NSAMPLES), color: [40, 40, 40] }], { width: 260, height: 260, title: `${dataset} data` })];
  for (const spec of models) {
    const [loss, divergence] = spec.split(':') as [string, string | undefined];
    const isEbm = loss === 'ebm';
    const family: AnyFamily = isEbm ? ebmFamily : ganFamily;
    const config: GanConfig | EbmConfig = isEbm
      ? { ...ebmDefaults(SPEC), hidden, initRange: [-6, 6], langevinSteps: 10 }
      : { ...ganDefaults(SPEC, loss as GanConfig['loss'], (divergence ?? 'jensen-shannon') as GanConfig['divergence']), zDim: 8, hidden, lrG: lr, lrD: lr };
    const o = resolveTrainOptions({ steps: isEbm ? ebmSteps : steps, batchSize: BATCH, lr: 1e-3, warmupSteps: 0, schedule: 'constant', gradClip: 0, ema: isEbm ? 0 : 0.999, logEvery: Math.max(1, Math.floor(steps / 4)), seed: SEED });
    const [initRng, dataRng, noiseRng] = new Generator(SEED).split(3);
    const model = family.create(config, SPEC, initRng!) as Model;
    const loader = new DataLoader(new ArrayDataset({ x: { data: train, itemShape: [2], dtype: 'float32' } }), { batchSize: BATCH, shuffle: true, rng: dataRng!, dropLast: true });
    let finite = true;
    const t0 = performance.now();
    const trainer = new Trainer({
      family, model, loader, options: o, rng: noiseRng!,
      onLog: (r) => {
        if (!Number.isFinite(r.loss)) finite = false;
        console.error(`  ${dataset} ${spec} step ${r.step}: loss ${r.loss.toFixed(4)}${r.phases ? ` ${JSON.stringify(r.phases)}` : ''}`);
      },
    });
    try {
      await trainer.run();
    } catch (e) {
      finite = false;
      console.error(`  ${spec}: ${(e as Error).message}`);
    }
    const seconds = (performance.now() - t0) / 1000;
    const draw = (m: Model) => scope(() => family.sample(m, NSAMPLES, new Generator(99), isEbm ? { steps: 1000 } : {}).dataSync().slice()) as Float32Array;
    model.net.eval();
    const samples = draw(model);
    const ms = modeStats(mat(samples), entry.modes!, entry.modeStd!);
    const row: Row = { dataset, model: spec, steps: o.steps, modes: `${ms.modesCaptured}/${ms.modes}`, highQuality: ms.highQuality, finite: finite && samples.every(Number.isFinite), seconds };
    if (!isEbm) {
      const emaStats = modeStats(mat(draw(trainer.emaModel())), entry.modes!, entry.modeStd!);
      row.emaModes = `${emaStats.modesCaptured}/${emaStats.modes}`;
      row.emaHighQuality = emaStats.highQuality;
    }
    if (isEbm) {
      const grid = gridFor(train, 64);
      const ref = entry.sample(100000, new Generator(2));
      const dens = await gridDensity((c) => scope(() => noGrad(() => Float32Array.from((model.net as EnergyNet).forward(tensor(c, { shape: [c.length / 2, 2] })).neg().dataSync()))), grid);
      row.klGrid = klDivergence(histogram2d(mat(ref), grid).p, dens);
    }
    rows.push(row);
    console.error(JSON.stringify(row));
    tiles.push(scatterPlot([{ points: samples, color: [200, 60, 40] }], { width: 260, height: 260, range: { x: [-5.5, 5.5], y: [-5.5, 5.5] }, title: `${spec} ${ms.modesCaptured}/${ms.modes}` }));
    trainer.dispose();
  }
  writeFileSync(join(out, `gan-2d-${dataset}.png`), await encodePng(hstack(tiles)));
}

console.log(`| data set | model | steps | modes | high-quality | modes (EMA G) | high-quality (EMA G) | grid KL | finite | seconds |`);
console.log(`|---|---|---|---|---|---|---|---|---|---|`);
const pct = (v?: number) => (v === undefined ? '' : `${(100 * v).toFixed(1)}%`);
for (const r of rows) console.log(`| ${r.dataset} | ${r.model} | ${r.steps} | ${r.modes} | ${pct(r.highQuality)} | ${r.emaModes ?? ''} | ${pct(r.emaHighQuality)} | ${r.klGrid === undefined ? '' : r.klGrid.toFixed(3)} | ${r.finite} | ${r.seconds.toFixed(0)} |`);
writeFileSync(join(out, `gan-2d-${datasets.join('-')}.json`), JSON.stringify({ budget: { steps, ebmSteps, hidden, lr, batch: BATCH, samples: NSAMPLES, seed: SEED }, rows }, null, 1));
