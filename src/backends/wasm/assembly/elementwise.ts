// Elementwise kernels over strided operands: unary, binary, where, copy, cast.
//
// The host simplifies every view (drops size-1 dimensions, merges dimensions that are contiguous
// in all operands) and writes a descriptor: the common shape and, per operand, a byte pointer, the
// log2 element size and element strides. `ew` walks one chunk of the flat output range row by row
// and hands each row segment, with its inner strides, to a segment loop. Segment loops have SIMD
// fast paths for unit strides and for zero strides (a broadcast scalar), and a scalar path for
// everything else.
import { argI, idxScratch, F32, I32, BOOL } from './common';
import { vexp, vlog, vlog1p, vexpm1, vtanh, vsigmoid, vsilu, vsiluGrad, verf, vsin, vcos } from './vmath';

export const HDR = 8; // header words: kind, op, n, chunk size, aux0..aux3
const NOPS = 4;

// kinds
const K_UNARY = 0;
const K_BINARY = 1;
const K_WHERE = 2;
const K_COPY = 3;
const K_CAST = 4;
const K_GATHER = 5;
const K_SCATTER = 6;

// unary op codes (the order of UNARY_OPS in core/backend.ts)
const U_NEG = 0, U_ABS = 1, U_SIGN = 2, U_EXP = 3, U_LOG = 4, U_LOG1P = 5, U_EXPM1 = 6, U_SQRT = 7, U_RECIP = 8;
const U_SIN = 9, U_COS = 10, U_TANH = 11, U_SIGMOID = 12, U_ERF = 13, U_FLOOR = 14, U_CEIL = 15, U_ROUND = 16, U_NOT = 17;
const U_SILU = 18, U_SILU_GRAD = 19;
// binary op codes (the order of BINARY_OPS)
const B_ADD = 0, B_SUB = 1, B_MUL = 2, B_DIV = 3, B_POW = 4, B_MAX = 5, B_MIN = 6;
const B_EQ = 7, B_NE = 8, B_LT = 9, B_LE = 10, B_GT = 11, B_GE = 12, B_AND = 13, B_OR = 14;

// ----- scalar semantics (those of the reference backend: compute in float64, store by dtype) ----

/** ECMAScript ToInt32 of a float64 (what storing into an Int32Array does). */
export function toInt32(x: f64): i32 {
  if (!isFinite(x)) return 0;
  const t = Math.trunc(x);
  if (Math.abs(t) < 2147483648.0) return <i32>t;
  const m = t - Math.floor(t / 4294967296.0) * 4294967296.0;
  return <i32>(<u32>(<u64>m));
}

@inline function truthy(x: f64): bool {
  return x != 0 && x == x;
}

@inline export function readAs(dt: i32, p: usize): f64 {
  if (dt == F32) return <f64>load<f32>(p);
  if (dt == I32) return <f64>load<i32>(p);
  return <f64>load<u8>(p);
}

@inline export function writeAs(dt: i32, p: usize, v: f64): void {
  if (dt == F32) store<f32>(p, <f32>v);
  else if (dt == I32) store<i32>(p, toInt32(v));
  else store<u8>(p, truthy(v) ? 1 : 0);
}

@inline function esl(dt: i32): usize {
  return dt == BOOL ? 0 : 2;
}

function binScalar(op: i32, a: f64, b: f64): f64 {
  switch (op) {
    case B_ADD: return a + b;
    case B_SUB: return a - b;
    case B_MUL: return a * b;
    case B_DIV: return a / b;
    case B_POW: return Math.pow(a, b);
    case B_MAX: return a != a || b != b ? NaN : a > b ? a : b;
    case B_MIN: return a != a || b != b ? NaN : a < b ? a : b;
    case B_EQ: return a == b ? 1 : 0;
    case B_NE: return a != b ? 1 : 0;
    case B_LT: return a < b ? 1 : 0;
    case B_LE: return a <= b ? 1 : 0;
    case B_GT: return a > b ? 1 : 0;
    case B_GE: return a >= b ? 1 : 0;
    case B_AND: return truthy(a) && truthy(b) ? 1 : 0;
    case B_OR: return truthy(a) || truthy(b) ? 1 : 0;
  }
  return NaN;
}

function unaryScalar(op: i32, x: f64): f64 {
  switch (op) {
    case U_NEG: return -x;
    case U_ABS: return Math.abs(x);
    case U_SIGN: return x > 0 ? 1 : x < 0 ? -1 : x == 0 ? 0 : NaN;
    case U_NOT: return truthy(x) ? 0 : 1;
    case U_FLOOR: return Math.floor(x);
    case U_CEIL: return Math.ceil(x);
    case U_ROUND: return Math.round(x) - (Math.abs(x % 1) == 0.5 && Math.round(x) % 2 != 0 ? 1 : 0);
  }
  return NaN;
}

// ----- float32 unary -----------------------------------------------------------------------------

@inline function applyU(op: i32, v: v128): v128 {
  switch (op) {
    case U_NEG: return f32x4.neg(v);
    case U_ABS: return f32x4.abs(v);
    case U_SIGN: {
      const s = v128.or(v128.and(f32x4.gt(v, f32x4.splat(0)), f32x4.splat(1)), v128.and(f32x4.lt(v, f32x4.splat(0)), f32x4.splat(-1)));
      return v128.bitselect(v, s, f32x4.ne(v, v));
    }
    case U_EXP: return vexp(v);
    case U_LOG: return vlog(v);
    case U_LOG1P: return vlog1p(v);
    case U_EXPM1: return vexpm1(v);
    case U_SQRT: return f32x4.sqrt(v);
    case U_RECIP: return f32x4.div(f32x4.splat(1), v);
    case U_SIN: return vsin(v);
    case U_COS: return vcos(v);
    case U_TANH: return vtanh(v);
    case U_SIGMOID: return vsigmoid(v);
    case U_SILU: return vsilu(v);
    case U_SILU_GRAD: return vsiluGrad(v);
    case U_ERF: return verf(v);
    case U_FLOOR: return f32x4.floor(v);
    case U_CEIL: return f32x4.ceil(v);
    case U_ROUND: return f32x4.nearest(v);
    case U_NOT: return v128.and(v128.or(f32x4.eq(v, f32x4.splat(0)), f32x4.ne(v, v)), f32x4.splat(1));
  }
  return v;
}

@inline function loopU(op: i32, x: usize, sx: i32, y: usize, n: i32): void {
  let i = 0;
  if (sx == 1) {
    for (; i + 4 <= n; i += 4) v128.store(y + (<usize>i << 2), applyU(op, v128.load(x + (<usize>i << 2))));
  } else {
    const sb = <usize>sx << 2;
    for (; i + 4 <= n; i += 4) {
      const p = x + <usize>i * sb;
      let v = f32x4.splat(load<f32>(p));
      v = f32x4.replace_lane(v, 1, load<f32>(p + sb));
      v = f32x4.replace_lane(v, 2, load<f32>(p + 2 * sb));
      v = f32x4.replace_lane(v, 3, load<f32>(p + 3 * sb));
      v128.store(y + (<usize>i << 2), applyU(op, v));
    }
  }
  if (i < n) {
    const sb = <usize>sx << 2;
    const p = x + <usize>i * sb;
    const r = n - i;
    let v = f32x4.splat(load<f32>(p));
    if (r > 1) v = f32x4.replace_lane(v, 1, load<f32>(p + sb));
    if (r > 2) v = f32x4.replace_lane(v, 2, load<f32>(p + 2 * sb));
    const o = applyU(op, v);
    const q = y + (<usize>i << 2);
    store<f32>(q, f32x4.extract_lane(o, 0));
    if (r > 1) store<f32>(q, f32x4.extract_lane(o, 1), 4);
    if (r > 2) store<f32>(q, f32x4.extract_lane(o, 2), 8);
  }
}

function unaryF32(op: i32, x: usize, sx: i32, y: usize, n: i32): void {
  switch (op) {
    case U_NEG: loopU(U_NEG, x, sx, y, n); break;
    case U_ABS: loopU(U_ABS, x, sx, y, n); break;
    case U_SIGN: loopU(U_SIGN, x, sx, y, n); break;
    case U_EXP: loopU(U_EXP, x, sx, y, n); break;
    case U_LOG: loopU(U_LOG, x, sx, y, n); break;
    case U_LOG1P: loopU(U_LOG1P, x, sx, y, n); break;
    case U_EXPM1: loopU(U_EXPM1, x, sx, y, n); break;
    case U_SQRT: loopU(U_SQRT, x, sx, y, n); break;
    case U_RECIP: loopU(U_RECIP, x, sx, y, n); break;
    case U_SIN: loopU(U_SIN, x, sx, y, n); break;
    case U_COS: loopU(U_COS, x, sx, y, n); break;
    case U_TANH: loopU(U_TANH, x, sx, y, n); break;
    case U_SIGMOID: loopU(U_SIGMOID, x, sx, y, n); break;
    case U_SILU: loopU(U_SILU, x, sx, y, n); break;
    case U_SILU_GRAD: loopU(U_SILU_GRAD, x, sx, y, n); break;
    case U_ERF: loopU(U_ERF, x, sx, y, n); break;
    case U_FLOOR: loopU(U_FLOOR, x, sx, y, n); break;
    case U_CEIL: loopU(U_CEIL, x, sx, y, n); break;
    case U_ROUND: loopU(U_ROUND, x, sx, y, n); break;
    case U_NOT: loopU(U_NOT, x, sx, y, n); break;
  }
}

/** int32 and bool unary ops (neg, abs, sign, logicalNot; floor/ceil/round are the identity). */
function unaryScalarSeg(op: i32, dt: i32, x: usize, sx: i32, y: usize, n: i32): void {
  const e = esl(dt);
  const sb = <usize>sx << e;
  for (let i = 0; i < n; i++) {
    const p = x + <usize>i * sb, q = y + (<usize>i << e);
    if (dt == I32) {
      const v = load<i32>(p);
      let r = v;
      if (op == U_NEG) r = -v;
      else if (op == U_ABS) r = v < 0 ? -v : v;
      else if (op == U_SIGN) r = v > 0 ? 1 : v < 0 ? -1 : 0;
      else if (op == U_NOT) r = v == 0 ? 1 : 0;
      store<i32>(q, r);
    } else {
      const v = <f64>load<u8>(p);
      store<u8>(q, truthy(unaryScalar(op, v)) ? 1 : 0);
    }
  }
}

// ----- binary ------------------------------------------------------------------------------------

@inline function applyBF(op: i32, a: v128, b: v128): v128 {
  switch (op) {
    case B_ADD: return f32x4.add(a, b);
    case B_SUB: return f32x4.sub(a, b);
    case B_MUL: return f32x4.mul(a, b);
    case B_DIV: return f32x4.div(a, b);
    case B_MAX: return f32x4.max(a, b);
    case B_MIN: return f32x4.min(a, b);
    case B_EQ: return f32x4.eq(a, b);
    case B_NE: return f32x4.ne(a, b);
    case B_LT: return f32x4.lt(a, b);
    case B_LE: return f32x4.le(a, b);
    case B_GT: return f32x4.gt(a, b);
    case B_GE: return f32x4.ge(a, b);
  }
  return a;
}

@inline function applyBI(op: i32, a: v128, b: v128): v128 {
  switch (op) {
    case B_ADD: return i32x4.add(a, b);
    case B_SUB: return i32x4.sub(a, b);
    case B_MUL: return i32x4.mul(a, b);
    case B_MAX: return i32x4.max_s(a, b);
    case B_MIN: return i32x4.min_s(a, b);
    case B_EQ: return i32x4.eq(a, b);
    case B_NE: return i32x4.ne(a, b);
    case B_LT: return i32x4.lt_s(a, b);
    case B_LE: return i32x4.le_s(a, b);
    case B_GT: return i32x4.gt_s(a, b);
    case B_GE: return i32x4.ge_s(a, b);
  }
  return a;
}

@inline function applyB(isInt: bool, op: i32, a: v128, b: v128): v128 {
  return isInt ? applyBI(op, a, b) : applyBF(op, a, b);
}

/** Store four comparison masks (-1/0 lanes) as four bytes 1/0. */
@inline function storeMask4(q: usize, m: v128): void {
  const w = i16x8.narrow_i32x4_s(m, m);
  const b = i8x16.narrow_i16x8_s(w, w);
  v128.store32_lane(q, v128.and(b, i8x16.splat(1)), 0);
}

/** Vector loop for sa, sb ∈ {0, 1} (not both 0); `cmp` outputs bytes. */
@inline function loopB(isInt: bool, cmp: bool, op: i32, a: usize, sa: i32, b: usize, sb: i32, y: usize, n: i32): i32 {
  let i = 0;
  const va0 = v128.load32_splat(a), vb0 = v128.load32_splat(b);
  for (; i + 4 <= n; i += 4) {
    const off = <usize>i << 2;
    const va = sa == 1 ? v128.load(a + off) : va0;
    const vb = sb == 1 ? v128.load(b + off) : vb0;
    const r = applyB(isInt, op, va, vb);
    if (cmp) storeMask4(y + <usize>i, r);
    else v128.store(y + off, r);
  }
  return i;
}

@inline function binVec(isInt: bool, cmp: bool, op: i32, a: usize, sa: i32, b: usize, sb: i32, y: usize, n: i32): i32 {
  if (sa == 1 && sb == 1) return loopB(isInt, cmp, op, a, 1, b, 1, y, n);
  if (sa == 1 && sb == 0) return loopB(isInt, cmp, op, a, 1, b, 0, y, n);
  if (sa == 0 && sb == 1) return loopB(isInt, cmp, op, a, 0, b, 1, y, n);
  return 0;
}

function binVecF(op: i32, a: usize, sa: i32, b: usize, sb: i32, y: usize, n: i32): i32 {
  switch (op) {
    case B_ADD: return binVec(false, false, B_ADD, a, sa, b, sb, y, n);
    case B_SUB: return binVec(false, false, B_SUB, a, sa, b, sb, y, n);
    case B_MUL: return binVec(false, false, B_MUL, a, sa, b, sb, y, n);
    case B_DIV: return binVec(false, false, B_DIV, a, sa, b, sb, y, n);
    case B_MAX: return binVec(false, false, B_MAX, a, sa, b, sb, y, n);
    case B_MIN: return binVec(false, false, B_MIN, a, sa, b, sb, y, n);
    case B_EQ: return binVec(false, true, B_EQ, a, sa, b, sb, y, n);
    case B_NE: return binVec(false, true, B_NE, a, sa, b, sb, y, n);
    case B_LT: return binVec(false, true, B_LT, a, sa, b, sb, y, n);
    case B_LE: return binVec(false, true, B_LE, a, sa, b, sb, y, n);
    case B_GT: return binVec(false, true, B_GT, a, sa, b, sb, y, n);
    case B_GE: return binVec(false, true, B_GE, a, sa, b, sb, y, n);
  }
  return 0;
}

function binVecI(op: i32, a: usize, sa: i32, b: usize, sb: i32, y: usize, n: i32): i32 {
  switch (op) {
    case B_ADD: return binVec(true, false, B_ADD, a, sa, b, sb, y, n);
    case B_SUB: return binVec(true, false, B_SUB, a, sa, b, sb, y, n);
    case B_MUL: return binVec(true, false, B_MUL, a, sa, b, sb, y, n);
    case B_MAX: return binVec(true, false, B_MAX, a, sa, b, sb, y, n);
    case B_MIN: return binVec(true, false, B_MIN, a, sa, b, sb, y, n);
    case B_EQ: return binVec(true, true, B_EQ, a, sa, b, sb, y, n);
    case B_NE: return binVec(true, true, B_NE, a, sa, b, sb, y, n);
    case B_LT: return binVec(true, true, B_LT, a, sa, b, sb, y, n);
    case B_LE: return binVec(true, true, B_LE, a, sa, b, sb, y, n);
    case B_GT: return binVec(true, true, B_GT, a, sa, b, sb, y, n);
    case B_GE: return binVec(true, true, B_GE, a, sa, b, sb, y, n);
  }
  return 0;
}

function binarySeg(op: i32, dt: i32, dto: i32, a: usize, sa: i32, b: usize, sb: i32, y: usize, n: i32): void {
  let i = 0;
  if (dt == F32) i = binVecF(op, a, sa, b, sb, y, n);
  else if (dt == I32) i = binVecI(op, a, sa, b, sb, y, n);
  const e = esl(dt), eo = esl(dto);
  const sab = <usize>sa << e, sbb = <usize>sb << e;
  if (dt == I32 && dto == I32 && (op == B_ADD || op == B_SUB || op == B_MUL)) {
    for (; i < n; i++) {
      const x = load<i32>(a + <usize>i * sab), z = load<i32>(b + <usize>i * sbb);
      store<i32>(y + (<usize>i << 2), op == B_ADD ? x + z : op == B_SUB ? x - z : x * z);
    }
    return;
  }
  for (; i < n; i++) {
    const r = binScalar(op, readAs(dt, a + <usize>i * sab), readAs(dt, b + <usize>i * sbb));
    writeAs(dto, y + (<usize>i << eo), r);
  }
}

// ----- where, copy, cast -------------------------------------------------------------------------

function whereSeg(e: usize, c: usize, sc: i32, a: usize, sa: i32, b: usize, sb: i32, y: usize, n: i32): void {
  let i = 0;
  if (e == 2 && sc == 1 && sa <= 1 && sa >= 0 && sb <= 1 && sb >= 0) {
    const va0 = v128.load32_splat(a), vb0 = v128.load32_splat(b);
    for (; i + 4 <= n; i += 4) {
      const off = <usize>i << 2;
      const m = i32x4.ne(i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(v128.load32_zero(c + <usize>i))), i32x4.splat(0));
      const va = sa == 1 ? v128.load(a + off) : va0;
      const vb = sb == 1 ? v128.load(b + off) : vb0;
      v128.store(y + off, v128.bitselect(va, vb, m));
    }
  }
  const sab = <usize>sa << e, sbb = <usize>sb << e;
  for (; i < n; i++) {
    const pick = load<u8>(c + <usize>i * <usize>sc) != 0;
    const src = pick ? a + <usize>i * sab : b + <usize>i * sbb;
    if (e == 2) store<i32>(y + (<usize>i << 2), load<i32>(src));
    else store<u8>(y + <usize>i, load<u8>(src));
  }
}

function copySeg(e: usize, x: usize, sx: i32, y: usize, sy: i32, n: i32): void {
  if (sx == 1 && sy == 1) {
    memory.copy(y, x, <usize>n << e);
    return;
  }
  const sxb = <usize>sx << e, syb = <usize>sy << e;
  if (e == 2) for (let i = 0; i < n; i++) store<i32>(y + <usize>i * syb, load<i32>(x + <usize>i * sxb));
  else for (let i = 0; i < n; i++) store<u8>(y + <usize>i * syb, load<u8>(x + <usize>i * sxb));
}

function castSeg(from: i32, to: i32, x: usize, sx: i32, y: usize, n: i32): void {
  const ef = esl(from), et = esl(to);
  const sxb = <usize>sx << ef;
  let i = 0;
  if (sx == 1 && from == I32 && to == F32) {
    for (; i + 4 <= n; i += 4) v128.store(y + (<usize>i << 2), f32x4.convert_i32x4_s(v128.load(x + (<usize>i << 2))));
  } else if (sx == 1 && from == BOOL && to == F32) {
    for (; i + 4 <= n; i += 4) {
      const v = i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(v128.load32_zero(x + <usize>i)));
      v128.store(y + (<usize>i << 2), f32x4.convert_i32x4_s(i32x4.min_u(v, i32x4.splat(1))));
    }
  }
  for (; i < n; i++) {
    const v = readAs(from, x + <usize>i * sxb);
    writeAs(to, y + (<usize>i << et), to == I32 ? Math.trunc(v) : v);
  }
}

// ----- gather, scatterAdd -----------------------------------------------------------------------

/** Header words 4..7: log2 element size, axis length L, axis stride S; 7 and 1 report a bad index. */
function gatherSeg(args: usize, y: usize, ix: usize, si: i32, xb: usize, sx: i32, n: i32): void {
  const e = <usize>argI(args, 4), L = argI(args, 5), S = argI(args, 6);
  const sib = <usize>si << 2, sxb = <usize>sx << e, Sb = <usize>S << e;
  for (let i = 0; i < n; i++) {
    const k = load<i32>(ix + <usize>i * sib);
    if (k < 0 || k >= L) {
      store<i32>(args, k, 4);
      store<i32>(args, 1, 28);
      return;
    }
    const p = xb + <usize>i * sxb + <usize>k * Sb;
    if (e == 2) store<i32>(y + (<usize>i << 2), load<i32>(p));
    else store<u8>(y + <usize>i, load<u8>(p));
  }
}

/** out[base + index·S] += src, serially. Header words 4..6: dtype, L, S. */
function scatterSeg(args: usize, yb: usize, sy: i32, ix: usize, si: i32, src: usize, ss: i32, n: i32): void {
  const dt = argI(args, 4), L = argI(args, 5), S = argI(args, 6);
  const e = esl(dt);
  const sib = <usize>si << 2, syb = <usize>sy << e, ssb = <usize>ss << e, Sb = <usize>S << e;
  for (let i = 0; i < n; i++) {
    const k = load<i32>(ix + <usize>i * sib);
    if (k < 0 || k >= L) {
      store<i32>(args, k, 4);
      store<i32>(args, 1, 28);
      return;
    }
    const p = yb + <usize>i * syb + <usize>k * Sb, q = src + <usize>i * ssb;
    if (dt == F32) store<f32>(p, load<f32>(p) + load<f32>(q));
    else if (dt == I32) store<i32>(p, load<i32>(p) + load<i32>(q));
    else store<u8>(p, truthy(<f64>load<u8>(p) + <f64>load<u8>(q)) ? 1 : 0);
  }
}

// ----- the strided walk --------------------------------------------------------------------------

function segment(args: usize, p0: usize, s0: i32, p1: usize, s1: i32, p2: usize, s2: i32, p3: usize, s3: i32, n: i32): void {
  const kind = argI(args, 0), op = argI(args, 1);
  switch (kind) {
    case K_UNARY: {
      const dt = argI(args, 4);
      if (dt == F32) unaryF32(op, p1, s1, p0, n);
      else unaryScalarSeg(op, dt, p1, s1, p0, n);
      break;
    }
    case K_BINARY: binarySeg(op, argI(args, 4), argI(args, 5), p1, s1, p2, s2, p0, n); break;
    case K_WHERE: whereSeg(<usize>argI(args, 4), p1, s1, p2, s2, p3, s3, p0, n); break;
    case K_COPY: copySeg(<usize>argI(args, 4), p1, s1, p0, s0, n); break;
    case K_CAST: castSeg(argI(args, 4), argI(args, 5), p1, s1, p0, n); break;
    case K_GATHER: gatherSeg(args, p0, p1, s1, p2, s2, n); break;
    case K_SCATTER: scatterSeg(args, p0, s0, p1, s1, p2, s2, n); break;
  }
}

/**
 * Walk output elements [chunk·size, (chunk+1)·size) of the descriptor at args + HDR words:
 * nd, shape[nd], then NOPS records of (byte pointer, log2 element size, strides[nd]).
 */
export function ew(args: usize, chunk: i32, tid: i32): void {
  const total = argI(args, 2), size = argI(args, 3);
  const start = chunk * size;
  const end = min(total, start + size);
  if (start >= end) return;
  const d = args + (HDR << 2);
  const nd = load<i32>(d);
  const shape = d + 4;
  const rec = shape + (<usize>nd << 2);
  const recW = <usize>(2 + nd) << 2;
  const L = nd > 0 ? load<i32>(shape + (<usize>(nd - 1) << 2)) : 1;
  const idx = idxScratch(tid);
  // operand rows: pointer of element (idx[0..nd-2], 0)
  let r0 = <usize>load<u32>(rec), r1 = <usize>load<u32>(rec + recW), r2 = <usize>load<u32>(rec + 2 * recW), r3 = <usize>load<u32>(rec + 3 * recW);
  const e0 = <usize>load<u32>(rec, 4), e1 = <usize>load<u32>(rec + recW, 4), e2 = <usize>load<u32>(rec + 2 * recW, 4), e3 = <usize>load<u32>(rec + 3 * recW, 4);
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  if (nd > 0) {
    const last = <usize>(nd + 1) << 2;
    s0 = load<i32>(rec + last); s1 = load<i32>(rec + recW + last); s2 = load<i32>(rec + 2 * recW + last); s3 = load<i32>(rec + 3 * recW + last);
  }
  let j = nd > 0 ? start % L : 0;
  let rest = nd > 0 ? start / L : 0;
  for (let k = nd - 2; k >= 0; k--) {
    const n = load<i32>(shape + (<usize>k << 2));
    const i = rest % n;
    rest /= n;
    store<i32>(idx + (<usize>k << 2), i);
    const so = <usize>(k + 2) << 2;
    r0 += (<usize>i * <usize>load<i32>(rec + so)) << e0;
    r1 += (<usize>i * <usize>load<i32>(rec + recW + so)) << e1;
    r2 += (<usize>i * <usize>load<i32>(rec + 2 * recW + so)) << e2;
    r3 += (<usize>i * <usize>load<i32>(rec + 3 * recW + so)) << e3;
  }
  let pos = start;
  for (;;) {
    const n = min(L - j, end - pos);
    const jj = <usize>j;
    segment(args, r0 + ((jj * <usize>s0) << e0), s0, r1 + ((jj * <usize>s1) << e1), s1, r2 + ((jj * <usize>s2) << e2), s2, r3 + ((jj * <usize>s3) << e3), s3, n);
    pos += n;
    if (pos >= end) break;
    j = 0;
    for (let k = nd - 2; k >= 0; k--) {
      const so = <usize>(k + 2) << 2;
      const t0 = <usize>load<i32>(rec + so) << e0, t1 = <usize>load<i32>(rec + recW + so) << e1;
      const t2 = <usize>load<i32>(rec + 2 * recW + so) << e2, t3 = <usize>load<i32>(rec + 3 * recW + so) << e3;
      const p = idx + (<usize>k << 2);
      const i = load<i32>(p) + 1;
      r0 += t0; r1 += t1; r2 += t2; r3 += t3;
      if (i < load<i32>(shape + (<usize>k << 2))) {
        store<i32>(p, i);
        break;
      }
      store<i32>(p, 0);
      const ni = <usize>i;
      r0 -= ni * t0; r1 -= ni * t1; r2 -= ni * t2; r3 -= ni * t3;
    }
  }
}
