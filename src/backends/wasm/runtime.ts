/**
 * The wasm backend's runtime: loading the kernel module (SIMD128 or relaxed SIMD, with or without
 * shared memory), the heap allocator over the WebAssembly.Memory, and the thread pool.
 *
 * Memory map (bytes): [0, 64 Ki) the module's own data; IDX_SCRATCH at 64 Ki (per-thread
 * odometers); CTL at 72 Ki (the pool's control words); ARGS at 80 Ki (kernel arguments, 48 KiB);
 * RED_SCRATCH at 128 Ki (per-thread float64 accumulators, 4 KiB each); the heap from 1 MiB. These
 * constants mirror assembly/common.ts and assembly/reduce.ts.
 *
 * Runs in Node and in browsers: Node built-ins are reached through `process.getBuiltinModule`
 * (Node ≥ 20.16) when it exists, never through a static `node:` import.
 */

export const CTL = 0x12000;
export const ARGS = 0x14000;
export const ARGS_BYTES = 0xc000;
export const HEAP_BASE = 0x100000;
export const MAX_THREADS = 64;
const PAGE = 65536;

/** The kernels a task can name (exports of assembly/index.ts), in a fixed order shared with workers. */
export const KERNELS = ['ew', 'reduce', 'argReduce', 'cumsum', 'gemm', 'im2col', 'col2im', 'adam', 'normRows', 'normRowsBackward', 'softmaxRows', 'softmaxRowsBackward', 'siluBackward', 'gemmSmallK', 'gemmThinV', 'gemmThinK', 'convForward', 'convWeightGrad', 'convInputGrad'] as const;
export type KernelName = (typeof KERNELS)[number];
type KernelFn = (args: number, chunk: number, tid: number) => void;

// ----- environment -------------------------------------------------------------------------------

interface NodeProcess { versions?: { node?: string }; getBuiltinModule?: (id: string) => unknown }
const nodeProcess = (globalThis as { process?: NodeProcess }).process;

/** Node built-in module by name, where the runtime offers a synchronous way to reach it. */
export function nodeBuiltin<T>(id: string): T | undefined {
  if (!nodeProcess?.versions?.node || typeof nodeProcess.getBuiltinModule !== 'function') return undefined;
  return nodeProcess.getBuiltinModule(id) as T;
}

export const isNode = !!nodeProcess?.versions?.node;

/** A 1-function module that uses f32x4.relaxed_madd: validates only where relaxed SIMD is on. */
function relaxedProbe(): Uint8Array<ArrayBuffer> {
  const vconst = [0xfd, 0x0c, ...new Array<number>(16).fill(0)];
  const body = [0x00, ...vconst, ...vconst, ...vconst, 0xfd, 0x85, 0x02, 0x0b];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type: () → v128
    0x03, 0x02, 0x01, 0x00, // one function of type 0
    0x0a, body.length + 2, 0x01, body.length, ...body,
  ]);
}

function validatesRelaxed(): boolean {
  try {
    return WebAssembly.validate(relaxedProbe());
  } catch {
    return false;
  }
}

/**
 * Whether relaxed SIMD is on. Node 20's V8 (11.3) implements it behind
 * `--experimental-wasm-relaxed-simd`; V8 reads that flag whenever it compiles a module, so where
 * the probe fails in Node we set the flag through `v8.setFlagsFromString` and probe again (Node 22
 * and current browsers have it on by default). `GENLAB_WASM_RELAXED=0` in the environment leaves
 * the flags alone, and `createWasmBackend({ relaxed: false })` picks the plain SIMD128 build.
 */
export const hasRelaxedSimd = (() => {
  if (validatesRelaxed()) return true;
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  if (env?.GENLAB_WASM_RELAXED === '0') return false;
  const v8 = nodeBuiltin<{ setFlagsFromString?: (flags: string) => void }>('v8');
  if (!v8?.setFlagsFromString) return false;
  try {
    v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  } catch {
    return false;
  }
  return validatesRelaxed();
})();

/** Shared memory and workers are usable (browsers also need cross-origin isolation). */
export function threadsAvailable(): boolean {
  if (typeof SharedArrayBuffer === 'undefined' || typeof Atomics === 'undefined') return false;
  if (isNode) return !!nodeBuiltin('worker_threads');
  const g = globalThis as { crossOriginIsolated?: boolean; Worker?: unknown };
  return g.crossOriginIsolated === true && typeof g.Worker === 'function';
}

export function defaultThreads(): number {
  const os = nodeBuiltin<{ availableParallelism?: () => number; cpus: () => unknown[] }>('os');
  if (os) return os.availableParallelism ? os.availableParallelism() : os.cpus().length;
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  return nav?.hardwareConcurrency ?? 1;
}

/** Whether this thread may block in Atomics.wait (not on a browser's main thread). */
const canBlock = (() => {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
})();

export type Variant = 'simd' | 'relaxed' | 'simd-threads' | 'relaxed-threads';

export function variantFor(relaxed: boolean, threaded: boolean): Variant {
  return `${relaxed ? 'relaxed' : 'simd'}${threaded ? '-threads' : ''}` as Variant;
}

export function wasmUrl(v: Variant): URL {
  return new URL(`./build/${v}.wasm`, import.meta.url);
}

// ----- heap --------------------------------------------------------------------------------------

/** Size class of a request: multiples of 64 bytes, then four classes per power of two. */
export function sizeClass(bytes: number): number {
  if (bytes <= 256) return Math.max(64, Math.ceil(bytes / 64) * 64);
  const k = Math.floor(Math.log2(bytes - 1));
  const step = 2 ** (k - 2);
  return Math.ceil(bytes / step) * step;
}

/**
 * A size-class allocator over one growable WebAssembly.Memory: a free list per class, a bump
 * pointer above them, and growth of the memory when the bump pointer runs out. Freed blocks go back
 * to their class's list, so the repeated shapes of a training loop reuse the same blocks.
 *
 * Blocks stay in their class, so a process whose shapes change (training at one batch size, then
 * sampling at another, then computing features) leaves free blocks of classes it no longer asks
 * for. When the next block would not fit in the 4 GiB address space, `reclaim` merges every free
 * block with its free neighbours, gives a free run at the top back to the bump pointer, and keeps
 * the other runs as spans that later requests of any class are cut from (first fit).
 */
export class Heap {
  private top = HEAP_BASE;
  private readonly freeLists = new Map<number, number[]>();
  /** Merged free runs [start, end) from `reclaim`, by address; requests are cut from their start. */
  private spans: [number, number][] = [];
  private buffer: ArrayBufferLike;
  i32!: Int32Array;
  f32!: Float32Array;
  u8!: Uint8Array;

  /** `limit`: the end of the address space (4 GiB for wasm32; smaller in tests). */
  constructor(readonly memory: WebAssembly.Memory, readonly limit = 2 ** 32) {
    this.buffer = memory.buffer;
    this.views();
  }

  private views(): void {
    this.buffer = this.memory.buffer;
    this.i32 = new Int32Array(this.buffer);
    this.f32 = new Float32Array(this.buffer);
    this.u8 = new Uint8Array(this.buffer);
  }

  /** Refresh the typed views after the memory grew (cheap check). */
  sync(): void {
    if (this.memory.buffer !== this.buffer) this.views();
  }

  get byteLength(): number {
    return this.memory.buffer.byteLength;
  }

  /** Start of a block of at least `bytes` bytes (64-byte aligned) and its class. */
  alloc(bytes: number): [number, number] {
    const cls = sizeClass(bytes);
    const list = this.freeLists.get(cls);
    if (list && list.length) return [list.pop()!, cls];
    const cut = this.fromSpans(cls);
    if (cut !== null) return [cut, cls];
    if (this.top + cls > this.limit) {
      this.reclaim();
      const again = this.freeLists.get(cls);
      if (again && again.length) return [again.pop()!, cls];
      const c = this.fromSpans(cls);
      if (c !== null) return [c, cls];
    }
    const ptr = this.top;
    const end = ptr + cls;
    if (end > this.limit) throw new Error(`wasm backend: out of memory (a block of ${bytes} bytes does not fit in the ${this.limit === 2 ** 32 ? '4 GiB' : `${this.limit}-byte`} address space)`);
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      const need = Math.ceil((end - have) / PAGE);
      const extra = Math.max(need, Math.ceil(have / PAGE / 8));
      try {
        this.memory.grow(Math.min(extra, Math.floor(this.limit / PAGE) - have / PAGE));
      } catch {
        try {
          this.memory.grow(need);
        } catch {
          throw new Error(`wasm backend: out of memory (could not grow the WebAssembly memory from ${have >> 20} MiB to ${Math.ceil(end / 2 ** 20)} MiB)`);
        }
      }
      this.views();
    }
    this.top = end;
    return [ptr, cls];
  }

  free(ptr: number, cls: number): void {
    let list = this.freeLists.get(cls);
    if (!list) this.freeLists.set(cls, (list = []));
    list.push(ptr);
  }

  /** Bytes held in free lists and spans (free, but kept by the allocator). */
  get freeBytes(): number {
    let n = 0;
    for (const [cls, list] of this.freeLists) n += cls * list.length;
    for (const [a, b] of this.spans) n += b - a;
    return n;
  }

  /** First fit: the start of the first span of at least `cls` bytes, shortened by them; or null. */
  private fromSpans(cls: number): number | null {
    for (let i = 0; i < this.spans.length; i++) {
      const span = this.spans[i]!;
      if (span[1] - span[0] >= cls) {
        const ptr = span[0];
        span[0] += cls;
        if (span[0] === span[1]) this.spans.splice(i, 1);
        return ptr;
      }
    }
    return null;
  }

  /**
   * Merges every free block (of any class) and span with its free neighbours; a run that reaches
   * the bump pointer lowers it, the others become spans. Live blocks are not touched.
   */
  reclaim(): void {
    const blocks: [number, number][] = [...this.spans];
    for (const [cls, list] of this.freeLists) for (const p of list) blocks.push([p, p + cls]);
    this.freeLists.clear();
    blocks.sort((a, b) => a[0] - b[0]);
    const runs: [number, number][] = [];
    for (const [a, b] of blocks) {
      const last = runs[runs.length - 1];
      if (last && last[1] === a) last[1] = b;
      else runs.push([a, b]);
    }
    const last = runs[runs.length - 1];
    if (last && last[1] === this.top) {
      this.top = last[0];
      runs.pop();
    }
    this.spans = runs;
  }
}

export function createMemory(shared: boolean): WebAssembly.Memory {
  const initial = Math.ceil((HEAP_BASE + (4 << 20)) / PAGE);
  if (!shared) return new WebAssembly.Memory({ initial });
  let err: unknown;
  for (const maximum of [65536, 16384, 4096]) {
    try {
      return new WebAssembly.Memory({ initial, maximum, shared: true });
    } catch (e) {
      err = e;
    }
  }
  throw err;
}

// ----- threads -----------------------------------------------------------------------------------

// Control words (Int32 indices at CTL)
const GEN = 0, FN = 1, ARG = 2, NCH = 3, LEFT = 4, DONE = 5, STOP = 7, READY = 8, ERR = 127;

/**
 * The worker's loop, as source text (it runs as a classic script: Node's eval worker or a blob URL).
 *
 * A task is (kernel, args, chunk count) in the control words. LEFT counts the chunks not yet
 * claimed; a thread claims one by decrementing it (compare-and-swap, never below 0) and only then
 * reads the task: while it holds an unfinished chunk the caller cannot publish the next task, so
 * what it reads is the task it claimed from, however late it woke. DONE counts finished chunks; the
 * caller waits for DONE = n, never for a worker that claimed nothing (one the OS has not scheduled
 * yet costs nothing: the caller takes its chunks).
 */
const WORKER_SOURCE = `
'use strict';
function start(d) {
  const ex = new WebAssembly.Instance(d.module, { env: { memory: d.memory } }).exports;
  const fns = d.kernels.map((n) => ex[n]);
  const c = new Int32Array(d.memory.buffer, d.ctl, 128);
  const id = d.id;
  let seen = Atomics.load(c, ${GEN});
  Atomics.store(c, ${READY} + id, 1);
  for (;;) {
    let g = Atomics.load(c, ${GEN});
    for (let s = 0; g === seen && s < 20000; s++) g = Atomics.load(c, ${GEN});
    if (g === seen) { Atomics.wait(c, ${GEN}, seen); continue; }
    if (Atomics.load(c, ${STOP})) return;
    seen = g;
    for (;;) {
      const left = Atomics.load(c, ${LEFT});
      if (left <= 0) break;
      if (Atomics.compareExchange(c, ${LEFT}, left, left - 1) !== left) continue;
      const n = c[${NCH}];
      try {
        fns[c[${FN}]](c[${ARG}], n - left, id);
      } catch (e) {
        Atomics.store(c, ${ERR}, 1);
      }
      if (Atomics.add(c, ${DONE}, 1) + 1 === n) Atomics.notify(c, ${DONE});
    }
  }
}
if (typeof require === 'function') start(require('worker_threads').workerData);
else self.onmessage = (e) => start(e.data);
`;

interface WorkerLike { unref?: () => void; terminate(): unknown; on?: (ev: string, f: (e: unknown) => void) => void; postMessage?: (m: unknown) => void }

/**
 * Runs kernels over chunks on the calling thread and `workers` helper threads. Synchronous: the
 * caller takes chunks too and then waits (Atomics.wait, or a spin on a browser's main thread).
 * Workers start in the background and join tasks once ready; until then the caller works alone.
 */
export class Pool {
  private readonly ctl: Int32Array;
  private readonly fns: KernelFn[];
  private readonly handles: WorkerLike[] = [];
  private ready = 0;
  private gen = 0;

  constructor(readonly memory: WebAssembly.Memory, module: WebAssembly.Module, exports: Record<string, unknown>, readonly workers: number) {
    this.fns = KERNELS.map((k) => exports[k] as KernelFn);
    this.ctl = new Int32Array(memory.buffer, CTL, 128);
    if (workers > 0) {
      this.ctl.fill(0);
      for (let id = 1; id <= workers; id++) this.handles.push(spawn({ module, memory, ctl: CTL, kernels: KERNELS, id }));
    }
  }

  /** Workers that have started (a prefix of ids 1…k). */
  readyWorkers(): number {
    while (this.ready < this.workers && Atomics.load(this.ctl, READY + this.ready + 1) === 1) this.ready++;
    return this.ready;
  }

  /** Run `kernel(args, chunk, tid)` for chunk = 0 … n−1. */
  run(kernel: KernelName, args: number, n: number): void {
    const f = this.fns[KERNELS.indexOf(kernel)]!;
    if (n <= 1 || this.readyWorkers() === 0) {
      for (let k = 0; k < n; k++) f(args, k, 0);
      return;
    }
    const c = this.ctl;
    c[FN] = KERNELS.indexOf(kernel);
    c[ARG] = args;
    c[NCH] = n;
    Atomics.store(c, DONE, 0);
    Atomics.store(c, LEFT, n);
    this.gen = (this.gen + 1) | 0;
    Atomics.store(c, GEN, this.gen);
    Atomics.notify(c, GEN);
    let mine = 0;
    try {
      for (;;) {
        const left = Atomics.load(c, LEFT);
        if (left <= 0) break;
        if (Atomics.compareExchange(c, LEFT, left, left - 1) !== left) continue;
        mine++;
        f(args, n - left, 0);
      }
    } finally {
      // chunks this thread claimed are finished (or threw: then the unclaimed rest is dropped);
      // wait for the chunks the workers claimed
      mine += Math.max(0, Atomics.exchange(c, LEFT, 0));
      if (mine) Atomics.add(c, DONE, mine);
      for (let spins = 0; ; spins++) {
        const d = Atomics.load(c, DONE);
        if (d >= n) break;
        if (canBlock && spins > 2000) Atomics.wait(c, DONE, d, 5);
      }
    }
    if (Atomics.load(c, ERR)) {
      Atomics.store(c, ERR, 0);
      throw new Error(`wasm backend: kernel '${kernel}' failed in a worker thread`);
    }
  }

  dispose(): void {
    if (!this.handles.length) return;
    Atomics.store(this.ctl, STOP, 1);
    Atomics.add(this.ctl, GEN, 1);
    Atomics.notify(this.ctl, GEN);
    for (const h of this.handles) h.terminate();
    this.handles.length = 0;
  }
}

function spawn(data: { module: WebAssembly.Module; memory: WebAssembly.Memory; ctl: number; kernels: readonly string[]; id: number }): WorkerLike {
  const wt = nodeBuiltin<{ Worker: new (src: string, opts: object) => WorkerLike }>('worker_threads');
  if (wt) {
    const w = new wt.Worker(WORKER_SOURCE, { eval: true, workerData: data, execArgv: [] });
    w.on?.('error', () => { /* the pool carries on without this worker */ });
    w.unref?.();
    return w;
  }
  const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: 'text/javascript' }));
  const W = (globalThis as unknown as { Worker: new (u: string) => WorkerLike }).Worker;
  const w = new W(url);
  w.postMessage!(data);
  return w;
}
