// Vectorised float32 special functions on f32x4 lanes (AssemblyScript).
//
// exp/log follow Cephes' expf/logf (S. L. Moshier): Cody–Waite reduction and short minimax
// polynomials; tanh is Cephes' tanhf; sin/cos evaluate musl's __sindf/__cosdf in float64 after
// the medium-range reduction of __rem_pio2f; erf uses polynomials fitted for this file (see verf).
// Every function handles ±0, ±Infinity and NaN as Math.* does. The errors measured against the
// float64 reference backend are stated in tests/wasm_conformance.test.ts.
//
// Constants live in linear memory and are read with load32_splat / load64_splat: V8 otherwise
// rematerialises every v128 constant inside loops (three instructions each), which doubled the
// cost of these functions. Clamps use pmin/pmax (one instruction; with x first they keep a NaN
// in x), and exp rounds x·log2(e) with the 1.5·2²³ shifter, so that the integer n is read from the
// float's bits instead of through the slow saturating conversion. The polynomials step with
// `madd`: one fused multiply-add in the relaxed-SIMD build (10–27% off these functions, with the
// same largest errors over the tests' sweeps), a multiply and an add in the SIMD128 build.

// ----- constants ---------------------------------------------------------------------------------

@inline function k(p: usize): v128 {
  return v128.load32_splat(p);
}
@inline function kd(p: usize): v128 {
  return v128.load64_splat(p);
}

const ZERO = memory.data<f32>([0]);
const ONE = memory.data<f32>([1]);
const TWO = memory.data<f32>([2]);
const HALF = memory.data<f32>([0.5]);
const MINUS_HALF = memory.data<f32>([-0.5]);
const INF = memory.data<f32>([Infinity]);
const NEG_INF = memory.data<f32>([-Infinity]);
const NAN = memory.data<f32>([NaN]);
const SIGN = memory.data<i32>([0x80000000]);
const I127 = memory.data<i32>([127]);

const EXP_HI = memory.data<f32>([89]);
const EXP_LO = memory.data<f32>([-104]);
const EXP_NONPOS_FAST = memory.data<f32>([-87]);
const EXPM1_LO = memory.data<f32>([-30]);
const EXPM1_BIG = memory.data<f32>([80]);
/** expm1(r) ≈ r + r²·(1/2 + r/6 + … + r⁵/5040): the Taylor coefficients, highest degree first. */
const EXPM1_P = memory.data<f32>([1.0 / 5040.0, 1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5]);
const LOG2E = memory.data<f32>([1.44269504088896341]);
const SHIFTER = memory.data<f32>([12582912.0]); // 1.5·2²³
const SHIFTER_BITS = memory.data<i32>([0x4b400000]);
const LN2_HI = memory.data<f32>([0.693359375]);
const LN2_LO = memory.data<f32>([-2.12194440e-4]);
const EXP_P0 = memory.data<f32>([1.9875691500e-4]);
const EXP_P1 = memory.data<f32>([1.3981999507e-3]);
const EXP_P2 = memory.data<f32>([8.3334519073e-3]);
const EXP_P3 = memory.data<f32>([4.1665795894e-2]);
const EXP_P4 = memory.data<f32>([1.6666665459e-1]);
const EXP_P5 = memory.data<f32>([5.0000001201e-1]);
const TINY = memory.data<f32>([1e-30]);

const MIN_NORMAL = memory.data<f32>([1.17549435e-38]);
const TWO23 = memory.data<f32>([8388608.0]);
const F23 = memory.data<f32>([23]);
const EXP_MASK = memory.data<i32>([0xff]);
const I126 = memory.data<i32>([126]);
const MANT_MASK = memory.data<i32>([0x007fffff]);
const HALF_BITS = memory.data<i32>([0x3f000000]);
const SQRTHF = memory.data<f32>([0.707106781186547524]);
/** Cephes logf: P[0] … P[8], highest degree first. */
const LOG_P = memory.data<f32>([7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1, 1.4249322787e-1, -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1]);

/** Cephes tanhf, in z = x², highest degree first. */
const TANH_P = memory.data<f32>([-5.70498872745e-3, 2.06390887954e-2, -5.37397155531e-2, 1.33314422036e-1, -3.33332819422e-1]);
const TANH_SMALL = memory.data<f32>([0.625]);

const ERF_SMALL = memory.data<f32>([0.875]);
const ERF_ONE = memory.data<f32>([3.93]);
/** erf = x + x·S(x²) for |x| < 0.875, highest degree first. */
const ERF_S = memory.data<f32>([-6.2035268527e-04, 5.0322389455e-03, -2.6791507545e-02, 1.1282456837e-01, -3.7612550673e-01, 1.2837915757e-01]);
/** erfcx ≈ L(1/|x|) for 0.875 ≤ |x| < 3.93, highest degree first. */
const ERF_L = memory.data<f32>([1.4300471454e-02, -8.7993958239e-02, 2.1592263569e-01, -2.3063113575e-01, -2.5667775080e-02, 3.7779361598e-01, -4.2911721166e-01, 3.2532397292e-02, 5.6023954718e-01, 2.0499261418e-04]);

const HUGE_ARG = memory.data<f32>([1e8]);
const D_ONE = memory.data<f64>([1.0]);
const D_INVPIO2 = memory.data<f64>([6.36619772367581382433e-01]);
const D_PIO2_1 = memory.data<f64>([1.57079631090164184570e+00]);
const D_PIO2_1T = memory.data<f64>([1.58932547735281966916e-08]);
const D_S1 = memory.data<f64>([-0.166666666416265235595]);
const D_S2 = memory.data<f64>([0.0083333293858894631756]);
const D_S3 = memory.data<f64>([-0.000198393348360966317347]);
const D_S4 = memory.data<f64>([0.0000027183114939898219064]);
const D_C0 = memory.data<f64>([-0.499999997251031003120]);
const D_C1 = memory.data<f64>([0.0416666233237390631894]);
const D_C2 = memory.data<f64>([-0.00138867637746099294692]);
const D_C3 = memory.data<f64>([0.0000243904487962774090654]);
const I_ONE = memory.data<i32>([1]);
const I_TWO = memory.data<i32>([2]);

// ----- helpers -----------------------------------------------------------------------------------

/** a·b + c: fused where the build has relaxed SIMD (and the CPU an FMA), else rounded twice. */
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

/**
 * Σᵢ c[i]·x^{n−1−i} by Horner's rule, c[0] the highest degree: n float32 coefficients at `c`.
 * Called with constant c and n, so the loop's loads are of fixed addresses.
 */
@inline function horner(x: v128, c: usize, n: i32): v128 {
  let y = k(c);
  for (let i = 1; i < n; i++) y = madd(y, x, k(c + (<usize>i << 2)));
  return y;
}

/** x·2ⁿ for integer lanes n in [−252, 254], in two exact steps (so 2ⁿ never overflows alone). */
@inline function scale2(x: v128, n: v128): v128 {
  const n1 = i32x4.shr_s(n, 1);
  const n2 = i32x4.sub(n, n1);
  const p1 = i32x4.shl(i32x4.add(n1, k(I127)), 23);
  const p2 = i32x4.shl(i32x4.add(n2, k(I127)), 23);
  return f32x4.mul(f32x4.mul(x, p1), p2);
}

/** t = x·log2(e) + 1.5·2²³: t − 1.5·2²³ is x·log2(e) rounded to an integer, and bits(t) − bits(1.5·2²³) that integer. */
@inline function reduceLn2(x: v128): v128 {
  return f32x4.add(f32x4.mul(x, k(LOG2E)), k(SHIFTER));
}

// ----- exp ---------------------------------------------------------------------------------------

/**
 * 1 + r + r²·P(r), P Cephes' degree-5 polynomial, evaluated in Estrin's scheme: three linear
 * pieces at once, then two steps in z = r². Horner's six dependent steps made the exponential's
 * functions latency-bound (about 115 cycles from x to σ(x), more than the core can overlap).
 */
@inline function expPoly(r: v128): v128 {
  const z = f32x4.mul(r, r);
  const a = madd(k(EXP_P0), r, k(EXP_P1));
  const b = madd(k(EXP_P2), r, k(EXP_P3));
  const c = madd(k(EXP_P4), r, k(EXP_P5));
  let y = madd(madd(a, z, b), z, c);
  y = madd(y, z, r);
  return f32x4.add(y, k(ONE));
}

@inline export function vexp(x0: v128): v128 {
  const x = f32x4.pmax(f32x4.pmin(x0, k(EXP_HI)), k(EXP_LO));
  const t = reduceLn2(x);
  const n = f32x4.sub(t, k(SHIFTER));
  // r = x − n·ln2 in two parts (LN2_HI has few bits, so n·LN2_HI is exact)
  let r = f32x4.sub(x, f32x4.mul(n, k(LN2_HI)));
  r = f32x4.sub(r, f32x4.mul(n, k(LN2_LO)));
  return scale2(expPoly(r), i32x4.sub(t, k(SHIFTER_BITS)));
}

/**
 * vexp(t), bit for bit, made for arguments t ≤ 0 (σ's e^{−|x|}, softmax's e^{x − max}, erf's
 * e^{−x²}): where every lane lies in [−87, 0] the clamps are idle and 2ⁿ is a normal number, so
 * the result is the polynomial times 2ⁿ in one exact step instead of two. A group of four with
 * a lane outside (a subnormal or zero result, ±∞, a positive t) takes vexp itself; NaN lanes
 * stay NaN on the short path.
 */
@inline export function vexpNonPos(t: v128): v128 {
  if (v128.any_true(v128.or(f32x4.lt(t, k(EXP_NONPOS_FAST)), f32x4.gt(t, k(ZERO))))) return vexp(t);
  const u = reduceLn2(t);
  const n = f32x4.sub(u, k(SHIFTER));
  let r = f32x4.sub(t, f32x4.mul(n, k(LN2_HI)));
  r = f32x4.sub(r, f32x4.mul(n, k(LN2_LO)));
  return f32x4.mul(expPoly(r), i32x4.shl(i32x4.add(i32x4.sub(u, k(SHIFTER_BITS)), k(I127)), 23));
}

/** e^x − 1 without cancellation: 2ⁿ·(p + 1) − 1 with p = expm1(r) by its Taylor polynomial. */
@inline export function vexpm1(x0: v128): v128 {
  const x = f32x4.pmax(f32x4.pmin(x0, k(EXP_HI)), k(EXPM1_LO));
  const t = reduceLn2(x);
  const n = f32x4.sub(t, k(SHIFTER));
  let r = f32x4.sub(x, f32x4.mul(n, k(LN2_HI)));
  r = f32x4.sub(r, f32x4.mul(n, k(LN2_LO)));
  let p = horner(r, EXPM1_P, 6);
  p = madd(f32x4.mul(p, r), r, r);
  const s = i32x4.shl(i32x4.add(i32x4.sub(t, k(SHIFTER_BITS)), k(I127)), 23);
  let out = f32x4.add(f32x4.mul(s, p), f32x4.sub(s, k(ONE)));
  // large x: 2ⁿ overflows before the result does, and the −1 no longer matters
  out = v128.bitselect(vexp(x0), out, f32x4.gt(x, k(EXPM1_BIG)));
  // keep −0 and tiny inputs exact
  return v128.bitselect(x0, out, f32x4.lt(f32x4.abs(x0), k(TINY)));
}

// ----- log ---------------------------------------------------------------------------------------

@inline export function vlog(x0: v128): v128 {
  // subnormals: scale by 2²³
  const tiny = f32x4.lt(x0, k(MIN_NORMAL));
  const x = v128.bitselect(f32x4.mul(x0, k(TWO23)), x0, tiny);
  let e = f32x4.convert_i32x4_s(i32x4.sub(v128.and(i32x4.shr_u(x, 23), k(EXP_MASK)), k(I126)));
  e = f32x4.sub(e, v128.and(tiny, k(F23)));
  let m = v128.or(v128.and(x, k(MANT_MASK)), k(HALF_BITS)); // [0.5, 1)
  const small = f32x4.lt(m, k(SQRTHF));
  e = f32x4.sub(e, v128.and(small, k(ONE)));
  m = f32x4.sub(f32x4.add(m, v128.and(small, m)), k(ONE));
  const z = f32x4.mul(m, m);
  let y = horner(m, LOG_P, 9);
  y = f32x4.mul(f32x4.mul(y, m), z);
  y = madd(e, k(LN2_LO), y);
  y = madd(z, k(MINUS_HALF), y);
  let r = f32x4.add(m, y);
  r = madd(e, k(LN2_HI), r);
  // specials: x < 0 or NaN → NaN, 0 → −inf, +inf → +inf
  r = v128.bitselect(k(NEG_INF), r, f32x4.eq(x0, k(ZERO)));
  r = v128.bitselect(k(INF), r, f32x4.eq(x0, k(INF)));
  return v128.bitselect(k(NAN), r, v128.not(f32x4.ge(x0, k(ZERO))));
}

/** log(1 + x) = log(u)·x/(u − 1) with u = 1 + x (Goldberg 1991, Theorem 4). */
@inline export function vlog1p(x: v128): v128 {
  const u = f32x4.add(x, k(ONE));
  const d = f32x4.sub(u, k(ONE));
  let r = f32x4.mul(vlog(u), f32x4.div(x, d));
  r = v128.bitselect(x, r, f32x4.eq(d, k(ZERO)));
  return v128.bitselect(k(INF), r, f32x4.eq(x, k(INF)));
}

// ----- tanh, sigmoid -----------------------------------------------------------------------------

@inline export function vtanh(x: v128): v128 {
  const ax = f32x4.abs(x);
  // |x| < 0.625: odd polynomial
  const z = f32x4.mul(x, x);
  const p = horner(z, TANH_P, 5);
  const small = madd(f32x4.mul(p, z), x, x);
  // otherwise 1 − 2/(e^{2|x|} + 1), with x's sign
  const w = vexp(f32x4.add(ax, ax));
  const big = f32x4.sub(k(ONE), f32x4.div(k(TWO), f32x4.add(w, k(ONE))));
  const bigS = v128.or(big, v128.and(x, k(SIGN)));
  return v128.bitselect(small, bigS, f32x4.lt(ax, k(TANH_SMALL)));
}

@inline export function vsigmoid(x: v128): v128 {
  const e = vexpNonPos(f32x4.neg(f32x4.abs(x)));
  const q = f32x4.div(k(ONE), f32x4.add(e, k(ONE)));
  return v128.bitselect(q, f32x4.mul(e, q), f32x4.ge(x, k(ZERO)));
}

/** x·σ(x). */
@inline export function vsilu(x: v128): v128 {
  return f32x4.mul(x, vsigmoid(x));
}

/** σ(x)·(1 + x·(1 − σ(x))), the derivative of x·σ(x). */
@inline export function vsiluGrad(x: v128): v128 {
  // σ(x) and 1 − σ(x) = σ(−x) from one e^{−|x|} (1 − σ by subtraction loses digits for large x)
  const e = vexpNonPos(f32x4.neg(f32x4.abs(x)));
  const q = f32x4.div(k(ONE), f32x4.add(e, k(ONE)));
  const eq = f32x4.mul(e, q);
  const pos = f32x4.ge(x, k(ZERO));
  const s = v128.bitselect(q, eq, pos), t = v128.bitselect(eq, q, pos);
  return f32x4.mul(s, madd(x, t, k(ONE)));
}

// ----- erf ---------------------------------------------------------------------------------------

/**
 * erf(x): for |x| < 0.875, x + x·P(x²); for 0.875 ≤ |x| < 3.93, 1 − e^{−x²}·Q(1/|x|), where
 * Q approximates erfcx = e^{x²}·erfc(x); beyond, ±1. P (degree 5) and Q (degree 9) are weighted
 * least-squares fits to mpmath's erf on Chebyshev nodes (relative error 9e-9 and 4e-8).
 */
@inline export function verf(x: v128): v128 {
  const ax = f32x4.abs(x);
  const z = f32x4.mul(x, x);
  const p = horner(z, ERF_S, 6);
  const small = madd(x, p, x);
  const t = f32x4.div(k(ONE), ax);
  const q = horner(t, ERF_L, 10);
  const e = vexpNonPos(f32x4.neg(z));
  let big = f32x4.sub(k(ONE), f32x4.mul(e, q));
  big = v128.bitselect(k(ONE), big, f32x4.ge(ax, k(ERF_ONE)));
  const bigS = v128.or(big, v128.and(x, k(SIGN)));
  // NaN: ax < 0.875 is false and big is 1 − NaN = NaN
  return v128.bitselect(small, bigS, f32x4.lt(ax, k(ERF_SMALL)));
}

// ----- sin, cos (in float64) ---------------------------------------------------------------------

/** sin or cos of two float64 lanes that hold float32 values (musl __rem_pio2f, __sindf, __cosdf). */
@inline function sincos2(d: v128, cosine: bool): v128 {
  const fn = f64x2.nearest(f64x2.mul(d, kd(D_INVPIO2)));
  let y = f64x2.sub(d, f64x2.mul(fn, kd(D_PIO2_1)));
  y = f64x2.sub(y, f64x2.mul(fn, kd(D_PIO2_1T)));
  const n = i32x4.trunc_sat_f64x2_s_zero(fn);
  const z = f64x2.mul(y, y);
  const w = f64x2.mul(z, z);
  const s = f64x2.mul(z, y);
  const sr = f64x2.add(kd(D_S3), f64x2.mul(z, kd(D_S4)));
  const sv = f64x2.add(f64x2.add(y, f64x2.mul(s, f64x2.add(kd(D_S1), f64x2.mul(z, kd(D_S2))))), f64x2.mul(f64x2.mul(s, w), sr));
  const cr = f64x2.add(kd(D_C2), f64x2.mul(z, kd(D_C3)));
  const cv = f64x2.add(f64x2.add(f64x2.add(kd(D_ONE), f64x2.mul(z, kd(D_C0))), f64x2.mul(w, kd(D_C1))), f64x2.mul(f64x2.mul(w, z), cr));
  // quadrant q = n & 3: sin → [s, c, −s, −c]; cos → [c, −s, −c, s]
  const q = cosine ? i32x4.add(n, k(I_ONE)) : n;
  const odd = i64x2.extend_low_i32x4_s(i32x4.neg(v128.and(q, k(I_ONE))));
  const neg = i64x2.shl(i64x2.extend_low_i32x4_s(v128.and(q, k(I_TWO))), 62);
  return v128.xor(v128.bitselect(cv, sv, odd), neg);
}

@inline function sincos4(x: v128, cosine: bool): v128 {
  const lo = sincos2(f64x2.promote_low_f32x4(x), cosine);
  const hi = sincos2(f64x2.promote_low_f32x4(i32x4.shuffle(x, x, 2, 3, 0, 1)), cosine);
  let r = i32x4.shuffle(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5);
  // huge arguments (beyond the medium reduction) go through the scalar library per lane
  if (v128.any_true(f32x4.gt(f32x4.abs(x), k(HUGE_ARG)))) {
    const x0 = <f64>f32x4.extract_lane(x, 0), x1 = <f64>f32x4.extract_lane(x, 1);
    const x2 = <f64>f32x4.extract_lane(x, 2), x3 = <f64>f32x4.extract_lane(x, 3);
    if (Math.abs(x0) > 1e8) r = f32x4.replace_lane(r, 0, <f32>(cosine ? Math.cos(x0) : Math.sin(x0)));
    if (Math.abs(x1) > 1e8) r = f32x4.replace_lane(r, 1, <f32>(cosine ? Math.cos(x1) : Math.sin(x1)));
    if (Math.abs(x2) > 1e8) r = f32x4.replace_lane(r, 2, <f32>(cosine ? Math.cos(x2) : Math.sin(x2)));
    if (Math.abs(x3) > 1e8) r = f32x4.replace_lane(r, 3, <f32>(cosine ? Math.cos(x3) : Math.sin(x3)));
  }
  return r;
}

@inline export function vsin(x: v128): v128 {
  // keep the sign of ±0 (and tiny inputs exact)
  return v128.bitselect(x, sincos4(x, false), f32x4.lt(f32x4.abs(x), k(TINY)));
}

@inline export function vcos(x: v128): v128 {
  return sincos4(x, true);
}
