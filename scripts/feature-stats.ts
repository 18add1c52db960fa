/**
 * Computes (or checks) the reference statistics of the real test sets for the shipped feature
 * networks: src/metrics/weights/<dataset>-test.stats.safetensors (mean and covariance, float64,
 * keyed by the weights' sha256), and caches the test features for KID and precision/recall in
 * src/metrics/weights/cache/. Run it after scripts/train-feature-net.ts:
 *
 *   npx tsx scripts/feature-stats.ts [--data ../shared/data] [--dataset mnist|fashion-mnist]
 */
import { parseArgs } from 'node:util';
import '../src/index.ts'; // registers the backends (wasm is the default in Node)
import { referenceStats, referenceFeatures, loadFeatureNet, IMAGE_DATASETS, type ImageDataset } from '../src/metrics/node.ts';
import { inceptionScore } from '../src/metrics/inceptionScore.ts';

const { values } = parseArgs({ options: { data: { type: 'string' }, dataset: { type: 'string' } } });
const sets = values.dataset ? [values.dataset as ImageDataset] : IMAGE_DATASETS;
for (const ds of sets) {
  const net = await loadFeatureNet(ds);
  const t0 = performance.now();
  const stats = await referenceStats(ds, { dataPath: values.data });
  const { logits } = await referenceFeatures(ds, { dataPath: values.data });
  let tr = 0;
  for (let i = 0; i < stats.dim; i++) tr += stats.cov[i * stats.dim + i]!;
  const is = inceptionScore(logits, { splits: 10 });
  console.log(`${ds}: weights ${net.sha256.slice(0, 12)} (test accuracy ${(100 * net.card.testAccuracy).toFixed(2)}%), ${stats.n} test images, D = ${stats.dim}, tr Σ = ${tr.toFixed(3)}, IS(test) = ${is.value.toFixed(3)} ± ${is.std.toFixed(3)} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
}
