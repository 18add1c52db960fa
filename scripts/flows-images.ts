/**
 * RealNVP and Glow on MNIST / Fashion-MNIST: trains with a stated (configurable) budget, reports
 * test bits/dim and writes sample grids at temperatures 1.0 and 0.7.
 *
 *   npx tsx scripts/flows-images.ts [--families realnvp,glow] [--datasets mnist,fashion-mnist]
 *       [--steps 300] [--batch 32] [--lr 1e-3] [--warmup 50] [--test 1000] [--seed 0]
 *       [--hidden 32] [--depth 4] [--blocks 1] [--data <dir>] [--out runs/flows-images]
 *
 * Architectures (src/models/flows/architectures.ts), at reduced width for a CPU budget:
 *   realnvp  2 scales on 1×28×28: [3 checkerboard couplings, squeeze, 3 channel couplings, factor
 *            out half] then 4 checkerboard couplings; coupling nets 3×3 conv → `blocks` residual
 *            blocks → 1×1 → zero-initialised 3×3 with `hidden` channels; tanh-bounded scales;
 *            logit(0.05 + 0.9·x) input transform.
 *   glow     2 levels of [squeeze, `depth` steps (actnorm, LU 1×1 conv, affine coupling with
 *            sigmoid scale, NN() of `hidden` channels)], a learned split prior between them;
 *            input x − ½.
 * Data: pixels k ∈ {0…255}, uniformly dequantised x = (k + u)/256 (dequantize.ts). Test bits/dim =
 * (−log p(x) + D·log 256)/(D·log 2), D = 784, averaged over the first `test` test images with one
 * dequantisation draw each — the definition of the RealNVP and Glow papers, so directly comparable
 * with published figures (which come from far larger budgets).
 */
import { mkdirSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Tensor, Generator, tensor, scope, noGrad, optim, getBackend } from '../src/index.ts';
import { loadMnistLike, type MnistLikeName } from '../src/data/locate.ts';
import { ArrayDataset, DataLoader } from '../src/data/loader.ts';
import { encodePng, imageGrid } from '../src/data/png.ts';
import type { DataSpec } from '../src/models/registry.ts';
import { flowFamilies, type FlowModel } from '../src/models/flows/index.ts';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}

const families = arg('families', 'realnvp,glow').split(',') as ('realnvp' | 'glow')[];
const datasets = arg('datasets', 'mnist,fashion-mnist').split(',') as MnistLikeName[];
const steps = Number(arg('steps', '300'));
const batchSize = Number(arg('batch', '32'));
const lr = Number(arg('lr', '1e-3'));
const warmup = Number(arg('warmup', '50'));
const testSize = Number(arg('test', '1000'));
const seed = Number(arg('seed', '0'));
const hidden = Number(arg('hidden', '32'));
const depth = Number(arg('depth', '4'));
const blocks = Number(arg('blocks', '1'));
const dataDir = arg('data', '');
const out = arg('out', 'runs/flows-images');
mkdirSync(out, { recursive: true });

const DATA: DataSpec = { kind: 'images', shape: [1, 28, 28] };
const D = 784;

function configFor(family: 'realnvp' | 'glow'): Record<string, unknown> {
  const base = flowFamilies[family].defaults(DATA) as unknown as Record<string, unknown>;
  return family === 'realnvp'
    ? { ...base, scales: 2, hiddenChannels: hidden, blocks }
    : { ...base, levels: 2, steps: depth, hiddenChannels: hidden, lu: true, splitPriors: true };
}

/** [0, 1] images → the registry's [−1, 1] convention. */
function toModelSpace(images: Float32Array): Float32Array {
  return images.map((v) => v * 2 - 1);
}

interface Entry { family: string; dataset: string; testBpd: number; testBpdSe: number; trainBpd: number; steps: number; batchSize: number; seconds: number; params: number; config: Record<string, unknown> }
const resultsPath = join(out, 'results.json');
const results: Entry[] = existsSync(resultsPath) ? (JSON.parse(readFileSync(resultsPath, 'utf8')) as { results: Entry[] }).results : [];

console.log(`backend ${getBackend().name}; budget: ${steps} steps × batch ${batchSize}, Adam lr ${lr} (linear warm-up ${warmup}), hidden ${hidden}, depth ${depth}; test bits/dim on ${testSize} images`);
for (const dataset of datasets) {
  const opts = dataDir ? { path: dataDir } : {};
  const train = await loadMnistLike(dataset, 'train', opts);
  const test = await loadMnistLike(dataset, 'test', opts);
  const trainSet = new ArrayDataset({ x: { data: toModelSpace(train.images), itemShape: [1, 28, 28], dtype: 'float32' } });
  const testX = toModelSpace(test.images.subarray(0, testSize * D));
  for (const family of families) {
    const fam = flowFamilies[family];
    const [initRng, loaderRng, lossRng, evalRng, sampleRng] = new Generator(seed).split(5);
    const config = configFor(family);
    const model = fam.create(config as never, DATA, initRng!) as unknown as FlowModel<Record<string, unknown>>;
    const params = model.net.numParameters();
    const opt = new optim.Adam(model.net.parameters(), { lr });
    const sched = new optim.LRScheduler(opt, optim.linearWarmup(Math.max(1, warmup)));
    const loader = new DataLoader(trainSet, { batchSize, shuffle: true, rng: loaderRng!, dropLast: true });
    console.log(`${family} on ${dataset}: ${params} parameters`);
    const t0 = performance.now();
    const losses: number[] = [];
    for (let step = 1; step <= steps; step++) {
      const loss = scope(() => {
        const x = loader.next().x!;
        opt.zeroGrad();
        const l = fam.loss(model as never, { x }, lossRng!);
        l.backward();
        optim.clipGradNorm(model.net.parameters(), 50);
        opt.step();
        return l.itemSync();
      });
      sched.step();
      losses.push(loss);
      if (!Number.isFinite(loss)) throw new Error(`${family} ${dataset}: non-finite loss at step ${step}`);
      if (step % Math.max(1, Math.floor(steps / 10)) === 0) {
        const recent = losses.slice(-Math.max(1, Math.floor(steps / 10)));
        console.log(`  step ${step}: train bits/dim ${(recent.reduce((a, b) => a + b, 0) / recent.length).toFixed(3)} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    // test bits/dim: −log p(x̃)/(D ln 2) + 8 per image
    model.net.eval();
    const bpd: number[] = [];
    for (let i = 0; i < testSize; i += 100) {
      const n = Math.min(100, testSize - i);
      const vals = scope(() => noGrad(() => {
        const x = tensor(testX.subarray(i * D, (i + n) * D), { shape: [n, 1, 28, 28] });
        const { logLik } = fam.logLikelihood!(model as never, { x }, evalRng!);
        return logLik.neg().div(D * Math.LN2).dataSync();
      }));
      bpd.push(...vals);
    }
    const mean = bpd.reduce((a, b) => a + b, 0) / bpd.length;
    const se = Math.sqrt(bpd.reduce((a, b) => a + (b - mean) ** 2, 0) / (bpd.length - 1) / bpd.length);
    for (const T of [1.0, 0.7]) {
      const grid = scope(() => {
        const s = fam.sample(model as never, 64, sampleRng!, { temperature: T }) as Tensor;
        return imageGrid(s.add(1).div(2).dataSync(), [64, 1, 28, 28], { cols: 8 });
      });
      writeFileSync(join(out, `${family}-${dataset}-T${T.toFixed(1)}.png`), await encodePng(grid));
    }
    model.net.train();
    const trainBpd = losses.slice(-Math.max(1, Math.floor(steps / 10))).reduce((a, b) => a + b, 0) / Math.max(1, Math.floor(steps / 10));
    const entry: Entry = { family, dataset, testBpd: mean, testBpdSe: se, trainBpd, steps, batchSize, seconds, params, config };
    const k = results.findIndex((e) => e.family === family && e.dataset === dataset);
    if (k >= 0) results[k] = entry;
    else results.push(entry);
    writeFileSync(resultsPath, JSON.stringify({ results }, null, 1));
    console.log(`${family} ${dataset}: test bits/dim ${mean.toFixed(3)} ± ${se.toFixed(3)} after ${steps} steps × ${batchSize} (${seconds.toFixed(0)} s training)`);
  }
}
