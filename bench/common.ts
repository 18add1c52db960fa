/**
 * What every benchmark peer shares: the workload specification (one source of truth, handed to
 * each peer process as JSON, the Python peer included), the deterministic data, the timing rule,
 * and the result records. Node-only (bench/ is never bundled for browsers).
 *
 * Timing rule (`measure`, mirrored in peer_torch.py): `warmup` untimed calls (fewer if they use
 * up `budgetSeconds`); the last warm-up time t₁ sets how many calls one timed repetition holds
 * (enough for `minRepSeconds`), and the number of repetitions is `reps`, cut to what fits in
 * `budgetSeconds` but never below `minReps`. The figure is the median over repetitions of
 * (repetition time / calls). Every call ends by reading a value back, so lazy and asynchronous
 * backends are really finished. Very slow calls: above `slowSeconds` one timed repetition is
 * made; above 4·`slowSeconds` none, and the first call's own time is reported (`approx`: it
 * includes first-call costs such as compilation, so the figure is a lower bound on speed).
 */

import { readFileSync } from 'node:fs';
import { type UNetConfig, type UNetOptions, resolveUNetOptions } from '../src/models/diffusion/nets/unet.ts';

export interface TimingSpec {
  warmup: number;
  reps: number;
  minReps: number;
  minRepSeconds: number;
  budgetSeconds: number;
  slowSeconds: number;
}

export interface BenchSpec {
  quick: boolean;
  only: Workload[];
  timing: TimingSpec;
  gemm: { sizes: number[] };
  /** widths[0] → … → widths[last], SiLU between layers, MSE, Adam. */
  mlp: { batch: number; widths: number[]; lr: number };
  /** 1×28×28 images: conv3×3 1→32 pad 1, conv3×3 32→64 stride 2, conv3×3 64→64 stride 2, ReLU after each, linear → 10, cross-entropy, Adam. */
  conv: { batch: number; lr: number };
  /**
   * The class-conditional EDM U-Net of presets/edm-unet-fashion-mnist.json (see `unetSpec`):
   * training steps of EDM's loss with Adam at `batch`, and denoiser calls D(x; σ, class) without
   * gradients at `sampleBatch` (one call = one network evaluation of a sampler).
   */
  unet: UnetSpec;
  /** Threads the native peer (PyTorch) uses: the machine's cores unless `--threads` says otherwise. */
  threads: number;
}

export type Workload = 'gemm' | 'mlp' | 'conv' | 'unet';
export const WORKLOADS: readonly Workload[] = ['gemm', 'mlp', 'conv', 'unet'];

export function makeSpec(opts: { quick: boolean; only: Workload[]; threads: number }): BenchSpec {
  const { quick } = opts;
  return {
    quick,
    only: opts.only,
    timing: quick
      ? { warmup: 1, reps: 3, minReps: 1, minRepSeconds: 0.02, budgetSeconds: 2, slowSeconds: 4 }
      : { warmup: 2, reps: 7, minReps: 3, minRepSeconds: 0.1, budgetSeconds: 12, slowSeconds: 20 },
    gemm: { sizes: quick ? [128, 256] : [256, 512, 1024] },
    mlp: { batch: quick ? 512 : 4096, widths: [3, 256, 256, 256, 2], lr: 1e-3 },
    conv: { batch: quick ? 16 : 64, lr: 1e-3 },
    unet: unetSpec(quick),
    threads: opts.threads,
  };
}

/** Shapes of the conv net, PyTorch layout (weights [out, in, kh, kw]); spatial sizes 28 → 28 → 13 → 6. */
export const CONV_NET = {
  convs: [
    { name: '0', cin: 1, cout: 32, stride: 1, padding: 1 },
    { name: '2', cin: 32, cout: 64, stride: 2, padding: 0 },
    { name: '4', cin: 64, cout: 64, stride: 2, padding: 0 },
  ],
  /** Spatial size after the last conv (28 → 28 → 13 → 6). */
  side: 6,
  linear: { name: '7', in: 64 * 6 * 6, out: 10 },
  classes: 10,
} as const;

export interface UnetSpec {
  /** Where the network comes from (repository path). */
  preset: string;
  /** The network's resolved config (every field, as genlab's `net.config` and unet_torch.py's `UNet(cfg)` take it). */
  net: UNetConfig;
  batch: number;
  sampleBatch: number;
  /** Adam's learning rate (the preset trains with AdamW at this rate; plain Adam here, as the other workloads). */
  lr: number;
  /** EDM (Karras et al. 2022): expected standard deviation of the data, and ln σ's mean and spread in training. */
  sigmaData: number;
  pMean: number;
  pStd: number;
}

export const UNET_PRESET = 'presets/edm-unet-fashion-mnist.json';

/**
 * The U-Net workload: the preset's network for its data (1×28×28 Fashion-MNIST, 10 classes),
 * resolved by genlab's own `resolveUNetOptions`, with dropout 0 (dropout draws from an RNG, and
 * every peer must compute the same loss; it costs little time). `--quick` takes a smaller network
 * (16 base channels, two stages, attention at 14×14) at batch 4 and sampling batch 8.
 */
export function unetSpec(quick: boolean): UnetSpec {
  const preset = JSON.parse(readFileSync(new URL(`../${UNET_PRESET}`, import.meta.url), 'utf8')) as {
    data: { name: string };
    model: { parameterization: string; sigmaData?: number; net: UNetOptions & { kind: string } };
    train: { lr: number };
  };
  const { model } = preset;
  if (preset.data.name !== 'fashion-mnist' || model.parameterization !== 'edm' || model.net.kind !== 'unet') {
    throw new Error(`bench: ${UNET_PRESET} is no longer an EDM U-Net on Fashion-MNIST; update bench/common.ts's unetSpec`);
  }
  const { kind: _kind, ...options } = model.net;
  const small: Partial<UNetOptions> = quick ? { channels: 16, channelMult: [1, 2], attnResolutions: [14], numGroups: 8 } : {};
  const net = resolveUNetOptions({ ...options, ...small, inChannels: 1, resolution: 28, numClasses: 10, dropout: 0 });
  return {
    preset: UNET_PRESET, net, batch: quick ? 4 : 32, sampleBatch: quick ? 8 : 64, lr: preset.train.lr,
    sigmaData: model.sigmaData ?? 0.5, pMean: -1.2, pStd: 1.2,
  };
}

// ----- deterministic data --------------------------------------------------------------------

/**
 * Value i of stream `seed`: murmur3's 32-bit finaliser of (i + seed·0x9E3779B9), top 24 bits
 * mapped to [−1, 1). Exactly representable in float32, cheap to reproduce in NumPy, so every peer
 * gets bit-identical inputs and initial weights.
 */
export function hashUniform(n: number, seed: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  const base = Math.imul(seed, 0x9e3779b9) >>> 0;
  for (let i = 0; i < n; i++) {
    let h = (base + i) >>> 0;
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    out[i] = ((h >>> 8) / 16777216 * 2 - 1) * scale;
  }
  return out;
}

/** Integer labels in [0, classes) from the same hash (value ↦ floor((v + 1)/2 · classes)). */
export function hashLabels(n: number, seed: number, classes: number): Int32Array {
  const u = hashUniform(n, seed);
  return Int32Array.from(u, (v) => Math.min(classes - 1, Math.floor(((v + 1) / 2) * classes)));
}

export const SEED = {
  gemmA: 11, gemmB: 12, mlpX: 21, mlpY: 22, convX: 31, convY: 32, params: 100,
  unetX: 41, unetNoise: 42, unetSigma: 43, unetY: 44, sampleX: 45, sampleNoise: 46, sampleSigma: 47, sampleY: 48,
} as const;

export interface NamedArray { name: string; shape: number[]; data: Float32Array }

/** PyTorch-style U(−1/√fanIn, 1/√fanIn) weights and biases, keyed as nn.Sequential's state dict. */
function layerParams(name: string, wShape: number[], fanIn: number, k: number): NamedArray[] {
  const bound = 1 / Math.sqrt(fanIn);
  const size = wShape.reduce((a, b) => a * b, 1);
  return [
    { name: `${name}.weight`, shape: wShape, data: hashUniform(size, SEED.params + 2 * k, bound) },
    { name: `${name}.bias`, shape: [wShape[0]!], data: hashUniform(wShape[0]!, SEED.params + 2 * k + 1, bound) },
  ];
}

/** MLP parameters: Sequential(Linear, SiLU, Linear, SiLU, …), so linear i is named `${2i}`. */
export function mlpParams(widths: readonly number[]): NamedArray[] {
  const out: NamedArray[] = [];
  for (let i = 0; i + 1 < widths.length; i++) out.push(...layerParams(String(2 * i), [widths[i + 1]!, widths[i]!], widths[i]!, i));
  return out;
}

/** Conv-net parameters, keyed as Sequential(conv, ReLU, conv, ReLU, conv, ReLU, Flatten, Linear). */
export function convParams(): NamedArray[] {
  const out: NamedArray[] = [];
  CONV_NET.convs.forEach((c, i) => out.push(...layerParams(c.name, [c.cout, c.cin, 3, 3], c.cin * 9, i)));
  out.push(...layerParams(CONV_NET.linear.name, [CONV_NET.linear.out, CONV_NET.linear.in], CONV_NET.linear.in, CONV_NET.convs.length));
  return out;
}

export function mlpData(spec: BenchSpec): { x: Float32Array; y: Float32Array } {
  const { batch, widths } = spec.mlp;
  return { x: hashUniform(batch * widths[0]!, SEED.mlpX), y: hashUniform(batch * widths[widths.length - 1]!, SEED.mlpY) };
}

export function convData(spec: BenchSpec): { x: Float32Array; labels: Int32Array } {
  const n = spec.conv.batch;
  // Images in [0, 1).
  return { x: hashUniform(n * 28 * 28, SEED.convX).map((v) => (v + 1) / 2), labels: hashLabels(n, SEED.convY, CONV_NET.classes) };
}

/** FNV-1a, 32 bits, of a string's UTF-8 bytes: a parameter's seed from its name. */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(s)) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h;
}

/**
 * Initial U-Net weights by state-dict name, so the order in which a library lists its parameters
 * does not matter: the stream of `name` is `fnv1a(name)`. Norm weights 1 + 0.1·u, other vectors
 * 0.1·u, tensors of rank ≥ 2 U(−1/√fanIn, 1/√fanIn) (fanIn = size / shape[0]). Every tensor is
 * non-zero (the convolutions the U-Net starts at zero included), so the loss depends on all of them.
 */
export function unetParam(name: string, shape: readonly number[]): Float32Array {
  const size = shape.reduce((a, b) => a * b, 1);
  const u = hashUniform(size, fnv1a(name));
  if (shape.length >= 2) {
    const bound = 1 / Math.sqrt(size / shape[0]!);
    return u.map((v) => v * bound);
  }
  const isNormWeight = /(^|\.)norm[^.]*\.weight$/.test(name);
  return u.map((v) => (isNormWeight ? 1 + 0.1 * v : 0.1 * v));
}

/**
 * U-Net inputs from the hash: images x₀ ∈ [−1, 1); noise ε and ln σ from uniforms scaled to unit
 * variance instead of Gaussians (so every peer sees the same bytes: ε = √3·u, ln σ = pMean +
 * pStd·√3·u, σ computed here in float64 and rounded to float32); classes in 0…9. `train` is the
 * training batch; `sample` is a denoiser call's input, x = x₀ + σε from streams of its own.
 */
export function unetData(spec: BenchSpec, which: 'train' | 'sample'): { x0: Float32Array; noise: Float32Array; sigma: Float32Array; classes: Int32Array } {
  const u = spec.unet;
  const n = which === 'train' ? u.batch : u.sampleBatch;
  const d = u.net.inChannels * u.net.resolution * u.net.resolution;
  const s = which === 'train'
    ? { x: SEED.unetX, noise: SEED.unetNoise, sigma: SEED.unetSigma, y: SEED.unetY }
    : { x: SEED.sampleX, noise: SEED.sampleNoise, sigma: SEED.sampleSigma, y: SEED.sampleY };
  return {
    x0: hashUniform(n * d, s.x),
    noise: hashUniform(n * d, s.noise, Math.sqrt(3)),
    sigma: Float32Array.from(hashUniform(n, s.sigma), (v) => Math.exp(u.pMean + u.pStd * Math.sqrt(3) * v)),
    classes: hashLabels(n, s.y, u.net.numClasses),
  };
}

/** Indices of C = A·B that every peer reports back (first, middle, last), for the correctness check. */
export function gemmProbeIndices(n: number): number[] {
  return [0, (n >> 1) * n + (n >> 1) + 1, n * n - 1];
}

// ----- results -------------------------------------------------------------------------------

export interface Timing {
  /** Median seconds per call. */
  seconds: number;
  /** Fastest repetition, seconds per call. */
  minSeconds: number;
  reps: number;
  /** Calls per timed repetition. */
  inner: number;
  /** No timed repetition: the one (first) call was too slow to repeat. */
  approx?: boolean;
  /**
   * CPU time of the whole process (all its threads) over wall time, while timed: the cores the
   * peer really got. At most its thread count; lower when other work competes for the cores.
   */
  cpuPerWall: number;
  /** With `--rounds R`: this figure in every round (ascending); the result is the median round's. */
  perRound?: number[];
}

export type Failure = { error: string };
/**
 * A product's fraction of the SIMD128 limit measured in the same seconds (peer_genlab.ts
 * `pairedFraction`): `gflops[r]` is repetition r, between the limit's bursts `limits[r]` and
 * `limits[r + 1]`; `fractions[r]` = gflops[r] / their mean; `fraction` their median.
 */
export interface LimitPairs { variant: string; threads: number; fraction: number; fractions: number[]; gflops: number[]; limits: number[] }
export type GemmResult = (Timing & { gflops: number; probe: number[]; limitPairs?: LimitPairs }) | Failure;
export type StepResult = (Timing & { stepsPerSec: number; loss0: number; lossLast: number }) | Failure;
/** Denoiser calls: `imagesPerSec` = batch / seconds per call (images·NFE/s); `probe` = mean of D² on the first call (same network, same input → same value). */
export type SampleResult = (Timing & { imagesPerSec: number; probe: number }) | Failure;
/** `parameters`: trainable scalars; `tensors`: state-dict entries. */
/** A U-Net figure not measured yet when a partial result is printed (the runner says why it stayed so). */
export const UNFINISHED = 'unfinished';
export type UnetResult = { parameters: number; tensors: number; train: StepResult; sample: SampleResult } | Failure;

export interface PeerResult {
  /** Short id, e.g. 'torch', 'tfjs-wasm', 'genlab-cpu'. */
  id: string;
  /** What ran, for the table: library, version, threads, BLAS. */
  label: string;
  info: Record<string, unknown>;
  gemm?: Record<string, GemmResult>;
  mlp?: StepResult;
  conv?: StepResult;
  unet?: UnetResult;
  /** Set when the whole peer could not run (not installed, failed to start). */
  error?: string;
}

export const isFailure = (r: unknown): r is Failure => typeof r === 'object' && r !== null && 'error' in r;

/** Line prefix that marks a peer's JSON result on its stdout (libraries may print their own lines). */
export const RESULT_MARK = '@@bench-result ';

export function emit(result: PeerResult): void {
  process.stdout.write(`\n${RESULT_MARK}${JSON.stringify(result)}\n`);
}

export function errorMessage(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0]!.slice(0, 300);
}

// ----- timing --------------------------------------------------------------------------------

const now = () => performance.now() / 1000;
/** User + system CPU seconds of this process, all threads (worker_threads included). */
const cpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Time `call` by the rule in this file's header. `call` must finish its work (read a value back) before resolving. */
export async function measure(call: () => Promise<unknown> | unknown, t: TimingSpec): Promise<Timing> {
  let t1 = Infinity;
  let spent = 0;
  let cpuPerWall = NaN;
  for (let i = 0; i < Math.max(1, t.warmup) && spent < t.budgetSeconds; i++) {
    const s = now();
    const c = cpuSeconds();
    await call();
    t1 = now() - s;
    cpuPerWall = (cpuSeconds() - c) / t1;
    spent += t1;
  }
  if (t1 > 4 * t.slowSeconds) return { seconds: t1, minSeconds: t1, reps: 0, inner: 1, approx: true, cpuPerWall };
  const inner = Math.max(1, Math.ceil(t.minRepSeconds / Math.max(t1, 1e-6)));
  const minReps = t1 > t.slowSeconds ? 1 : t.minReps;
  const reps = Math.max(minReps, Math.min(t.reps, Math.floor(t.budgetSeconds / (t1 * inner))));
  const per: number[] = [];
  const [wall0, cpu0] = [now(), cpuSeconds()];
  for (let r = 0; r < reps; r++) {
    const s = now();
    for (let i = 0; i < inner; i++) await call();
    per.push((now() - s) / inner);
  }
  cpuPerWall = (cpuSeconds() - cpu0) / (now() - wall0);
  return { seconds: median(per), minSeconds: Math.min(...per), reps, inner, cpuPerWall };
}

/** GEMM figure from a timing (2·N³ flops per product). */
export function gemmResult(n: number, t: Timing, probe: number[]): GemmResult {
  return { ...t, gflops: (2 * n ** 3) / t.seconds / 1e9, probe };
}

/**
 * Time a training step. `step()` runs one step and resolves to its loss (read back). The loss of
 * the very first call (before any update) is `loss0`: with the shared initial weights it must agree
 * across peers, which checks that they all train the same network.
 */
export async function measureSteps(step: () => Promise<number> | number, t: TimingSpec): Promise<StepResult> {
  let loss0 = NaN;
  let lossLast = NaN;
  let first = true;
  const timing = await measure(async () => {
    const l = await step();
    if (first) loss0 = l;
    first = false;
    lossLast = l;
  }, t);
  return { ...timing, stepsPerSec: 1 / timing.seconds, loss0, lossLast };
}

/**
 * Time denoiser calls at batch `batch`. `call()` runs one call and resolves to the mean of D² over
 * its output (read back); the first call's value is the `probe` the runner compares across peers.
 */
export async function measureSamples(call: () => Promise<number> | number, batch: number, t: TimingSpec): Promise<SampleResult> {
  let probe = NaN;
  let first = true;
  const timing = await measure(async () => {
    const v = await call();
    if (first) probe = v;
    first = false;
  }, t);
  return { ...timing, imagesPerSec: batch / timing.seconds, probe };
}

/** Read `--spec <json>` (and other `--key value` pairs) from a peer's argv. */
export function peerArgs(argv = process.argv.slice(2)): { spec: BenchSpec; args: Record<string, string> } {
  const args: Record<string, string> = {};
  for (let i = 0; i < argv.length; i += 2) args[argv[i]!.replace(/^--/, '')] = argv[i + 1] ?? '';
  if (!args.spec) throw new Error('peer: missing --spec <json>');
  return { spec: JSON.parse(args.spec) as BenchSpec, args };
}

export const wants = (spec: BenchSpec, w: Workload) => spec.only.includes(w);
