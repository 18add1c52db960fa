/**
 * DCGAN (non-saturating loss, BatchNorm in D, Adam 2e-4, β = (0.5, 0.999)) and WGAN-GP (λ = 10,
 * n_critic 5, LayerNorm-like critic, Adam 1e-4, β = (0, 0.9)) on MNIST and Fashion-MNIST, trained
 * through the shared Trainer (the GAN family's phases) with an EMA of the weights (0.999), on a
 * small budget for a 2-core CPU. Reports FID against the test set with the committed feature net
 * (src/metrics/node.ts: referenceStats over the 10 000 test images) on `--n` samples of the EMA
 * generator, next to the FID of `--n` real training images (the floor at that sample size:
 * FID is biased upward for small n), and writes an 8×8 sample grid per run to docs/gan/.
 *
 *   node --import tsx scripts/gan-images.ts [--models dcgan,wgan-gp] [--datasets mnist,fashion-mnist]
 *       [--steps 1000] [--batch 64] [--n 2000] [--data ../shared/data] [--out docs/gan]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Generator, scope } from '../src/index.ts';
import { ArrayDataset, DataLoader } from '../src/data/index.ts';
import { loadMnistLike, type MnistLikeName } from '../src/data/locate.ts';
import { encodePng, imageGrid } from '../src/data/png.ts';
import { loadFeatureNet, referenceStats } from '../src/metrics/node.ts';
import { extractFeatures } from '../src/metrics/features.ts';
import { fid } from '../src/metrics/fid.ts';
import { ganFamily, ganDefaults, type GanConfig } from '../src/models/gan/index.ts';
import type { Model } from '../src/models/registry.ts';
import { Trainer } from '../src/train/trainer.ts';
import { resolveTrainOptions } from '../src/train/config.ts';

const args = process.argv.slice(2);
const arg = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : dflt;
};
const models = arg('models', 'dcgan,wgan-gp').split(',');
const datasets = arg('datasets', 'mnist,fashion-mnist').split(',') as MnistLikeName[];
const steps = Number(arg('steps', '1000')), batch = Number(arg('batch', '64')), nFid = Number(arg('n', '2000'));
const out = arg('out', 'docs/gan');
const dataPath = { path: arg('data', '../shared/data') };
mkdirSync(out, { recursive: true });
const SPEC = { kind: 'images' as const, shape: [1, 28, 28] };

interface Row { dataset: string; model: string; steps: number; dSteps: number; fid: number; fidRealFloor: number; finite: boolean; seconds: number }
const rows: Row[] = [];

for (const dataset of datasets) {
  const train = await loadMnistLike(dataset, 'train', dataPath);
  const net = await loadFeatureNet(dataset);
  const ref = await referenceStats(dataset, { dataPath: dataPath.path });
  const realFeat = (await extractFeatures(net, train.images.subarray(0, nFid * 784), [1, 28, 28], { want: { features: true, logits: false } })).features!;
  const floor = fid(ref, realFeat);
  const x = train.images.map((v) => v * 2 - 1); // the registry's [−1, 1]
  for (const name of models) {
    const loss = name === 'dcgan' ? 'ns' : (name as GanConfig['loss']);
    const config: GanConfig = { ...ganDefaults(SPEC, loss), zDim: 64, ngf: 32, ndf: 32 };
    const o = resolveTrainOptions({ steps, batchSize: batch, warmupSteps: 0, schedule: 'constant', gradClip: 0, ema: 0.999, logEvery: Math.max(1, Math.floor(steps / 10)), seed: 0 });
    const [initRng, dataRng, noiseRng] = new Generator(0).split(3);
    const model = ganFamily.create(config, SPEC, initRng!) as Model;
    const loader = new DataLoader(new ArrayDataset({ x: { data: x, itemShape: [1, 28, 28], dtype: 'float32' } }), { batchSize: batch, shuffle: true, rng: dataRng!, dropLast: true });
    let finite = true;
    const t0 = performance.now();
    const trainer = new Trainer({
      family: ganFamily, model, loader, options: o, rng: noiseRng!,
      onLog: (r) => {
        if (!Number.isFinite(r.loss) || Object.values(r.phases ?? {}).some((v) => !Number.isFinite(v))) finite = false;
        console.error(`  ${dataset} ${name} step ${r.step}: ${JSON.stringify(r.phases)} ${(r.stepsPerSec).toFixed(2)} steps/s`);
      },
    });
    try {
      await trainer.run();
    } catch (e) {
      finite = false;
      console.error(`  ${name}: ${(e as Error).message}`);
    }
    const seconds = (performance.now() - t0) / 1000;
    const g = trainer.emaModel();
    const rng = new Generator(123);
    const samples = new Float32Array(nFid * 784);
    for (let i = 0; i < nFid; i += 250) {
      const k = Math.min(250, nFid - i);
      scope(() => samples.set(ganFamily.sample(g as Model<GanConfig>, k, rng).add(1).mul(0.5).clamp(0, 1).dataSync(), i * 784));
    }
    const feats = (await extractFeatures(net, samples, [1, 28, 28], { want: { features: true, logits: false } })).features!;
    const row: Row = { dataset, model: name, steps, dSteps: steps * config.nCritic, fid: fid(ref, feats), fidRealFloor: floor, finite: finite && samples.every(Number.isFinite), seconds };
    rows.push(row);
    console.error(JSON.stringify(row));
    writeFileSync(join(out, `${name}-${dataset}.png`), await encodePng(imageGrid(samples.subarray(0, 64 * 784), [64, 1, 28, 28], { cols: 8 })));
    trainer.dispose();
  }
}
console.log('| data set | model | G steps | D steps | FID (n samples) | FID of n real train images | finite | seconds |');
console.log('|---|---|---|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.dataset} | ${r.model} | ${r.steps} | ${r.dSteps} | ${r.fid.toFixed(2)} | ${r.fidRealFloor.toFixed(2)} | ${r.finite} | ${r.seconds.toFixed(0)} |`);
writeFileSync(join(out, `gan-images-${models.join('-')}-${datasets.join('-')}.json`), JSON.stringify({ budget: { steps, batch, nFid, ema: 0.999 }, rows }, null, 1));
