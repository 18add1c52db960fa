// Fused activation backward passes.
//
// SiLU's derivative is σ(x)·(1 + x·(1 − σ(x))) = s + y·(1 − s) with s = σ(x) and y = x·s, the
// forward's output. For |x| ≤ 4 the backward recovers s as y/x instead of evaluating σ again: one
// division in place of an exponential and a division, and the product with the incoming gradient
// in the same pass (composed, it was a siluGrad kernel and a mul). Near 0, where y/x loses digits,
// s = 1/2 + x/4 (the next term, x³/48, is below half an ulp of 1/2 for |x| < 2⁻¹⁰). Beyond 4, y
// holds 1 − σ(x) only to ulp(x)/x (the error grows to 1.5e-6 at x ≈ 14), so a group of four
// with any such lane takes the exponential (vsiluGrad): rare for pre-activations of order 1.
// The y/x path is within 3.1e-7 of silu′ (float32 emulation over [−4, 4]); non-finite x gives
// NaN, as σ(x)·(1 + x·(1 − σ(x))) does at ±∞.
import { argI } from './common';
import { vsiluGrad } from './vmath';

const SMALL = memory.data<f32>([0.0009765625]); // 2⁻¹⁰
const HALF = memory.data<f32>([0.5]);
const QUARTER = memory.data<f32>([0.25]);
const ONE = memory.data<f32>([1]);
const FAR = memory.data<f32>([4]);

@inline function siluDerivFromOutput(x: v128, y: v128): v128 {
  if (v128.any_true(f32x4.gt(f32x4.abs(x), v128.load32_splat(FAR)))) return vsiluGrad(x);
  const near0 = f32x4.lt(f32x4.abs(x), v128.load32_splat(SMALL));
  const s = v128.bitselect(f32x4.add(v128.load32_splat(HALF), f32x4.mul(x, v128.load32_splat(QUARTER))), f32x4.div(y, x), near0);
  return f32x4.add(s, f32x4.mul(y, f32x4.sub(v128.load32_splat(ONE), s)));
}

/**
 * ∂x = g·silu′(x) over dense float32 arrays. Arguments (words at `args`): 0 g, 1 x, 2 y = silu(x),
 * 3 out, 4 n, 5 elements per chunk (a multiple of 4).
 */
export function siluBackward(args: usize, chunk: i32, tid: i32): void {
  const G = <usize>argI(args, 0), X = <usize>argI(args, 1), Y = <usize>argI(args, 2), O = <usize>argI(args, 3);
  const n = argI(args, 4), per = argI(args, 5);
  const i0 = chunk * per, i1 = min(n, i0 + per);
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const o = <usize>i << 2;
    v128.store(O + o, f32x4.mul(v128.load(G + o), siluDerivFromOutput(v128.load(X + o), v128.load(Y + o))));
  }
  for (; i < i1; i++) {
    const o = <usize>i << 2;
    const d = siluDerivFromOutput(f32x4.splat(load<f32>(X + o)), f32x4.splat(load<f32>(Y + o)));
    store<f32>(O + o, load<f32>(G + o) * f32x4.extract_lane(d, 0));
  }
}
