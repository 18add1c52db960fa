/**
 * The MNIST learning run of the engine issue (too slow for CI on the reference backend): a small
 * conv net, a fixed number of steps, test accuracy on the 10,000 test images.
 *
 *   npm run mnist -- [--data <dir>] [--steps 3000] [--batch 64] [--seed 0] [--dataset mnist|fashion-mnist]
 *
 * Architecture: conv 1→16 3×3 pad 1, ReLU, max-pool 2 → conv 16→32 3×3 pad 1, ReLU, max-pool 2
 * → flatten 32·7·7 → linear 1568→10; AdamW lr 2e-3, weight decay 1e-4, cosine decay.
 */
import { parseArgs } from 'node:util';
import { Generator, scope, nn, optim } from '../src/index.ts';
import { ArrayDataset, DataLoader } from '../src/data/index.ts';
import { loadMnistLike } from '../src/data/locate.ts';
import { classificationAccuracy } from '../src/metrics/accuracy.ts';

const { values } = parseArgs({
  options: {
    data: { type: 'string' }, steps: { type: 'string', default: '3000' }, batch: { type: 'string', default: '64' },
    seed: { type: 'string', default: '0' }, dataset: { type: 'string', default: 'mnist' },
  },
});
const steps = Number(values.steps), batchSize = Number(values.batch);
const name = values.dataset === 'fashion-mnist' ? 'fashion-mnist' : 'mnist';
const load = (split: 'train' | 'test') => loadMnistLike(name, split, values.data ? { path: values.data } : {});
const [trainSet, testSet] = [await load('train'), await load('test')];
console.log(`${name}: ${trainSet.n} train / ${testSet.n} test images from ${trainSet.source}`);
const toDs = (d: typeof trainSet) => new ArrayDataset({ x: { data: d.images, itemShape: [1, 28, 28], dtype: 'float32' }, y: { data: d.labels, itemShape: [], dtype: 'int32' } });

const rng = new Generator(Number(values.seed));
const [initRng, dataRng] = rng.split(2) as Generator[];
const net = new nn.Sequential(
  new nn.Conv2d(1, 16, 3, { padding: 1, rng: initRng! }), new nn.ReLU(), new nn.MaxPool2d(2),
  new nn.Conv2d(16, 32, 3, { padding: 1, rng: initRng! }), new nn.ReLU(), new nn.MaxPool2d(2),
  new nn.Flatten(), new nn.Linear(32 * 7 * 7, 10, { rng: initRng! }),
);
const opt = new optim.AdamW(net.parameters(), { lr: 2e-3, weightDecay: 1e-4 });
const sched = new optim.LRScheduler(opt, optim.cosineAnnealing({ tMax: steps, etaMin: 0 }));
const loader = new DataLoader(toDs(trainSet), { batchSize, shuffle: true, rng: dataRng! });
const t0 = performance.now();
for (let step = 1; step <= steps; step++) {
  const loss = scope(() => {
    const b = loader.next();
    opt.zeroGrad();
    const l = nn.F.crossEntropy(net.forward(b.x!), b.y!);
    l.backward();
    opt.step();
    return l.itemSync();
  });
  sched.step();
  if (step % 100 === 0 || step === steps) console.log(`step ${step}/${steps}: loss ${loss.toFixed(4)} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
}
net.eval();
const test = toDs(testSet);
const { correct } = classificationAccuracy((x) => net.forward(x), test);
console.log(`${name} conv net: ${steps} steps of batch ${batchSize}; test accuracy ${((100 * correct) / test.length).toFixed(2)}% (${correct}/${test.length}); ${((performance.now() - t0) / 1000).toFixed(0)} s`);
