/**
 * Trains the feature network of the image metrics (FID, KID, IS, precision/recall) and writes its
 * weights and card into src/metrics/weights/:
 *
 *   npx tsx scripts/train-feature-net.ts --dataset mnist         --data ../shared/data --steps 2000
 *   npx tsx scripts/train-feature-net.ts --dataset fashion-mnist --data ../shared/data --steps 1600
 *
 * (without --data the standard locations of src/data/locate.ts are searched).
 *
 * Data: the 60,000 training images (pixels / 255), no augmentation; test accuracy on the 10,000
 * test images. Seed: --seed (default 0) → Generator(seed).split(2) = [init, data order].
 * Architecture: ConvFeatureNet of src/metrics/featureNet.ts — conv 1→32 5×5/2, BN, ReLU; conv
 * 32→64 3×3/2, BN, ReLU; conv 64→64 3×3/2, BN, ReLU; linear 1024→128, BN, ReLU (the feature);
 * linear 128→10. Optimiser: AdamW lr 2e-3, betas (0.9, 0.999), weight decay 1e-4, batch 64,
 * cosine decay of the learning rate to 0 over --steps.
 * Backend: wasm when it is available (--backend wasm|cpu to choose); the result does not depend on
 * it beyond float rounding.
 *
 * Writes <out>/<dataset>.safetensors (float32 state dict, keys body.*, head.*) and
 * <out>/<dataset>.json (the card: data set, seed, steps, test accuracy, sha256 of the weights).
 * Reference statistics for the metrics are computed afterwards by scripts/feature-stats.ts.
 */
import { parseArgs } from 'node:util';
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Generator, nn, optim, setBackend, backendNames, io } from '../src/index.ts';
import { ArrayDataset, DataLoader } from '../src/data/index.ts';
import { loadMnistLike, type MnistLikeName } from '../src/data/locate.ts';
import { writeFileAtomic } from '../src/nn/io/files.ts';
import { ConvFeatureNet } from '../src/metrics/featureNet.ts';
import { classificationAccuracy } from '../src/metrics/accuracy.ts';
import { trainClassifier } from './classifier-train-lib.ts';

const { values } = parseArgs({
  options: {
    dataset: { type: 'string', default: 'mnist' },
    data: { type: 'string' },
    steps: { type: 'string', default: '2000' },
    batch: { type: 'string', default: '64' },
    seed: { type: 'string', default: '0' },
    lr: { type: 'string', default: '2e-3' },
    backend: { type: 'string' },
    out: { type: 'string', default: 'src/metrics/weights' },
  },
});
const name = values.dataset as MnistLikeName;
if (name !== 'mnist' && name !== 'fashion-mnist') throw new Error(`--dataset must be mnist or fashion-mnist, got ${values.dataset}`);
const steps = Number(values.steps), batchSize = Number(values.batch), seed = Number(values.seed), lr = Number(values.lr);

// backend: wasm where it is registered (importing genlab does, in Node), else the reference cpu backend
const backend = values.backend ?? (backendNames().includes('wasm') ? 'wasm' : 'cpu');
setBackend(backend);
console.log(`backend: ${backend}`);

const load = (split: 'train' | 'test') => loadMnistLike(name, split, values.data ? { path: values.data } : {});
const [trainSet, testSet] = [await load('train'), await load('test')];
console.log(`${name}: ${trainSet.n} train / ${testSet.n} test images from ${trainSet.source}`);
const toDs = (d: typeof trainSet) => new ArrayDataset({ x: { data: d.images, itemShape: [1, 28, 28], dtype: 'float32' }, y: { data: d.labels, itemShape: [], dtype: 'int32' } });

const [initRng, dataRng] = new Generator(seed).split(2) as Generator[];
const net = new ConvFeatureNet({ rng: initRng!, id: name });
const opt = new optim.AdamW(net.parameters(), { lr, weightDecay: 1e-4 });
const sched = new optim.LRScheduler(opt, optim.cosineAnnealing({ tMax: steps, etaMin: 0 }));
const loader = new DataLoader(toDs(trainSet), { batchSize, shuffle: true, rng: dataRng! });
const trainSeconds = trainClassifier({
  steps, loader, opt, sched, logEvery: 50, accuracyLabel: 'train acc',
  step: (x, y) => {
    const logits = net.forward(x);
    return { loss: nn.F.crossEntropy(logits, y), logits };
  },
});

net.eval();
const test = toDs(testSet);
const { correct } = classificationAccuracy((x) => net.forward(x), test);
const testAccuracy = correct / test.length;
console.log(`${name}: test accuracy ${(100 * testAccuracy).toFixed(2)}% (${correct}/${test.length}) after ${steps} steps of batch ${batchSize}; ${trainSeconds.toFixed(0)} s`);

mkdirSync(values.out!, { recursive: true });
const bytes = await io.stateDictToBytes(net.stateDict(), { format: 'pt', dataset: name, architecture: 'ConvFeatureNet' });
const sha256 = createHash('sha256').update(bytes).digest('hex');
await writeFileAtomic(join(values.out!, `${name}.safetensors`), bytes);
const card = {
  dataset: name,
  architecture: 'ConvFeatureNet (src/metrics/featureNet.ts): conv 1→32 5×5/2, BN, ReLU; conv 32→64 3×3/2, BN, ReLU; conv 64→64 3×3/2, BN, ReLU; linear 1024→128, BN, ReLU (feature); linear 128→10',
  options: { numClasses: 10, featureDim: 128 },
  input: '[N, 1, 28, 28] pixel values in [0, 1]',
  seed,
  steps,
  batchSize,
  optimizer: `AdamW lr ${lr}, weight decay 1e-4, cosine decay to 0`,
  testAccuracy,
  testCorrect: correct,
  testImages: test.length,
  backend,
  trainSeconds: Math.round(trainSeconds),
  command: `npx tsx scripts/train-feature-net.ts --dataset ${name} --steps ${steps} --batch ${batchSize} --seed ${seed} --lr ${values.lr}${values.data ? ` --data ${values.data}` : ''}`,
  weights: `${name}.safetensors`,
  sha256,
};
await writeFileAtomic(join(values.out!, `${name}.json`), JSON.stringify(card, null, 2) + '\n');
console.log(`wrote ${join(values.out!, `${name}.safetensors`)} (${bytes.length} bytes, sha256 ${sha256.slice(0, 16)}…)`);
