/**
 * Autoregressive models on binarised MNIST: FVSBN, NADE, MADE, (Gated) PixelCNN and PixelRNN (Row
 * LSTM, model name `rowlstm`, registry family `pixelrnn`), trained with a
 * stated (configurable) budget; reports the exact test NLL in nats next to the published figures
 * and writes sample grids into docs/ar/.
 *
 *   npx tsx scripts/ar-mnist.ts [--models fvsbn,nade,made,pixelcnn,rowlstm] [--steps fvsbn=1500,nade=800,made=1500,pixelcnn=500,rowlstm=400]
 *       [--batch fvsbn=64,nade=32,made=64,pixelcnn=16,rowlstm=16] [--clip 100 (gradient-norm clip; 0 = none)]
 *       [--lr fvsbn=1e-2,nade=2e-3,made=1e-3,pixelcnn=2e-3,rowlstm=2e-3] [--test fvsbn=10000,nade=2000,made=10000,pixelcnn=2000,rowlstm=2000] [--samples 36] [--seed 0]
 *       [--made-hidden 500] [--made-masks 1] [--nade-hidden 500]
 *       [--pixel-arch gated] [--pixel-hidden 32] [--pixel-layers 5] [--rnn-hidden 32] [--rnn-layers 2]
 *       [--data <dir>] [--out runs/ar-mnist] [--docs docs/ar]
 *
 * Data: MNIST grey levels p ∈ [0, 1]. Training batches are binarised dynamically (a fresh Bernoulli
 * draw with probability p at every step, through the families' `loss`). The test set is binarised
 * once, stochastically, with `binarize(..., { mode: 'stochastic', rng: new Generator(123) })`, and
 * written to <out>/test-binarized.u8 (10000 × 784 bytes) so the PyTorch twin
 * (scripts/twins/ar_mnist_torch.py) evaluates on the very same bits. Test NLL = −log p(x) in nats
 * per image, exact for every model here (MADE: the ensemble of its mask sets), averaged over the
 * first `test` test images (all 10000 for FVSBN and MADE, 2000 for the slower NADE, PixelCNN and
 * Row LSTM).
 */
import { mkdirSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Tensor, Generator, tensor, scope, noGrad, optim, getBackend } from '../src/index.ts';
import { loadMnistLike } from '../src/data/locate.ts';
import { binarize } from '../src/data/binarize.ts';
import { ArrayDataset, DataLoader } from '../src/data/loader.ts';
import { encodePng, imageGrid } from '../src/data/png.ts';
import type { DataSpec, Model } from '../src/models/registry.ts';
import { autoregressiveFamilies } from '../src/models/autoregressive/family.ts';
import type { FVSBN } from '../src/models/autoregressive/fvsbn.ts';
import type { NADE } from '../src/models/autoregressive/nade.ts';
import type { BernoulliMADE } from '../src/models/autoregressive/made.ts';
import type { PixelCNN } from '../src/models/autoregressive/pixelcnn.ts';
import type { PixelRNN } from '../src/models/autoregressive/pixelrnn.ts';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}
/** `a=1,b=2` → per-model values over defaults. */
function perModel(name: string, defs: Record<ModelName, number>): Record<ModelName, number> {
  const out = { ...defs };
  for (const kv of arg(name, '').split(',').filter(Boolean)) {
    const [k, v] = kv.split('=');
    if (!(k! in out) || !Number.isFinite(Number(v))) throw new Error(`--${name}: expected model=value pairs (fvsbn, nade, made, pixelcnn, rowlstm), got '${kv}'`);
    out[k as ModelName] = Number(v);
  }
  return out;
}

type ModelName = 'fvsbn' | 'nade' | 'made' | 'pixelcnn' | 'rowlstm';
/** The registry family of each model name. */
const FAMILY = { fvsbn: 'fvsbn', nade: 'nade', made: 'made', pixelcnn: 'pixelcnn', rowlstm: 'pixelrnn' } as const;
const models = arg('models', 'fvsbn,nade,made,pixelcnn,rowlstm').split(',') as ModelName[];
for (const m of models) if (!(m in FAMILY)) throw new Error(`--models: unknown model '${m}' (${Object.keys(FAMILY).join(', ')})`);
const steps = perModel('steps', { fvsbn: 1500, nade: 800, made: 1500, pixelcnn: 500, rowlstm: 400 });
const lrs = perModel('lr', { fvsbn: 1e-2, nade: 2e-3, made: 1e-3, pixelcnn: 2e-3, rowlstm: 2e-3 });
const clip = Number(arg('clip', '100'));
const batches = perModel('batch', { fvsbn: 64, nade: 32, made: 64, pixelcnn: 16, rowlstm: 16 });
const tests = perModel('test', { fvsbn: 10000, nade: 2000, made: 10000, pixelcnn: 2000, rowlstm: 2000 });
const nSamples = Number(arg('samples', '36'));
const seed = Number(arg('seed', '0'));
const madeHidden = Number(arg('made-hidden', '500'));
const madeMasks = Number(arg('made-masks', '1'));
const nadeHidden = Number(arg('nade-hidden', '500'));
const pixelArch = arg('pixel-arch', 'gated') as 'gated' | 'pixelcnn';
const pixelHidden = Number(arg('pixel-hidden', '32'));
const pixelLayers = Number(arg('pixel-layers', '5'));
const rnnHidden = Number(arg('rnn-hidden', '32'));
const rnnLayers = Number(arg('rnn-layers', '2'));
const out = arg('out', 'runs/ar-mnist');
const docs = arg('docs', 'docs/ar');
mkdirSync(out, { recursive: true });
mkdirSync(docs, { recursive: true });

const DATA: DataSpec = { kind: 'images', shape: [1, 28, 28] };
const D = 784;
const PUBLISHED: Record<ModelName, string> = {
  fvsbn: '97.45 (Larochelle & Murray 2011)',
  nade: '88.86 (Larochelle & Murray 2011)',
  made: '88.40 (Germain et al. 2015, 1 mask)',
  pixelcnn: '81.30 (van den Oord et al. 2016a)',
  rowlstm: '79.20 (Diagonal BiLSTM, 7 layers; van den Oord et al. 2016a give no Row LSTM figure on MNIST)',
};

function configFor(m: ModelName): Record<string, unknown> {
  const base = autoregressiveFamilies[FAMILY[m]].defaults(DATA) as unknown as Record<string, unknown>;
  if (m === 'nade') return { ...base, hidden: nadeHidden };
  if (m === 'made') return { ...base, hidden: [madeHidden], masks: madeMasks, orderAgnostic: madeMasks > 1 };
  if (m === 'pixelcnn') return { ...base, arch: pixelArch, hidden: pixelHidden, layers: pixelLayers, outHidden: pixelHidden, firstKernel: 7, kernel: 3 };
  if (m === 'rowlstm') return { ...base, output: 'bernoulli', hidden: rnnHidden, layers: rnnLayers, outHidden: rnnHidden, firstKernel: 7, kernel: 3 };
  return base;
}

interface Entry { model: string; testImages?: number; testNll: number; testNllSe: number; trainNll: number; steps: number; batchSize: number; lr: number; seconds: number; params: number; config: Record<string, unknown>; published: string }
const resultsPath = join(out, 'results.json');
const results: Entry[] = existsSync(resultsPath) ? (JSON.parse(readFileSync(resultsPath, 'utf8')) as { results: Entry[] }).results : [];

const dataDir = arg('data', existsSync('../shared/data/mnist') ? '../shared/data' : '');
const train = await loadMnistLike('mnist', 'train', dataDir ? { path: dataDir } : {});
const test = await loadMnistLike('mnist', 'test', dataDir ? { path: dataDir } : {});
// training images in the model space [−1, 1]; the families binarise each batch (p = (x + 1)/2)
const trainSet = new ArrayDataset({ x: { data: train.images.map((v) => v * 2 - 1), itemShape: [1, 28, 28], dtype: 'float32' } });
// the test set, binarised once with a fixed seed
const testBin = binarize(test.images, { mode: 'stochastic', rng: new Generator(123) });
writeFileSync(join(out, 'test-binarized.u8'), Uint8Array.from(testBin));

console.log(`backend ${getBackend().name}; Adam with cosine decay to 0.1·lr, gradient norm clipped at ${clip}; test NLL (nats) on the first N test images binarised once with Generator(123)`);
for (const name of models) {
  const fam = autoregressiveFamilies[FAMILY[name]];
  const [initRng, loaderRng, lossRng, sampleRng] = new Generator(seed).split(4);
  const config = configFor(name);
  const model = fam.create(config as never, DATA, initRng!) as Model<unknown>;
  const batchSize = batches[name];
  const testSize = tests[name];
  const params = model.net.numParameters();
  const lr = lrs[name];
  const opt = new optim.Adam(model.net.parameters(), { lr });
  const loader = new DataLoader(trainSet, { batchSize, shuffle: true, rng: loaderRng!, dropLast: true });
  console.log(`${name}: ${params} parameters, ${steps[name]} steps × ${batchSize}, lr ${lr}, config ${JSON.stringify(config)}`);
  const t0 = performance.now();
  const losses: number[] = [];
  const every = Math.max(1, Math.floor(steps[name] / 10));
  for (let step = 1; step <= steps[name]; step++) {
    // cosine decay of the learning rate to 0.1·lr over the budget
    opt.lr = lr * (0.55 + 0.45 * Math.cos((Math.PI * (step - 1)) / steps[name]));
    const loss = scope(() => {
      const x = loader.next().x!;
      opt.zeroGrad();
      const l = fam.loss(model as never, { x }, lossRng!);
      l.backward();
      if (clip > 0) optim.clipGradNorm(model.net.parameters(), clip);
      opt.step();
      return l.itemSync();
    });
    losses.push(loss);
    if (!Number.isFinite(loss)) throw new Error(`${name}: non-finite loss at step ${step}`);
    if (step % every === 0) {
      const recent = losses.slice(-every);
      console.log(`  step ${step}: train NLL ${(recent.reduce((a, b) => a + b, 0) / recent.length).toFixed(2)} nats (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  // exact test NLL on the fixed binarisation
  model.net.eval();
  const nll: number[] = [];
  const evalBatch = name === 'made' || name === 'fvsbn' ? 100 : 50;
  for (let i = 0; i < testSize; i += evalBatch) {
    const n = Math.min(evalBatch, testSize - i);
    const vals = scope(() => noGrad(() => {
      const xs = testBin.subarray(i * D, (i + n) * D);
      const lp = name === 'pixelcnn' || name === 'rowlstm'
        ? (model.net as PixelCNN | PixelRNN).logProb(tensor(xs, { shape: [n, 1, 28, 28] }))
        : (model.net as FVSBN | NADE | BernoulliMADE).logProb(tensor(xs, { shape: [n, D] }));
      return lp.neg().dataSync();
    }));
    nll.push(...vals);
  }
  const mean = nll.reduce((a, b) => a + b, 0) / nll.length;
  const se = Math.sqrt(nll.reduce((a, b) => a + (b - mean) ** 2, 0) / (nll.length - 1) / nll.length);
  const ts = performance.now();
  const grid = scope(() => {
    const s = fam.sample(model as never, nSamples, sampleRng!) as Tensor;
    return imageGrid(s.add(1).div(2).dataSync(), [nSamples, 1, 28, 28], { cols: Math.ceil(Math.sqrt(nSamples)) });
  });
  writeFileSync(join(docs, `${name}-samples.png`), await encodePng(grid));
  const trainNll = losses.slice(-every).reduce((a, b) => a + b, 0) / every;
  const entry: Entry = { model: name, testImages: testSize, testNll: mean, testNllSe: se, trainNll, steps: steps[name], batchSize, lr, seconds, params, config, published: PUBLISHED[name] };
  const k = results.findIndex((e) => e.model === name);
  if (k >= 0) results[k] = entry;
  else results.push(entry);
  writeFileSync(resultsPath, JSON.stringify({ results }, null, 1));
  console.log(`${name}: test NLL ${mean.toFixed(2)} ± ${se.toFixed(2)} nats after ${steps[name]} steps × ${batchSize} (${seconds.toFixed(0)} s training, ${((performance.now() - ts) / 1000).toFixed(0)} s sampling ${nSamples}); published ${PUBLISHED[name]}`);
}

console.log('\n| model | params | budget (steps × batch) | train s | test images | test NLL (nats) | published |');
console.log('|---|---|---|---|---|---|---|');
for (const e of results) console.log(`| ${e.model} | ${e.params} | ${e.steps} × ${e.batchSize} | ${e.seconds.toFixed(0)} | ${e.testImages ?? 10000} | ${e.testNll.toFixed(2)} ± ${e.testNllSe.toFixed(2)} | ${e.published} |`);
