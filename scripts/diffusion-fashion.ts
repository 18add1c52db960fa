/**
 * The image result of the diffusion issue: a class-conditional U-Net trained on Fashion-MNIST
 * (`genlab train edm-unet-fashion-mnist --data-path … --out runs/unet-fashion`), sampled with
 * every classic sampler at the step counts of the literature, with and without classifier-free
 * guidance. For each setting it draws `n` class-balanced samples, computes FID against the
 * Fashion-MNIST test set with genlab's feature network (src/metrics), writes a 10×10 PNG grid
 * (one row per class) and appends a row to <out>/results.json.
 *
 *   npx tsx scripts/diffusion-fashion.ts [--run runs/unet-fashion] [--n 1000] [--out docs/diffusion]
 *       [--only ddim-10,heun-18] [--guidance 1,2] [--seed 0]
 *
 * NFE counts network evaluations per sample: guidance w ≠ 1 evaluates the conditional and the
 * unconditional model, so it doubles the NFE. FID on n samples is biased upward compared with the
 * usual 50,000 (Chong & Forsyth 2020); compare rows with each other, not with published figures.
 *
 * Classifier guidance (Dhariwal & Nichol 2021): with `--classifier <dir>` (a checkpoint of
 * scripts/train-noisy-classifier.ts) and `--cg 0,1,2,4`, each setting instead gets one row per
 * classifier scale s, sampling D̃ = D + s·σ²·∇ₓ log p_φ(y | x, σ) (`classifierGuidance`).
 * `--cg-base uncond` (default) guides the unconditional model (null label, so s = 0 is unguided
 * and s = 1 is the classifier-made conditional model); `--cg-base cond` guides the class-
 * conditional model (w = 1). Such rows count costs separately, by counting calls during sampling:
 * `nfe` is U-Net evaluations per sample, `classifierNfe` classifier forward+backward passes per
 * sample (one per U-Net evaluation when s ≠ 0). They also report the accuracy of the requested
 * labels under the guiding classifier at σ = σ_min (`clfAccuracy`) and under the independent FID
 * feature network (`featAccuracy`); PNGs are fashion-cg[-cond]-<setting>-s<s>.png.
 */
import { mkdirSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Generator, scope, tensor, full, noGrad, type Tensor } from '../src/index.ts';
import { loadRun } from '../src/cli/run.ts';
import { evaluate } from '../src/metrics/evaluate.ts';
import { encodePng, imageGrid } from '../src/data/png.ts';
import { SAMPLERS } from '../src/models/diffusion/samplers.ts';
import { classifierGuidance } from '../src/models/diffusion/guidance.ts';
import { noisyClassifierFromState, type NoisyClassifier, type NoisyClassifierOptions } from '../src/models/diffusion/classifier.ts';
import type { Denoiser } from '../src/models/diffusion/denoiser.ts';
import type { DiffusionModel } from '../src/models/diffusion/family.ts';
import { loadCheckpoint } from '../src/nn/io/node.ts';
import { loadFeatureNet } from '../src/metrics/node.ts';

const { values } = parseArgs({
  options: {
    run: { type: 'string', default: 'runs/unet-fashion' },
    n: { type: 'string', default: '1000' },
    out: { type: 'string', default: 'docs/diffusion' },
    only: { type: 'string', default: '' },
    guidance: { type: 'string', default: '1,2' },
    seed: { type: 'string', default: '0' },
    'data-path': { type: 'string', default: '' },
    classifier: { type: 'string', default: '' },
    cg: { type: 'string', default: '' },
    'cg-base': { type: 'string', default: 'uncond' },
  },
});

/** The settings of the issue: DDPM-1000, DDIM-50/20/10, Heun-18 (35 NFE), DPM-Solver++ 10/20. */
const SETTINGS = [
  { name: 'ddpm-1000', sampler: 'ddpm', steps: 1000 },
  { name: 'ddim-50', sampler: 'ddim', steps: 50 },
  { name: 'ddim-20', sampler: 'ddim', steps: 20 },
  { name: 'ddim-10', sampler: 'ddim', steps: 10 },
  { name: 'heun-18', sampler: 'heun', steps: 18 },
  { name: 'dpmpp2m-20', sampler: 'dpmpp2m', steps: 20 },
  { name: 'dpmpp2m-10', sampler: 'dpmpp2m', steps: 10 },
];

function nfe(sampler: string, steps: number, guidance: number): number {
  const perStep = SAMPLERS[sampler]!.nfePerStep;
  const base = sampler === 'heun' ? 2 * steps - 1 : perStep * steps;
  return guidance === 1 ? base : 2 * base;
}

const n = Number(values.n);
const only = values.only ? values.only.split(',') : null;
const guidances = values.guidance!.split(',').map(Number);
mkdirSync(values.out!, { recursive: true });
const resultsPath = join(values.out!, 'fashion-results.json');
interface Row {
  setting: string; sampler: string; steps: number; guidance: number; nfe: number; fid: number; n: number; seconds: number; trainStep: number;
  /** Classifier-guidance rows only: scale s, guided model, classifier passes per sample, label accuracies. */
  cg?: number; cgBase?: string; classifierNfe?: number; clfAccuracy?: number; featAccuracy?: number;
}
const rows: Row[] = existsSync(resultsPath) ? (JSON.parse(readFileSync(resultsPath, 'utf8')) as { rows: Row[] }).rows : [];

const run = await loadRun(values.run!);
if (!run.model.data.numClasses) throw new Error(`${values.run}: the model is not class-conditional`);
console.log(`${values.run}: step ${run.step}, ${run.ema ? 'EMA' : 'training'} weights; FID on ${n} samples per setting`);

// classifier guidance: the noise-conditional classifier, the scales, and counters of network calls
const cgScales = values.cg ? values.cg.split(',').map(Number) : null;
if (cgScales && !values.classifier) throw new Error('--cg needs --classifier <dir> (see scripts/train-noisy-classifier.ts)');
const cgBase = values['cg-base']!;
if (cgBase !== 'uncond' && cgBase !== 'cond') throw new Error(`--cg-base must be uncond or cond, got ${cgBase}`);
let clf: NoisyClassifier | null = null;
if (values.classifier) {
  const ck = await loadCheckpoint<NoisyClassifierOptions>(values.classifier);
  clf = noisyClassifierFromState(ck.config, ck.state, { rng: new Generator(0) });
  console.log(`classifier ${values.classifier}: step ${ck.meta.step}`);
}
const calls = { net: 0, classifier: 0 };
/** The model with its denoiser replaced by `denoise` (family.sample drives m.denoise). */
const withDenoiser = (denoise: Denoiser) => ({ ...(run.model as DiffusionModel), denoise });
/** Accuracy of the requested labels (class i % 10) under the guiding classifier at σ_min and under the FID feature network. */
async function labelAccuracy(images: Float32Array): Promise<{ clfAccuracy: number; featAccuracy: number }> {
  const feat = await loadFeatureNet('fashion-mnist');
  feat.eval();
  let a = 0, b = 0;
  for (let i = 0; i < n; i += 50) {
    const m = Math.min(50, n - i);
    [a, b] = scope(() => noGrad(() => {
      const x = tensor(images.subarray(i * 784, (i + m) * 784), { shape: [m, 1, 28, 28] });
      const y = tensor(Int32Array.from({ length: m }, (_, j) => (i + j) % 10), { shape: [m], dtype: 'int32' });
      const sigma = full([m], (run.model as DiffusionModel).precond.sigmaMin);
      const c1 = clf!.forward(x, sigma).argmax(1).eq(y).int().sum().itemSync();
      const c2 = feat.logits(x.clamp(-1, 1).add(1).mul(0.5)).argmax(1).eq(y).int().sum().itemSync();
      return [a + c1, b + c2];
    }));
  }
  return { clfAccuracy: a / n, featAccuracy: b / n };
}

if (cgScales) console.log(`classifier guidance of the ${cgBase === 'uncond' ? 'unconditional' : 'conditional'} model`);
console.log(cgScales ? 'setting       s    NFE    clfNFE FID      acc(clf) acc(feat) seconds' : 'setting       w    NFE    FID      seconds');
for (const s of SETTINGS) {
  if (only && !only.includes(s.name)) continue;
  if (cgScales) {
    for (const cg of cgScales) {
      const rng = new Generator(Number(values.seed));
      const t0 = performance.now();
      const images = new Float32Array(n * 784);
      calls.net = calls.classifier = 0;
      for (let i = 0; i < n; i += 50) {
        const m = Math.min(50, n - i);
        const part = scope(() => {
          const classes = tensor(Int32Array.from({ length: m }, (_, j) => (i + j) % 10), { shape: [m], dtype: 'int32' });
          const base = (run.model as DiffusionModel).denoise;
          const counted: Denoiser = (x, sigma, cond) => {
            calls.net++;
            const c = cgBase === 'uncond' ? { ...cond, classes: full([x.shape[0]!], -1, { dtype: 'int32' }) } : cond;
            return base(x, sigma, c);
          };
          const classifier = (x: Tensor, sigma: Tensor) => {
            calls.classifier++;
            return clf!.forward(x, sigma);
          };
          const model = withDenoiser(classifierGuidance(counted, classifier, cg));
          const x = run.family.sample(model, m, rng, { sampler: s.sampler, steps: s.steps, classes }) as Tensor;
          return x.dataSync();
        });
        images.set(part, i * 784);
      }
      const batches = Math.ceil(n / 50);
      const seconds = (performance.now() - t0) / 1000;
      const r = await evaluate({ metrics: ['fid'], dataset: 'fashion-mnist', samples: images, range: [-1, 1], ...(values['data-path'] ? { dataPath: values['data-path'] } : {}) });
      const fid = r.fid as number;
      const acc = await labelAccuracy(images);
      const grid = new Float32Array(100 * 784);
      for (let c = 0; c < 10; c++) for (let k = 0; k < 10; k++) grid.set(images.subarray((k * 10 + c) * 784, (k * 10 + c + 1) * 784), (c * 10 + k) * 784);
      const tag = cgBase === 'uncond' ? 'cg' : 'cg-cond';
      writeFileSync(join(values.out!, `fashion-${tag}-${s.name}-s${cg}.png`), await encodePng(imageGrid(grid, [100, 1, 28, 28], { cols: 10, lo: -1, hi: 1 })));
      // every batch runs the sampler once: calls per batch are evaluations per sample
      const row: Row = {
        setting: s.name, sampler: s.sampler, steps: s.steps, guidance: 1, nfe: calls.net / batches, fid, n, seconds, trainStep: run.step,
        cg, cgBase, classifierNfe: calls.classifier / batches, ...acc,
      };
      const k = rows.findIndex((e) => e.setting === row.setting && e.cg === cg && e.cgBase === cgBase);
      if (k >= 0) rows[k] = row;
      else rows.push(row);
      writeFileSync(resultsPath, JSON.stringify({ run: values.run, classifier: values.classifier, rows }, null, 1));
      console.log(`${s.name.padEnd(13)} ${String(cg).padEnd(4)} ${String(row.nfe).padEnd(6)} ${String(row.classifierNfe).padEnd(6)} ${fid.toFixed(2).padEnd(8)} ${(100 * acc.clfAccuracy).toFixed(0).padEnd(8)} ${(100 * acc.featAccuracy).toFixed(0).padEnd(9)} ${seconds.toFixed(0)}`);
    }
    continue;
  }
  for (const w of guidances) {
    const rng = new Generator(Number(values.seed));
    const t0 = performance.now();
    const images = new Float32Array(n * 784);
    for (let i = 0; i < n; i += 50) {
      const m = Math.min(50, n - i);
      const part = scope(() => {
        const classes = tensor(Int32Array.from({ length: m }, (_, j) => (i + j) % 10), { shape: [m], dtype: 'int32' });
        const x = run.family.sample(run.model, m, rng, { sampler: s.sampler, steps: s.steps, classes, guidance: w }) as Tensor;
        return x.dataSync();
      });
      images.set(part, i * 784);
    }
    const seconds = (performance.now() - t0) / 1000;
    const r = await evaluate({ metrics: ['fid'], dataset: 'fashion-mnist', samples: images, range: [-1, 1], ...(values['data-path'] ? { dataPath: values['data-path'] } : {}) });
    const fid = r.fid as number;
    // grid: sample k of class c sits at row c, column k (samples were drawn with class i % 10)
    const grid = new Float32Array(100 * 784);
    for (let c = 0; c < 10; c++) for (let k = 0; k < 10; k++) grid.set(images.subarray((k * 10 + c) * 784, (k * 10 + c + 1) * 784), (c * 10 + k) * 784);
    writeFileSync(join(values.out!, `fashion-${s.name}-w${w}.png`), await encodePng(imageGrid(grid, [100, 1, 28, 28], { cols: 10, lo: -1, hi: 1 })));
    const row: Row = { setting: s.name, sampler: s.sampler, steps: s.steps, guidance: w, nfe: nfe(s.sampler, s.steps, w), fid, n, seconds, trainStep: run.step };
    const k = rows.findIndex((e) => e.setting === row.setting && e.guidance === w && e.cg === undefined);
    if (k >= 0) rows[k] = row;
    else rows.push(row);
    writeFileSync(resultsPath, JSON.stringify({ run: values.run, rows }, null, 1));
    console.log(`${s.name.padEnd(13)} ${String(w).padEnd(4)} ${String(row.nfe).padEnd(6)} ${fid.toFixed(2).padEnd(8)} ${seconds.toFixed(0)}`);
  }
}
