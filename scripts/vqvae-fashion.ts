/**
 * VQ-VAE on Fashion-MNIST with a PixelCNN prior over its codes (two stages, as van den Oord et al.
 * 2017): reports test reconstruction MSE, codebook perplexity and usage, the prior's test NLL, and
 * writes a reconstruction grid and a grid of samples (codes drawn from the prior, then decoded).
 *
 *   npx tsx scripts/vqvae-fashion.ts [--steps 1500] [--batch 32] [--lr 1e-3] [--hidden 32] [--res 1]
 *       [--K 64] [--D 32] [--ema 1] [--restart 1] [--prior-steps 1600] [--prior-hidden 32]
 *       [--prior-layers 5] [--prior-train 10000] [--test 1000] [--seed 0] [--data ../shared/data]
 *       [--out docs/vae] [--levels 1|2]
 *
 * Stage 1, VQ-VAE (src/models/vae/vqvae.ts): 28×28 → two stride-2 4×4 convs → 7×7 map of D-dim
 * vectors → nearest of K codes (EMA codebook, decay 0.99, Laplace smoothing; dead-code restarts
 * when a code's moving-average use drops below `restart` assignments per batch) → mirrored
 * decoder; loss = MSE(x̂, x) + 0.25·commitment on x ∈ [−1, 1]. Adam.
 * Stage 2, prior: a Gated PixelCNN over the 7×7 code map (K-way softmax; src/models/autoregressive/
 * pixelcnn.ts) trained on the codes of the first `prior-train` training images, Adam.
 * Test MSE is on the first `test` test images, in [−1, 1] units (÷4 for [0, 1] units).
 *
 * `--levels 2` trains VQ-VAE-2 instead (Razavi et al. 2019; the VQVAE2 class: top codes 7×7,
 * bottom codes 14×14, the same K, D and quantiser settings at both levels; default 600 steps) and
 * fits no prior: it reports the test MSE, each level's perplexity and usage, the MSE with one
 * level's codes held constant, and writes `vqvae2-recon.png` and `vqvae2-fashion.json`.
 */
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Tensor, Generator, tensor, full, scope, keep, noGrad, optim, getBackend, randperm, concat } from '../src/index.ts';
import { loadMnistLike } from '../src/data/locate.ts';
import { encodePng, imageGrid } from '../src/data/png.ts';
import { VQVAE, VQVAE2, statsOf } from '../src/models/vae/vqvae.ts';
import { PixelCNN } from '../src/models/autoregressive/pixelcnn.ts';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}
const levels = Number(arg('levels', '1'));
if (levels !== 1 && levels !== 2) throw new Error(`--levels must be 1 (VQ-VAE) or 2 (VQ-VAE-2), got ${levels}`);
const steps = Number(arg('steps', levels === 2 ? '600' : '1500'));
const batch = Number(arg('batch', '32'));
const lr = Number(arg('lr', '1e-3'));
const hidden = Number(arg('hidden', '32'));
const res = Number(arg('res', '1'));
const K = Number(arg('K', '64'));
const Dm = Number(arg('D', '32'));
const ema = arg('ema', '1') === '1';
const restart = Number(arg('restart', '1'));
const priorSteps = Number(arg('prior-steps', '1600'));
const priorHidden = Number(arg('prior-hidden', '32'));
const priorLayers = Number(arg('prior-layers', '5'));
const priorTrain = Number(arg('prior-train', '10000'));
const testN = Number(arg('test', '1000'));
const seed = Number(arg('seed', '0'));
const out = arg('out', 'docs/vae');
const dataDir = arg('data', existsSync('../shared/data/fashion-mnist') ? '../shared/data' : '');
const dataOpts = dataDir ? { path: dataDir } : {};
mkdirSync(out, { recursive: true });

const P = 784;
const train = await loadMnistLike('fashion-mnist', 'train', dataOpts);
const test = await loadMnistLike('fashion-mnist', 'test', dataOpts);
const toModel = (a: Float32Array) => a.map((v) => 2 * v - 1);
const trainX = toModel(train.images), testX = toModel(test.images.subarray(0, testN * P));
const rowsOf = (src: Float32Array, idx: ArrayLike<number>) => {
  const o = new Float32Array(idx.length * P);
  for (let i = 0; i < idx.length; i++) o.set(src.subarray(idx[i]! * P, (idx[i]! + 1) * P), i * P);
  return tensor(o, { shape: [idx.length, 1, 28, 28] });
};

if (levels === 2) await twoLevel();
else await oneLevel();

/** Stage 1 and 2 for the one-level VQ-VAE. */
/**
 * Batches of indices of a random order of 0…n−1, a fresh order once fewer than `batch` remain
 * (each batch a view: use it before asking for the next).
 */
function shuffledBatches(n: number, batch: number, rng: Generator): () => Int32Array {
  let perm = randperm(n, { rng }).dataSync() as Int32Array;
  let pos = 0;
  return () => {
    if (pos + batch > n) {
      perm = randperm(n, { rng }).dataSync() as Int32Array;
      pos = 0;
    }
    pos += batch;
    return perm.subarray(pos - batch, pos);
  };
}

async function oneLevel(): Promise<void> {
  const [initRng, shuffleRng, vqRng, priorInit, priorShuffle, sampleRng] = new Generator(seed).split(6);
  const model = new VQVAE({ inChannels: 1, hidden, resBlocks: res, quantizer: { numEmbeddings: K, embeddingDim: Dm, beta: 0.25, ema, decay: 0.99, restartThreshold: restart }, rng: initRng! });
  console.log(`backend ${getBackend().name}; VQ-VAE ${model.numParameters()} parameters (hidden ${hidden}, ${res} res block(s), K=${K}, D=${Dm}, ${ema ? 'EMA' : 'codebook-loss'} codebook, restarts below ${restart}); ${steps} steps × batch ${batch}, Adam ${lr}`);

  // ---- Stage 1: the VQ-VAE ----
  const opt = new optim.Adam(model.parameters(), { lr });
  const t0 = performance.now();
  const nextBatch = shuffledBatches(train.n, batch, shuffleRng!);
  const log: { mse: number; ppl: number; used: number }[] = [];
  for (let step = 1; step <= steps; step++) {
    const idx = nextBatch();
    const r = scope(() => {
      const x = rowsOf(trainX, idx);
      opt.zeroGrad();
      const o = model.forward(x, vqRng!);
      o.loss.backward();
      opt.step();
      return { mse: o.mse.itemSync(), ppl: o.perplexity[0]!, used: o.used[0]! };
    });
    if (!Number.isFinite(r.mse)) throw new Error(`non-finite loss at step ${step}`);
    log.push(r);
    if (step % Math.max(1, Math.floor(steps / 10)) === 0) {
      const recent = log.slice(-Math.max(1, Math.floor(steps / 10)));
      const m = (f: (v: { mse: number; ppl: number; used: number }) => number) => recent.reduce((a, v) => a + f(v), 0) / recent.length;
      console.log(`  step ${step}: train MSE ${m((v) => v.mse).toFixed(4)}, perplexity ${m((v) => v.ppl).toFixed(1)}, codes used per batch ${m((v) => v.used).toFixed(1)}, restarts so far ${model.quantizer.restarts} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    }
  }
  const vqSeconds = (performance.now() - t0) / 1000;

  // ---- test reconstruction, perplexity over the test codes ----
  model.eval();
  let se = 0;
  const testCodes: Tensor[] = [];
  for (let i = 0; i < testN; i += 100) {
    const n = Math.min(100, testN - i);
    const [e, codes] = scope(() => noGrad(() => {
      const x = tensor(testX.subarray(i * P, (i + n) * P), { shape: [n, 1, 28, 28] });
      const c = model.encode(x);
      return [model.decode(c).sub(x).square().sum().itemSync(), c];
    }));
    se += e as number;
    testCodes.push(codes as Tensor);
  }
  const testMse = se / (testN * P);
  const allTest = concat(testCodes, 0);
  const counts = new Float64Array(K);
  for (const c of allTest.dataSync()) counts[c]!++;
  const testStats = statsOf(counts, allTest.size);
  console.log(`VQ-VAE: test MSE ${testMse.toFixed(4)} ([−1, 1] units; ${(testMse / 4).toFixed(4)} on [0, 1]), test codebook perplexity ${testStats.perplexity.toFixed(1)} of K=${K}, ${testStats.used} codes used; ${vqSeconds.toFixed(0)} s`);

  const recon = scope(() => noGrad(() => {
    const x = tensor(testX.subarray(0, 32 * P), { shape: [32, 1, 28, 28] });
    const r = model.decode(model.encode(x)).clamp(-1, 1);
    const both = new Float32Array(64 * P);
    const xs = x.dataSync(), rs = r.dataSync();
    for (let i = 0; i < 4; i++) {
      both.set(xs.subarray(i * 8 * P, (i + 1) * 8 * P), 2 * i * 8 * P);
      both.set(rs.subarray(i * 8 * P, (i + 1) * 8 * P), (2 * i + 1) * 8 * P);
    }
    return imageGrid(both, [64, 1, 28, 28], { cols: 8, lo: -1, hi: 1 });
  }));
  writeFileSync(join(out, 'vqvae-fashion-reconstructions.png'), await encodePng(recon));

  // ---- Stage 2: PixelCNN prior over the 7×7 codes ----
  const nPrior = Math.min(priorTrain, train.n);
  const trainCodes: Tensor[] = [];
  for (let i = 0; i < nPrior; i += 200) {
    const ids = Int32Array.from({ length: Math.min(200, nPrior - i) }, (_, j) => i + j);
    trainCodes.push(scope(() => noGrad(() => model.encode(rowsOf(trainX, ids)))));
  }
  const codesTrain = concat(trainCodes, 0);
  const prior = new PixelCNN({ classes: K, arch: 'gated', hidden: priorHidden, layers: priorLayers, rng: priorInit! });
  const popt = new optim.Adam(prior.parameters(), { lr });
  const H = allTest.shape[1]!, W = allTest.shape[2]!;
  const t1 = performance.now();
  const nextPriorBatch = shuffledBatches(nPrior, batch, priorShuffle!);
  let recentNll: number[] = [];
  for (let step = 1; step <= priorSteps; step++) {
    const ids = tensor(nextPriorBatch().slice());
    const nll = scope(() => {
      popt.zeroGrad();
      const l = prior.logProb(codesTrain.indexSelect(0, ids)).neg().mean();
      l.backward();
      popt.step();
      return l.itemSync();
    });
    recentNll.push(nll);
    if (step % Math.max(1, Math.floor(priorSteps / 5)) === 0) {
      console.log(`  prior step ${step}: train NLL ${(recentNll.reduce((a, b) => a + b, 0) / recentNll.length).toFixed(2)} nats per code map (${((performance.now() - t1) / 1000).toFixed(0)} s)`);
      recentNll = [];
    }
  }
  const priorSeconds = (performance.now() - t1) / 1000;
  prior.eval();
  let priorNll = 0;
  for (let i = 0; i < allTest.shape[0]!; i += 200) {
    const n = Math.min(200, allTest.shape[0]! - i);
    priorNll += scope(() => noGrad(() => prior.logProb(allTest.slice(0, i, i + n)).neg().sum().itemSync()));
  }
  priorNll /= allTest.shape[0]!;
  console.log(`prior: test NLL ${priorNll.toFixed(2)} nats per 7×7 code map (${(priorNll / (H * W) / Math.LN2).toFixed(3)} bits per code; uniform = ${Math.log2(K).toFixed(3)}); ${priorSeconds.toFixed(0)} s`);

  const samples = scope(() => noGrad(() => {
    const codes = prior.sample(64, [H, W], sampleRng!);
    return imageGrid(model.decode(codes).clamp(-1, 1).dataSync(), [64, 1, 28, 28], { cols: 8, lo: -1, hi: 1 });
  }));
  writeFileSync(join(out, 'vqvae-fashion-samples.png'), await encodePng(samples));

  console.log('\n| model | budget | test MSE [−1,1] | test MSE [0,1] | codebook perplexity (test) | codes used | prior test NLL (bits/code) | VQ-VAE s | prior s |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  console.log(`| VQ-VAE K=${K} D=${Dm} ${ema ? 'EMA' : 'loss'} + Gated PixelCNN prior | ${steps} + ${priorSteps} steps × ${batch} | ${testMse.toFixed(4)} | ${(testMse / 4).toFixed(4)} | ${testStats.perplexity.toFixed(1)} | ${testStats.used}/${K} | ${(priorNll / (H * W) / Math.LN2).toFixed(3)} | ${vqSeconds.toFixed(0)} | ${priorSeconds.toFixed(0)} |`);
  writeFileSync(join(out, 'vqvae-fashion.json'), JSON.stringify({ steps, batch, lr, hidden, res, K, D: Dm, ema, restart, priorSteps, priorHidden, priorLayers, priorTrain, testN, testMse, testPerplexity: testStats.perplexity, codesUsed: testStats.used, restarts: model.quantizer.restarts, priorNllNats: priorNll, vqSeconds, priorSeconds }, null, 1));
}

/**
 * VQ-VAE-2 (`--levels 2`): the two-level hierarchy of src/models/vae/vqvae.ts (top codes 7×7, bottom
 * codes 14×14 chosen given the decoded top), trained on MSE + 0.25·commitment with the same
 * quantiser settings at both levels. No prior. Reports the test MSE, each level's perplexity and
 * usage, and the MSE when one level's codes are all replaced by its most frequent test code (if a
 * level carried nothing, the MSE would not change).
 */
async function twoLevel(): Promise<void> {
  const [initRng, shuffleRng, vqRng] = new Generator(seed).split(3);
  const model = new VQVAE2({ inChannels: 1, hidden, resBlocks: res, quantizer: { numEmbeddings: K, embeddingDim: Dm, beta: 0.25, ema, decay: 0.99, restartThreshold: restart }, rng: initRng! });
  const names = ['top', 'bottom'];
  console.log(`backend ${getBackend().name}; VQ-VAE-2 ${model.numParameters()} parameters (hidden ${hidden}, ${res} res block(s), K=${K}, D=${Dm} at both levels, ${ema ? 'EMA' : 'codebook-loss'} codebooks, restarts below ${restart}); ${steps} steps × batch ${batch}, Adam ${lr}`);

  const opt = new optim.Adam(model.parameters(), { lr });
  const t0 = performance.now();
  const nextBatch = shuffledBatches(train.n, batch, shuffleRng!);
  const every = Math.max(1, Math.floor(steps / 10));
  let recent: { mse: number; ppl: number[]; used: number[] }[] = [];
  for (let step = 1; step <= steps; step++) {
    const idx = nextBatch();
    const r = scope(() => {
      opt.zeroGrad();
      const o = model.forward(rowsOf(trainX, idx), vqRng!);
      o.loss.backward();
      opt.step();
      return { mse: o.mse.itemSync(), ppl: o.perplexity, used: o.used };
    });
    if (!Number.isFinite(r.mse)) throw new Error(`non-finite loss at step ${step}`);
    recent.push(r);
    if (step % every === 0) {
      const m = (f: (v: (typeof recent)[number]) => number) => recent.reduce((a, v) => a + f(v), 0) / recent.length;
      const lv = names.map((n, l) => `${n} perplexity ${m((v) => v.ppl[l]!).toFixed(1)} / used ${m((v) => v.used[l]!).toFixed(1)}`).join(', ');
      console.log(`  step ${step}: train MSE ${m((v) => v.mse).toFixed(4)}, ${lv} per batch, restarts ${[...model.levels].map((q) => q.restarts).join('/')} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
      recent = [];
    }
  }
  const seconds = (performance.now() - t0) / 1000;

  // ---- test: codes of both levels, reconstruction MSE ----
  model.eval();
  const codes: [Tensor[], Tensor[]] = [[], []];
  let se = 0;
  for (let i = 0; i < testN; i += 100) {
    const n = Math.min(100, testN - i);
    se += scope(() => noGrad(() => {
      const x = tensor(testX.subarray(i * P, (i + n) * P), { shape: [n, 1, 28, 28] });
      const o = model.forward(x);
      codes[0].push(keep(o.indices[0]!));
      codes[1].push(keep(o.indices[1]!));
      return o.recon.sub(x).square().sum().itemSync();
    }));
  }
  const testMse = se / (testN * P);
  const maps = codes.map((c) => concat(c, 0));
  const stats = maps.map((m) => {
    const counts = new Float64Array(K);
    for (const c of m.dataSync()) counts[c]!++;
    let mode = 0;
    for (let k = 1; k < K; k++) if (counts[k]! > counts[mode]!) mode = k;
    return { ...statsOf(counts, m.size), mode, size: `${m.shape[1]}×${m.shape[2]}` };
  });
  // one level's codes replaced by its most frequent code everywhere
  const ablated = [0, 1].map((l) => {
    let e = 0;
    for (let i = 0; i < testN; i += 100) {
      const n = Math.min(100, testN - i);
      e += scope(() => noGrad(() => {
        const x = tensor(testX.subarray(i * P, (i + n) * P), { shape: [n, 1, 28, 28] });
        const [t, b] = maps.map((m, j) => (j === l ? full([n, m.shape[1]!, m.shape[2]!], stats[j]!.mode, { dtype: 'int32' }) : m.slice(0, i, i + n)));
        return model.decode(t!, b!).sub(x).square().sum().itemSync();
      }));
    }
    return e / (testN * P);
  });
  for (const [l, s] of stats.entries()) console.log(`VQ-VAE-2 ${names[l]} (${s.size}): test perplexity ${s.perplexity.toFixed(1)} of K=${K}, ${s.used} codes used, restarts ${model.levels.at(l).restarts}`);
  console.log(`VQ-VAE-2: test MSE ${testMse.toFixed(4)} ([−1, 1] units; ${(testMse / 4).toFixed(4)} on [0, 1]); top codes constant: ${(ablated[0]! / 4).toFixed(4)}; bottom codes constant: ${(ablated[1]! / 4).toFixed(4)} (on [0, 1]); ${seconds.toFixed(0)} s`);

  // ---- figure: rows of 8 = data, reconstruction, top constant, bottom constant; twice ----
  const grid = scope(() => noGrad(() => {
    const n = 16;
    const x = tensor(testX.subarray(0, n * P), { shape: [n, 1, 28, 28] });
    const [t, b] = maps.map((m) => m.slice(0, 0, n)) as [Tensor, Tensor];
    const constant = (l: number) => full([n, maps[l]!.shape[1]!, maps[l]!.shape[2]!], stats[l]!.mode, { dtype: 'int32' });
    const rows = [x, model.decode(t, b), model.decode(constant(0), b), model.decode(t, constant(1))].map((r) => r.clamp(-1, 1).dataSync());
    const all = new Float32Array(4 * n * P);
    for (let h = 0; h < 2; h++) rows.forEach((r, j) => all.set(r.subarray(h * 8 * P, (h + 1) * 8 * P), (h * 4 + j) * 8 * P));
    return imageGrid(all, [4 * n, 1, 28, 28], { cols: 8, lo: -1, hi: 1 });
  }));
  writeFileSync(join(out, 'vqvae2-recon.png'), await encodePng(grid));

  console.log('\n| model | budget | test MSE [0,1] | top (7×7) perplexity / used | bottom (14×14) perplexity / used | MSE [0,1], top constant | MSE [0,1], bottom constant | s |');
  console.log('|---|---|---|---|---|---|---|---|');
  console.log(`| VQ-VAE-2 K=${K} D=${Dm} ${ema ? 'EMA' : 'loss'} | ${steps} steps × ${batch} | ${(testMse / 4).toFixed(4)} | ${stats[0]!.perplexity.toFixed(1)} / ${stats[0]!.used} | ${stats[1]!.perplexity.toFixed(1)} / ${stats[1]!.used} | ${(ablated[0]! / 4).toFixed(4)} | ${(ablated[1]! / 4).toFixed(4)} | ${seconds.toFixed(0)} |`);
  writeFileSync(join(out, 'vqvae2-fashion.json'), JSON.stringify({ levels: 2, steps, batch, lr, hidden, res, K, D: Dm, ema, restart, testN, testMse, testMse01: testMse / 4, top: { ...stats[0], restarts: model.quantTop.restarts, mseTopConstant01: ablated[0]! / 4 }, bottom: { ...stats[1], restarts: model.quantBottom.restarts, mseBottomConstant01: ablated[1]! / 4 }, seconds }, null, 1));
}
