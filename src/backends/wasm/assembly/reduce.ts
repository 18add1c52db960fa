// Reductions (sum, prod, max, min), argmax/argmin and cumsum.
//
// The host moves the reduced axes last and merges dimensions within each group, so a reduction
// sees kept dims K (shape, strides) and reduced dims R. Three walks: INNER when the innermost
// reduced dimension is contiguous (a SIMD run per output), COLS when the innermost kept dimension
// is contiguous instead (SIMD across outputs, accumulators in scratch), and a scalar walk for the
// rest. Float sums and products accumulate in float64, as the reference backend does, so results
// agree with it to float32 rounding.
import { argI, F32, I32, idxScratch } from './common';
import { readAs, writeAs } from './elementwise';

/** Per-thread float64 accumulators for the COLS walk and cumsum: COLS_BLOCK values per thread. */
export const RED_SCRATCH: usize = 0x20000;
export const COLS_BLOCK = 512;

const R_SUM = 0, R_PROD = 1, R_MAX = 2, R_MIN = 3;
const MODE_GENERIC = 0, MODE_INNER = 1, MODE_COLS = 2;

@inline function scratchOf(tid: i32): usize {
  return RED_SCRATCH + <usize>tid * (COLS_BLOCK << 3);
}

@inline function fold(op: i32, acc: f64, v: f64): f64 {
  if (op == R_SUM) return acc + v;
  if (op == R_PROD) return acc * v;
  if (op == R_MAX) return v != v || acc != acc ? NaN : v > acc ? v : acc;
  return v != v || acc != acc ? NaN : v < acc ? v : acc;
}

@inline function init(op: i32): f64 {
  return op == R_SUM ? 0 : op == R_PROD ? 1 : op == R_MAX ? -Infinity : Infinity;
}

/** Σ, max or min of n contiguous float32 values. */
function runF32(op: i32, p: usize, n: i32): f64 {
  let i = 0;
  if (op == R_SUM) {
    let a0 = f64x2.splat(0), a1 = a0, a2 = a0, a3 = a0;
    for (; i + 8 <= n; i += 8) {
      const v = v128.load(p + (<usize>i << 2)), w = v128.load(p + (<usize>i << 2), 16);
      a0 = f64x2.add(a0, f64x2.promote_low_f32x4(v));
      a1 = f64x2.add(a1, f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 0, 1)));
      a2 = f64x2.add(a2, f64x2.promote_low_f32x4(w));
      a3 = f64x2.add(a3, f64x2.promote_low_f32x4(i32x4.shuffle(w, w, 2, 3, 0, 1)));
    }
    const s = f64x2.add(f64x2.add(a0, a1), f64x2.add(a2, a3));
    let acc = f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
    for (; i < n; i++) acc += <f64>load<f32>(p + (<usize>i << 2));
    return acc;
  }
  if (op == R_MAX || op == R_MIN) {
    // pmax/pmin are one instruction each (f32x4.max is a long NaN-propagating sequence); NaNs are
    // tracked separately and win at the end, as in the reference
    const init = f32x4.splat(op == R_MAX ? -Infinity : Infinity);
    let m0 = init, m1 = init, nan = f32x4.splat(0);
    if (op == R_MAX) {
      for (; i + 8 <= n; i += 8) {
        const v = v128.load(p + (<usize>i << 2)), w = v128.load(p + (<usize>i << 2), 16);
        m0 = f32x4.pmax(m0, v);
        m1 = f32x4.pmax(m1, w);
        nan = v128.or(nan, v128.or(f32x4.ne(v, v), f32x4.ne(w, w)));
      }
    } else {
      for (; i + 8 <= n; i += 8) {
        const v = v128.load(p + (<usize>i << 2)), w = v128.load(p + (<usize>i << 2), 16);
        m0 = f32x4.pmin(m0, v);
        m1 = f32x4.pmin(m1, w);
        nan = v128.or(nan, v128.or(f32x4.ne(v, v), f32x4.ne(w, w)));
      }
    }
    if (v128.any_true(nan)) return NaN;
    const m = op == R_MAX ? f32x4.pmax(m0, m1) : f32x4.pmin(m0, m1);
    let acc = <f64>f32x4.extract_lane(m, 0);
    acc = fold(op, acc, <f64>f32x4.extract_lane(m, 1));
    acc = fold(op, acc, <f64>f32x4.extract_lane(m, 2));
    acc = fold(op, acc, <f64>f32x4.extract_lane(m, 3));
    for (; i < n; i++) acc = fold(op, acc, <f64>load<f32>(p + (<usize>i << 2)));
    return acc;
  }
  let acc = 1.0;
  for (; i < n; i++) acc *= <f64>load<f32>(p + (<usize>i << 2));
  return acc;
}

/** Byte offset of index o, row-major over the first `n` dims of (shape, strides) stored at kd as shape[nk], strides[nk]. */
function offsetOf(kd: usize, nk: i32, n: i32, o: i32, e: usize): usize {
  let off: usize = 0;
  let rest = o;
  for (let k = n - 1; k >= 0; k--) {
    const len = load<i32>(kd + (<usize>k << 2));
    const i = rest % len;
    rest /= len;
    off += (<usize>i * <usize>load<i32>(kd + (<usize>(nk + k) << 2))) << e;
  }
  return off;
}

@inline function keptOffset(kd: usize, nk: i32, o: i32, e: usize): usize {
  return offsetOf(kd, nk, nk, o, e);
}

/**
 * Arguments: 0 op, 1 dtype, 2 mode, 3 outputs O, 4 chunk size, 5 x, 6 out, 7 nk, 8 nr,
 * then kept shape[nk], kept strides[nk], reduced shape[nr], reduced strides[nr].
 * In COLS mode a chunk is a block of columns of one kept row, and word 4 is the block width
 * (at most COLS_BLOCK) instead of the chunk size.
 */
export function reduce(args: usize, chunk: i32, tid: i32): void {
  const op = argI(args, 0), dt = argI(args, 1), mode = argI(args, 2), O = argI(args, 3), cs = argI(args, 4);
  const x = <usize>argI(args, 5), out = <usize>argI(args, 6);
  const nk = argI(args, 7), nr = argI(args, 8);
  const kd = args + 36;
  const rd = kd + (<usize>(2 * nk) << 2);
  const e: usize = dt == F32 || dt == I32 ? 2 : 0;
  const eo: usize = e;
  if (mode == MODE_COLS) {
    // kept innermost dim (length W, stride 1) is vectorised; every other kept dim is a "row"
    const W = load<i32>(kd + (<usize>(nk - 1) << 2));
    const bw = cs; // the block width (at most COLS_BLOCK) stands in the chunk-size word
    const blocks = (W + bw - 1) / bw;
    const row = chunk / blocks, blk = chunk - row * blocks;
    const c0 = blk * bw, c1 = min(W, c0 + bw), w = c1 - c0;
    const base = x + offsetOf(kd, nk, nk - 1, row, e) + (<usize>c0 << 2);
    const acc = scratchOf(tid);
    const iv = init(op);
    for (let j = 0; j < w; j++) store<f64>(acc + (<usize>j << 3), iv);
    const R = reducedCount(rd, nr);
    const step = nr == 1 ? <usize>load<i32>(rd + 4) << e : 0; // one reduced dim: no odometer
    // a float32 sum over one reduced dim (a bias gradient): sixteen columns at a time down all the
    // rows, in eight float64x2 accumulators held in registers
    let j0 = 0;
    if (op == R_SUM && nr == 1) {
      for (; j0 + 16 <= w; j0 += 16) {
        let a0 = f64x2.splat(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        let p = base + (<usize>j0 << 2);
        for (let r = 0; r < R; r++) {
          const v0 = v128.load(p), v1 = v128.load(p, 16), v2 = v128.load(p, 32), v3 = v128.load(p, 48);
          a0 = f64x2.add(a0, f64x2.promote_low_f32x4(v0));
          a1 = f64x2.add(a1, f64x2.promote_low_f32x4(i32x4.shuffle(v0, v0, 2, 3, 0, 1)));
          a2 = f64x2.add(a2, f64x2.promote_low_f32x4(v1));
          a3 = f64x2.add(a3, f64x2.promote_low_f32x4(i32x4.shuffle(v1, v1, 2, 3, 0, 1)));
          a4 = f64x2.add(a4, f64x2.promote_low_f32x4(v2));
          a5 = f64x2.add(a5, f64x2.promote_low_f32x4(i32x4.shuffle(v2, v2, 2, 3, 0, 1)));
          a6 = f64x2.add(a6, f64x2.promote_low_f32x4(v3));
          a7 = f64x2.add(a7, f64x2.promote_low_f32x4(i32x4.shuffle(v3, v3, 2, 3, 0, 1)));
          p += step;
        }
        if (dt == F32) {
          // straight to the output, each float64 sum rounded once to float32 (as writeAs does)
          const q = out + ((<usize>row * <usize>W + <usize>(c0 + j0)) << 2);
          v128.store(q, i32x4.shuffle(f32x4.demote_f64x2_zero(a0), f32x4.demote_f64x2_zero(a1), 0, 1, 4, 5));
          v128.store(q, i32x4.shuffle(f32x4.demote_f64x2_zero(a2), f32x4.demote_f64x2_zero(a3), 0, 1, 4, 5), 16);
          v128.store(q, i32x4.shuffle(f32x4.demote_f64x2_zero(a4), f32x4.demote_f64x2_zero(a5), 0, 1, 4, 5), 32);
          v128.store(q, i32x4.shuffle(f32x4.demote_f64x2_zero(a6), f32x4.demote_f64x2_zero(a7), 0, 1, 4, 5), 48);
        } else {
          const q = acc + (<usize>j0 << 3);
          v128.store(q, a0); v128.store(q, a1, 16); v128.store(q, a2, 32); v128.store(q, a3, 48);
          v128.store(q, a4, 64); v128.store(q, a5, 80); v128.store(q, a6, 96); v128.store(q, a7, 112);
        }
      }
    }
    // columns [0, done) are written already
    const done = dt == F32 ? j0 : 0;
    for (let r = 0; r < R && j0 < w; r++) {
      const p = nr == 1 ? base + <usize>r * step : base + reducedOffset(rd, nr, r, e);
      let j = j0;
      if (op == R_SUM) {
        for (; j + 4 <= w; j += 4) {
          const v = v128.load(p + (<usize>j << 2));
          const q = acc + (<usize>j << 3);
          v128.store(q, f64x2.add(v128.load(q), f64x2.promote_low_f32x4(v)));
          v128.store(q, f64x2.add(v128.load(q, 16), f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 0, 1))), 16);
        }
      }
      for (; j < w; j++) {
        const q = acc + (<usize>j << 3);
        store<f64>(q, fold(op, load<f64>(q), <f64>load<f32>(p + (<usize>j << 2))));
      }
    }
    const o = out + ((<usize>row * <usize>W + <usize>c0) << eo);
    for (let j = done; j < w; j++) writeAs(dt, o + (<usize>j << eo), load<f64>(acc + (<usize>j << 3)));
    return;
  }
  const o0 = chunk * cs, o1 = min(O, o0 + cs);
  const R = reducedCount(rd, nr);
  const inner = nr > 0 ? load<i32>(rd + (<usize>(nr - 1) << 2)) : 1;
  const idx = idxScratch(tid);
  for (let o = o0; o < o1; o++) {
    const base = x + keptOffset(kd, nk, o, e);
    let acc = init(op);
    if (mode == MODE_INNER && dt == F32) {
      // runs of `inner` contiguous values; the outer reduced dims by odometer
      const runs = R / inner;
      for (let k = 0; k < nr - 1; k++) store<i32>(idx + (<usize>k << 2), 0);
      let p = base;
      for (let r = 0; r < runs; r++) {
        const v = runF32(op, p, inner);
        acc = op == R_SUM ? acc + v : op == R_PROD ? acc * v : fold(op, acc, v);
        // advance the odometer over reduced dims 0..nr-2
        for (let k = nr - 2; k >= 0; k--) {
          const q = idx + (<usize>k << 2);
          const st = <usize>load<i32>(rd + (<usize>(nr + k) << 2)) << e;
          const i = load<i32>(q) + 1;
          p += st;
          if (i < load<i32>(rd + (<usize>k << 2))) {
            store<i32>(q, i);
            break;
          }
          store<i32>(q, 0);
          p -= <usize>i * st;
        }
      }
    } else {
      for (let r = 0; r < R; r++) acc = fold(op, acc, readAs(dt, base + reducedOffset(rd, nr, r, e)));
    }
    writeAs(dt, out + (<usize>o << eo), acc);
  }
}

function reducedCount(rd: usize, nr: i32): i32 {
  let R = 1;
  for (let k = 0; k < nr; k++) R *= load<i32>(rd + (<usize>k << 2));
  return R;
}

@inline function reducedOffset(rd: usize, nr: i32, r: i32, e: usize): usize {
  return keptOffset(rd, nr, r, e);
}

/**
 * argmax / argmin along one axis. Arguments: 0 op (0 argmax, 1 argmin), 1 dtype, 2 outputs O,
 * 3 chunk size, 4 x, 5 out (int32), 6 axis length L, 7 axis stride, 8 nk, then kept shape, strides.
 * NaN wins (the first one), and ties keep the first index, as the reference backend.
 */
export function argReduce(args: usize, chunk: i32, _tid: i32): void {
  const op = argI(args, 0), dt = argI(args, 1), O = argI(args, 2), cs = argI(args, 3);
  const x = <usize>argI(args, 4), out = <usize>argI(args, 5), L = argI(args, 6), S = argI(args, 7), nk = argI(args, 8);
  const kd = args + 36;
  const e: usize = dt == F32 || dt == I32 ? 2 : 0;
  const sb = <usize>S << e;
  const o1 = min(O, chunk * cs + cs);
  for (let o = chunk * cs; o < o1; o++) {
    const p = x + keptOffset(kd, nk, o, e);
    let best = readAs(dt, p);
    let bi = 0;
    for (let r = 1; r < L && best == best; r++) {
      const v = readAs(dt, p + <usize>r * sb);
      if (v != v || (op == 0 ? v > best : v < best)) {
        best = v;
        bi = r;
      }
    }
    store<i32>(out + (<usize>o << 2), bi);
  }
}

/**
 * Cumulative sum of a contiguous [outer, L, inner] array along L, accumulated in float64.
 * Arguments: 0 dtype, 1 outer, 2 L, 3 inner, 4 x, 5 out. A chunk is (o, block of inner).
 */
export function cumsum(args: usize, chunk: i32, tid: i32): void {
  const dt = argI(args, 0), L = argI(args, 2), inner = argI(args, 3);
  const x = <usize>argI(args, 4), out = <usize>argI(args, 5);
  const blocks = (inner + COLS_BLOCK - 1) / COLS_BLOCK;
  const o = chunk / blocks, blk = chunk - o * blocks;
  const i0 = blk * COLS_BLOCK, w = min(inner, i0 + COLS_BLOCK) - i0;
  const acc = scratchOf(tid);
  for (let i = 0; i < w; i++) store<f64>(acc + (<usize>i << 3), 0);
  const e: usize = 2;
  for (let k = 0; k < L; k++) {
    const off = ((<usize>o * <usize>L + <usize>k) * <usize>inner + <usize>i0) << e;
    for (let i = 0; i < w; i++) {
      const q = acc + (<usize>i << 3);
      const v = load<f64>(q) + readAs(dt, x + off + (<usize>i << e));
      store<f64>(q, v);
      writeAs(dt, out + off + (<usize>i << e), v);
    }
  }
}
