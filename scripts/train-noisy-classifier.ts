/**
 * Trains the noise-conditional classifier p_φ(y | x, σ) of classifier guidance
 * (src/models/diffusion/classifier.ts; Dhariwal & Nichol 2021) on Fashion-MNIST, with the σ
 * distribution of the EDM U-Net it will guide (ln σ ~ N(pMean, pStd²), read from the run's config;
 * EDM's −1.2, 1.2 when the config does not set them). Images are scaled to [−1, 1] as the U-Net's.
 * Then it reports test accuracy at fixed noise levels and saves a checkpoint directory
 * (config.json + model.safetensors + meta.json, the accuracy table in meta.extra) that
 * `scripts/diffusion-fashion.ts --classifier <dir>` loads.
 *
 *   npx tsx scripts/train-noisy-classifier.ts [--run runs/unet-fashion] [--steps 400] [--batch 64]
 *       [--lr 2e-3] [--channels 32] [--seed 0] [--test-n 10000] [--sigmas 0.002,0.1,0.5,1,2,5,10]
 *       [--out runs/noisy-classifier] [--data <dir> (default: the run's data path)] [--backend wasm|cpu]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Generator, scope, noGrad, optim, setBackend, backendNames, randn, tensor } from '../src/index.ts';
import { ArrayDataset, DataLoader } from '../src/data/index.ts';
import { loadMnistLike } from '../src/data/locate.ts';
import { saveCheckpoint } from '../src/nn/io/node.ts';
import { NoisyClassifier, noisyClassifierLoss } from '../src/models/diffusion/classifier.ts';
import { trainClassifier } from './classifier-train-lib.ts';

const { values } = parseArgs({
  options: {
    run: { type: 'string', default: 'runs/unet-fashion' },
    steps: { type: 'string', default: '400' },
    batch: { type: 'string', default: '64' },
    lr: { type: 'string', default: '2e-3' },
    channels: { type: 'string', default: '32' },
    seed: { type: 'string', default: '0' },
    'test-n': { type: 'string', default: '10000' },
    sigmas: { type: 'string', default: '0.002,0.1,0.5,1,2,5,10' },
    out: { type: 'string', default: 'runs/noisy-classifier' },
    data: { type: 'string' },
    backend: { type: 'string' },
  },
});
const steps = Number(values.steps), batchSize = Number(values.batch), lr = Number(values.lr), seed = Number(values.seed);
const backend = values.backend ?? (backendNames().includes('wasm') ? 'wasm' : 'cpu');
setBackend(backend);

// the σ distribution of the diffusion model's training (EDM's defaults unless its config sets them)
const runConfig = JSON.parse(readFileSync(`${values.run}/config.json`, 'utf8')) as { model: { pMean?: number; pStd?: number; sigmaData?: number }; data?: { path?: string } };
const runModel = runConfig.model;
const pMean = runModel.pMean ?? -1.2, pStd = runModel.pStd ?? 1.2, sigmaData = runModel.sigmaData ?? 0.5;
console.log(`backend ${backend}; ln σ ~ N(${pMean}, ${pStd}²) as ${values.run}; σ_data ${sigmaData}`);

const dataPath = values.data ?? runConfig.data?.path; // default: where the U-Net's run found it
const load = (split: 'train' | 'test') => loadMnistLike('fashion-mnist', split, dataPath ? { path: dataPath } : {});
const [trainSet, testSet] = [await load('train'), await load('test')];
/** Pixels in [0, 1] → the U-Net's [−1, 1]. */
const toDs = (d: typeof trainSet, n = d.n) => new ArrayDataset({
  x: { data: Float32Array.from(d.images.subarray(0, n * 784), (v) => 2 * v - 1), itemShape: [1, 28, 28], dtype: 'float32' },
  y: { data: d.labels.subarray(0, n), itemShape: [], dtype: 'int32' },
});

const [initRng, dataRng, noiseRng, evalRng] = new Generator(seed).split(4) as Generator[];
const config = { inChannels: 1, numClasses: 10, channels: Number(values.channels), sigmaData };
const net = new NoisyClassifier(config, { rng: initRng! });
const nParams = net.parameters().reduce((a, p) => a + p.size, 0);
console.log(`NoisyClassifier ${JSON.stringify(net.config)}: ${nParams} parameters`);
const opt = new optim.Adam(net.parameters(), { lr });
const sched = new optim.LRScheduler(opt, optim.cosineAnnealing({ tMax: steps, etaMin: lr / 20 }));
const loader = new DataLoader(toDs(trainSet), { batchSize, shuffle: true, rng: dataRng! });
const trainSeconds = trainClassifier({
  steps, loader, opt, sched, logEvery: 25, accuracyLabel: 'noisy train acc',
  step: (x, y) => noisyClassifierLoss((xi, s) => net.forward(xi, s), x, y, noiseRng!, { pMean, pStd }),
});

// test accuracy at fixed σ: x = x₀ + σε, the same ε for every σ
net.eval();
const testN = Math.min(Number(values['test-n']), testSet.n);
const test = toDs(testSet, testN);
const sigmas = values.sigmas!.split(',').map(Number);
const correct = sigmas.map(() => 0);
for (let i = 0; i < testN; i += 250) {
  const idx = Int32Array.from({ length: Math.min(250, testN - i) }, (_, k) => i + k);
  scope(() => noGrad(() => {
    const b = test.batch(idx);
    const eps = randn(b.x!.shape, { rng: evalRng! });
    sigmas.forEach((s, k) => {
      correct[k] += scope(() => {
        const sigma = tensor(new Float32Array(idx.length).fill(s));
        return net.forward(b.x!.add(eps.mul(s)), sigma).argmax(1).eq(b.y!).int().sum().itemSync();
      });
    });
  }));
}
const accuracy = Object.fromEntries(sigmas.map((s, k) => [String(s), correct[k]! / testN]));
console.log(`test accuracy on ${testN} images (trained ${steps} steps × ${batchSize}, ${trainSeconds.toFixed(0)} s):`);
console.log('σ       accuracy');
for (const s of sigmas) console.log(`${String(s).padEnd(7)} ${(100 * accuracy[String(s)]!).toFixed(1)}%`);

await saveCheckpoint(values.out!, {
  model: net, config: net.config, step: steps,
  extra: { data: 'fashion-mnist', run: values.run, pMean, pStd, steps, batchSize, lr, seed, backend, parameters: nParams, trainSeconds: Math.round(trainSeconds), testN, accuracy },
});
console.log(`wrote ${values.out}`);
