// im2col and col2im over [N, C, H, W] planes (4-byte elements). A chunk is a run of (n, c) planes,
// so chunks write disjoint parts of the output and col2im needs no atomics.
import { argI } from './common';
import { gemmBlock } from './gemm';

// The output columns ox whose input column ox·sw + off (off = kj·dw − pw) lies in [0, W): [start, end).
@inline function validStart(off: i32, sw: i32): i32 {
  return off >= 0 ? 0 : (-off + sw - 1) / sw;
}
@inline function validEnd(off: i32, sw: i32, W: i32, ow: i32): i32 {
  return min(ow, W - 1 - off < 0 ? 0 : (W - 1 - off) / sw + 1);
}

/**
 * The argument words every kernel of this file starts with, read in place: 0 x, 1..4 x strides
 * (n, c, h, w), 5 N, 6 C, 7 H, 8 W, 9 kh, 10 kw, 11 sh, 12 sw, 13 ph, 14 pw, 15 dh, 16 dw, 17 oh,
 * 18 ow, 19 pad value (bits), 20 out, 21 planes per chunk (im2col, col2im) or output positions
 * per block (the fused kernels); the fused kernels' own words follow (see each).
 */
@unmanaged class Conv {
  x: i32; xn: i32; xc: i32; xh: i32; xw: i32;
  N: i32; C: i32; H: i32; W: i32;
  kh: i32; kw: i32; sh: i32; sw: i32; ph: i32; pw: i32; dh: i32; dw: i32;
  oh: i32; ow: i32; pad: i32; out: i32; per: i32;
}

export function im2col(args: usize, chunk: i32, _tid: i32): void {
  const a = changetype<Conv>(args);
  const p0 = chunk * a.per, p1 = min(a.N * a.C, p0 + a.per);
  const L = a.oh * a.ow;
  for (let pl = p0; pl < p1; pl++) {
    const n = pl / a.C, c = pl - n * a.C;
    im2colBlock(a, n, c, c + 1, a.pad, 0, L, <usize>a.out + ((<usize>pl * <usize>(a.kh * a.kw * L)) << 2));
  }
}

/**
 * The adjoint of im2col: sums columns back into zeroed planes. cols is contiguous
 * [N, C·kh·kw, oh·ow] float32. Arguments as im2col's, with 0 cols and strides unused.
 */
export function col2im(args: usize, chunk: i32, _tid: i32): void {
  const a = changetype<Conv>(args);
  const cols = <usize>a.x, N = a.N, C = a.C, H = a.H, W = a.W, kh = a.kh, kw = a.kw, sh = a.sh, sw = a.sw;
  const ph = a.ph, pw = a.pw, dh = a.dh, dw = a.dw, oh = a.oh, ow = a.ow, out = <usize>a.out, per = a.per;
  const p0 = chunk * per, p1 = min(N * C, p0 + per);
  const plane = <usize>(kh * kw * oh * ow);
  const hw = <usize>(H * W);
  for (let pl = p0; pl < p1; pl++) {
    const dstPlane = out + ((<usize>pl * hw) << 2);
    memory.fill(dstPlane, 0, hw << 2);
    let src = cols + ((<usize>pl * plane) << 2);
    for (let ki = 0; ki < kh; ki++) {
      for (let kj = 0; kj < kw; kj++) {
        const off = kj * dw - pw;
        const hi = validEnd(off, sw, W, ow), lo = min(validStart(off, sw), hi);
        for (let oy = 0; oy < oh; oy++) {
          const iy = oy * sh - ph + ki * dh;
          if (iy >= 0 && iy < H) {
            const row = dstPlane + ((<usize>iy * <usize>W) << 2);
            const first = lo * sw + off;
            if (sw == 1) {
              let d = row + (<usize>first << 2);
              let s = src + (<usize>lo << 2);
              let n = hi - lo;
              for (; n >= 4; n -= 4) {
                v128.store(d, f32x4.add(v128.load(d), v128.load(s)));
                d += 16;
                s += 16;
              }
              for (; n > 0; n--) {
                store<f32>(d, load<f32>(d) + load<f32>(s));
                d += 4;
                s += 4;
              }
            } else {
              let d = row + (<usize>first << 2);
              const step = <usize>sw << 2;
              for (let ox = lo; ox < hi; ox++) {
                store<f32>(d, load<f32>(d) + load<f32>(src + (<usize>ox << 2)));
                d += step;
              }
            }
          }
          src += <usize>ow << 2;
        }
      }
    }
  }
}

// ----- fused convolution forward ------------------------------------------------------------------

// Short runs (an output row of 7 to 28 positions) are copied and cleared inline: memory.copy and
// memory.fill are calls into the runtime, whose overhead is as large as such a run.
@inline function copyRun(dst: usize, src: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(dst + (<usize>i << 2), v128.load(src + (<usize>i << 2)));
  for (; i < n; i++) store<i32>(dst + (<usize>i << 2), load<i32>(src + (<usize>i << 2)));
}

@inline function fillRun(dst: usize, bits: i32, n: i32): void {
  let i = 0;
  const z = i32x4.splat(bits);
  for (; i + 4 <= n; i += 4) v128.store(dst + (<usize>i << 2), z);
  for (; i < n; i++) store<i32>(dst + (<usize>i << 2), bits);
}

/**
 * Rows k = (c, ki, kj) for channels [c0, c1) and columns [j0, j1) (output positions j = oy·ow + ox)
 * of image n's im2col matrix into dst ([(c1 − c0)·kh·kw, j1 − j0], row-major); positions outside
 * the input get the bits `pad`.
 */
function im2colBlock(a: Conv, n: i32, c0: i32, c1: i32, pad: i32, j0: i32, j1: i32, dst: usize): void {
  colsBlock(a, n, c0, c1, pad, j0, j1, dst, false);
}

/**
 * The adjoint of im2colBlock for all channels: adds a block of columns [C·kh·kw, j1 − j0]
 * (row-major, at `src`) into image n of the tensor the Conv's x words describe (the input
 * gradient), each entry to the input element its im2col entry was read from.
 */
function col2imBlock(a: Conv, n: i32, j0: i32, j1: i32, src: usize): void {
  colsBlock(a, n, 0, a.C, 0, j0, j1, src, true);
}

/**
 * The walk of im2colBlock and col2imBlock: for each row k = (c, ki, kj), the block's positions
 * run by run (one run per output row, 7 to 28 positions in an MNIST network, so the cost per run
 * matters as much as per element: the runs are walked without divisions). im2col copies x into
 * the columns (stride-2 runs gathered four at a time with shuffles when x's rows are contiguous)
 * and pads; the adjoint adds the columns into x (`adjoint`, a constant) and skips the padding.
 */
@inline function colsBlock(a: Conv, n: i32, c0: i32, c1: i32, pad: i32, j0: i32, j1: i32, cols: usize, adjoint: bool): void {
  const x = <usize>a.x, xn = a.xn, xc = a.xc, xh = a.xh, xw = a.xw, H = a.H, W = a.W, kh = a.kh, kw = a.kw;
  const sh = a.sh, sw = a.sw, ph = a.ph, pw = a.pw, dh = a.dh, dw = a.dw, ow = a.ow;
  const nb = j1 - j0;
  const oy0 = j0 / ow, ox0 = j0 - oy0 * ow;
  for (let c = c0; c < c1; c++) {
    const plane = x + ((<usize>n * <usize>xn + <usize>c * <usize>xc) << 2);
    for (let ki = 0; ki < kh; ki++) {
      const iy0 = oy0 * sh - ph + ki * dh;
      for (let kj = 0; kj < kw; kj++) {
        const off = kj * dw - pw;
        const hi = validEnd(off, sw, W, ow), lo = min(validStart(off, sw), hi);
        let d = cols, iy = iy0, oxa = ox0, left = nb;
        while (left > 0) {
          const oxb = min(ow, oxa + left), len = oxb - oxa;
          if (<u32>iy >= <u32>H) {
            if (!adjoint) fillRun(d, pad, len);
          } else {
            const u = max(oxa, lo), v = max(u, min(oxb, hi)); // [u, v): inside the input
            if (!adjoint && u > oxa) fillRun(d, pad, u - oxa);
            const row = plane + ((<usize>iy * <usize>xh) << 2);
            const q = d + (<usize>(u - oxa) << 2);
            if (xw == 1 && sw == 1) {
              if (adjoint) addRun(row + (<usize>(u + off) << 2), q, v - u);
              else copyRun(q, row + (<usize>(u + off) << 2), v - u);
            } else if (xw == 1 && sw == 2) {
              if (adjoint) scatterAdd2(row + (<usize>(2 * u + off) << 2), q, v - u);
              else gather2(q, row + (<usize>(2 * u + off) << 2), v - u);
            } else {
              const step = <usize>(sw * xw) << 2;
              let p = row + ((<usize>(u * sw + off) * <usize>xw) << 2);
              for (let ox = u; ox < v; ox++) {
                const e = q + (<usize>(ox - u) << 2);
                if (adjoint) store<f32>(p, load<f32>(p) + load<f32>(e));
                else store<i32>(e, load<i32>(p));
                p += step;
              }
            }
            if (!adjoint && oxb > v) fillRun(d + (<usize>(v - oxa) << 2), pad, oxb - v);
          }
          d += <usize>len << 2;
          left -= len;
          iy += sh;
          oxa = 0;
        }
        cols += <usize>nb << 2;
      }
    }
  }
}

/**
 * dst[i] = src[2i] for i < n, four at a time from two loads; a load never reaches past src[2(n − 1)]
 * (the vector loop stops while an element remains after its four), so nothing outside the input is read.
 */
@inline function gather2(dst: usize, src: usize, n: i32): void {
  let i = 0;
  for (; i + 4 < n; i += 4) {
    const p = src + (<usize>i << 3);
    v128.store(dst + (<usize>i << 2), i32x4.shuffle(v128.load(p), v128.load(p, 16), 0, 2, 4, 6));
  }
  for (; i < n; i++) store<i32>(dst + (<usize>i << 2), load<i32>(src + (<usize>i << 3)));
}

/** dst[i] += src[i] for i < n. */
@inline function addRun(dst: usize, src: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const p = dst + (<usize>i << 2);
    v128.store(p, f32x4.add(v128.load(p), v128.load(src + (<usize>i << 2))));
  }
  for (; i < n; i++) store<f32>(dst + (<usize>i << 2), load<f32>(dst + (<usize>i << 2)) + load<f32>(src + (<usize>i << 2)));
}

/**
 * dst[2i] += src[i] for i < n (gather2's adjoint), four at a time: the odd elements between get
 * −0 added, which leaves every value as it was (−0 too), and, as in gather2, nothing past
 * dst[2(n − 1)] is touched.
 */
@inline function scatterAdd2(dst: usize, src: usize, n: i32): void {
  let i = 0;
  const nz = f32x4.splat(-0.0);
  for (; i + 4 < n; i += 4) {
    const p = dst + (<usize>i << 3), s = v128.load(src + (<usize>i << 2));
    v128.store(p, f32x4.add(v128.load(p), i32x4.shuffle(s, nz, 0, 4, 1, 5)));
    v128.store(p, f32x4.add(v128.load(p, 16), i32x4.shuffle(s, nz, 2, 6, 3, 7)), 16);
  }
  for (; i < n; i++) store<f32>(dst + (<usize>i << 3), load<f32>(dst + (<usize>i << 3)) + load<f32>(src + (<usize>i << 2)));
}

/**
 * y[n] = W·im2col(x[n]) (+ bias per output channel) without the whole column matrix: a chunk is
 * (image n, a block of output positions), whose columns are built in this thread's scratch (small
 * enough to stay in cache) and multiplied there. Arguments: im2col's 0–18 (19 unused), 20 y
 * (contiguous [N, O, oh·ow]), 21 positions per block, 22 W (contiguous [O, C·kh·kw]), 23 O,
 * 24 bias (O floats; 0 for none), 25 GEMM scratch base, 26 its stride per thread, 27 column
 * scratch base, 28 its stride per thread.
 */
export function convForward(args: usize, chunk: i32, tid: i32): void {
  const a = changetype<Conv>(args);
  const y = <usize>a.out, nbMax = a.per, w = <usize>argI(args, 22), O = argI(args, 23), bias = <usize>argI(args, 24);
  const L = a.oh * a.ow, K = a.C * a.kh * a.kw;
  const blocks = (L + nbMax - 1) / nbMax;
  const n = chunk / blocks, j0 = (chunk - n * blocks) * nbMax, j1 = min(L, j0 + nbMax), nb = j1 - j0;
  const work = <usize>argI(args, 25) + <usize>tid * <usize>argI(args, 26);
  const cols = <usize>argI(args, 27) + <usize>tid * <usize>argI(args, 28);
  im2colBlock(a, n, 0, a.C, 0, j0, j1, cols);
  const yn = y + ((<usize>n * <usize>O * <usize>L + <usize>j0) << 2);
  const ldc = <usize>L << 2;
  gemmBlock(w, K, 1, cols, nb, 1, yn, ldc, 0, O, 0, nb, K, work, 0, false);
  if (bias) {
    for (let i = 0; i < O; i++) {
      const b = load<f32>(bias + (<usize>i << 2)), bv = f32x4.splat(b);
      const r = yn + <usize>i * ldc;
      let j = 0;
      for (; j + 4 <= nb; j += 4) v128.store(r + (<usize>j << 2), f32x4.add(v128.load(r + (<usize>j << 2)), bv));
      for (; j < nb; j++) store<f32>(r + (<usize>j << 2), load<f32>(r + (<usize>j << 2)) + b);
    }
  }
}

/**
 * The weight gradient of a group of images without the whole column matrix: dw[group] = Σ over the
 * group's images and blocks of output positions of g[n][:, block]·colsᵀ[block, :], each block's
 * columns built in this thread's scratch. A chunk is a group of consecutive images; the host sums
 * dw over groups (the groups depend on the shape only, so the sum does not depend on the threads).
 * Arguments: im2col's 0–18, 20 dw (contiguous [groups, O, C·kh·kw]), 21 positions per block, 22 g
 * (contiguous [N, O, oh·ow]), 23 O, 24 images per group, 25 GEMM scratch base, 26 its stride,
 * 27 column scratch base, 28 its stride.
 */
export function convWeightGrad(args: usize, chunk: i32, tid: i32): void {
  const a = changetype<Conv>(args);
  const out = <usize>a.out, nbMax = a.per, g = <usize>argI(args, 22), O = argI(args, 23), per = argI(args, 24);
  const L = a.oh * a.ow, K = a.C * a.kh * a.kw;
  const work = <usize>argI(args, 25) + <usize>tid * <usize>argI(args, 26);
  const cols = <usize>argI(args, 27) + <usize>tid * <usize>argI(args, 28);
  const dw = out + ((<usize>chunk * <usize>O * <usize>K) << 2);
  const n0 = chunk * per, n1 = min(a.N, n0 + per);
  for (let n = n0; n < n1; n++) {
    const gn = g + ((<usize>n * <usize>O * <usize>L) << 2);
    for (let j0 = 0; j0 < L; j0 += nbMax) {
      const j1 = min(L, j0 + nbMax), nb = j1 - j0;
      im2colBlock(a, n, 0, a.C, 0, j0, j1, cols);
      // [O, nb] · [nb, K]: A = g's block (row stride L), B = the block's columns transposed (unit row stride)
      gemmBlock(gn + (<usize>j0 << 2), L, 1, cols, 1, nb, dw, <usize>K << 2, 0, O, 0, K, nb, work, 0, n > n0 || j0 > 0);
    }
  }
}

/**
 * The input gradient of one image without the whole column matrix: dx[n] = col2im(Wᵀ·g[n]), a
 * block of output positions at a time, the block's columns computed in this thread's scratch and
 * added into dx[n] at once. A chunk is one image. Arguments: im2col's 0–18 with 0–4 describing
 * dx (its pointer and contiguous strides), 20 unused, 21 positions per block, 22 W (contiguous
 * [O, C·kh·kw]), 23 O, 24 g (contiguous [N, O, oh·ow]), 25 GEMM scratch base, 26 its stride,
 * 27 column scratch base, 28 its stride.
 */
export function convInputGrad(args: usize, chunk: i32, tid: i32): void {
  const a = changetype<Conv>(args);
  const nbMax = a.per, w = <usize>argI(args, 22), O = argI(args, 23), g = <usize>argI(args, 24);
  const L = a.oh * a.ow, K = a.C * a.kh * a.kw, n = chunk;
  const work = <usize>argI(args, 25) + <usize>tid * <usize>argI(args, 26);
  const cols = <usize>argI(args, 27) + <usize>tid * <usize>argI(args, 28);
  memory.fill(<usize>a.x + ((<usize>n * <usize>a.xn) << 2), 0, <usize>a.xn << 2);
  const gn = g + ((<usize>n * <usize>O * <usize>L) << 2);
  for (let j0 = 0; j0 < L; j0 += nbMax) {
    const j1 = min(L, j0 + nbMax), nb = j1 - j0;
    // [K, nb] = Wᵀ [K, O] (W read with unit row stride) · g[n][:, block] [O, nb]
    gemmBlock(w, 1, K, gn + (<usize>j0 << 2), L, 1, cols, <usize>nb << 2, 0, K, 0, nb, O, work, 0, false);
    col2imBlock(a, n, j0, j1, cols);
  }
}
