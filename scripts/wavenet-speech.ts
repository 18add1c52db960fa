/**
 * WaveNet on speech (espeak-ng, 8 kHz) or on synthetic sines: trains with a stated budget,
 * reports the exact held-out negative log-likelihood of the μ-law levels in nats and bits per
 * sample next to two baselines, and writes a generated clip (fast generation) as a WAV file.
 *
 *   npx tsx scripts/speech-data.ts                       # once: the espeak-ng clips in runs/speech/
 *   npx tsx scripts/wavenet-speech.ts [--data speech|sines] [--steps 600] [--batch 4] [--window 1024]
 *       [--lr 2e-3] [--stacks 2] [--layers 8] [--channels 32] [--skip 64] [--seconds 1]
 *       [--temperature 1] [--seed 0] [--speech runs/speech] [--out docs/wavenet]
 *
 * Model: src/models/wavenet (μ = 255 → 256 levels; `stacks` × dilations 1…2^(layers−1), kernel 2,
 * `channels` residual and gate channels, `skip` skip/output channels). Training: Adam with linear
 * warm-up (50 steps) and cosine decay to lr/10, gradient norm clipped at 10; each batch holds
 * `batch` random windows of `window` samples, one from each of `batch` random training clips;
 * the loss is the mean cross-entropy per sample of every window position.
 *
 * Evaluation: exact log-likelihood Σₜ log p(xₜ | x_{<t}) of every held-out clip from its first
 * sample (no context before it), total nats / total samples. Baselines, on the same levels:
 *   histogram  cross-entropy of the training set's level histogram (add-one smoothing): the
 *              entropy of the marginal μ-law distribution, a model with no context
 *   LPC-p      an order-p linear predictor of the (decoded) previous levels, least squares on the
 *              training clips, with a Gaussian residual of the training residual's variance,
 *              integrated over each level's bin (mixed with 0.1 % uniform so that no level has
 *              probability zero)
 * Data: --data speech: runs/speech/train (24 Harvard sentences × voices en-us, en-gb), held out:
 * test-sentences (4 unseen sentences, same voices) and test-voice (the same 4 sentences in the
 * unseen voice en-gb-scotland). --data sines: clips of 4096 samples, A·sin(2πft/8000 + φ) with
 * f ~ U(50, 1000) Hz, A ~ U(0.1, 0.9), φ ~ U(0, 2π); 256 training clips, 32 held-out clips drawn
 * from another seed.
 */
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Generator, tensor, scope, noGrad, optim, getBackend } from '../src/index.ts';
import type { DataSpec } from '../src/models/registry.ts';
import { wavenetFamily, type WaveNetModel, type WaveNetFamilyConfig, muLawEncode, muLawDecode, muLawBinEdges, bitsPerSample, fastGenerate, naiveGenerate } from '../src/models/wavenet/index.ts';
import { decodeWav, encodeWav } from '../src/data/wav.ts';
import { encodePng } from '../src/data/png.ts';
import { Axes, hstack, COLORS } from '../src/viz/plot.ts';
import type { Rgb } from '../src/viz/canvas.ts';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}
const dataName = arg('data', 'speech');
if (dataName !== 'speech' && dataName !== 'sines') throw new Error(`--data must be speech or sines, got ${dataName}`);
const steps = Number(arg('steps', '600'));
const batch = Number(arg('batch', '4'));
const window = Number(arg('window', '1024'));
const lr = Number(arg('lr', '2e-3'));
const seconds = Number(arg('seconds', '1'));
const temperature = Number(arg('temperature', '1'));
const seed = Number(arg('seed', '0'));
const speechDir = arg('speech', 'runs/speech');
const out = arg('out', 'docs/wavenet');
const RATE = 8000;
mkdirSync(out, { recursive: true });

// ----- data ---------------------------------------------------------------------------------------
type Clips = Float32Array[];
function readSplit(split: string): Clips {
  const manifestPath = join(speechDir, 'manifest.json');
  if (!existsSync(manifestPath)) throw new Error(`no speech data in ${speechDir}: run \`npx tsx scripts/speech-data.ts\` first (needs espeak-ng: apt-get install -y espeak-ng)`);
  const m = JSON.parse(readFileSync(manifestPath, 'utf8')) as { sampleRate: number; splits: Record<string, { file: string }[]> };
  if (m.sampleRate !== RATE) throw new Error(`${speechDir} holds ${m.sampleRate} Hz audio; this script trains at ${RATE} Hz`);
  return m.splits[split]!.map((c) => decodeWav(readFileSync(join(speechDir, c.file))).samples);
}
function sineClips(n: number, T: number, rng: Generator): Clips {
  const f = rng.uniform(n, 50, 1000), a = rng.uniform(n, 0.1, 0.9), ph = rng.uniform(n, 0, 2 * Math.PI);
  return Array.from({ length: n }, (_, i) => Float32Array.from({ length: T }, (_, t) => a[i]! * Math.sin((2 * Math.PI * f[i]! * t) / RATE + ph[i]!)));
}
const train: Clips = dataName === 'speech' ? readSplit('train') : sineClips(256, 4096, new Generator(1000 + seed));
const tests: Record<string, Clips> = dataName === 'speech'
  ? { 'unseen sentences': readSplit('test-sentences'), 'unseen sentences + voice': readSplit('test-voice') }
  : { 'held-out sines': sineClips(32, 4096, new Generator(2000 + seed)) };
const trainLevels = train.map((c) => muLawEncode(c));

// ----- baselines --------------------------------------------------------------------------------------
function histogramNll(testLevels: Int32Array[]): number {
  const counts = new Float64Array(256).fill(1);
  for (const c of trainLevels) for (const q of c) counts[q]!++;
  const total = counts.reduce((a, b) => a + b, 0);
  let nll = 0, n = 0;
  for (const c of testLevels) for (const q of c) { nll -= Math.log(counts[q]! / total); n++; }
  return nll / n;
}

/** Solve the symmetric system A·x = b (Gaussian elimination with partial pivoting, float64). */
function solve(A: Float64Array, b: Float64Array, p: number): Float64Array {
  const M = Float64Array.from(A), x = Float64Array.from(b);
  for (let i = 0; i < p; i++) {
    let piv = i;
    for (let r = i + 1; r < p; r++) if (Math.abs(M[r * p + i]!) > Math.abs(M[piv * p + i]!)) piv = r;
    for (let c = 0; c < p; c++) [M[i * p + c], M[piv * p + c]] = [M[piv * p + c]!, M[i * p + c]!];
    [x[i], x[piv]] = [x[piv]!, x[i]!];
    for (let r = i + 1; r < p; r++) {
      const f = M[r * p + i]! / M[i * p + i]!;
      for (let c = i; c < p; c++) M[r * p + c]! -= f * M[i * p + c]!;
      x[r]! -= f * x[i]!;
    }
  }
  for (let i = p - 1; i >= 0; i--) {
    let s = x[i]!;
    for (let c = i + 1; c < p; c++) s -= M[i * p + c]! * x[c]!;
    x[i] = s / M[i * p + i]!;
  }
  return x;
}

/** Standard normal CDF via erfc (Numerical Recipes' Chebyshev fit, |relative error| < 1.2e-7). */
function phi(z: number): number {
  const x = -z / Math.SQRT2, t = 1 / (1 + 0.5 * Math.abs(x));
  const r = t * Math.exp(-x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return 0.5 * (x >= 0 ? r : 2 - r);
}

function lpcNll(p: number, testLevels: Int32Array[]): number {
  const dec = (c: Int32Array) => muLawDecode(c);
  // least squares: Σ (x_t − a·x_{t−1…t−p})², over every t ≥ p of every training clip
  const A = new Float64Array(p * p), b = new Float64Array(p);
  for (const c of trainLevels) {
    const x = dec(c);
    for (let t = p; t < x.length; t++) {
      for (let i = 0; i < p; i++) {
        b[i]! += x[t]! * x[t - 1 - i]!;
        for (let j = 0; j < p; j++) A[i * p + j]! += x[t - 1 - i]! * x[t - 1 - j]!;
      }
    }
  }
  for (let i = 0; i < p; i++) A[i * p + i]! += 1e-6; // ridge, for silent stretches
  const a = solve(A, b, p);
  const predict = (x: Float32Array, t: number) => { let s = 0; for (let i = 0; i < p && t - 1 - i >= 0; i++) s += a[i]! * x[t - 1 - i]!; return s; };
  let ss = 0, m = 0;
  for (const c of trainLevels) { const x = dec(c); for (let t = p; t < x.length; t++) { const e = x[t]! - predict(x, t); ss += e * e; m++; } }
  const sigma = Math.sqrt(ss / m);
  const edges = muLawBinEdges();
  let nll = 0, n = 0;
  for (const c of testLevels) {
    const x = dec(c);
    for (let t = 0; t < x.length; t++) {
      const mu = predict(x, t), q = c[t]!;
      const pg = phi((edges[q + 1]! - mu) / sigma) - phi((edges[q]! - mu) / sigma);
      nll -= Math.log(0.999 * Math.max(0, pg) + 0.001 / 256);
      n++;
    }
  }
  return nll / n;
}

// ----- model and training ---------------------------------------------------------------------------
const data: DataSpec = { kind: 'audio', shape: [Math.round(seconds * RATE)] };
const config: WaveNetFamilyConfig = {
  ...wavenetFamily.defaults(data),
  sampleRate: RATE,
  stacks: Number(arg('stacks', '2')), layersPerStack: Number(arg('layers', '8')),
  residualChannels: Number(arg('channels', '32')), gateChannels: Number(arg('channels', '32')), skipChannels: Number(arg('skip', '64')),
};
const [initRng, batchRng, sampleRng] = new Generator(seed).split(3);
const model = wavenetFamily.create(config, data, initRng!) as WaveNetModel;
const params = model.net.numParameters();
const opt = new optim.Adam(model.net.parameters(), { lr });
const sched = new optim.LRScheduler(opt, optim.warmupCosine({ warmupSteps: Math.min(50, Math.floor(steps / 4)), totalSteps: steps, etaMin: lr / 10 }));
const usable = train.filter((c) => c.length >= window);
console.log(`backend ${getBackend().name}; data ${dataName}: ${train.length} training clips (${(train.reduce((s, c) => s + c.length, 0) / RATE).toFixed(1)} s at ${RATE} Hz)`);
console.log(`WaveNet ${config.stacks}×${config.layersPerStack} layers, ${config.residualChannels} residual/gate, ${config.skipChannels} skip channels: ${params} parameters, receptive field ${model.net.receptiveField} samples (${(model.net.receptiveField / RATE * 1000).toFixed(0)} ms)`);
console.log(`budget: ${steps} steps × ${batch} windows of ${window} samples, Adam lr ${lr} (warm-up ${Math.min(50, Math.floor(steps / 4))}, cosine to ${lr / 10})`);
const t0 = performance.now();
let recent: number[] = [];
for (let step = 1; step <= steps; step++) {
  const loss = scope(() => {
    const x = new Float32Array(batch * window);
    for (let i = 0; i < batch; i++) {
      const clip = usable[batchRng!.randint(1, 0, usable.length)[0]!]!;
      const start = batchRng!.randint(1, 0, clip.length - window + 1)[0]!;
      x.set(clip.subarray(start, start + window), i * window);
    }
    opt.zeroGrad();
    const l = wavenetFamily.loss(model, { x: tensor(x, { shape: [batch, window] }) }, batchRng!);
    l.backward();
    optim.clipGradNorm(model.net.parameters(), 10);
    opt.step();
    return l.itemSync();
  });
  sched.step();
  if (!Number.isFinite(loss)) throw new Error(`non-finite loss at step ${step}`);
  recent.push(loss);
  if (step % Math.max(1, Math.floor(steps / 10)) === 0) {
    console.log(`  step ${step}: train ${(recent.reduce((a, b) => a + b, 0) / recent.length).toFixed(3)} nats/sample (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    recent = [];
  }
}
const trainSeconds = (performance.now() - t0) / 1000;

// ----- evaluation -----------------------------------------------------------------------------------
model.net.eval();
interface Row { set: string; clips: number; samples: number; wavenet: number; histogram: number; lpc2: number; lpc16: number }
const rows: Row[] = [];
for (const [name, clips] of Object.entries(tests)) {
  let nll = 0, n = 0;
  for (const clip of clips) {
    nll -= scope(() => noGrad(() => wavenetFamily.logLikelihood!(model, { x: tensor(clip, { shape: [1, clip.length] }) }, sampleRng!).logLik.itemSync()));
    n += clip.length;
  }
  const levels = clips.map((c) => muLawEncode(c));
  rows.push({ set: name, clips: clips.length, samples: n, wavenet: nll / n, histogram: histogramNll(levels), lpc2: lpcNll(2, levels), lpc16: lpcNll(16, levels) });
}

// ----- a sample --------------------------------------------------------------------------------------
const g0 = performance.now();
const wave = noGrad(() => wavenetFamily.sample(model, 1, sampleRng!, { temperature, sampler: 'fast' }).dataSync());
const genSeconds = (performance.now() - g0) / 1000;
const wavFile = join(out, `${dataName}-sample.wav`);
writeFileSync(wavFile, encodeWav(wave as Float32Array, RATE));
// waveforms: 0.1 s of a held-out clip (from its middle) beside 0.1 s of the sample
const span = Math.min(800, wave.length);
const ref = Object.values(tests)[0]![0]!;
const refFrom = Math.max(0, Math.floor(ref.length / 2) - span / 2);
let yMax = 0.05;
for (let i = 0; i < span; i++) yMax = Math.max(yMax, Math.abs(ref[refFrom + i] ?? 0), Math.abs(wave[i]!));
const range = { x: [0, (1000 * span) / RATE] as [number, number], y: [-yMax, yMax] as [number, number] };
const panel = (x: ArrayLike<number>, from: number, title: string, color: Rgb) => {
  const ax = new Axes(range, { width: 520, height: 220 }, title);
  ax.grid();
  for (let i = 0; i + 1 < span; i++) ax.canvas.line(ax.px((1000 * i) / RATE), ax.py(x[from + i] ?? 0), ax.px((1000 * (i + 1)) / RATE), ax.py(x[from + i + 1] ?? 0), color);
  ax.decorate();
  return ax.canvas.toImage();
};
const pngFile = join(out, `${dataName}-waveforms.png`);
writeFileSync(pngFile, await encodePng(hstack([
  panel(ref, refFrom, `held-out ${dataName} (ms)`, COLORS.data),
  panel(wave, 0, `WaveNet sample, T = ${temperature} (ms)`, COLORS.model),
])));
// rms of the sample: a first check that it is neither silence nor clipping
let rms = 0;
for (const v of wave) rms += v * v;
rms = Math.sqrt(rms / wave.length);

// ----- fast vs naive generation: same samples, time per sample -------------------------------------------
// timed over the last 200 samples, past the receptive field (where naive recomputes rf + 1 positions)
const rf = model.net.receptiveField, check = rf + 200;
const timed = (gen: typeof fastGenerate) => {
  let t1 = 0;
  const lv = gen(model.net, 1, check, new Generator(7), { temperature, onStep: (t) => { if (t === rf) t1 = performance.now(); } }).dataSync();
  return { lv, ms: (performance.now() - t1) / 200 };
};
const { lv: fastLv, ms: fastMs } = timed(fastGenerate);
const { lv: naiveLv, ms: naiveMs } = timed(naiveGenerate);
const same = fastLv.every((v, i) => v === naiveLv[i]);

// ----- report ---------------------------------------------------------------------------------------
const f = (v: number) => `${v.toFixed(3)} (${bitsPerSample(v).toFixed(3)})`;
console.log(`\ntrained ${steps} steps in ${trainSeconds.toFixed(0)} s; held-out NLL in nats/sample (bits/sample):`);
console.log('| held-out set | clips | samples | WaveNet | histogram | LPC-2 | LPC-16 |');
console.log('|---|---|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.set} | ${r.clips} | ${r.samples} | ${f(r.wavenet)} | ${f(r.histogram)} | ${f(r.lpc2)} | ${f(r.lpc16)} |`);
console.log(`\nsample: ${wave.length} samples (${seconds} s at ${RATE} Hz), temperature ${temperature}, fast generation ${genSeconds.toFixed(1)} s (${(genSeconds / wave.length * 1000).toFixed(2)} ms/sample), rms ${rms.toFixed(3)} → ${wavFile}, ${pngFile}`);
console.log(`fast vs naive generation of ${check} samples from one seed: identical ${same}; ${fastMs.toFixed(2)} vs ${naiveMs.toFixed(2)} ms/sample (${(naiveMs / fastMs).toFixed(1)}× faster; per sample past the receptive field)`);
writeFileSync(join(out, `${dataName}-results.json`), JSON.stringify({
  data: dataName, config, params, receptiveField: model.net.receptiveField, steps, batch, window, lr, seed, trainSeconds, backend: getBackend().name,
  heldOut: rows, sample: { file: wavFile, seconds, temperature, genSeconds, rms },
  generation: { samples: check, identical: same, fastMsPerSample: fastMs, naiveMsPerSample: naiveMs },
}, null, 1));
