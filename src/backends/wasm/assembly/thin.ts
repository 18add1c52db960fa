// Matrix products with one dimension of at most four: the first and last layers of small MLPs
// ([4096, 3]·[3, 256], [4096, 256]·[256, 2] and their gradients), 1-channel convolutions. The
// packed GEMM (gemm.ts) pads such a dimension to its 5×8 tile and packs the long operand, a
// copy of the whole matrix for a few multiply-adds per element; these kernels read each operand
// once, in place, and are bound by memory instead.
//
//   gemmSmallK  C = A·B (+ bias) with K ≤ 4: each row of C is Σₖ A[i, k]·B[k, :] (B row-major, in L1).
//   gemmThinV   out[v, s] = Σₖ P[v, k]·Q[k, s] for s < S ≤ 4, with P contiguous along v: 16
//               consecutive v at a time in four f32x4 accumulators per s (two s per pass), K
//               streamed. N small with A column-major (P = A), or M small with B row-major (P = Bᵀ).
//   gemmThinK   out[v, s] = Σₖ P[v, k]·Q[s, k] for s < S ≤ 4, with P and Q contiguous along k:
//               one row of P at a time, dot products with the S rows of Q (in L1).
//
// All three take one argument layout (`Thin`). A chunk is (batch t, a range of v or rows); batch
// t's operands start at element offsets read from the host's offset arrays, so broadcast and
// strided batches cost nothing to set up.
import { madd } from './vmath';

@inline function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/**
 * The argument words of all three kernels, read in place: 0 P, 1 and 2 P's strides (a, b), 3 Q,
 * 4 and 5 Q's strides (a, b), 6 out, 7 out's stride along v, 8 along s, 9 V, 10 S, 11 K, 12 P's
 * batch offsets (elements, pointer), 13 Q's, 14 chunks per batch, 15 v per chunk, 16 out's batch
 * stride, 17 bias (0 for none). Each kernel says what its strides a and b are.
 */
@unmanaged class Thin {
  p: i32; pa: i32; pb: i32; q: i32; qa: i32; qb: i32;
  out: i32; ov: i32; os: i32; V: i32; S: i32; K: i32;
  pOffs: i32; qOffs: i32; per: i32; vch: i32; outBatch: i32; bias: i32;
}

/** Batch t's P, Q and out (byte addresses): P and Q from their offset arrays, out contiguous by batch. */
@inline function pOf(a: Thin, t: i32): usize {
  return <usize>a.p + (<usize>load<i32>(<usize>a.pOffs + (<usize>t << 2)) << 2);
}
@inline function qOf(a: Thin, t: i32): usize {
  return <usize>a.q + (<usize>load<i32>(<usize>a.qOffs + (<usize>t << 2)) << 2);
}
@inline function outOf(a: Thin, t: i32): usize {
  return <usize>a.out + ((<usize>t * <usize>a.outBatch) << 2);
}

/**
 * C[M, N] = A[M, K]·B[K, N] (+ bias[j]) for K ≤ 4: V = M rows, S = N, P = A (strides a, b: row,
 * column), Q = B (stride a: row; unit column stride), out = C with ov = N; v per chunk are rows.
 */
export function gemmSmallK(args: usize, chunk: i32, tid: i32): void {
  const a = changetype<Thin>(args), t = chunk / a.per, r0 = (chunk % a.per) * a.vch, r1 = min(a.V, r0 + a.vch);
  const A = pOf(a, t), B = qOf(a, t), C = outOf(a, t);
  const N = a.S, K = a.K, ars = <usize>a.pa << 2, acs = <usize>a.pb << 2, brs = <usize>a.qa << 2, bias = <usize>a.bias;
  for (let i = r0; i < r1; i++) {
    const ai = A + <usize>i * ars, c = C + ((<usize>i * <usize>N) << 2);
    let j = 0;
    for (; j + 8 <= N; j += 8) {
      const o = <usize>j << 2;
      let c0 = f32x4.splat(0), c1 = c0;
      if (bias) {
        c0 = v128.load(bias + o);
        c1 = v128.load(bias + o, 16);
      }
      for (let k = 0; k < K; k++) {
        const x = v128.load32_splat(ai + <usize>k * acs), b = B + <usize>k * brs + o;
        c0 = madd(x, v128.load(b), c0);
        c1 = madd(x, v128.load(b, 16), c1);
      }
      v128.store(c + o, c0);
      v128.store(c + o, c1, 16);
    }
    for (; j < N; j++) {
      let s: f32 = bias ? load<f32>(bias + (<usize>j << 2)) : 0;
      for (let k = 0; k < K; k++) s += load<f32>(ai + <usize>k * acs) * load<f32>(B + <usize>k * brs + (<usize>j << 2));
      store<f32>(c + (<usize>j << 2), s);
    }
  }
}

/** Σₖ P[v…v+15, k]·Q[k, s] and Q[k, s + 1] (two = false: s only), stored at out[v…, s(+1)]. */
@inline function thinBlock(p: usize, pk: usize, q: usize, qk: usize, qs: usize, K: i32, o: usize, ov: usize, os: usize, two: bool): void {
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
  for (let k = 0; k < K; k++) {
    const x0 = v128.load(p), x1 = v128.load(p, 16), x2 = v128.load(p, 32), x3 = v128.load(p, 48);
    const u = v128.load32_splat(q);
    a0 = madd(x0, u, a0); a1 = madd(x1, u, a1); a2 = madd(x2, u, a2); a3 = madd(x3, u, a3);
    if (two) {
      const w = v128.load32_splat(q + qs);
      b0 = madd(x0, w, b0); b1 = madd(x1, w, b1); b2 = madd(x2, w, b2); b3 = madd(x3, w, b3);
    }
    p += pk;
    q += qk;
  }
  storeLanes(o, ov, a0, a1, a2, a3);
  if (two) storeLanes(o + os, ov, b0, b1, b2, b3);
}

/** Sixteen values to out[v…v+15] with element stride ov (bytes; 4 means contiguous). */
@inline function storeLanes(o: usize, ov: usize, a0: v128, a1: v128, a2: v128, a3: v128): void {
  if (ov == 4) {
    v128.store(o, a0); v128.store(o, a1, 16); v128.store(o, a2, 32); v128.store(o, a3, 48);
    return;
  }
  const o1 = o + 4 * ov, o2 = o + 8 * ov, o3 = o + 12 * ov;
  store<f32>(o, f32x4.extract_lane(a0, 0)); store<f32>(o + ov, f32x4.extract_lane(a0, 1));
  store<f32>(o + 2 * ov, f32x4.extract_lane(a0, 2)); store<f32>(o + 3 * ov, f32x4.extract_lane(a0, 3));
  store<f32>(o1, f32x4.extract_lane(a1, 0)); store<f32>(o1 + ov, f32x4.extract_lane(a1, 1));
  store<f32>(o1 + 2 * ov, f32x4.extract_lane(a1, 2)); store<f32>(o1 + 3 * ov, f32x4.extract_lane(a1, 3));
  store<f32>(o2, f32x4.extract_lane(a2, 0)); store<f32>(o2 + ov, f32x4.extract_lane(a2, 1));
  store<f32>(o2 + 2 * ov, f32x4.extract_lane(a2, 2)); store<f32>(o2 + 3 * ov, f32x4.extract_lane(a2, 3));
  store<f32>(o3, f32x4.extract_lane(a3, 0)); store<f32>(o3 + ov, f32x4.extract_lane(a3, 1));
  store<f32>(o3 + 2 * ov, f32x4.extract_lane(a3, 2)); store<f32>(o3 + 3 * ov, f32x4.extract_lane(a3, 3));
}

/**
 * out[v, s] = Σₖ P[v, k]·Q[k, s], P with unit stride along v: P's stride a is along k, Q's
 * strides a and b along k and s; v per chunk is a multiple of 16.
 */
export function gemmThinV(args: usize, chunk: i32, tid: i32): void {
  const a = changetype<Thin>(args), t = chunk / a.per, v0 = (chunk % a.per) * a.vch, v1 = min(a.V, v0 + a.vch);
  const P = pOf(a, t), Q = qOf(a, t), O = outOf(a, t);
  const S = a.S, K = a.K, pk = <usize>a.pa << 2, qk = <usize>a.qa << 2, qs = <usize>a.qb << 2, ov = <usize>a.ov << 2, os = <usize>a.os << 2;
  let v = v0;
  for (; v + 16 <= v1; v += 16) {
    const p = P + (<usize>v << 2), o = O + <usize>v * ov;
    let s = 0;
    for (; s + 2 <= S; s += 2) thinBlock(p, pk, Q + <usize>s * qs, qk, qs, K, o + <usize>s * os, ov, os, true);
    if (s < S) thinBlock(p, pk, Q + <usize>s * qs, qk, qs, K, o + <usize>s * os, ov, os, false);
  }
  for (; v < v1; v++) {
    for (let s = 0; s < S; s++) {
      let acc: f32 = 0;
      let p = P + (<usize>v << 2), q = Q + <usize>s * qs;
      for (let k = 0; k < K; k++) {
        acc += load<f32>(p) * load<f32>(q);
        p += pk;
        q += qk;
      }
      store<f32>(O + <usize>v * ov + <usize>s * os, acc);
    }
  }
}

/** Σₖ p[k]·q[k] over K, eight lanes at a time in two accumulators, then the tail. */
@inline function dot(p: usize, q: usize, K: i32): f32 {
  let a = f32x4.splat(0), b = a;
  let k = 0;
  for (; k + 8 <= K; k += 8) {
    const o = <usize>k << 2;
    a = madd(v128.load(p + o), v128.load(q + o), a);
    b = madd(v128.load(p + o, 16), v128.load(q + o, 16), b);
  }
  let s = hsum(f32x4.add(a, b));
  for (; k < K; k++) s += load<f32>(p + (<usize>k << 2)) * load<f32>(q + (<usize>k << 2));
  return s;
}

/**
 * out[v, s] = Σₖ P[v, k]·Q[s, k], P and Q with unit stride along k: P's stride a is along v,
 * Q's stride a along s.
 */
export function gemmThinK(args: usize, chunk: i32, tid: i32): void {
  const a = changetype<Thin>(args), t = chunk / a.per, v0 = (chunk % a.per) * a.vch, v1 = min(a.V, v0 + a.vch);
  const P = pOf(a, t), Q = qOf(a, t), O = outOf(a, t);
  const S = a.S, K = a.K, pv = <usize>a.pa << 2, qs = <usize>a.qa << 2, ov = <usize>a.ov << 2, os = <usize>a.os << 2;
  for (let v = v0; v < v1; v++) {
    const p = P + <usize>v * pv, o = O + <usize>v * ov;
    for (let s = 0; s < S; s++) store<f32>(o + <usize>s * os, dot(p, Q + <usize>s * qs, K));
  }
}
