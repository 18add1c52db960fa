// Single-precision GEMM: C[M, N] = A[M, K] · B[K, N] for strided A and B (any transposition),
// in the manner of BLIS (Van Zee & van de Geijn 2015): blocks of A and B are packed into
// contiguous panels, and a register-blocked micro-kernel runs over them.
//
// The micro-tile is 5×8: ten f32x4 accumulators, two of B, one vector of four A values broadcast
// lane by lane (i32x4.shuffle, which TurboFan places next to its two multiply-adds, so one
// register serves all four) and the fifth A value loaded as a splat: fifteen registers, the XMM
// registers V8 allocates. Ten multiply-adds per k step against eight for 4×8 amortise the loop's
// loads, address arithmetic and interrupt check, which kept 4×8 at about 88% of the SIMD128 FMA
// limit on one core; 5×8 runs at about 96% (6×8 or 4×12 need more registers and spill). A
// block's last panel, when it has fewer than five rows, is packed four wide and runs on a 4×8
// kernel, so M = 4, 8, 64 … cost no padding.
import { madd } from './vmath';
import { argI } from './common';

export const MR = 5;
export const NR = 8;
export const KC = 256;
export const MC = 160;
export const NC = 1024;
/** Bytes of per-thread scratch the host must provide: packed A block, packed B block, an edge tile. */
export const SCRATCH_BYTES: i32 = (MC * KC + KC * NC + MR * NR) * 4;

/** The blocking this build was compiled with, for the host to check: [MR, NR, KC, MC, NC][i]. */
export function gemmBlocking(i: i32): i32 {
  return i == 0 ? MR : i == 1 ? NR : i == 2 ? KC : i == 3 ? MC : NC;
}

// ----- packing -----------------------------------------------------------------------------------

@inline function transpose4(r0: v128, r1: v128, r2: v128, r3: v128, dst: usize, step: usize): void {
  const t0 = i32x4.shuffle(r0, r1, 0, 4, 1, 5);
  const t1 = i32x4.shuffle(r0, r1, 2, 6, 3, 7);
  const t2 = i32x4.shuffle(r2, r3, 0, 4, 1, 5);
  const t3 = i32x4.shuffle(r2, r3, 2, 6, 3, 7);
  v128.store(dst, i32x4.shuffle(t0, t2, 0, 1, 4, 5));
  v128.store(dst + step, i32x4.shuffle(t0, t2, 2, 3, 6, 7));
  v128.store(dst + 2 * step, i32x4.shuffle(t1, t3, 0, 1, 4, 5));
  v128.store(dst + 3 * step, i32x4.shuffle(t1, t3, 2, 3, 6, 7));
}

/**
 * Pack an mc×kc block of A (element strides rs, cs; a at its first element) into row panels:
 * full panels of MR rows as [kc][MR], and the last panel, when it has fewer rows (at most four),
 * as [kc][4], zero-padded.
 */
function packA(a: usize, rs: i32, cs: i32, mc: i32, kc: i32, dst: usize): void {
  const rsb = <usize>rs << 2, csb = <usize>cs << 2;
  for (let ip = 0; ip < mc; ip += MR) {
    const rows = min(MR, mc - ip);
    const src = a + <usize>ip * rsb;
    if (rows == MR && cs == 1) {
      const p4 = src + 4 * rsb;
      let k = 0;
      for (; k + 4 <= kc; k += 4) {
        const p = src + (<usize>k << 2), d = dst + <usize>k * (MR << 2);
        transpose4(v128.load(p), v128.load(p + rsb), v128.load(p + 2 * rsb), v128.load(p + 3 * rsb), d, MR << 2);
        const r4 = v128.load(p4 + (<usize>k << 2));
        v128.store32_lane(d, r4, 0, 16);
        v128.store32_lane(d, r4, 1, 36);
        v128.store32_lane(d, r4, 2, 56);
        v128.store32_lane(d, r4, 3, 76);
      }
      for (; k < kc; k++) {
        const p = src + (<usize>k << 2), d = dst + <usize>k * (MR << 2);
        for (let i = 0; i < MR; i++) store<f32>(d + (<usize>i << 2), load<f32>(p + <usize>i * rsb));
      }
      dst += <usize>kc * (MR << 2);
    } else if (rows == MR && rs == 1) {
      for (let k = 0; k < kc; k++) {
        const p = src + <usize>k * csb, d = dst + <usize>k * (MR << 2);
        v128.store(d, v128.load(p));
        store<f32>(d, load<f32>(p, 16), 16);
      }
      dst += <usize>kc * (MR << 2);
    } else if (rows == 4 && cs == 1) {
      for (let k = 0; k + 4 <= kc; k += 4) {
        const p = src + (<usize>k << 2);
        transpose4(v128.load(p), v128.load(p + rsb), v128.load(p + 2 * rsb), v128.load(p + 3 * rsb), dst + (<usize>k << 4), 16);
      }
      for (let k = kc & ~3; k < kc; k++) {
        const p = src + (<usize>k << 2), d = dst + (<usize>k << 4);
        for (let i = 0; i < 4; i++) store<f32>(d + (<usize>i << 2), load<f32>(p + <usize>i * rsb));
      }
      dst += <usize>kc << 4;
    } else if (rows == 4 && rs == 1) {
      for (let k = 0; k < kc; k++) v128.store(dst + (<usize>k << 4), v128.load(src + <usize>k * csb));
      dst += <usize>kc << 4;
    } else {
      const w = rows == MR ? MR : 4;
      for (let k = 0; k < kc; k++) {
        const d = dst + <usize>k * (<usize>w << 2);
        for (let i = 0; i < w; i++) {
          store<f32>(d + (<usize>i << 2), i < rows ? load<f32>(src + <usize>i * rsb + <usize>k * csb) : 0);
        }
      }
      dst += <usize>kc * (<usize>w << 2);
    }
  }
}

/** Pack a kc×nc block of B into NR-column panels [kc][NR]. */
function packB(b: usize, rs: i32, cs: i32, kc: i32, nc: i32, dst: usize): void {
  const rsb = <usize>rs << 2, csb = <usize>cs << 2;
  for (let jp = 0; jp < nc; jp += NR) {
    const cols = min(NR, nc - jp);
    const src = b + <usize>jp * csb;
    if (cols == NR && cs == 1) {
      for (let k = 0; k < kc; k++) {
        const p = src + <usize>k * rsb, d = dst + (<usize>k << 5);
        v128.store(d, v128.load(p));
        v128.store(d, v128.load(p, 16), 16);
      }
    } else if (cols == NR && rs == 1) {
      let k = 0;
      for (; k + 4 <= kc; k += 4) {
        const p = src + (<usize>k << 2), d = dst + (<usize>k << 5);
        transpose4(v128.load(p), v128.load(p + csb), v128.load(p + 2 * csb), v128.load(p + 3 * csb), d, 32);
        const q = p + 4 * csb;
        transpose4(v128.load(q), v128.load(q + csb), v128.load(q + 2 * csb), v128.load(q + 3 * csb), d + 16, 32);
      }
      for (; k < kc; k++) {
        const p = src + (<usize>k << 2), d = dst + (<usize>k << 5);
        for (let j = 0; j < NR; j++) store<f32>(d + (<usize>j << 2), load<f32>(p + <usize>j * csb));
      }
    } else {
      for (let k = 0; k < kc; k++) {
        const d = dst + (<usize>k << 5);
        for (let j = 0; j < NR; j++) {
          store<f32>(d + (<usize>j << 2), j < cols ? load<f32>(src + <usize>k * rsb + <usize>j * csb) : 0);
        }
      }
    }
    dst += <usize>kc * (NR << 2);
  }
}

// ----- micro-kernels -----------------------------------------------------------------------------

/**
 * C[5×8] (row stride ldc bytes) = or += packed A panel [kc][5] · packed B panel [kc][8]; when it
 * is not accumulating and `bias` is not 0, the eight floats at `bias` are added to every row.
 */
function micro5(kc: i32, ap: usize, bp: usize, c: usize, ldc: usize, accumulate: bool, bias: usize): void {
  tile(kc, ap, bp, c, ldc, accumulate, bias, true);
}

/** C[4×8] = or += packed A panel [kc][4] · packed B panel [kc][8] (a block's last, short panel). */
function micro4(kc: i32, ap: usize, bp: usize, c: usize, ldc: usize, accumulate: bool, bias: usize): void {
  tile(kc, ap, bp, c, ldc, accumulate, bias, false);
}

/** The micro-kernels' body: rows 0–3 from one vector of A broadcast lane by lane, and row 4 when `five` (a constant). */
@inline function tile(kc: i32, ap: usize, bp: usize, c: usize, ldc: usize, accumulate: bool, bias: usize, five: bool): void {
  let c00 = f32x4.splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00, c40 = c00, c41 = c00;
  const step: usize = five ? MR << 2 : 16;
  const end = ap + <usize>kc * step;
  while (ap < end) {
    const b0 = v128.load(bp), b1 = v128.load(bp, 16);
    const a = v128.load(ap);
    let s = i32x4.shuffle(a, a, 0, 0, 0, 0);
    c00 = madd(s, b0, c00); c01 = madd(s, b1, c01);
    s = i32x4.shuffle(a, a, 1, 1, 1, 1);
    c10 = madd(s, b0, c10); c11 = madd(s, b1, c11);
    s = i32x4.shuffle(a, a, 2, 2, 2, 2);
    c20 = madd(s, b0, c20); c21 = madd(s, b1, c21);
    s = i32x4.shuffle(a, a, 3, 3, 3, 3);
    c30 = madd(s, b0, c30); c31 = madd(s, b1, c31);
    if (five) {
      s = v128.load32_splat(ap, 16);
      c40 = madd(s, b0, c40); c41 = madd(s, b1, c41);
    }
    ap += step;
    bp += NR << 2;
  }
  if (five) {
    const c4 = c + 4 * ldc;
    if (accumulate) {
      c40 = f32x4.add(c40, v128.load(c4)); c41 = f32x4.add(c41, v128.load(c4, 16));
    } else if (bias) {
      c40 = f32x4.add(c40, v128.load(bias)); c41 = f32x4.add(c41, v128.load(bias, 16));
    }
    v128.store(c4, c40); v128.store(c4, c41, 16);
  }
  finish4(c, ldc, accumulate, bias, c00, c01, c10, c11, c20, c21, c30, c31);
}

/** Rows 0–3 of a tile: add C (accumulating) or the bias, and store. */
@inline function finish4(c: usize, ldc: usize, accumulate: bool, bias: usize, c00: v128, c01: v128, c10: v128, c11: v128, c20: v128, c21: v128, c30: v128, c31: v128): void {
  if (accumulate) {
    c00 = f32x4.add(c00, v128.load(c)); c01 = f32x4.add(c01, v128.load(c, 16));
    c10 = f32x4.add(c10, v128.load(c + ldc)); c11 = f32x4.add(c11, v128.load(c + ldc, 16));
    c20 = f32x4.add(c20, v128.load(c + 2 * ldc)); c21 = f32x4.add(c21, v128.load(c + 2 * ldc, 16));
    c30 = f32x4.add(c30, v128.load(c + 3 * ldc)); c31 = f32x4.add(c31, v128.load(c + 3 * ldc, 16));
  } else if (bias) {
    const b0 = v128.load(bias), b1 = v128.load(bias, 16);
    c00 = f32x4.add(c00, b0); c01 = f32x4.add(c01, b1);
    c10 = f32x4.add(c10, b0); c11 = f32x4.add(c11, b1);
    c20 = f32x4.add(c20, b0); c21 = f32x4.add(c21, b1);
    c30 = f32x4.add(c30, b0); c31 = f32x4.add(c31, b1);
  }
  v128.store(c, c00); v128.store(c, c01, 16);
  v128.store(c + ldc, c10); v128.store(c + ldc, c11, 16);
  v128.store(c + 2 * ldc, c20); v128.store(c + 2 * ldc, c21, 16);
  v128.store(c + 3 * ldc, c30); v128.store(c + 3 * ldc, c31, 16);
}

// ----- driver ------------------------------------------------------------------------------------

/**
 * One chunk of a batched GEMM. Arguments (i32 words at `args`):
 *   0 A, 1 A row stride, 2 A col stride, 3 B, 4 B row stride, 5 B col stride, 6 C, 7 M, 8 N, 9 K,
 *   10 batch offsets of A (i32 elements, pointer), 11 batch offsets of B, 12 row chunks per batch,
 *   13 col chunks per batch, 14 rows per chunk, 15 cols per chunk, 16 scratch base, 17 scratch stride,
 *   18 bias (N floats added to every row of C, with the first block of K; 0 for none),
 *   19 K per piece (split-K; 0 for none), 20 the pieces' products (split-K).
 * A chunk is (batch t, row range, col range); C is contiguous [batch, M, N]. Split-K (batch 1, one
 * row and one col chunk, no bias): chunk p writes A[:, p·piece : (p+1)·piece]·B[p·piece : …, :] to
 * the p-th [M, N] product after word 20, and the host sums the products in a fixed order, so the
 * result does not depend on which thread ran which piece.
 */
export function gemm(args: usize, chunk: i32, tid: i32): void {
  const M = argI(args, 7), N = argI(args, 8), K = argI(args, 9);
  const mChunks = argI(args, 12), nChunks = argI(args, 13);
  const piece = argI(args, 19);
  const per = mChunks * nChunks;
  const t = piece > 0 ? 0 : chunk / per, rem = piece > 0 ? 0 : chunk - t * per;
  const mi = rem / nChunks, nj = rem - mi * nChunks;
  const mch = argI(args, 14), nch = argI(args, 15);
  const i0 = mi * mch, i1 = min(M, i0 + mch);
  const j0 = nj * nch, j1 = min(N, j0 + nch);
  const ars = argI(args, 1), acs = argI(args, 2), brs = argI(args, 4), bcs = argI(args, 5);
  const A = <usize>argI(args, 0) + (<usize>load<i32>(<usize>argI(args, 10) + (<usize>t << 2)) << 2);
  const B = <usize>argI(args, 3) + (<usize>load<i32>(<usize>argI(args, 11) + (<usize>t << 2)) << 2);
  const C = <usize>argI(args, 6) + ((<usize>t * <usize>M * <usize>N) << 2);
  const work = <usize>argI(args, 16) + <usize>tid * <usize>argI(args, 17);
  if (piece > 0) {
    const k0 = chunk * piece, kp = min(piece, K - k0);
    const P = <usize>argI(args, 20) + <usize>chunk * ((<usize>M * <usize>N) << 2);
    gemmBlock(A + ((<usize>k0 * acs) << 2), ars, acs, B + ((<usize>k0 * brs) << 2), brs, bcs, P, <usize>N << 2, 0, M, 0, N, kp, work, 0, false);
    return;
  }
  gemmBlock(A, ars, acs, B, brs, bcs, C, <usize>N << 2, i0, i1, j0, j1, K, work, <usize>argI(args, 18), false);
}

/**
 * C[i0:i1, j0:j1] = A[i0:i1, :]·B[:, j0:j1] (+ bias[j] when `bias` is not 0), or += with
 * `accumulate`; A and B with element strides (ars, acs), (brs, bcs), C with row stride ldc bytes.
 * The BLIS loops: column blocks of NC, K blocks of KC (B packed), row blocks of MC (A packed),
 * 5×8 micro-tiles (4×8 for a short last panel). `work` is this thread's scratch (SCRATCH_BYTES).
 */
export function gemmBlock(A: usize, ars: i32, acs: i32, B: usize, brs: i32, bcs: i32, C: usize, ldc: usize, i0: i32, i1: i32, j0: i32, j1: i32, K: i32, work: usize, bias: usize, accumulate: bool): void {
  const Ap = work, Bp = work + <usize>(MC * KC * 4), tile = Bp + <usize>(KC * NC * 4);
  if (K == 0) {
    if (accumulate) return;
    for (let i = i0; i < i1; i++) {
      const c = C + <usize>i * ldc + (<usize>j0 << 2), n = <usize>(j1 - j0) << 2;
      if (bias) memory.copy(c, bias + (<usize>j0 << 2), n);
      else memory.fill(c, 0, n);
    }
    return;
  }
  for (let jc = j0; jc < j1; jc += NC) {
    const nc = min(NC, j1 - jc);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = min(KC, K - pc);
      const acc = accumulate || pc > 0;
      packB(B + ((<usize>pc * brs + <usize>jc * bcs) << 2), brs, bcs, kc, nc, Bp);
      for (let ic = i0; ic < i1; ic += MC) {
        const mc = min(MC, i1 - ic);
        packA(A + ((<usize>ic * ars + <usize>pc * acs) << 2), ars, acs, mc, kc, Ap);
        for (let jr = 0; jr < nc; jr += NR) {
          const cols = min(NR, nc - jr);
          const bp = Bp + <usize>jr * <usize>kc * 4;
          for (let ir = 0; ir < mc; ir += MR) {
            const rows = min(MR, mc - ir);
            const ap = Ap + <usize>ir * <usize>kc * 4;
            const cp = C + <usize>(ic + ir) * ldc + (<usize>(jc + jr) << 2);
            const bj = bias ? bias + (<usize>(jc + jr) << 2) : 0;
            const full = rows == MR || rows == 4;
            if (full && cols == NR) {
              if (rows == MR) micro5(kc, ap, bp, cp, ldc, acc, bj);
              else micro4(kc, ap, bp, cp, ldc, acc, bj);
            } else {
              if (rows == MR) micro5(kc, ap, bp, tile, NR * 4, false, 0);
              else micro4(kc, ap, bp, tile, NR * 4, false, 0);
              for (let i = 0; i < rows; i++) {
                for (let j = 0; j < cols; j++) {
                  const d = cp + <usize>i * ldc + (<usize>j << 2);
                  const v = load<f32>(tile + (<usize>(i * NR + j) << 2));
                  store<f32>(d, acc ? load<f32>(d) + v : bj ? v + load<f32>(bj + (<usize>j << 2)) : v);
                }
              }
            }
          }
        }
      }
    }
  }
}
