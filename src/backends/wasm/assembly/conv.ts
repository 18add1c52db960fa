// im2col and col2im over [N, C, H, W] planes (4-byte elements). A chunk is a run of (n, c) planes,
// so chunks write disjoint parts of the output and col2im needs no atomics.
import { argI } from './common';

/**
 * Arguments: 0 x, 1..4 x strides (n, c, h, w), 5 N, 6 C, 7 H, 8 W, 9 kh, 10 kw, 11 sh, 12 sw,
 * 13 ph, 14 pw, 15 dh, 16 dw, 17 oh, 18 ow, 19 pad value (bits), 20 out, 21 planes per chunk.
 */
export function im2col(args: usize, chunk: i32, _tid: i32): void {
  const x = <usize>argI(args, 0);
  const xn = argI(args, 1), xc = argI(args, 2), xh = argI(args, 3), xw = argI(args, 4);
  const N = argI(args, 5), C = argI(args, 6), H = argI(args, 7), W = argI(args, 8);
  const kh = argI(args, 9), kw = argI(args, 10), sh = argI(args, 11), sw = argI(args, 12);
  const ph = argI(args, 13), pw = argI(args, 14), dh = argI(args, 15), dw = argI(args, 16);
  const oh = argI(args, 17), ow = argI(args, 18), pad = argI(args, 19);
  const out = <usize>argI(args, 20), per = argI(args, 21);
  const p0 = chunk * per, p1 = min(N * C, p0 + per);
  const plane = <usize>(kh * kw * oh * ow);
  for (let pl = p0; pl < p1; pl++) {
    const n = pl / C, c = pl - n * C;
    const src = x + ((<usize>n * <usize>xn + <usize>c * <usize>xc) << 2);
    let dst = out + ((<usize>pl * plane) << 2);
    for (let ki = 0; ki < kh; ki++) {
      for (let kj = 0; kj < kw; kj++) {
        // valid output columns: 0 ≤ ox·sw − pw + kj·dw < W
        const off = kj * dw - pw;
        let lo = off >= 0 ? 0 : (-off + sw - 1) / sw;
        let hi = W - 1 - off < 0 ? 0 : (W - 1 - off) / sw + 1;
        if (hi > ow) hi = ow;
        if (lo > hi) lo = hi;
        for (let oy = 0; oy < oh; oy++) {
          const iy = oy * sh - ph + ki * dh;
          if (iy < 0 || iy >= H) {
            for (let ox = 0; ox < ow; ox++) store<i32>(dst + (<usize>ox << 2), pad);
          } else {
            for (let ox = 0; ox < lo; ox++) store<i32>(dst + (<usize>ox << 2), pad);
            const row = src + ((<usize>iy * <usize>xh) << 2);
            const first = lo * sw + off;
            if (sw == 1 && xw == 1) {
              memory.copy(dst + (<usize>lo << 2), row + (<usize>first << 2), <usize>(hi - lo) << 2);
            } else {
              const step = <usize>(sw * xw) << 2;
              let p = row + ((<usize>first * <usize>xw) << 2);
              for (let ox = lo; ox < hi; ox++) {
                store<i32>(dst + (<usize>ox << 2), load<i32>(p));
                p += step;
              }
            }
            for (let ox = hi; ox < ow; ox++) store<i32>(dst + (<usize>ox << 2), pad);
          }
          dst += <usize>ow << 2;
        }
      }
    }
  }
}

/**
 * The adjoint of im2col: sums columns back into zeroed planes. cols is contiguous
 * [N, C·kh·kw, oh·ow] float32. Arguments as im2col's, with 0 cols and strides unused.
 */
export function col2im(args: usize, chunk: i32, _tid: i32): void {
  const cols = <usize>argI(args, 0);
  const N = argI(args, 5), C = argI(args, 6), H = argI(args, 7), W = argI(args, 8);
  const kh = argI(args, 9), kw = argI(args, 10), sh = argI(args, 11), sw = argI(args, 12);
  const ph = argI(args, 13), pw = argI(args, 14), dh = argI(args, 15), dw = argI(args, 16);
  const oh = argI(args, 17), ow = argI(args, 18);
  const out = <usize>argI(args, 20), per = argI(args, 21);
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
        let lo = off >= 0 ? 0 : (-off + sw - 1) / sw;
        let hi = W - 1 - off < 0 ? 0 : (W - 1 - off) / sw + 1;
        if (hi > ow) hi = ow;
        if (lo > hi) lo = hi;
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
