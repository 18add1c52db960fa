/** Helpers for walking strided views on the CPU (shared by the cpu backend and tests). */
import { sizeOf } from '../../core/shape.ts';

/**
 * Storage index of every element of a strided view, in row-major order of `shape`.
 * The odometer walks the innermost dimension in a tight loop.
 */
export function stridedIndex(shape: readonly number[], strides: readonly number[], offset: number): Int32Array {
  const n = sizeOf(shape);
  const out = new Int32Array(n);
  const nd = shape.length;
  if (n === 0) return out;
  if (nd === 0) {
    out[0] = offset;
    return out;
  }
  const L = shape[nd - 1]!;
  const S = strides[nd - 1]!;
  const idx = new Array<number>(nd).fill(0);
  let base = offset;
  let o = 0;
  for (;;) {
    for (let j = 0; j < L; j++) out[o++] = base + j * S;
    let d = nd - 2;
    for (; d >= 0; d--) {
      idx[d]!++;
      base += strides[d]!;
      if (idx[d]! < shape[d]!) break;
      base -= idx[d]! * strides[d]!;
      idx[d] = 0;
    }
    if (d < 0) break;
  }
  return out;
}

/** True when the view's elements are `offset … offset+size-1` in row-major order. */
export function isDense(shape: readonly number[], strides: readonly number[]): boolean {
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && strides[i] !== acc) return false;
    acc *= shape[i]!;
  }
  return true;
}
