/**
 * The image metrics on real data, at full size: FID, KID, Inception Score and precision/recall
 * of the test set against itself, of training images against the test set, and of the test set
 * corrupted by Gaussian noise and blur of increasing strength (each metric should worsen
 * monotonically). The test suite runs a small version (tests/metrics_images.test.ts).
 *
 *   npx tsx scripts/metrics-sanity.ts --dataset mnist --data ../shared/data [--n 10000] [--pr 5000] [--kid-subsets 50] [--out sanity.json]
 *
 * --n images per case (features, FID, IS), --pr of them for precision/recall, KID over
 * --kid-subsets subsets of 1000.
 */
import { parseArgs } from 'node:util';
import { writeFileSync } from 'node:fs';
import { Generator } from '../src/index.ts';
import { loadMnistLike, type MnistLikeName } from '../src/data/locate.ts';
import { loadFeatureNet, referenceStats, referenceFeatures } from '../src/metrics/node.ts';
import { extractFeatures } from '../src/metrics/features.ts';
import { fid } from '../src/metrics/fid.ts';
import { kid } from '../src/metrics/kid.ts';
import { inceptionScore } from '../src/metrics/inceptionScore.ts';
import { precisionRecall } from '../src/metrics/precisionRecall.ts';
import { takeRows } from '../src/metrics/linalg64.ts';
import { addGaussianNoise, gaussianBlur } from '../src/metrics/corrupt.ts';

const { values } = parseArgs({ options: { dataset: { type: 'string', default: 'mnist' }, data: { type: 'string' }, n: { type: 'string', default: '10000' }, pr: { type: 'string', default: '5000' }, 'kid-subsets': { type: 'string', default: '50' }, out: { type: 'string' } } });
const ds = values.dataset as MnistLikeName;
const n = Number(values.n), nPr = Number(values.pr), kidSubsets = Number(values['kid-subsets']);
const path = values.data !== undefined ? { path: values.data } : {};
const [test, train] = [await loadMnistLike(ds, 'test', path), await loadMnistLike(ds, 'train', path)];
const net = await loadFeatureNet(ds);
const ref = await referenceStats(ds, { dataPath: values.data });
const real = await referenceFeatures(ds, { dataPath: values.data });
const rng = new Generator(0);
const [noiseRng, metricRng] = rng.split(2) as Generator[];
const testImgs = test.images.subarray(0, n * 784);
const cases: [string, Float32Array][] = [
  ['test', testImgs],
  ['train', train.images.subarray(0, n * 784)],
  ...[0.05, 0.1, 0.2, 0.4].map((s) => [`noise σ=${s}`, addGaussianNoise(testImgs, s, noiseRng!)] as [string, Float32Array]),
  ...[0.5, 1, 1.5, 2].map((s) => [`blur σ=${s}`, gaussianBlur(testImgs, 28, 28, s)] as [string, Float32Array]),
];
const rows: Record<string, unknown>[] = [];
console.log(`${ds}: feature net ${net.id} (test accuracy ${(100 * net.card.testAccuracy).toFixed(2)}%), ${n} images per case (${nPr} for P/R), KID over ${kidSubsets} subsets of 1000; reference = the 10,000 test images`);
console.log('case            FID       KID×1e3 (±std)      IS (±std)         precision  recall');
for (const [name, imgs] of cases) {
  const t0 = performance.now();
  const { features, logits } = await extractFeatures(net, imgs, [1, 28, 28]);
  const f = fid(ref, features!);
  const k = kid(real.features, features!, { rng: metricRng!, subsets: kidSubsets, subsetSize: 1000 });
  const is = inceptionScore(logits!, { splits: 10 });
  const pr = precisionRecall(takeRows(real.features, metricRng!.permutation(real.features.rows).subarray(0, nPr)), takeRows(features!, metricRng!.permutation(features!.rows).subarray(0, nPr)));
  rows.push({ case: name, fid: f, kid: k.value, kidStd: k.std, is: is.value, isStd: is.std, precision: pr.precision, recall: pr.recall, seconds: (performance.now() - t0) / 1000 });
  console.log(`${name.padEnd(14)} ${f.toFixed(3).padStart(9)}  ${(1e3 * k.value).toFixed(3).padStart(8)} (±${(1e3 * k.std).toFixed(3)})  ${is.value.toFixed(3)} (±${is.std.toFixed(3)})   ${pr.precision.toFixed(4)}     ${pr.recall.toFixed(4)}`);
}
if (values.out) writeFileSync(values.out, JSON.stringify({ dataset: ds, featureNet: net.id, n, nPr, kidSubsets, rows }, null, 2) + '\n');
