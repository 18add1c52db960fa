/**
 * The reference backend: plain TypeScript over typed arrays. It is the oracle that the fast
 * backends are checked against, so every kernel favours clarity and float64 accumulation.
 */
import type { Backend, Buf, KernelTable, View, UnaryKernel, BinaryKernel, ReduceKernel, Im2colParams } from '../../core/backend.ts';
import { registerBackend } from '../../core/backend.ts';
import { type DType, type TypedArray, allocArray, bytesPerElement } from '../../core/dtype.ts';
import { sizeOf, contiguousStrides, sameShape, shapeStr } from '../../core/shape.ts';
import { stridedIndex, isDense } from './strided.ts';
import { erf, roundHalfEven, sigmoid, silu, siluGrad, sign } from './math.ts';

interface CpuBuf { data: TypedArray; freed: boolean }

const arr = (b: Buf): TypedArray => {
  const cb = b as CpuBuf;
  if (cb.freed) throw new Error('cpu backend: use of a freed buffer (a disposed tensor was used)');
  return cb.data;
};

export class CpuBackend implements Backend {
  readonly name: string = 'cpu';
  readonly dtypes: readonly DType[] = ['float32', 'float64', 'int32', 'bool'];
  private liveBuffers = 0;
  private liveBytes = 0;
  private peakBytes = 0;
  readonly kernels: KernelTable;

  constructor() {
    this.kernels = makeKernels((d) => this.wrap(d));
  }

  wrap(data: TypedArray): Buf {
    this.liveBuffers++;
    this.liveBytes += data.byteLength;
    if (this.liveBytes > this.peakBytes) this.peakBytes = this.liveBytes;
    return { data, freed: false } satisfies CpuBuf;
  }
  fromArray(data: TypedArray, dtype: DType): Buf {
    const out = allocArray(dtype, data.length);
    out.set(data);
    return this.wrap(out);
  }
  alloc(dtype: DType, size: number): Buf {
    return this.wrap(allocArray(dtype, size));
  }
  read(buf: Buf): Promise<TypedArray> {
    return Promise.resolve(arr(buf).slice());
  }
  readSync(buf: Buf): TypedArray {
    return arr(buf).slice();
  }
  free(buf: Buf): void {
    const cb = buf as CpuBuf;
    if (cb.freed) return;
    cb.freed = true;
    this.liveBuffers--;
    this.liveBytes -= cb.data.byteLength;
    cb.data = new Float32Array(0);
  }
  memory() {
    return { buffers: this.liveBuffers, bytes: this.liveBytes, peakBytes: this.peakBytes };
  }
  resetPeakMemory(): void {
    this.peakBytes = this.liveBytes;
  }
}

/** Storage indices of a view in row-major order, or null when it is dense from its offset. */
function indices(v: View): Int32Array | null {
  return isDense(v.shape, v.strides) ? null : stridedIndex(v.shape, v.strides, v.offset);
}

/** Read a view into a fresh contiguous array of the same dtype. */
function gather1(v: View): TypedArray {
  const src = arr(v.buf);
  const n = sizeOf(v.shape);
  const idx = indices(v);
  if (!idx) return src.slice(v.offset, v.offset + n);
  const out = allocArray(v.dtype, n);
  for (let i = 0; i < n; i++) out[i] = src[idx[i]!]!;
  return out;
}

/** Contiguous float64 copy of a view (for matmul, linear algebra). */
function toF64(v: View): Float64Array {
  const src = arr(v.buf);
  const n = sizeOf(v.shape);
  const out = new Float64Array(n);
  const idx = indices(v);
  if (!idx) for (let i = 0; i < n; i++) out[i] = src[v.offset + i]!;
  else for (let i = 0; i < n; i++) out[i] = src[idx[i]!]!;
  return out;
}

function makeKernels(wrap: (d: TypedArray) => Buf): KernelTable {
  const unary = (f: (x: number) => number): UnaryKernel => (x, dt) => {
    const src = arr(x.buf);
    const n = sizeOf(x.shape);
    const out = allocArray(dt, n);
    const idx = indices(x);
    if (!idx) { const o = x.offset; for (let i = 0; i < n; i++) out[i] = f(src[o + i]!); }
    else for (let i = 0; i < n; i++) out[i] = f(src[idx[i]!]!);
    return wrap(out);
  };
  const binary = (f: (a: number, b: number) => number): BinaryKernel => (a, b, dt) => {
    const sa = arr(a.buf), sb = arr(b.buf);
    const n = sizeOf(a.shape);
    const out = allocArray(dt, n);
    const ia = indices(a), ib = indices(b);
    if (!ia && !ib) {
      const oa = a.offset, ob = b.offset;
      for (let i = 0; i < n; i++) out[i] = f(sa[oa + i]!, sb[ob + i]!);
    } else {
      const oa = a.offset, ob = b.offset;
      for (let i = 0; i < n; i++) out[i] = f(sa[ia ? ia[i]! : oa + i]!, sb[ib ? ib[i]! : ob + i]!);
    }
    return wrap(out);
  };
  /** Reduce: move reduced axes last, then fold each contiguous run of the index array. */
  const reduce = (init: number, fold: (acc: number, v: number) => number, dtypeOut?: (d: DType) => DType): ReduceKernel => (x, axes) => {
    const keep = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
    const perm = [...keep, ...axes];
    const shape = perm.map((i) => x.shape[i]!);
    const strides = perm.map((i) => x.strides[i]!);
    const idx = stridedIndex(shape, strides, x.offset);
    const outN = sizeOf(keep.map((i) => x.shape[i]!));
    const R = sizeOf(axes.map((i) => x.shape[i]!));
    const src = arr(x.buf);
    const out = allocArray(dtypeOut ? dtypeOut(x.dtype) : x.dtype, outN);
    for (let o = 0; o < outN; o++) {
      let acc = init;
      const base = o * R;
      for (let r = 0; r < R; r++) acc = fold(acc, src[idx[base + r]!]!);
      out[o] = acc;
    }
    return wrap(out);
  };
  const argReduce = (better: (v: number, best: number) => boolean) => (x: View, axis: number): Buf => {
    const keep = x.shape.map((_, i) => i).filter((i) => i !== axis);
    const perm = [...keep, axis];
    const idx = stridedIndex(perm.map((i) => x.shape[i]!), perm.map((i) => x.strides[i]!), x.offset);
    const L = x.shape[axis]!;
    const outN = L === 0 ? 0 : idx.length / L;
    const src = arr(x.buf);
    const out = new Int32Array(outN);
    for (let o = 0; o < outN; o++) {
      let best = src[idx[o * L]!]!, bi = 0;
      for (let r = 1; r < L && !Number.isNaN(best); r++) {
        const v = src[idx[o * L + r]!]!;
        if (Number.isNaN(v) || better(v, best)) { best = v; bi = r; }
      }
      out[o] = bi;
    }
    return wrap(out);
  };
  const cmp = (f: (a: number, b: number) => boolean) => binary((a, b) => (f(a, b) ? 1 : 0));

  return {
    neg: unary((x) => -x),
    abs: unary(Math.abs),
    sign: unary(sign),
    exp: unary(Math.exp),
    log: unary(Math.log),
    log1p: unary(Math.log1p),
    expm1: unary(Math.expm1),
    sqrt: unary(Math.sqrt),
    recip: unary((x) => 1 / x),
    sin: unary(Math.sin),
    cos: unary(Math.cos),
    tanh: unary(Math.tanh),
    sigmoid: unary(sigmoid),
    erf: unary(erf),
    floor: unary(Math.floor),
    ceil: unary(Math.ceil),
    round: unary(roundHalfEven),
    logicalNot: unary((x) => (x ? 0 : 1)),
    silu: unary(silu),
    siluGrad: unary(siluGrad),

    add: binary((a, b) => a + b),
    sub: binary((a, b) => a - b),
    mul: binary((a, b) => a * b),
    div: binary((a, b) => a / b),
    pow: binary(Math.pow),
    maximum: binary((a, b) => (a !== a || b !== b ? NaN : a > b ? a : b)),
    minimum: binary((a, b) => (a !== a || b !== b ? NaN : a < b ? a : b)),
    eq: cmp((a, b) => a === b),
    ne: cmp((a, b) => a !== b),
    lt: cmp((a, b) => a < b),
    le: cmp((a, b) => a <= b),
    gt: cmp((a, b) => a > b),
    ge: cmp((a, b) => a >= b),
    logicalAnd: cmp((a, b) => !!a && !!b),
    logicalOr: cmp((a, b) => !!a || !!b),

    sum: reduce(0, (acc, v) => acc + v),
    prod: reduce(1, (acc, v) => acc * v),
    max: reduce(-Infinity, (acc, v) => (v !== v || acc !== acc ? NaN : v > acc ? v : acc)),
    min: reduce(Infinity, (acc, v) => (v !== v || acc !== acc ? NaN : v < acc ? v : acc)),
    argmax: argReduce((v, best) => v > best),
    argmin: argReduce((v, best) => v < best),

    where(c, a, b, dt) {
      const sc = arr(c.buf), sa = arr(a.buf), sb = arr(b.buf);
      const n = sizeOf(a.shape);
      const ic = stridedIndex(c.shape, c.strides, c.offset);
      const ia = stridedIndex(a.shape, a.strides, a.offset);
      const ib = stridedIndex(b.shape, b.strides, b.offset);
      const out = allocArray(dt, n);
      for (let i = 0; i < n; i++) out[i] = sc[ic[i]!] ? sa[ia[i]!]! : sb[ib[i]!]!;
      return wrap(out);
    },
    copy(x) {
      return wrap(gather1(x));
    },
    cast(x, dt) {
      const src = gather1(x);
      const out = allocArray(dt, src.length);
      if (dt === 'bool') for (let i = 0; i < src.length; i++) out[i] = src[i] ? 1 : 0;
      else if (dt === 'int32') for (let i = 0; i < src.length; i++) out[i] = Math.trunc(src[i]!);
      else out.set(src);
      return wrap(out);
    },
    cumsum(x, axis) {
      const src = gather1(x);
      const out = allocArray(x.dtype, src.length);
      const L = x.shape[axis]!;
      const inner = sizeOf(x.shape.slice(axis + 1));
      const outer = sizeOf(x.shape.slice(0, axis));
      for (let o = 0; o < outer; o++) {
        for (let i = 0; i < inner; i++) {
          let acc = 0;
          for (let k = 0; k < L; k++) {
            const p = (o * L + k) * inner + i;
            acc += src[p]!;
            out[p] = acc;
          }
        }
      }
      return wrap(out);
    },
    concat(xs, axis, outShape) {
      const out = allocArray(xs[0]!.dtype, sizeOf(outShape));
      const inner = sizeOf(outShape.slice(axis + 1));
      const outer = sizeOf(outShape.slice(0, axis));
      const rowOut = outShape[axis]! * inner;
      let col = 0;
      for (const x of xs) {
        const src = gather1(x);
        const row = x.shape[axis]! * inner;
        for (let o = 0; o < outer; o++) out.set(src.subarray(o * row, (o + 1) * row), o * rowOut + col);
        col += row;
      }
      return wrap(out);
    },
    gather(x, axis, index) {
      const src = arr(x.buf);
      const iv = gather1(index);
      const bStrides = x.strides.map((s, d) => (d === axis ? 0 : s));
      const base = stridedIndex(index.shape, bStrides, x.offset);
      const out = allocArray(x.dtype, iv.length);
      const L = x.shape[axis]!, S = x.strides[axis]!;
      for (let i = 0; i < iv.length; i++) {
        const k = iv[i]!;
        if (k < 0 || k >= L) throw new Error(`gather: index ${k} is out of range for dimension ${axis} of size ${L}`);
        out[i] = src[base[i]! + k * S]!;
      }
      return wrap(out);
    },
    scatterAdd(x, axis, index, src) {
      const out = gather1(x);
      const cs = contiguousStrides(x.shape);
      const iv = gather1(index);
      const base = stridedIndex(index.shape, cs.map((s, d) => (d === axis ? 0 : s)), 0);
      const sv = arr(src.buf);
      const si = stridedIndex(index.shape, src.strides, src.offset);
      const L = x.shape[axis]!, S = cs[axis]!;
      for (let i = 0; i < iv.length; i++) {
        const k = iv[i]!;
        if (k < 0 || k >= L) throw new Error(`scatterAdd: index ${k} is out of range for dimension ${axis} of size ${L}`);
        out[base[i]! + k * S]! += sv[si[i]!]!;
      }
      return wrap(out);
    },
    embedSlice(g, outShape, starts, steps) {
      const out = allocArray(g.dtype, sizeOf(outShape));
      const cs = contiguousStrides(outShape);
      const off = starts.reduce((acc, s, d) => acc + s * cs[d]!, 0);
      const target = stridedIndex(g.shape, cs.map((c, d) => c * steps[d]!), off);
      const src = gather1(g);
      for (let i = 0; i < src.length; i++) out[target[i]!] = src[i]!;
      return wrap(out);
    },
    matmul(a, b, bias) {
      const nd = a.shape.length;
      const M = a.shape[nd - 2]!, K = a.shape[nd - 1]!, N = b.shape[nd - 1]!;
      const batch = a.shape.slice(0, nd - 2);
      const aBase = stridedIndex(batch, a.strides.slice(0, nd - 2), a.offset);
      const bBase = stridedIndex(batch, b.strides.slice(0, nd - 2), b.offset);
      const sa = arr(a.buf), sb = arr(b.buf);
      const [ar, ac] = [a.strides[nd - 2]!, a.strides[nd - 1]!];
      const [br, bc] = [b.strides[nd - 2]!, b.strides[nd - 1]!];
      const out = allocArray(a.dtype, aBase.length * M * N);
      const A = new Float64Array(M * K), B = new Float64Array(K * N), C = new Float64Array(M * N);
      for (let t = 0; t < aBase.length; t++) {
        const ao = aBase[t]!, bo = bBase[t]!;
        for (let i = 0; i < M; i++) for (let k = 0; k < K; k++) A[i * K + k] = sa[ao + i * ar + k * ac]!;
        for (let k = 0; k < K; k++) for (let j = 0; j < N; j++) B[k * N + j] = sb[bo + k * br + j * bc]!;
        gemmF64(A, B, C, M, K, N);
        if (bias) addRowVector(C, M, N, bias);
        out.set(C, t * M * N);
      }
      return wrap(out);
    },
    im2col(x, p) {
      return wrap(im2col(x, p));
    },
    col2im(cols, p, C, H, W) {
      return wrap(col2im(cols, p, C, H, W));
    },
    inverse(a) {
      return wrap(batchedLu(a, 'inverse'));
    },
    logAbsDet(a) {
      return wrap(batchedLu(a, 'logAbsDet'));
    },
    detSign(a) {
      return wrap(batchedLu(a, 'detSign'));
    },
    adamStep(pv, gv, mv, vv, h) {
      // each operation rounded to the storage precision, as the composed update would be
      const r = pv.dtype === 'float32' ? Math.fround : (x: number) => x;
      const p = gather1(pv), g = gather1(gv), m = gather1(mv), v = gather1(vv);
      const n = p.length;
      const p2 = allocArray(pv.dtype, n), m2 = allocArray(pv.dtype, n), v2 = allocArray(pv.dtype, n);
      const b1 = r(h.beta1), c1 = r(1 - h.beta1), b2 = r(h.beta2), c2 = r(1 - h.beta2);
      const wd = r(h.decoupled ? 1 - h.lr * h.weightDecay : h.weightDecay), step = r(h.stepSize), bc2 = r(h.biasCorrection2Sqrt), eps = r(h.eps);
      for (let i = 0; i < n; i++) {
        let pi = p[i]!, gi = g[i]!;
        if (h.maximize) gi = -gi;
        if (h.decoupled) pi = r(pi * wd);
        else if (h.weightDecay !== 0) gi = r(gi + r(pi * wd));
        const mi = r(r(m[i]! * b1) + r(gi * c1));
        const vi = r(r(v[i]! * b2) + r(r(gi * gi) * c2));
        const denom = r(r(r(Math.sqrt(vi)) / bc2) + eps);
        m2[i] = mi;
        v2[i] = vi;
        p2[i] = r(pi + r(r(mi / denom) * -step));
      }
      return [wrap(p2), wrap(m2), wrap(v2)];
    },
    normRows(xv, eps) {
      // the reference: statistics in float64, each output rounded once
      const [rows, n] = xv.shape as [number, number];
      const x = gather1(xv);
      const y = allocArray(xv.dtype, rows * n), rstd = allocArray(xv.dtype, rows);
      for (let r = 0; r < rows; r++) {
        const o = r * n;
        let s = 0;
        for (let i = 0; i < n; i++) s += x[o + i]!;
        const mu = s / n;
        let ss = 0;
        for (let i = 0; i < n; i++) ss += (x[o + i]! - mu) ** 2;
        const rs = 1 / Math.sqrt(ss / n + eps);
        rstd[r] = rs;
        for (let i = 0; i < n; i++) y[o + i] = (x[o + i]! - mu) * rs;
      }
      return [wrap(y), wrap(rstd)];
    },
    normRowsBackward(gv, yv, rv) {
      const [rows, n] = yv.shape as [number, number];
      const g = gather1(gv), y = gather1(yv), rstd = gather1(rv);
      const dx = allocArray(yv.dtype, rows * n);
      for (let r = 0; r < rows; r++) {
        const o = r * n;
        let sg = 0, sgy = 0;
        for (let i = 0; i < n; i++) {
          sg += g[o + i]!;
          sgy += g[o + i]! * y[o + i]!;
        }
        const mg = sg / n, mgy = sgy / n, rs = rstd[r]!;
        for (let i = 0; i < n; i++) dx[o + i] = (g[o + i]! - mg - y[o + i]! * mgy) * rs;
      }
      return wrap(dx);
    },
    softmaxRows(xv, log) {
      // x − logsumexp(x) in float64, as Tensor.logsumexp composes it (an infinite maximum taken as 0)
      const [rows, n] = xv.shape as [number, number];
      const x = gather1(xv);
      const y = allocArray(xv.dtype, rows * n);
      for (let r = 0; r < rows; r++) {
        const o = r * n;
        let m = -Infinity;
        for (let i = 0; i < n; i++) m = Number.isNaN(m) || Number.isNaN(x[o + i]!) ? NaN : Math.max(m, x[o + i]!);
        if (Math.abs(m) === Infinity) m = 0;
        let s = 0;
        for (let i = 0; i < n; i++) s += Math.exp(x[o + i]! - m);
        const lse = m + Math.log(s);
        for (let i = 0; i < n; i++) y[o + i] = log ? x[o + i]! - lse : Math.exp(x[o + i]! - lse);
      }
      return wrap(y);
    },
    softmaxRowsBackward(gv, yv, log) {
      const [rows, n] = yv.shape as [number, number];
      const g = gather1(gv), y = gather1(yv);
      const dx = allocArray(yv.dtype, rows * n);
      for (let r = 0; r < rows; r++) {
        const o = r * n;
        let s = 0;
        for (let i = 0; i < n; i++) s += log ? g[o + i]! : g[o + i]! * y[o + i]!;
        for (let i = 0; i < n; i++) dx[o + i] = log ? g[o + i]! - Math.exp(y[o + i]!) * s : y[o + i]! * (g[o + i]! - s);
      }
      return wrap(dx);
    },
    siluBackward(gv, xv, yv) {
      // the reference: g·silu′(x) from x in float64, rounded once (y is not needed)
      if ([gv, xv, yv].some((v) => v.dtype !== 'float32' || !sameShape(v.shape, xv.shape))) {
        throw new Error(`siluBackward: expected float32 g, x and y of one shape, got ${[gv, xv, yv].map((v) => `${v.dtype} ${shapeStr(v.shape)}`).join(', ')}`);
      }
      const g = gather1(gv), x = gather1(xv);
      const dx = allocArray(xv.dtype, x.length);
      for (let i = 0; i < x.length; i++) dx[i] = g[i]! * siluGrad(x[i]!);
      return wrap(dx);
    },
  };
}

/** C[i, :] += bias for every row of a dense row-major [M, N] float64 matrix (in float64, before C is rounded). */
function addRowVector(C: Float64Array, M: number, N: number, bias: View): void {
  const b = gather1(bias);
  if (b.length !== N) throw new Error(`matmul: expected a bias of ${N} values, got shape ${shapeStr(bias.shape)}`);
  for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) C[i * N + j] += b[j]!;
}

/** C = A·B for dense row-major float64 matrices; four rows of A at a time so each B row is loaded once per four. */
function gemmF64(A: Float64Array, B: Float64Array, C: Float64Array, M: number, K: number, N: number): void {
  C.fill(0);
  let i = 0;
  for (; i + 4 <= M; i += 4) {
    const c0 = i * N, c1 = c0 + N, c2 = c1 + N, c3 = c2 + N;
    for (let k = 0; k < K; k++) {
      const a0 = A[i * K + k]!, a1 = A[(i + 1) * K + k]!, a2 = A[(i + 2) * K + k]!, a3 = A[(i + 3) * K + k]!;
      const bk = k * N;
      for (let j = 0; j < N; j++) {
        const bv = B[bk + j]!;
        C[c0 + j]! += a0 * bv;
        C[c1 + j]! += a1 * bv;
        C[c2 + j]! += a2 * bv;
        C[c3 + j]! += a3 * bv;
      }
    }
  }
  for (; i < M; i++) {
    const c0 = i * N;
    for (let k = 0; k < K; k++) {
      const a0 = A[i * K + k]!;
      const bk = k * N;
      for (let j = 0; j < N; j++) C[c0 + j]! += a0 * B[bk + j]!;
    }
  }
}

function convOut(size: number, k: number, s: number, pad: number, dil: number): number {
  return Math.floor((size + 2 * pad - dil * (k - 1) - 1) / s) + 1;
}

function im2col(x: View, p: Im2colParams): TypedArray {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const [kh, kw] = p.kernel, [sh, sw] = p.stride, [ph, pw] = p.padding, [dh, dw] = p.dilation;
  const oh = convOut(H, kh, sh, ph, dh), ow = convOut(W, kw, sw, pw, dw);
  const src = arr(x.buf);
  const [xn, xc, xh, xw] = x.strides as [number, number, number, number];
  const out = allocArray(x.dtype, N * C * kh * kw * oh * ow);
  let o = 0;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      for (let ki = 0; ki < kh; ki++) {
        for (let kj = 0; kj < kw; kj++) {
          for (let oy = 0; oy < oh; oy++) {
            const iy = oy * sh - ph + ki * dh;
            const rowOk = iy >= 0 && iy < H;
            const rb = x.offset + n * xn + c * xc + iy * xh;
            for (let ox = 0; ox < ow; ox++) {
              const ix = ox * sw - pw + kj * dw;
              out[o++] = rowOk && ix >= 0 && ix < W ? src[rb + ix * xw]! : p.padValue;
            }
          }
        }
      }
    }
  }
  return out;
}

function col2im(cols: View, p: Im2colParams, C: number, H: number, W: number): TypedArray {
  const N = cols.shape[0]!;
  const [kh, kw] = p.kernel, [sh, sw] = p.stride, [ph, pw] = p.padding, [dh, dw] = p.dilation;
  const oh = convOut(H, kh, sh, ph, dh), ow = convOut(W, kw, sw, pw, dw);
  const src = gather1(cols);
  const acc = new Float64Array(N * C * H * W);
  let o = 0;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      for (let ki = 0; ki < kh; ki++) {
        for (let kj = 0; kj < kw; kj++) {
          for (let oy = 0; oy < oh; oy++) {
            const iy = oy * sh - ph + ki * dh;
            const rowOk = iy >= 0 && iy < H;
            const rb = ((n * C + c) * H + iy) * W;
            for (let ox = 0; ox < ow; ox++, o++) {
              const ix = ox * sw - pw + kj * dw;
              if (rowOk && ix >= 0 && ix < W) acc[rb + ix]! += src[o]!;
            }
          }
        }
      }
    }
  }
  const out = allocArray(cols.dtype, acc.length);
  out.set(acc);
  return out;
}

/** LU with partial pivoting per matrix of a [..., n, n] batch (Golub & Van Loan, Alg. 3.4.1). */
function batchedLu(a: View, what: 'inverse' | 'logAbsDet' | 'detSign'): TypedArray {
  return luBatch(toF64(a), a.shape, a.dtype, what);
}

/** The batched LU of `batchedLu` on a contiguous float64 copy `all` of a [..., n, n] view (shared with the wasm backend). */
export function luBatch(all: Float64Array, shape: readonly number[], dtype: DType, what: 'inverse' | 'logAbsDet' | 'detSign'): TypedArray {
  const nd = shape.length;
  const n = shape[nd - 1]!;
  const a = { shape, dtype };
  const count = n === 0 ? sizeOf(a.shape.slice(0, nd - 2)) : all.length / (n * n);
  const out = allocArray(a.dtype, what === 'inverse' ? all.length : count);
  const perm = new Int32Array(n);
  for (let t = 0; t < count; t++) {
    const A = all.subarray(t * n * n, (t + 1) * n * n);
    let sgn = 1;
    let logAbs = 0;
    for (let i = 0; i < n; i++) perm[i] = i;
    for (let k = 0; k < n; k++) {
      let p = k, best = Math.abs(A[k * n + k]!);
      for (let i = k + 1; i < n; i++) { const v = Math.abs(A[i * n + k]!); if (v > best) { best = v; p = i; } }
      if (p !== k) {
        for (let j = 0; j < n; j++) { const tmp = A[k * n + j]!; A[k * n + j] = A[p * n + j]!; A[p * n + j] = tmp; }
        const tp = perm[k]!; perm[k] = perm[p]!; perm[p] = tp;
        sgn = -sgn;
      }
      const piv = A[k * n + k]!;
      if (piv === 0) { sgn = 0; logAbs = -Infinity; continue; }
      if (piv < 0) sgn = -sgn;
      logAbs += Math.log(Math.abs(piv));
      for (let i = k + 1; i < n; i++) {
        const f = (A[i * n + k]! /= piv);
        if (f !== 0) for (let j = k + 1; j < n; j++) A[i * n + j]! -= f * A[k * n + j]!;
      }
    }
    if (what === 'logAbsDet') out[t] = logAbs;
    else if (what === 'detSign') out[t] = sgn;
    else {
      // Solve A X = P I column by column: forward substitution with L, back substitution with U.
      const col = new Float64Array(n);
      for (let j = 0; j < n; j++) {
        for (let i = 0; i < n; i++) col[i] = perm[i] === j ? 1 : 0;
        for (let i = 0; i < n; i++) { let s = col[i]!; for (let k = 0; k < i; k++) s -= A[i * n + k]! * col[k]!; col[i] = s; }
        for (let i = n - 1; i >= 0; i--) { let s = col[i]!; for (let k = i + 1; k < n; k++) s -= A[i * n + k]! * col[k]!; col[i] = s / A[i * n + i]!; }
        for (let i = 0; i < n; i++) out[t * n * n + i * n + j] = col[i]!;
      }
    }
  }
  return out;
}

export function bytesOf(dtype: DType, n: number): number {
  return bytesPerElement(dtype) * n;
}

registerBackend('cpu', () => new CpuBackend(), { default: true });
