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
  /** Threads the native peer (PyTorch) uses: the machine's cores unless `--threads` says otherwise. */
  threads: number;
}

export type Workload = 'gemm' | 'mlp' | 'conv';
export const WORKLOADS: readonly Workload[] = ['gemm', 'mlp', 'conv'];

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

export const SEED = { gemmA: 11, gemmB: 12, mlpX: 21, mlpY: 22, convX: 31, convY: 32, params: 100 } as const;

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
}

export type Failure = { error: string };
export type GemmResult = (Timing & { gflops: number; probe: number[] }) | Failure;
export type StepResult = (Timing & { stepsPerSec: number; loss0: number; lossLast: number }) | Failure;

export interface PeerResult {
  /** Short id, e.g. 'torch', 'tfjs-wasm', 'genlab-cpu'. */
  id: string;
  /** What ran, for the table: library, version, threads, BLAS. */
  label: string;
  info: Record<string, unknown>;
  gemm?: Record<string, GemmResult>;
  mlp?: StepResult;
  conv?: StepResult;
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

/** Read `--spec <json>` (and other `--key value` pairs) from a peer's argv. */
export function peerArgs(argv = process.argv.slice(2)): { spec: BenchSpec; args: Record<string, string> } {
  const args: Record<string, string> = {};
  for (let i = 0; i < argv.length; i += 2) args[argv[i]!.replace(/^--/, '')] = argv[i + 1] ?? '';
  if (!args.spec) throw new Error('peer: missing --spec <json>');
  return { spec: JSON.parse(args.spec) as BenchSpec, args };
}

export const wants = (spec: BenchSpec, w: Workload) => spec.only.includes(w);
