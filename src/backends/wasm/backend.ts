/**
 * The wasm backend: tensors live in one WebAssembly.Memory, kernels are AssemblyScript compiled to
 * SIMD128 (relaxed SIMD where the runtime has it), and large kernels run on all cores through a
 * shared memory and worker threads. The host side here allocates buffers, simplifies strided views
 * into compact descriptors, writes kernel arguments and splits the work into chunks.
 */
import type { AdamStepHyper, Backend, Buf, KernelTable, View, UnaryOp, BinaryOp, ReduceOp, Im2colParams, MemoryInfo } from '../../core/backend.ts';
import { UNARY_OPS, BINARY_OPS, REDUCE_OPS } from '../../core/backend.ts';
import type { DType, TypedArray } from '../../core/dtype.ts';
import { sizeOf, contiguousStrides, shapeStr, sameShape } from '../../core/shape.ts';
import { luBatch } from '../cpu/index.ts';
import { Heap, Pool, ARGS, ARGS_BYTES, KERNELS, MAX_THREADS, type KernelName } from './runtime.ts';

class WasmBuf {
  freed = false;
  constructor(readonly ptr: number, readonly cls: number, readonly bytes: number, readonly size: number, readonly dtype: DType) {}
}

const DT_CODE: Record<DType, number> = { float32: 0, int32: 1, bool: 2, float64: -1 };
const esl = (d: DType): number => (d === 'bool' ? 0 : 2);
const bpe = (d: DType): number => (d === 'bool' ? 1 : 4);

// ew kinds (assembly/elementwise.ts)
const K_UNARY = 0, K_BINARY = 1, K_WHERE = 2, K_COPY = 3, K_CAST = 4, K_GATHER = 5, K_SCATTER = 6;
const NOPS = 4, MAXD = 16;
/** Elements per chunk: small enough to share out, large enough to amortise waking a thread. */
const CHUNK = 32768;
const CHUNK_HEAVY = 8192;
/** Products with a dimension of at most this many run on the thin kernels; a chunk of one does about THIN_WORK multiply-adds. */
const THIN = 4;
const THIN_WORK = 131072;
/** Floats of one thread's column block in the fused convolution (256 KiB, within a core's L2). */
const CONV_COLS = 65536;
/** The fused weight gradient's groups of images: 16 to 32 (as many as N allows), of about CONV_GROUP_FLOP flops each where that is between. */
const CONV_GROUPS = 32;
const CONV_GROUP_FLOP = 4e6;
const HEAVY = new Set<UnaryOp>(['exp', 'log', 'log1p', 'expm1', 'sin', 'cos', 'tanh', 'sigmoid', 'erf', 'silu', 'siluGrad']);
// gemm blocking (assembly/gemm.ts; checkBuild compares it with the module's)
export const GEMM_BLOCKING = { MR: 5, NR: 8, KC: 256, MC: 160, NC: 1024 } as const;
const { MR, NR, KC, MC, NC } = GEMM_BLOCKING;
const GEMM_SCRATCH = (MC * KC + KC * NC + MR * NR) * 4;
const COLS_BLOCK = 512;

interface Operand { ptr: number; esl: number; strides: readonly number[] }

/**
 * Merge dimensions that are contiguous in every operand and drop size-1 dimensions: the walk then
 * has as few rows as possible (a dense tensor becomes one row).
 */
export function coalesce(shape: readonly number[], strides: readonly (readonly number[])[]): [number[], number[][]] {
  const dims: number[] = [];
  const st: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    const n = shape[d]!;
    if (n === 1) continue;
    const last = dims.length - 1;
    if (last >= 0 && strides.every((s, o) => st[o]![last] === s[d]! * n)) {
      dims[last]! *= n;
      strides.forEach((s, o) => (st[o]![last] = s[d]!));
    } else {
      dims.push(n);
      strides.forEach((s, o) => st[o]!.push(s[d]!));
    }
  }
  return [dims, st];
}

export interface WasmBackendInit {
  memory: WebAssembly.Memory;
  module: WebAssembly.Module;
  /** Helper threads besides the caller's (0 without shared memory). */
  workers: number;
  relaxed: boolean;
  name?: string;
}

/**
 * How one GEMM is cut into chunks (batch, rows, columns) for the threads: [rows, cols] per chunk.
 * Each chunk packs its own rows of A for every column block and its own columns of B for every
 * row block, so cutting the columns into n pieces packs A n times and cutting the rows into m
 * pieces packs B m times. About six chunks per thread let a thread the OS delays be helped by
 * the others, and keep short the wait at the end for the last chunk (with three per thread, the
 * caller waited 6 ms of an 80 ms MLP step for the worker; with six, 1.5 ms); among the cuts that
 * give that many, take the one that packs the fewest elements, M·K·n + K·N·m. (For the MLP's
 * [4096, 256] · [256, 256] that is rows only: A once, B twelve times, 1.8 M elements against
 * 4.2 M for a cut of rows and columns.)
 */
/** [rows, n] of a float32 matrix given to a row kernel. */
function rowsOf(x: View, op: string): [number, number] {
  if (x.dtype !== 'float32' || x.shape.length !== 2) throw new Error(`${op}: expected a float32 [rows, n] tensor, got ${x.dtype} ${shapeStr(x.shape)}`);
  return [x.shape[0]!, x.shape[1]!];
}

/** K per piece of a split-K product (two blocks of KC). */
export const SPLIT_K_PIECE = 2 * KC;

/**
 * Pieces of K for a product whose K is long against M and N (a weight gradient gᵀ·x over a large
 * batch), else 1. Cutting rows or columns there packs the long operands once per cut (for
 * [256, 4096]·[4096, 256] on two threads, 5 M elements for 6 chunks); cutting K packs every element
 * once and gives chunks as fine as wanted, at the price of one [M, N] product per piece, summed
 * afterwards. The pieces depend on the shape only, so the result is the same on any number of threads.
 */
export function splitKPieces(M: number, N: number, K: number): number {
  if (K < 4 * SPLIT_K_PIECE || K < 4 * Math.max(M, N) || M * N > 1 << 20) return 1;
  return Math.ceil(K / SPLIT_K_PIECE);
}

export function gemmSplit(M: number, N: number, K: number, batch: number, threads: number): [number, number] {
  const want = threads > 1 && 2 * M * N * K * batch > 4e6 ? Math.ceil((6 * threads) / batch) : 1;
  if (want <= 1) return [M, N];
  const maxM = Math.max(1, Math.floor(M / 32)), maxN = Math.max(1, Math.floor(N / 64));
  let best: [number, number] = [M, N], bestChunks = 1, bestCost = M * K + K * N;
  for (let ms = 1; ms <= Math.min(want, maxM); ms++) {
    const ns = Math.min(maxN, Math.ceil(want / ms));
    const mch = Math.ceil(M / ms / MR) * MR, nch = Math.ceil(N / ns / NR) * NR;
    const mChunks = Math.ceil(M / mch), nChunks = Math.ceil(N / nch);
    const chunks = Math.min(want, mChunks * nChunks);
    const cost = M * K * nChunks + K * N * mChunks;
    if (chunks > bestChunks || (chunks === bestChunks && cost < bestCost)) [best, bestChunks, bestCost] = [[mch, nch], chunks, cost];
  }
  return best;
}

export class WasmBackend implements Backend {
  readonly name: string;
  readonly dtypes: readonly DType[] = ['float32', 'int32', 'bool'];
  readonly kernels: KernelTable;
  /** Whether the kernels use relaxed SIMD (fused multiply-add). */
  readonly relaxed: boolean;
  /** Threads that run kernels, the caller's included. */
  readonly threads: number;
  readonly heap: Heap;
  private readonly pool: Pool;
  private liveBuffers = 0;
  private liveBytes = 0;
  private peakBytes = 0;
  private gemmScratch = 0;
  private disposed = false;

  constructor(init: WasmBackendInit) {
    this.name = init.name ?? 'wasm';
    this.relaxed = init.relaxed;
    const workers = Math.max(0, Math.min(MAX_THREADS - 1, init.workers));
    this.threads = workers + 1;
    this.heap = new Heap(init.memory);
    const instance = new WebAssembly.Instance(init.module, { env: { memory: init.memory } });
    checkBuild(instance.exports as Record<string, unknown>);
    this.pool = new Pool(init.memory, init.module, instance.exports as Record<string, unknown>, workers);
    this.kernels = this.makeKernels();
  }

  // ----- buffers ---------------------------------------------------------------------------------

  private allocBuf(dtype: DType, size: number): WasmBuf {
    if (this.disposed) throw new Error(`${this.name} backend: used after dispose()`);
    if (DT_CODE[dtype] < 0) throw new Error(`${this.name} backend: ${dtype} is not supported (it supports ${this.dtypes.join(', ')})`);
    const bytes = size * bpe(dtype);
    const [ptr, cls] = this.heap.alloc(Math.max(bytes, 16));
    this.liveBuffers++;
    this.liveBytes += bytes;
    if (this.liveBytes > this.peakBytes) this.peakBytes = this.liveBytes;
    return new WasmBuf(ptr, cls, bytes, size, dtype);
  }
  alloc(dtype: DType, size: number): Buf {
    return this.allocBuf(dtype, size);
  }
  fromArray(data: TypedArray, dtype: DType): Buf {
    const b = this.allocBuf(dtype, data.length);
    this.typed(b).set(data);
    return b;
  }
  /** A typed view of the buffer's elements in wasm memory (valid until the memory grows). */
  typed(b: WasmBuf): TypedArray {
    this.heap.sync();
    const buf = this.heap.memory.buffer;
    switch (b.dtype) {
      case 'float32': return new Float32Array(buf, b.ptr, b.size);
      case 'int32': return new Int32Array(buf, b.ptr, b.size);
      default: return new Uint8Array(buf, b.ptr, b.size);
    }
  }
  read(buf: Buf): Promise<TypedArray> {
    return Promise.resolve(this.readSync(buf));
  }
  readSync(buf: Buf): TypedArray {
    return this.typed(live(buf)).slice();
  }
  free(buf: Buf): void {
    const b = buf as WasmBuf;
    if (b.freed) return;
    b.freed = true;
    this.liveBuffers--;
    this.liveBytes -= b.bytes;
    this.heap.free(b.ptr, b.cls);
  }
  memory(): MemoryInfo {
    return { buffers: this.liveBuffers, bytes: this.liveBytes, peakBytes: this.peakBytes };
  }
  resetPeakMemory(): void {
    this.peakBytes = this.liveBytes;
  }
  /** Threads taking part in kernels right now: the caller plus the workers that have started. */
  get activeThreads(): number {
    return 1 + this.pool.readyWorkers();
  }
  /**
   * Resolves once every worker thread has started (they start in the background; kernels run on
   * the calling thread until then). Benchmarks and thread tests await it.
   */
  async ready(timeoutMs = 30000): Promise<number> {
    const t0 = Date.now();
    while (this.activeThreads < this.threads && Date.now() - t0 < timeoutMs) await new Promise((r) => setTimeout(r, 5));
    return this.activeThreads;
  }
  /** Bytes of WebAssembly memory reserved so far (grows, never shrinks). */
  get heapBytes(): number {
    return this.heap.byteLength;
  }
  /** Stop the worker threads (the backend cannot be used afterwards). */
  dispose(): void {
    this.disposed = true;
    this.pool.dispose();
  }

  // ----- argument writing ------------------------------------------------------------------------

  private ptrOf(v: View): number {
    return live(v.buf).ptr + v.offset * bpe(v.dtype);
  }

  private run(kernel: KernelName, words: readonly number[], chunks: number): void {
    if (words.length * 4 > ARGS_BYTES) throw new Error(`${this.name} backend: kernel arguments too large`);
    this.heap.sync();
    this.heap.i32.set(words, ARGS >> 2);
    if (chunks > 0) this.pool.run(kernel, ARGS, chunks);
  }

  /** The elementwise walk over `shape` with up to four operands (operand 0 is the output). */
  private ew(kind: number, op: number, aux: readonly number[], shape: readonly number[], ops: readonly Operand[], chunk = CHUNK): void {
    const n = sizeOf(shape);
    if (n === 0) return;
    const [dims, st] = coalesce(shape, ops.map((o) => o.strides));
    if (dims.length > MAXD) throw new Error(`${this.name} backend: views of more than ${MAXD} non-mergeable dimensions are not supported (shape ${shapeStr(shape)})`);
    const words = [kind, op, n, chunk, aux[0] ?? 0, aux[1] ?? 0, aux[2] ?? 0, aux[3] ?? 0, dims.length, ...dims];
    for (let o = 0; o < NOPS; o++) {
      const x = ops[o];
      if (x) words.push(x.ptr, x.esl, ...st[o]!);
      else words.push(0, 0, ...dims.map(() => 0));
    }
    this.run('ew', words, Math.ceil(n / chunk));
  }

  private out(dtype: DType, shape: readonly number[]): [WasmBuf, Operand] {
    const b = this.allocBuf(dtype, sizeOf(shape));
    return [b, { ptr: b.ptr, esl: esl(dtype), strides: contiguousStrides(shape) }];
  }

  private operand(v: View, strides: readonly number[] = v.strides): Operand {
    return { ptr: this.ptrOf(v), esl: esl(v.dtype), strides };
  }

  /** Contiguous copy of a view (or the view itself when it is already dense from its offset). */
  private dense(v: View): [number, WasmBuf | null] {
    if (isDense(v.shape, v.strides)) return [this.ptrOf(v), null];
    const b = this.copyView(v);
    return [b.ptr, b];
  }

  private copyView(x: View): WasmBuf {
    const [b, o] = this.out(x.dtype, x.shape);
    this.ew(K_COPY, 0, [esl(x.dtype)], x.shape, [o, this.operand(x)]);
    return b;
  }

  // ----- kernels ---------------------------------------------------------------------------------

  private makeKernels(): KernelTable {
    const unary = (op: UnaryOp) => (x: View, dt: DType): Buf => {
      const [b, o] = this.out(dt, x.shape);
      this.ew(K_UNARY, UNARY_OPS.indexOf(op), [DT_CODE[x.dtype]], x.shape, [o, this.operand(x)], HEAVY.has(op) ? CHUNK_HEAVY : CHUNK);
      return b;
    };
    const binary = (op: BinaryOp) => (a: View, c: View, dt: DType): Buf => {
      const [b, o] = this.out(dt, a.shape);
      this.ew(K_BINARY, BINARY_OPS.indexOf(op), [DT_CODE[a.dtype], DT_CODE[dt]], a.shape, [o, this.operand(a), this.operand(c)], op === 'pow' ? CHUNK_HEAVY : CHUNK);
      return b;
    };
    const reduce = (op: ReduceOp) => (x: View, axes: readonly number[]): Buf => this.reduce(REDUCE_OPS.indexOf(op), x, axes);
    const argReduce = (op: number) => (x: View, axis: number): Buf => this.argReduce(op, x, axis);
    const table = {} as Record<string, unknown>;
    for (const op of UNARY_OPS) table[op] = unary(op);
    for (const op of BINARY_OPS) table[op] = binary(op);
    for (const op of REDUCE_OPS) table[op] = reduce(op);
    const others: Omit<KernelTable, UnaryOp | BinaryOp | ReduceOp> = {
      argmax: argReduce(0),
      argmin: argReduce(1),
      where: (c, a, bv, dt) => {
        const [b, o] = this.out(dt, a.shape);
        this.ew(K_WHERE, 0, [esl(dt)], a.shape, [o, this.operand(c), this.operand(a), this.operand(bv)]);
        return b;
      },
      copy: (x) => this.copyView(x),
      cast: (x, dt) => {
        const [b, o] = this.out(dt, x.shape);
        this.ew(K_CAST, 0, [DT_CODE[x.dtype], DT_CODE[dt]], x.shape, [o, this.operand(x)]);
        return b;
      },
      cumsum: (x, axis) => this.cumsum(x, axis),
      concat: (xs, axis, outShape) => {
        const dt = xs[0]!.dtype;
        const b = this.allocBuf(dt, sizeOf(outShape));
        const cs = contiguousStrides(outShape);
        let start = 0;
        for (const x of xs) {
          this.ew(K_COPY, 0, [esl(dt)], x.shape, [{ ptr: b.ptr + start * cs[axis]! * bpe(dt), esl: esl(dt), strides: cs }, this.operand(x)]);
          start += x.shape[axis]!;
        }
        return b;
      },
      gather: (x, axis, index) => {
        const [b, o] = this.out(x.dtype, index.shape);
        this.clearIndexError();
        this.ew(K_GATHER, 0, [esl(x.dtype), x.shape[axis]!, x.strides[axis]!, 0], index.shape,
          [o, this.operand(index), this.operand(x, x.strides.map((s, d) => (d === axis ? 0 : s)))]);
        this.checkIndex(b, 'gather', axis, x.shape[axis]!);
        return b;
      },
      scatterAdd: (x, axis, index, src) => {
        const b = this.copyView(x);
        const cs = contiguousStrides(x.shape);
        const n = sizeOf(index.shape);
        this.clearIndexError();
        this.ew(K_SCATTER, 0, [DT_CODE[x.dtype], x.shape[axis]!, cs[axis]!, 0], index.shape,
          [{ ptr: b.ptr, esl: esl(x.dtype), strides: cs.map((s, d) => (d === axis ? 0 : s)) }, this.operand(index), this.operand(src, src.strides)], Math.max(1, n));
        this.checkIndex(b, 'scatterAdd', axis, x.shape[axis]!);
        return b;
      },
      embedSlice: (g, outShape, starts, steps) => {
        const b = this.allocBuf(g.dtype, sizeOf(outShape));
        this.heap.sync();
        this.heap.u8.fill(0, b.ptr, b.ptr + b.bytes);
        const cs = contiguousStrides(outShape);
        const off = starts.reduce((acc, s, d) => acc + s * cs[d]!, 0);
        this.ew(K_COPY, 0, [esl(g.dtype)], g.shape, [{ ptr: b.ptr + off * bpe(g.dtype), esl: esl(g.dtype), strides: cs.map((c, d) => c * steps[d]!) }, this.operand(g)]);
        return b;
      },
      matmul: (a, bv, bias) => this.matmul(a, bv, bias),
      im2col: (x, p) => this.im2col(x, p),
      col2im: (cols, p, C, H, W) => this.col2im(cols, p, C, H, W),
      inverse: (a) => this.lu(a, 'inverse'),
      logAbsDet: (a) => this.lu(a, 'logAbsDet'),
      detSign: (a) => this.lu(a, 'detSign'),
      adamStep: (p, g, m, v, h) => this.adamStep(p, g, m, v, h),
      normRows: (x, eps) => this.normRows(x, eps),
      normRowsBackward: (g, y, rstd) => this.normRowsBackward(g, y, rstd),
      softmaxRows: (x, log) => this.rowKernel('softmaxRows', [x], log),
      softmaxRowsBackward: (g, y, log) => this.rowKernel('softmaxRowsBackward', [g, y], log),
      siluBackward: (g, x, y) => this.siluBackward(g, x, y),
      conv2dForward: (x, w, p, bias) => this.conv2dForward(x, w, p, bias),
      conv2dWeightGrad: (x, g, p) => this.conv2dWeightGrad(x, g, p),
      conv2dInputGrad: (g, w, p, input) => this.conv2dInputGrad(g, w, p, input),
    };
    return { ...table, ...others } as KernelTable;
  }

  private heapWords(): Int32Array {
    this.heap.sync();
    return this.heap.i32;
  }

  private clearIndexError(): void {
    this.heapWords()[(ARGS >> 2) + 7] = 0;
  }

  /** Throw (and free the output) when a gather/scatter kernel reported an out-of-range index. */
  private checkIndex(b: WasmBuf, op: string, axis: number, L: number): void {
    const w = this.heapWords();
    if (w[(ARGS >> 2) + 7] !== 1) return;
    const k = w[(ARGS >> 2) + 1]!;
    this.free(b);
    throw new Error(`${op}: index ${k} is out of range for dimension ${axis} of size ${L}`);
  }

  private reduce(op: number, x: View, axes: readonly number[]): Buf {
    const keep = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
    const outShape = keep.map((i) => x.shape[i]!);
    const b = this.allocBuf(x.dtype, sizeOf(outShape));
    const O = sizeOf(outShape);
    if (O === 0) return b;
    const [kd, [ks]] = coalesce(outShape, [keep.map((i) => x.strides[i]!)]);
    const [rd, [rs]] = coalesce(axes.map((i) => x.shape[i]!), [axes.map((i) => x.strides[i]!)]);
    const R = sizeOf(rd);
    if (kd.length > 8 || rd.length > 8) throw new Error(`${this.name} backend: reduction over a view with too many non-mergeable dimensions (shape ${shapeStr(x.shape)})`);
    const f32 = x.dtype === 'float32';
    let mode = 0;
    if (f32 && R > 0 && rd.length > 0 && rs![rd.length - 1] === 1) mode = 1;
    else if (f32 && op !== 1 && R > 0 && kd.length > 0 && ks![kd.length - 1] === 1 && kd[kd.length - 1]! >= 8) mode = 2;
    let cs = Math.max(1, Math.floor(CHUNK / Math.max(1, R)));
    let chunks: number;
    if (mode === 2) {
      // blocks of columns, narrow enough for about three chunks per thread (a bias gradient
      // [4096, 256] → [256] is one row of kept columns), in whole cache lines of 16 floats
      const W = kd[kd.length - 1]!, rows = O / W;
      const want = Math.ceil((3 * this.threads) / rows);
      cs = Math.min(COLS_BLOCK, Math.max(16, Math.ceil(W / want / 16) * 16));
      chunks = rows * Math.ceil(W / cs);
    } else chunks = Math.ceil(O / cs);
    const words = [op, DT_CODE[x.dtype], mode, O, cs, this.ptrOf(x), b.ptr, kd.length, rd.length, ...kd, ...ks!, ...rd, ...rs!];
    this.run('reduce', words, chunks);
    return b;
  }

  private argReduce(op: number, x: View, axis: number): Buf {
    const keep = x.shape.map((_, i) => i).filter((i) => i !== axis);
    const outShape = keep.map((i) => x.shape[i]!);
    const b = this.allocBuf('int32', sizeOf(outShape));
    const O = sizeOf(outShape), L = x.shape[axis]!;
    if (O === 0) return b;
    const [kd, [ks]] = coalesce(outShape, [keep.map((i) => x.strides[i]!)]);
    const cs = Math.max(1, Math.floor(CHUNK / Math.max(1, L)));
    this.run('argReduce', [op, DT_CODE[x.dtype], O, cs, this.ptrOf(x), b.ptr, L, x.strides[axis]!, kd.length, ...kd, ...ks!], Math.ceil(O / cs));
    return b;
  }

  private cumsum(x: View, axis: number): Buf {
    const n = sizeOf(x.shape);
    const b = this.allocBuf(x.dtype, n);
    if (n === 0) return b;
    const [src, tmp] = this.dense(x);
    const L = x.shape[axis]!, inner = sizeOf(x.shape.slice(axis + 1)), outer = sizeOf(x.shape.slice(0, axis));
    this.run('cumsum', [DT_CODE[x.dtype], outer, L, inner, src, b.ptr], outer * Math.ceil(inner / COLS_BLOCK));
    if (tmp) this.free(tmp);
    return b;
  }

  private adamStep(p: View, g: View, m: View, v: View, h: AdamStepHyper): [Buf, Buf, Buf] {
    if (p.dtype !== 'float32') throw new Error(`${this.name} backend: adamStep takes float32 tensors, got ${p.dtype}`);
    const n = sizeOf(p.shape);
    const outs = [this.allocBuf('float32', n), this.allocBuf('float32', n), this.allocBuf('float32', n)] as const;
    if (n === 0) return [...outs];
    const dense = [p, g, m, v].map((x) => this.dense(x));
    const f = (x: number) => f32Bits(x);
    const wd = h.decoupled ? 1 - h.lr * h.weightDecay : h.weightDecay;
    this.run('adam', [
      ...dense.map(([ptr]) => ptr), ...outs.map((b) => b.ptr), n, CHUNK, (h.maximize ? 1 : 0) | (h.decoupled ? 2 : 0),
      f(h.beta1), f(h.beta2), f(h.eps), f(wd), f(h.stepSize), f(h.biasCorrection2Sqrt),
    ], Math.ceil(n / CHUNK));
    for (const [, tmp] of dense) if (tmp) this.free(tmp);
    return [...outs];
  }

  private normRows(x: View, eps: number): [Buf, Buf] {
    const [rows, n] = rowsOf(x, 'normRows');
    const y = this.allocBuf('float32', rows * n), rstd = this.allocBuf('float32', rows);
    if (rows * n === 0) return [y, rstd];
    const [xp, tmp] = this.dense(x);
    const per = Math.max(1, Math.floor(CHUNK / n));
    this.run('normRows', [xp, y.ptr, rstd.ptr, rows, n, per, f32Bits(eps)], Math.ceil(rows / per));
    if (tmp) this.free(tmp);
    return [y, rstd];
  }

  private normRowsBackward(g: View, y: View, rstd: View): Buf {
    const [rows, n] = rowsOf(y, 'normRowsBackward');
    const dx = this.allocBuf('float32', rows * n);
    if (rows * n === 0) return dx;
    const dense = [g, y, rstd].map((v) => this.dense(v));
    const per = Math.max(1, Math.floor(CHUNK / n));
    this.run('normRowsBackward', [...dense.map(([p]) => p), dx.ptr, rows, n, per], Math.ceil(rows / per));
    for (const [, tmp] of dense) if (tmp) this.free(tmp);
    return dx;
  }

  /** softmaxRows / its backward: dense float32 [rows, n] inputs, one output of that shape. */
  private rowKernel(kernel: 'softmaxRows' | 'softmaxRowsBackward', inputs: View[], log: boolean): Buf {
    const [rows, n] = rowsOf(inputs[inputs.length - 1]!, kernel);
    const out = this.allocBuf('float32', rows * n);
    if (rows * n === 0) return out;
    const dense = inputs.map((v) => this.dense(v));
    const per = Math.max(1, Math.floor(CHUNK_HEAVY / n));
    this.run(kernel, [...dense.map(([p]) => p), out.ptr, rows, n, per, log ? 1 : 0], Math.ceil(rows / per));
    for (const [, tmp] of dense) if (tmp) this.free(tmp);
    return out;
  }

  private siluBackward(g: View, x: View, y: View): Buf {
    if ([g, x, y].some((v) => v.dtype !== 'float32' || !sameShape(v.shape, x.shape))) {
      throw new Error(`siluBackward: expected float32 g, x and y of one shape, got ${[g, x, y].map((v) => `${v.dtype} ${shapeStr(v.shape)}`).join(', ')}`);
    }
    const n = sizeOf(x.shape);
    const out = this.allocBuf('float32', n);
    if (n === 0) return out;
    const dense = [g, x, y].map((v) => this.dense(v));
    this.run('siluBackward', [...dense.map(([p]) => p), out.ptr, n, CHUNK], Math.ceil(n / CHUNK));
    for (const [, tmp] of dense) if (tmp) this.free(tmp);
    return out;
  }

  private ensureGemmScratch(): number {
    if (!this.gemmScratch) this.gemmScratch = this.heap.alloc(GEMM_SCRATCH * this.threads)[0];
    return this.gemmScratch;
  }

  private matmul(a: View, bv: View, bias?: View): Buf {
    const nd = a.shape.length;
    const M = a.shape[nd - 2]!, K = a.shape[nd - 1]!, N = bv.shape[nd - 1]!;
    if (bias && (bias.dtype !== 'float32' || bias.shape.length !== 1 || bias.shape[0] !== N)) {
      throw new Error(`matmul: expected a float32 bias of shape [${N}], got ${bias.dtype} ${shapeStr(bias.shape)}`);
    }
    const batchShape = a.shape.slice(0, nd - 2);
    const batch = sizeOf(batchShape);
    const out = this.allocBuf(a.dtype, batch * M * N);
    if (batch * M * N === 0) return out;
    const [biasPtr, biasTmp] = bias ? this.dense(bias) : [0, null];
    const thin = Math.min(M, N, K) <= THIN ? this.thinMatmul(a, bv, batchShape, out.ptr, biasPtr) : false;
    if (thin) {
      // gemmThinV and gemmThinK have no bias epilogue: one more pass, in place
      if (bias && thin !== 'biased') this.ew(K_BINARY, BINARY_OPS.indexOf('add'), [DT_CODE.float32, DT_CODE.float32], [batch * M, N], [{ ptr: out.ptr, esl: 2, strides: [N, 1] }, { ptr: out.ptr, esl: 2, strides: [N, 1] }, this.operand(bias, [0, bias.strides[0]!])]);
      if (biasTmp) this.free(biasTmp);
      return out;
    }
    const A = this.matOperand(a, batchShape), B = this.matOperand(bv, batchShape);
    const offs = this.offsets(A, B, batch);
    const scratch = this.ensureGemmScratch();
    const pieces = !bias && batch === 1 ? splitKPieces(M, N, K) : 1;
    if (pieces > 1) {
      // split-K: one [M, N] product per piece of K, summed in order (in float64) by the reduce kernel
      const parts = this.allocBuf('float32', pieces * M * N);
      this.run('gemm', [
        A.ptr, A.rs, A.cs, B.ptr, B.rs, B.cs,
        out.ptr, M, N, K, offs.ptr, offs.ptr + 4, 1, 1, M, N, scratch, GEMM_SCRATCH, 0, SPLIT_K_PIECE, parts.ptr,
      ], pieces);
      this.free(offs);
      const sum = this.reduce(REDUCE_OPS.indexOf('sum'), { buf: parts, dtype: 'float32', shape: [pieces, M * N], strides: [M * N, 1], offset: 0 }, [0]);
      this.free(parts);
      this.free(out);
      return sum;
    }
    const [mch, nch] = gemmSplit(M, N, K, batch, this.threads);
    const mChunks = Math.ceil(M / mch), nChunks = Math.ceil(N / nch);
    this.run('gemm', [
      A.ptr, A.rs, A.cs, B.ptr, B.rs, B.cs,
      out.ptr, M, N, K, offs.ptr, offs.ptr + 4 * batch, mChunks, nChunks, mch, nch, scratch, GEMM_SCRATCH, biasPtr, 0, 0,
    ], batch * mChunks * nChunks);
    this.free(offs);
    if (biasTmp) this.free(biasTmp);
    return out;
  }

  /** A matmul operand: its last two strides and the element offset of each batch's matrix. */
  private matOperand(v: View, batchShape: readonly number[]): MatOperand {
    const nd = v.shape.length;
    // broadcast batch dimensions have stride 0
    return { ptr: live(v.buf).ptr, rs: v.strides[nd - 2]!, cs: v.strides[nd - 1]!, offs: stridedOffsets(batchShape, v.strides.slice(0, nd - 2), v.offset), tmp: null };
  }

  /** The operand's matrices, transposed if `transpose`, copied contiguously (the copy is freed with `freeOperand`). */
  private contiguousOperand(v: View, transpose: boolean, batchShape: readonly number[]): MatOperand {
    const nd = v.shape.length;
    const perm = (xs: readonly number[]) => (transpose ? [...xs.slice(0, nd - 2), xs[nd - 1]!, xs[nd - 2]!] : xs);
    const shape = perm(v.shape);
    const b = this.copyView({ ...v, shape, strides: perm(v.strides) });
    const r = shape[nd - 2]!, c = shape[nd - 1]!;
    return { ptr: b.ptr, rs: c, cs: 1, offs: stridedOffsets(batchShape, contiguousStrides(batchShape).map((x) => x * r * c), 0), tmp: b };
  }

  private offsets(A: MatOperand, B: MatOperand, batch: number): WasmBuf {
    const offs = this.allocBuf('int32', 2 * batch);
    const w = this.typed(offs) as Int32Array;
    w.set(A.offs, 0);
    w.set(B.offs, batch);
    return offs;
  }

  /**
   * A product with a dimension of at most THIN by the thin kernels (assembly/thin.ts), which read
   * each operand once where the packed GEMM would pad that dimension to its tile: false where the
   * layouts suit none of them (the packed GEMM runs then), 'biased' where the kernel also added
   * the bias at `bias` (gemmSmallK does; 0 is none). Small operands (the ones with the thin
   * dimension) are copied into the layout a kernel needs; the long one never is.
   */
  private thinMatmul(a: View, bv: View, batchShape: readonly number[], out: number, bias: number): boolean | 'biased' {
    const nd = a.shape.length;
    const M = a.shape[nd - 2]!, K = a.shape[nd - 1]!, N = bv.shape[nd - 1]!;
    const batch = sizeOf(batchShape);
    const A = this.matOperand(a, batchShape), B = this.matOperand(bv, batchShape);
    // the stride of a dimension of size 1 is never used: call it 1, so that any layout test passes
    if (M === 1) A.rs = 1;
    if (K === 1) [A.cs, B.rs] = [1, 1];
    if (N === 1) B.cs = 1;
    let kernel: KernelName, words: (offs: number) => number[], chunks: number;
    const copies: WasmBuf[] = [];
    const copy = (v: View, transpose: boolean) => {
      const o = this.contiguousOperand(v, transpose, batchShape);
      copies.push(o.tmp!);
      return o;
    };
    let P: MatOperand, Q: MatOperand;
    if (K <= THIN) {
      // C = Σₖ A[:, k]·B[k, :], B with unit column stride
      P = A;
      Q = B.cs === 1 ? B : copy(bv, false);
      const rows = Math.max(1, Math.floor(CHUNK / N)), per = Math.ceil(M / rows);
      [kernel, chunks] = ['gemmSmallK', batch * per];
      words = (offs) => thinWords(P.ptr, P.rs, P.cs, Q.ptr, Q.rs, 1, out, N, 1, M, N, K, offs, batch, per, rows, M * N, bias);
    } else {
      // out[v, s] over a long dimension v and a thin one s; V × S is M × N (ov = N, os = 1) or N × M (ov = 1, os = N)
      let V: number, S: number, ov: number, os: number, thinV: boolean, pStride: number, qk: number, qs: number;
      if (N <= THIN && (A.rs === 1 || A.cs === 1)) {
        [V, S, ov, os, P] = [M, N, N, 1, A];
        thinV = A.rs === 1;
        if (thinV) [Q, pStride, qk, qs] = [B, A.cs, B.rs, B.cs]; // P[v, k] = A[i, k] along v; Q[k, s] = B[k, j]
        else {
          Q = B.rs === 1 ? B : copy(bv, true); // Q[s, k] = B[k, j] along k
          [pStride, qk, qs] = [A.rs, 0, Q === B ? B.cs : K];
        }
      } else if (M <= THIN && (B.cs === 1 || B.rs === 1)) {
        [V, S, ov, os, P] = [N, M, 1, N, B];
        thinV = B.cs === 1;
        if (thinV) [Q, pStride, qk, qs] = [A, B.rs, A.cs, A.rs]; // P[v, k] = B[k, j] along v; Q[k, s] = A[i, k]
        else {
          Q = A.cs === 1 ? A : copy(a, false); // Q[s, k] = A[i, k] along k
          [pStride, qk, qs] = [B.cs, 0, Q === A ? A.rs : K];
        }
      } else {
        return false;
      }
      const work = S * K;
      const vch = thinV ? 16 * Math.max(1, Math.floor(THIN_WORK / (16 * work))) : Math.max(1, Math.floor(THIN_WORK / work));
      const per = Math.ceil(V / vch);
      [kernel, chunks] = [thinV ? 'gemmThinV' : 'gemmThinK', batch * per];
      words = (offs) => thinWords(P.ptr, pStride, 0, Q.ptr, thinV ? qk : qs, thinV ? qs : 0, out, ov, os, V, S, K, offs, batch, per, vch, M * N, 0);
    }
    const offs = this.offsets(P, Q, batch);
    this.run(kernel, words(offs.ptr), chunks);
    this.free(offs);
    for (const c of copies) this.free(c);
    return kernel === 'gemmSmallK' && bias ? 'biased' : true;
  }

  private convWords(src: number, strides: readonly number[], N: number, C: number, H: number, W: number, p: Im2colParams, pad: number, out: number): [number[], number] {
    const [kh, kw] = p.kernel, [sh, sw] = p.stride, [ph, pw] = p.padding, [dh, dw] = p.dilation;
    const oh = Math.floor((H + 2 * ph - dh * (kh - 1) - 1) / sh) + 1, ow = Math.floor((W + 2 * pw - dw * (kw - 1) - 1) / sw) + 1;
    const per = Math.max(1, Math.floor(CHUNK / Math.max(1, kh * kw * oh * ow)));
    return [[src, ...strides, N, C, H, W, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, pad, out, per], Math.ceil((N * C) / per)];
  }

  private conv2dForward(x: View, w: View, p: Im2colParams, bias?: View): Buf {
    const [N, C, H, W] = x.shape as [number, number, number, number];
    const [O, Cw, kh, kw] = w.shape as [number, number, number, number];
    if (x.dtype !== 'float32' || w.dtype !== 'float32' || x.shape.length !== 4 || w.shape.length !== 4 || Cw !== C || kh !== p.kernel[0] || kw !== p.kernel[1]) {
      throw new Error(`conv2dForward: expected float32 x [N, C, H, W] and w [O, C, ${p.kernel.join(', ')}], got ${x.dtype} ${shapeStr(x.shape)} and ${w.dtype} ${shapeStr(w.shape)}`);
    }
    if (bias && (bias.dtype !== 'float32' || bias.shape.length !== 1 || bias.shape[0] !== O)) throw new Error(`conv2dForward: expected a float32 bias of shape [${O}], got ${bias.dtype} ${shapeStr(bias.shape)}`);
    const oh = Math.floor((H + 2 * p.padding[0] - p.dilation[0] * (kh - 1) - 1) / p.stride[0]) + 1;
    const ow = Math.floor((W + 2 * p.padding[1] - p.dilation[1] * (kw - 1) - 1) / p.stride[1]) + 1;
    if (oh <= 0 || ow <= 0) throw new Error(`conv2dForward: kernel ${p.kernel.join('×')} (dilation ${p.dilation.join('×')}) is larger than the padded input ${H}×${W}`);
    const L = oh * ow, K = C * kh * kw;
    const y = this.allocBuf('float32', N * O * L);
    if (y.size === 0) return y;
    // blocks of output positions whose columns (K × nb floats) fit a thread's cache
    const nb = Math.min(L, Math.max(NR, Math.floor(CONV_COLS / K / NR) * NR));
    const cols = this.allocBuf('float32', this.threads * K * nb);
    const [wp, wTmp] = this.dense(w);
    const [bp, bTmp] = bias ? this.dense(bias) : [0, null];
    const [ph, pw] = p.padding, [sh, sw] = p.stride, [dh, dw] = p.dilation;
    this.run('convForward', [
      this.ptrOf(x), ...x.strides, N, C, H, W, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, 0,
      y.ptr, nb, wp, O, bp, this.ensureGemmScratch(), GEMM_SCRATCH, cols.ptr, K * nb * 4,
    ], N * Math.ceil(L / nb));
    for (const t of [cols, wTmp, bTmp]) if (t) this.free(t);
    return y;
  }

  private conv2dWeightGrad(x: View, g: View, p: Im2colParams): Buf {
    const [N, C, H, W] = x.shape as [number, number, number, number];
    const [kh, kw] = p.kernel;
    const oh = Math.floor((H + 2 * p.padding[0] - p.dilation[0] * (kh - 1) - 1) / p.stride[0]) + 1;
    const ow = Math.floor((W + 2 * p.padding[1] - p.dilation[1] * (kw - 1) - 1) / p.stride[1]) + 1;
    if (x.dtype !== 'float32' || g.dtype !== 'float32' || x.shape.length !== 4 || g.shape.length !== 4 || g.shape[0] !== N || g.shape[2] !== oh || g.shape[3] !== ow) {
      throw new Error(`conv2dWeightGrad: expected float32 x [N, C, H, W] and g [N, O, ${oh}, ${ow}], got ${x.dtype} ${shapeStr(x.shape)} and ${g.dtype} ${shapeStr(g.shape)}`);
    }
    const O = g.shape[1]!, L = oh * ow, K = C * kh * kw;
    if (N * O * K === 0 || L <= 0) {
      const z = this.allocBuf('float32', O * K);
      if (z.size) this.typed(z).fill(0);
      return z;
    }
    // groups of images, one chunk each, that do about CONV_GROUP_FLOP each (at most CONV_GROUPS of
    // them): fixed by the shape, so the sum over groups does not depend on the threads
    const groups = Math.min(N, Math.max(CONV_GROUPS / 2, Math.min(CONV_GROUPS, Math.floor((2 * N * O * K * L) / CONV_GROUP_FLOP))));
    const per = Math.ceil(N / groups), chunks = Math.ceil(N / per);
    const perGroup = this.allocBuf('float32', chunks * O * K);
    const nb = Math.min(L, Math.max(NR, Math.floor(CONV_COLS / K / NR) * NR));
    const cols = this.allocBuf('float32', this.threads * K * nb);
    const [gp, gTmp] = this.dense(g);
    const [ph, pw] = p.padding, [sh, sw] = p.stride, [dh, dw] = p.dilation;
    this.run('convWeightGrad', [
      this.ptrOf(x), ...x.strides, N, C, H, W, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, 0,
      perGroup.ptr, nb, gp, O, per, this.ensureGemmScratch(), GEMM_SCRATCH, cols.ptr, K * nb * 4,
    ], chunks);
    for (const t of [cols, gTmp]) if (t) this.free(t);
    const grad = this.reduce(REDUCE_OPS.indexOf('sum'), { buf: perGroup, dtype: 'float32', shape: [chunks, O * K], strides: [O * K, 1], offset: 0 }, [0]);
    this.free(perGroup);
    return grad;
  }

  private conv2dInputGrad(g: View, w: View, p: Im2colParams, [H, W]: readonly [number, number]): Buf {
    const [O, C, kh, kw] = w.shape as [number, number, number, number];
    const N = g.shape[0]!;
    const oh = Math.floor((H + 2 * p.padding[0] - p.dilation[0] * (kh - 1) - 1) / p.stride[0]) + 1;
    const ow = Math.floor((W + 2 * p.padding[1] - p.dilation[1] * (kw - 1) - 1) / p.stride[1]) + 1;
    if (g.dtype !== 'float32' || w.dtype !== 'float32' || w.shape.length !== 4 || kh !== p.kernel[0] || kw !== p.kernel[1] || g.shape.length !== 4 || g.shape[1] !== O || g.shape[2] !== oh || g.shape[3] !== ow) {
      throw new Error(`conv2dInputGrad: expected float32 w [O, C, ${p.kernel.join(', ')}] and g [N, O, ${oh}, ${ow}] for an input ${H}×${W}, got ${w.dtype} ${shapeStr(w.shape)} and ${g.dtype} ${shapeStr(g.shape)}`);
    }
    const L = oh * ow, K = C * kh * kw;
    const dx = this.allocBuf('float32', N * C * H * W);
    if (dx.size === 0) return dx;
    if (K === 0 || O === 0 || L <= 0) {
      this.typed(dx).fill(0);
      return dx;
    }
    const nb = Math.min(L, Math.max(NR, Math.floor(CONV_COLS / K / NR) * NR));
    const cols = this.allocBuf('float32', this.threads * K * nb);
    const [wp, wTmp] = this.dense(w);
    const [gp, gTmp] = this.dense(g);
    const [ph, pw] = p.padding, [sh, sw] = p.stride, [dh, dw] = p.dilation;
    this.run('convInputGrad', [
      dx.ptr, C * H * W, H * W, W, 1, N, C, H, W, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, 0,
      0, nb, wp, O, gp, this.ensureGemmScratch(), GEMM_SCRATCH, cols.ptr, K * nb * 4,
    ], N);
    for (const t of [cols, wTmp, gTmp]) if (t) this.free(t);
    return dx;
  }

  private im2col(x: View, p: Im2colParams): Buf {
    const [N, C, H, W] = x.shape as [number, number, number, number];
    const [kh, kw] = p.kernel;
    const oh = Math.floor((H + 2 * p.padding[0] - p.dilation[0] * (kh - 1) - 1) / p.stride[0]) + 1;
    const ow = Math.floor((W + 2 * p.padding[1] - p.dilation[1] * (kw - 1) - 1) / p.stride[1]) + 1;
    const b = this.allocBuf(x.dtype, N * C * kh * kw * oh * ow);
    if (b.size === 0) return b;
    const padBits = x.dtype === 'int32' ? Math.trunc(p.padValue) | 0 : f32Bits(p.padValue);
    const [words, chunks] = this.convWords(this.ptrOf(x), x.strides, N, C, H, W, p, padBits, b.ptr);
    if (x.dtype === 'bool') throw new Error(`${this.name} backend: im2col of bool tensors is not supported`);
    this.run('im2col', words, chunks);
    return b;
  }

  private col2im(cols: View, p: Im2colParams, C: number, H: number, W: number): Buf {
    const N = cols.shape[0]!;
    const b = this.allocBuf(cols.dtype, N * C * H * W);
    if (b.size === 0) return b;
    if (cols.dtype !== 'float32') throw new Error(`${this.name} backend: col2im expects float32, got ${cols.dtype}`);
    const [src, tmp] = this.dense(cols);
    const [words, chunks] = this.convWords(src, [0, 0, 0, 0], N, C, H, W, p, 0, b.ptr);
    this.run('col2im', words, chunks);
    if (tmp) this.free(tmp);
    return b;
  }

  private lu(a: View, what: 'inverse' | 'logAbsDet' | 'detSign'): Buf {
    const [ptr, tmp] = this.dense(a);
    this.heap.sync();
    const n = sizeOf(a.shape);
    const all = Float64Array.from(a.dtype === 'float32' ? new Float32Array(this.heap.memory.buffer, ptr, n) : new Int32Array(this.heap.memory.buffer, ptr, n));
    if (tmp) this.free(tmp);
    const res = luBatch(all, a.shape, a.dtype, what);
    const b = this.allocBuf(a.dtype, res.length);
    this.typed(b).set(res);
    return b;
  }
}

/** The argument words of the thin kernels (assembly/thin.ts, `Thin`): P's and Q's offset arrays lie at offs and offs + 4·batch. */
function thinWords(p: number, pa: number, pb: number, q: number, qa: number, qb: number, out: number, ov: number, os: number, V: number, S: number, K: number, offs: number, batch: number, per: number, vch: number, outBatch: number, bias: number): number[] {
  return [p, pa, pb, q, qa, qb, out, ov, os, V, S, K, offs, offs + 4 * batch, per, vch, outBatch, bias];
}

/** One operand of a matmul: its last two strides and each batch's element offset (`tmp`: a copy to free). */
interface MatOperand { ptr: number; rs: number; cs: number; offs: Int32Array; tmp: WasmBuf | null }

function live(buf: Buf): WasmBuf {
  const b = buf as WasmBuf;
  if (b.freed) throw new Error('wasm backend: use of a freed buffer (a disposed tensor was used)');
  return b;
}

function isDense(shape: readonly number[], strides: readonly number[]): boolean {
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && strides[i] !== acc) return false;
    acc *= shape[i]!;
  }
  return true;
}

/** Offset of every index of `shape` (row-major) under `strides`, from `offset`. */
function stridedOffsets(shape: readonly number[], strides: readonly number[], offset: number): Int32Array {
  const n = sizeOf(shape);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let rest = i, off = offset;
    for (let d = shape.length - 1; d >= 0; d--) {
      const k = rest % shape[d]!;
      rest = Math.floor(rest / shape[d]!);
      off += k * strides[d]!;
    }
    out[i] = off;
  }
  return out;
}

const f32buf = new Float32Array(1);
const i32buf = new Int32Array(f32buf.buffer);
function f32Bits(v: number): number {
  f32buf[0] = v;
  return i32buf[0]!;
}

/** The kernel module must have been built from the op tables and kernel list this host uses. */
function checkBuild(exports: Record<string, unknown>): void {
  const stale = 'the wasm kernels were built from other sources than this host; rebuild them with \'npm run build:wasm\'';
  const missing = KERNELS.filter((k) => typeof exports[k] !== 'function');
  if (missing.length) throw new Error(`wasm backend: ${stale} (missing kernels: ${missing.join(', ')})`);
  const tables = typeof exports.opTables === 'function' ? (exports.opTables as () => number)() : -1;
  const want = UNARY_OPS.length * 256 + BINARY_OPS.length;
  if (tables !== want) {
    throw new Error(`wasm backend: ${stale} (it knows ${tables >> 8} unary and ${tables & 255} binary ops, the host ${UNARY_OPS.length} and ${BINARY_OPS.length})`);
  }
  const blocking = exports.gemmBlocking as ((i: number) => number) | undefined;
  const theirs = blocking ? [0, 1, 2, 3, 4].map((i) => blocking(i)) : [];
  if (theirs.join() !== [MR, NR, KC, MC, NC].join()) {
    throw new Error(`wasm backend: ${stale} (its GEMM blocking MR, NR, KC, MC, NC is ${theirs.join(', ') || 'unknown'}, the host's ${[MR, NR, KC, MC, NC].join(', ')})`);
  }
}

