// Vectorised float32 special functions on f32x4 lanes (AssemblyScript).
//
// exp/log follow Cephes' expf/logf (S. L. Moshier): Cody–Waite reduction and short minimax
// polynomials; tanh is Cephes' tanhf; sin/cos evaluate musl's __sindf/__cosdf in float64 after
// the medium-range reduction of __rem_pio2f; erf uses polynomials fitted here (see the comment on
// verf). Every function handles ±0, ±Infinity and NaN as Math.* does. The errors measured against
// the float64 reference backend are stated in tests/wasm_conformance.test.ts.

// ----- helpers ---------------------------------------------------------------------------------

@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

/** a·b + c, always rounded twice (for polynomials whose error budget was computed that way). */
@inline function mad(a: v128, b: v128, c: v128): v128 {
  return f32x4.add(f32x4.mul(a, b), c);
}

@inline function splat(x: f32): v128 {
  return f32x4.splat(x);
}

const SIGN: i32 = 0x80000000;

@inline function vabs(x: v128): v128 {
  return f32x4.abs(x);
}

/** 2^n for integer lanes n in [-126, 127]. */
@inline function pow2i(n: v128): v128 {
  return i32x4.shl(i32x4.add(n, i32x4.splat(127)), 23);
}

// ----- exp ---------------------------------------------------------------------------------------

@inline function expCore(x: v128, n: v128): v128 {
  // r = x − n·ln2 in two parts (C1 has few bits so n·C1 is exact)
  let r = f32x4.sub(x, f32x4.mul(n, splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(n, splat(-2.12194440e-4)));
  const z = f32x4.mul(r, r);
  let y = mad(splat(1.9875691500e-4), r, splat(1.3981999507e-3));
  y = mad(y, r, splat(8.3334519073e-3));
  y = mad(y, r, splat(4.1665795894e-2));
  y = mad(y, r, splat(1.6666665459e-1));
  y = mad(y, r, splat(5.0000001201e-1));
  y = mad(y, z, r);
  return f32x4.add(y, splat(1));
}

export function vexp(x0: v128): v128 {
  // clamp keeps 2^n finite in two factors; min/max propagate NaN
  const x = f32x4.max(f32x4.min(x0, splat(89)), splat(-104));
  const n = f32x4.nearest(f32x4.mul(x, splat(1.44269504088896341)));
  const y = expCore(x, n);
  const ni = i32x4.trunc_sat_f32x4_s(n);
  const n1 = i32x4.shr_s(ni, 1);
  const n2 = i32x4.sub(ni, n1);
  return f32x4.mul(f32x4.mul(y, pow2i(n1)), pow2i(n2));
}

/** e^x − 1 without cancellation: 2^n·(p + 1) − 1 with p = expm1(r) by its Taylor polynomial. */
export function vexpm1(x0: v128): v128 {
  const x = f32x4.max(f32x4.min(x0, splat(89)), splat(-30));
  const n = f32x4.nearest(f32x4.mul(x, splat(1.44269504088896341)));
  let r = f32x4.sub(x, f32x4.mul(n, splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(n, splat(-2.12194440e-4)));
  let p = mad(splat(1.0 / 5040.0), r, splat(1.0 / 720.0));
  p = mad(p, r, splat(1.0 / 120.0));
  p = mad(p, r, splat(1.0 / 24.0));
  p = mad(p, r, splat(1.0 / 6.0));
  p = mad(p, r, splat(0.5));
  p = mad(f32x4.mul(p, r), r, r);
  const s = pow2i(i32x4.trunc_sat_f32x4_s(n));
  let out = f32x4.add(f32x4.mul(s, p), f32x4.sub(s, splat(1)));
  // large x: 2^n overflows before the result does, and the −1 no longer matters
  out = v128.bitselect(vexp(x0), out, f32x4.gt(x, splat(80)));
  // keep −0 and tiny inputs exact
  return v128.bitselect(x0, out, f32x4.lt(vabs(x0), splat(1e-30)));
}

// ----- log ---------------------------------------------------------------------------------------

export function vlog(x0: v128): v128 {
  // subnormals: scale by 2^23
  const tiny = f32x4.lt(x0, splat(1.17549435e-38));
  const x = v128.bitselect(f32x4.mul(x0, splat(8388608.0)), x0, tiny);
  const bits = x;
  let e = f32x4.convert_i32x4_s(i32x4.sub(v128.and(i32x4.shr_u(bits, 23), i32x4.splat(0xff)), i32x4.splat(126)));
  e = f32x4.sub(e, v128.and(tiny, splat(23)));
  let m = v128.or(v128.and(bits, i32x4.splat(0x007fffff)), i32x4.splat(0x3f000000)); // [0.5, 1)
  const small = f32x4.lt(m, splat(0.707106781186547524));
  e = f32x4.sub(e, v128.and(small, splat(1)));
  m = f32x4.sub(f32x4.add(m, v128.and(small, m)), splat(1));
  const z = f32x4.mul(m, m);
  let y = mad(splat(7.0376836292e-2), m, splat(-1.1514610310e-1));
  y = mad(y, m, splat(1.1676998740e-1));
  y = mad(y, m, splat(-1.2420140846e-1));
  y = mad(y, m, splat(1.4249322787e-1));
  y = mad(y, m, splat(-1.6668057665e-1));
  y = mad(y, m, splat(2.0000714765e-1));
  y = mad(y, m, splat(-2.4999993993e-1));
  y = mad(y, m, splat(3.3333331174e-1));
  y = f32x4.mul(f32x4.mul(y, m), z);
  y = mad(e, splat(-2.12194440e-4), y);
  y = mad(z, splat(-0.5), y);
  let r = f32x4.add(m, y);
  r = mad(e, splat(0.693359375), r);
  // specials: x < 0 or NaN → NaN, 0 → −inf, +inf → +inf
  r = v128.bitselect(splat(-Infinity), r, f32x4.eq(x0, splat(0)));
  r = v128.bitselect(splat(Infinity), r, f32x4.eq(x0, splat(Infinity)));
  r = v128.bitselect(splat(NaN), r, v128.not(f32x4.ge(x0, splat(0))));
  return r;
}

/** log(1 + x) = log(u)·x/(u − 1) with u = 1 + x (Goldberg 1991, Theorem 4). */
export function vlog1p(x: v128): v128 {
  const u = f32x4.add(x, splat(1));
  const d = f32x4.sub(u, splat(1));
  let r = f32x4.mul(vlog(u), f32x4.div(x, d));
  r = v128.bitselect(x, r, f32x4.eq(d, splat(0)));
  return v128.bitselect(splat(Infinity), r, f32x4.eq(x, splat(Infinity)));
}

// ----- tanh, sigmoid -------------------------------------------------------------------------------

export function vtanh(x: v128): v128 {
  const ax = vabs(x);
  // |x| < 0.625: odd polynomial
  const z = f32x4.mul(x, x);
  let p = mad(splat(-5.70498872745e-3), z, splat(2.06390887954e-2));
  p = mad(p, z, splat(-5.37397155531e-2));
  p = mad(p, z, splat(1.33314422036e-1));
  p = mad(p, z, splat(-3.33332819422e-1));
  const small = mad(f32x4.mul(p, z), x, x);
  // otherwise 1 − 2/(e^{2|x|} + 1), with x's sign
  const w = vexp(f32x4.add(ax, ax));
  const big = f32x4.sub(splat(1), f32x4.div(splat(2), f32x4.add(w, splat(1))));
  const bigS = v128.or(big, v128.and(x, i32x4.splat(SIGN)));
  return v128.bitselect(small, bigS, f32x4.lt(ax, splat(0.625)));
}

export function vsigmoid(x: v128): v128 {
  const e = vexp(f32x4.neg(vabs(x)));
  const q = f32x4.div(splat(1), f32x4.add(e, splat(1)));
  return v128.bitselect(q, f32x4.mul(e, q), f32x4.ge(x, splat(0)));
}

// ----- erf ---------------------------------------------------------------------------------------

/**
 * erf(x): for |x| < 0.875, x + x·P(x²); for 0.875 ≤ |x| < 3.93, 1 − e^{−x²}·Q(1/|x|), where
 * Q approximates erfcx = e^{x²}·erfc(x); beyond, ±1. P (degree 5) and Q (degree 9) are weighted
 * least-squares fits to mpmath's erf on Chebyshev nodes (relative error 9e-9 and 4e-8).
 */
export function verf(x: v128): v128 {
  const ax = vabs(x);
  const z = f32x4.mul(x, x);
  let p = mad(splat(-6.2035268527e-04), z, splat(5.0322389455e-03));
  p = mad(p, z, splat(-2.6791507545e-02));
  p = mad(p, z, splat(1.1282456837e-01));
  p = mad(p, z, splat(-3.7612550673e-01));
  p = mad(p, z, splat(1.2837915757e-01));
  const small = mad(x, p, x);
  const t = f32x4.div(splat(1), ax);
  let q = mad(splat(1.4300471454e-02), t, splat(-8.7993958239e-02));
  q = mad(q, t, splat(2.1592263569e-01));
  q = mad(q, t, splat(-2.3063113575e-01));
  q = mad(q, t, splat(-2.5667775080e-02));
  q = mad(q, t, splat(3.7779361598e-01));
  q = mad(q, t, splat(-4.2911721166e-01));
  q = mad(q, t, splat(3.2532397292e-02));
  q = mad(q, t, splat(5.6023954718e-01));
  q = mad(q, t, splat(2.0499261418e-04));
  const e = vexp(f32x4.neg(z));
  let big = f32x4.sub(splat(1), f32x4.mul(e, q));
  big = v128.bitselect(splat(1), big, f32x4.ge(ax, splat(3.93)));
  const bigS = v128.or(big, v128.and(x, i32x4.splat(SIGN)));
  // NaN: ax < 0.875 is false and big is 1 − NaN = NaN
  return v128.bitselect(small, bigS, f32x4.lt(ax, splat(0.875)));
}

// ----- sin, cos (in float64) -------------------------------------------------------------------------

@inline function d2(x: f64): v128 {
  return f64x2.splat(x);
}

/** sin or cos of two float64 lanes that hold float32 values (musl __rem_pio2f, __sindf, __cosdf). */
@inline function sincos2(d: v128, cosine: bool): v128 {
  const fn = f64x2.nearest(f64x2.mul(d, d2(6.36619772367581382433e-01)));
  let y = f64x2.sub(d, f64x2.mul(fn, d2(1.57079631090164184570e+00)));
  y = f64x2.sub(y, f64x2.mul(fn, d2(1.58932547735281966916e-08)));
  const n = i32x4.trunc_sat_f64x2_s_zero(fn);
  const z = f64x2.mul(y, y);
  const w = f64x2.mul(z, z);
  const s = f64x2.mul(z, y);
  const sr = f64x2.add(d2(-0.000198393348360966317347), f64x2.mul(z, d2(0.0000027183114939898219064)));
  const sv = f64x2.add(f64x2.add(y, f64x2.mul(s, f64x2.add(d2(-0.166666666416265235595), f64x2.mul(z, d2(0.0083333293858894631756))))), f64x2.mul(f64x2.mul(s, w), sr));
  const cr = f64x2.add(d2(-0.00138867637746099294692), f64x2.mul(z, d2(0.0000243904487962774090654)));
  const cv = f64x2.add(f64x2.add(f64x2.add(d2(1.0), f64x2.mul(z, d2(-0.499999997251031003120))), f64x2.mul(w, d2(0.0416666233237390631894))), f64x2.mul(f64x2.mul(w, z), cr));
  // quadrant q = n & 3: sin → [s, c, −s, −c]; cos → [c, −s, −c, s]
  const q = cosine ? i32x4.add(n, i32x4.splat(1)) : n;
  const odd = i64x2.extend_low_i32x4_s(i32x4.neg(v128.and(q, i32x4.splat(1))));
  const neg = i64x2.shl(i64x2.extend_low_i32x4_s(v128.and(q, i32x4.splat(2))), 62);
  return v128.xor(v128.bitselect(cv, sv, odd), neg);
}

@inline function sincos4(x: v128, cosine: bool): v128 {
  const lo = sincos2(f64x2.promote_low_f32x4(x), cosine);
  const hi = sincos2(f64x2.promote_low_f32x4(i32x4.shuffle(x, x, 2, 3, 0, 1)), cosine);
  let r = i32x4.shuffle(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5);
  // huge arguments (beyond the medium reduction) go through the scalar library per lane
  if (v128.any_true(f32x4.gt(vabs(x), splat(1e8)))) {
    const x0 = <f64>f32x4.extract_lane(x, 0), x1 = <f64>f32x4.extract_lane(x, 1);
    const x2 = <f64>f32x4.extract_lane(x, 2), x3 = <f64>f32x4.extract_lane(x, 3);
    if (Math.abs(x0) > 1e8) r = f32x4.replace_lane(r, 0, <f32>(cosine ? Math.cos(x0) : Math.sin(x0)));
    if (Math.abs(x1) > 1e8) r = f32x4.replace_lane(r, 1, <f32>(cosine ? Math.cos(x1) : Math.sin(x1)));
    if (Math.abs(x2) > 1e8) r = f32x4.replace_lane(r, 2, <f32>(cosine ? Math.cos(x2) : Math.sin(x2)));
    if (Math.abs(x3) > 1e8) r = f32x4.replace_lane(r, 3, <f32>(cosine ? Math.cos(x3) : Math.sin(x3)));
  }
  return r;
}

export function vsin(x: v128): v128 {
  // keep the sign of ±0 (and tiny inputs exact)
  return v128.bitselect(x, sincos4(x, false), f32x4.lt(vabs(x), splat(1e-30)));
}

export function vcos(x: v128): v128 {
  return sincos4(x, true);
}
