/**
 * The machine's limit for WebAssembly SIMD128 f32 kernels: a loop of independent f32x4
 * multiply-adds on every core (worker_threads), in GFLOP/s (a multiply-add counts 2 flops per
 * lane). Two variants: `mul+add` (f32x4.mul then f32x4.add; SIMD128 everywhere) and `relaxed_madd`
 * (f32x4.relaxed_madd, one fused instruction where the CPU has FMA; Node ≥ 22, or Node 20 with
 * --experimental-wasm-relaxed-simd, which the runner passes to this process).
 *
 *   node [--experimental-wasm-relaxed-simd] --import tsx bench/simd_peak.ts [--threads N] [--seconds S]
 *
 * Prints one JSON object. The module is assembled here byte by byte (no toolchain): one function
 * `run(n: i32) → f32` that updates `ACC` independent v128 accumulators `UNROLL` times per loop
 * iteration, acc ← acc·m + a (m = 0.9999, a = 1e-4: the values stay near 1, never denormal).
 * `ACC` is chosen so that the accumulators, the two constants and V8's scratch register fit in
 * the 16 XMM registers V8 uses on x64 (check with `node --print-wasm-code`: no spills in the
 * loop), with enough independent chains to cover the FMA latency on two ports. (Loading the
 * multiplicands from memory, as a GEMM kernel does, measures V8's scheduling instead: TurboFan
 * hoists every load of the unrolled body to the loop head and spills.) Without relaxed SIMD the
 * multiply and the add both sit on each chain, so `mul+add` is partly latency-bound: it is the
 * limit of this loop, not of every mul+add kernel; `relaxed_madd` is the hardware's FMA limit.
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';

const ACC = 12;
const UNROLL = 4;

/** Unsigned LEB128. */
const uleb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
};
const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];
const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
const f32x4Const = (v: number) => [0xfd, 0x0c, ...new Uint8Array(new Float32Array([v, v, v, v]).buffer)];

const SIMD = {
  mul: [0xfd, ...uleb(230)], // f32x4.mul
  add: [0xfd, ...uleb(228)], // f32x4.add
  madd: [0xfd, ...uleb(261)], // f32x4.relaxed_madd(a, b, c) = a·b + c
  extract0: [0xfd, ...uleb(31), 0], // f32x4.extract_lane 0
};

export type PeakVariant = 'mul+add' | 'relaxed_madd';

/** The module's bytes. Locals: 0 = n (i32), 1..ACC = accumulators, ACC+1 = m, ACC+2 = a. */
export function peakModule(variant: PeakVariant): Uint8Array<ArrayBuffer> {
  const M = ACC + 1;
  const A = ACC + 2;
  const get = (i: number) => [0x20, ...uleb(i)];
  const set = (i: number) => [0x21, ...uleb(i)];
  const body: number[] = [...uleb(1), ...uleb(ACC + 2), 0x7b]; // (ACC + 2) v128 locals
  for (let i = 1; i <= ACC; i++) body.push(...f32x4Const(1 + i / 64), ...set(i));
  body.push(...f32x4Const(0.9999), ...set(M), ...f32x4Const(1e-4), ...set(A));
  body.push(0x03, 0x40); // loop
  for (let u = 0; u < UNROLL; u++) {
    for (let i = 1; i <= ACC; i++) {
      if (variant === 'mul+add') body.push(...get(i), ...get(M), ...SIMD.mul, ...get(A), ...SIMD.add, ...set(i));
      else body.push(...get(i), ...get(M), ...get(A), ...SIMD.madd, ...set(i));
    }
  }
  // n ← n − 1; continue while n ≠ 0
  body.push(...get(0), 0x41, 1, 0x6b, 0x22, 0, 0x0d, 0, 0x0b);
  // return Σ lane 0 of the accumulators (keeps every chain alive)
  body.push(...get(1), ...SIMD.extract0);
  for (let i = 2; i <= ACC; i++) body.push(...get(i), ...SIMD.extract0, 0x92);
  body.push(0x0b);
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([[0x60, 1, 0x7f, 1, 0x7d]])), // type 0: (i32) → f32
    ...section(3, vec([[0]])), // function 0 has type 0
    ...section(7, vec([[...uleb(3), ...Buffer.from('run'), 0x00, 0]])), // export "run"
    ...section(10, vec([[...uleb(body.length), ...body]])),
  ];
  return new Uint8Array(bytes);
}

/** Flops of run(n). */
export const flopsPerCall = (n: number) => n * UNROLL * ACC * 4 * 2;

// The worker: warm up until V8 has tiered the function up, report the time per iteration, then
// run the loop for the number of iterations each message asks for.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { exports } = new WebAssembly.Instance(new WebAssembly.Module(workerData.bytes));
let n = 1 << 12, best = Infinity;
const t0 = performance.now();
while (performance.now() - t0 < workerData.warmMs) {
  const s = performance.now(); exports.run(n); const dt = performance.now() - s;
  best = Math.min(best, dt / n);
  if (dt < 20) n *= 2;
}
parentPort.postMessage({ secondsPerIter: best / 1000 });
parentPort.on('message', (iters) => {
  const s = performance.now(); exports.run(iters); const ms = performance.now() - s;
  parentPort.postMessage({ iters, ms });
});
`;

interface WorkerReport { iters: number; ms: number }

/**
 * The loop's workers kept alive, for measuring the limit again and again in the process of a
 * kernel under test: `burst(seconds)` runs the loop on every worker at once and returns GFLOP/s
 * (total flops over the wall time of the slowest). Alternating kernel and burst at a fraction of
 * a second each gives the kernel's fraction of the limit under the same load, which a shared
 * machine's minute-to-minute drift does not move.
 */
export class PeakProbe {
  private constructor(
    readonly variant: PeakVariant,
    private readonly workers: Worker[],
    /** Seconds per loop iteration, per worker, from the warm-up. */
    private readonly secondsPerIter: number[],
  ) {}

  /** The fused multiply-add where this runtime validates it, else mul+add. */
  static async start(threads: number, variant: PeakVariant = WebAssembly.validate(peakModule('relaxed_madd')) ? 'relaxed_madd' : 'mul+add'): Promise<PeakProbe> {
    const bytes = peakModule(variant);
    const workers = Array.from({ length: threads }, () => new Worker(WORKER, { eval: true, workerData: { bytes, warmMs: 300 } }));
    try {
      const ready = await Promise.all(workers.map((w) => reply<{ secondsPerIter: number }>(w)));
      return new PeakProbe(variant, workers, ready.map((r) => r.secondsPerIter));
    } catch (e) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw e;
    }
  }

  async burst(seconds: number): Promise<number> {
    return (await this.burstWithCpu(seconds)).wall;
  }

  /** A burst's GFLOP/s over wall time, and over the CPU time of this process meanwhile (load-independent). */
  async burstWithCpu(seconds: number): Promise<{ wall: number; perCpuSecond: number }> {
    const done = this.workers.map((w) => reply<WorkerReport>(w));
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    this.workers.forEach((w, i) => w.postMessage(Math.max(1, Math.round(seconds / this.secondsPerIter[i]!))));
    const reports = await Promise.all(done);
    const wall = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(c0);
    const gflop = reports.reduce((s, r) => s + flopsPerCall(r.iters), 0) / 1e9;
    return { wall: gflop / wall, perCpuSecond: gflop / ((cpu.user + cpu.system) / 1e6) };
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** The worker's next message (or its error), leaving no listener behind. */
const reply = <T,>(w: Worker) => new Promise<T>((resolve, reject) => {
  const onMessage = (m: T) => {
    w.off('error', onError);
    resolve(m);
  };
  const onError = (e: Error) => {
    w.off('message', onMessage);
    reject(e);
  };
  w.once('message', onMessage);
  w.once('error', onError);
});


/**
 * Run `threads` workers together; the figure is total flops over the wall time of the slowest
 * (best of `rounds`), and, load-independent, flops per CPU-second of the process.
 */
async function measurePeak(variant: PeakVariant, threads: number, seconds: number, rounds: number): Promise<{ wall: number; perCpuSecond: number }> {
  const probe = await PeakProbe.start(threads, variant);
  try {
    let wall = 0;
    let perCpuSecond = 0;
    for (let r = 0; r < rounds; r++) {
      const b = await probe.burstWithCpu(seconds);
      wall = Math.max(wall, b.wall);
      perCpuSecond = Math.max(perCpuSecond, b.perCpuSecond);
    }
    return { wall, perCpuSecond };
  } finally {
    await probe.close();
  }
}

/**
 * GFLOP/s on all threads and on one (wall clock), and per CPU-second of a core (what one core
 * delivers while it runs the loop: `perCore × threads` is the limit of an idle machine).
 */
export interface PeakFigures { all: number; one: number; perCore: number }

export interface PeakResult {
  threads: number;
  mulAdd: PeakFigures;
  relaxedMadd: PeakFigures | { error: string };
  accumulators: number;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const opt = (name: string, def: number) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? Number(argv[i + 1]) : def;
  };
  const threads = opt('threads', availableParallelism());
  const seconds = opt('seconds', 0.5);
  const rounds = opt('rounds', 3);
  const both = async (v: PeakVariant): Promise<PeakFigures> => {
    const all = await measurePeak(v, threads, seconds, rounds);
    const one = await measurePeak(v, 1, seconds, rounds);
    return { all: all.wall, one: one.wall, perCore: Math.max(all.perCpuSecond, one.perCpuSecond) };
  };
  const result: PeakResult = {
    threads,
    mulAdd: await both('mul+add'),
    relaxedMadd: WebAssembly.validate(peakModule('relaxed_madd'))
      ? await both('relaxed_madd')
      : { error: 'this runtime has no relaxed SIMD (Node 20 needs --experimental-wasm-relaxed-simd)' },
    accumulators: ACC,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
