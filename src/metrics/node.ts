/**
 * Node-only part of the metrics: the shipped feature networks on disk, the real test sets'
 * reference statistics (computed once, cached beside the weights), and images read from a folder
 * of PNG files.
 *
 * Files in src/metrics/weights/ (committed):
 *   <dataset>.safetensors              the feature network's weights (scripts/train-feature-net.ts)
 *   <dataset>.json                     its card: data set, seed, steps, test accuracy, sha256
 *   <dataset>-test.stats.safetensors   mean [D] and covariance [D, D] (float64) of the test set's
 *                                      features; metadata `weightsSha256` is the cache key: when it
 *                                      differs from the weights' hash the file is stale and rebuilt
 * and in src/metrics/weights/cache/ (not committed, rebuilt on demand from the data set):
 *   <dataset>-test.<sha12>.features.safetensors   the test set's features and logits (KID, P/R)
 */
import { existsSync, readdirSync } from 'node:fs';
import { readFile, mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join, extname } from 'node:path';
import { writeFileAtomic } from '../nn/io/files.ts';
import { loadMnistLike, type MnistLikeName } from '../data/locate.ts';
import { decodePng } from '../data/png.ts';
import { featureNetFromBytes, extractFeatures, statsToBytes, statsFromBytes, matsToBytes, matsFromBytes, type FeatureNetCard } from './features.ts';
import type { ConvFeatureNet } from './featureNet.ts';
import { gaussianStats, type GaussianStats } from './fid.ts';
import type { Mat } from './linalg64.ts';

/** The folder of the shipped weights and reference statistics. */
export const WEIGHTS_DIR = fileURLToPath(new URL('./weights/', import.meta.url));

export type ImageDataset = MnistLikeName;
export const IMAGE_DATASETS: readonly ImageDataset[] = ['mnist', 'fashion-mnist'];

const netCache = new Map<string, Promise<ConvFeatureNet & { sha256: string; card: FeatureNetCard }>>();

/** The shipped feature network of a data set (loaded once per process), with its card. */
export function loadFeatureNet(dataset: ImageDataset, opts: { weightsDir?: string } = {}): Promise<ConvFeatureNet & { sha256: string; card: FeatureNetCard }> {
  const dir = opts.weightsDir ?? WEIGHTS_DIR;
  const key = join(dir, dataset);
  let p = netCache.get(key);
  if (!p) {
    p = (async () => {
      const file = join(dir, `${dataset}.safetensors`);
      if (!existsSync(file)) throw new Error(`no feature network for '${dataset}' at ${file} (train one with scripts/train-feature-net.ts --dataset ${dataset})`);
      const card = JSON.parse(await readFile(join(dir, `${dataset}.json`), 'utf8')) as FeatureNetCard;
      const net = await featureNetFromBytes(new Uint8Array(await readFile(file)), dataset, card.options);
      if (card.sha256 && card.sha256 !== net.sha256) throw new Error(`${file}: sha256 ${net.sha256} differs from its card's ${card.sha256}`);
      return Object.assign(net, { card });
    })();
    netCache.set(key, p);
    p.catch(() => netCache.delete(key));
  }
  return p;
}

export interface ReferenceOptions {
  weightsDir?: string;
  /** Where the features cache lives. Default <weightsDir>/cache. */
  cacheDir?: string;
  /** Where the data set is (see src/data/locate.ts); default: its standard locations. */
  dataPath?: string;
  onProgress?: (done: number, total: number) => void;
}

async function realTestImages(dataset: ImageDataset, dataPath?: string): Promise<Float32Array> {
  const d = await loadMnistLike(dataset, 'test', dataPath !== undefined ? { path: dataPath } : {});
  return d.images;
}

/**
 * Mean and covariance of the feature network's features on the data set's 10,000 test images:
 * read from <dataset>-test.stats.safetensors when its `weightsSha256` matches the weights, else
 * computed (needs the data set) and written there.
 */
export async function referenceStats(dataset: ImageDataset, opts: ReferenceOptions = {}): Promise<GaussianStats> {
  const dir = opts.weightsDir ?? WEIGHTS_DIR;
  const net = await loadFeatureNet(dataset, { weightsDir: dir });
  const file = join(dir, `${dataset}-test.stats.safetensors`);
  if (existsSync(file)) {
    const { stats, metadata } = statsFromBytes(new Uint8Array(await readFile(file)));
    if (metadata.weightsSha256 === net.sha256) return stats;
  }
  const { features } = await referenceFeatures(dataset, opts);
  const stats = gaussianStats(features);
  await writeFileAtomic(file, statsToBytes(stats, { dataset, split: 'test', weightsSha256: net.sha256 }));
  return stats;
}

/** Features and logits of the test set (cached under cacheDir, keyed by the weights' hash). */
export async function referenceFeatures(dataset: ImageDataset, opts: ReferenceOptions = {}): Promise<{ features: Mat; logits: Mat }> {
  const dir = opts.weightsDir ?? WEIGHTS_DIR;
  const net = await loadFeatureNet(dataset, { weightsDir: dir });
  const cacheDir = opts.cacheDir ?? join(dir, 'cache');
  const file = join(cacheDir, `${dataset}-test.${net.sha256.slice(0, 12)}.features.safetensors`);
  if (existsSync(file)) {
    const { mats, metadata } = matsFromBytes(new Uint8Array(await readFile(file)));
    if (metadata.weightsSha256 === net.sha256 && mats.features && mats.logits) return { features: mats.features, logits: mats.logits };
  }
  const images = await realTestImages(dataset, opts.dataPath);
  const { features, logits } = await extractFeatures(net, images, [1, 28, 28], { onProgress: opts.onProgress });
  await mkdir(cacheDir, { recursive: true });
  await writeFileAtomic(file, matsToBytes({ features: features!, logits: logits! }, { dataset, split: 'test', weightsSha256: net.sha256 }));
  return { features: features!, logits: logits! };
}

/**
 * Reads every .png in `dir` (sorted by name) as a grey image in [0, 1]: grey files as they are,
 * colour ones by the luma of ITU-R BT.601 (0.299 R + 0.587 G + 0.114 B; alpha ignored). All must
 * have one size. Returns n images row-major and their [1, H, W] shape.
 */
export async function readPngDir(dir: string, opts: { limit?: number } = {}): Promise<{ images: Float32Array; shape: [1, number, number]; files: string[] }> {
  if (!existsSync(dir)) throw new Error(`readPngDir: ${dir} does not exist`);
  let files = readdirSync(dir).filter((f) => extname(f).toLowerCase() === '.png').sort();
  if (opts.limit !== undefined) files = files.slice(0, opts.limit);
  if (files.length === 0) throw new Error(`readPngDir: no .png files in ${dir}`);
  let H = 0, W = 0;
  let out: Float32Array | null = null;
  for (const [k, f] of files.entries()) {
    const img = await decodePng(new Uint8Array(await readFile(join(dir, f))));
    if (k === 0) {
      [H, W] = [img.height, img.width];
      out = new Float32Array(files.length * H * W);
    } else if (img.height !== H || img.width !== W) {
      throw new Error(`readPngDir: ${f} is ${img.width}×${img.height} but ${files[0]} is ${W}×${H}; all images must have one size`);
    }
    const c = img.channels, px = img.pixels, o = k * H * W;
    for (let i = 0; i < H * W; i++) {
      out![o + i] = c === 1 ? px[i]! / 255 : (0.299 * px[i * c]! + 0.587 * px[i * c + 1]! + 0.114 * px[i * c + 2]!) / 255;
    }
  }
  return { images: out!, shape: [1, H, W], files };
}
