// Fused optimizer updates: one pass over a parameter, its gradient and its state, where the
// composed update took a dozen elementwise passes (and a dozen kernel launches per tensor).
import { argI, argF } from './common';

/**
 * One Adam/AdamW step (torch.optim's single-tensor update, in its order of operations) over dense
 * float32 arrays. Arguments (words at `args`): 0 p, 1 g, 2 m, 3 v, 4 p′, 5 m′, 6 v′, 7 n, 8 chunk
 * size, 9 flags (1 maximize, 2 decoupled weight decay), then f32: 10 β₁, 11 β₂, 12 eps,
 * 13 weight decay (Adam: added to the gradient; AdamW: the factor 1 − lr·wd on p), 14 step size
 * lr/(1 − β₁ᵗ), 15 √(1 − β₂ᵗ).
 *   g ← ±g (+ wd·p)        p ← p·(1 − lr·wd)   (AdamW)
 *   m′ = β₁m + (1 − β₁)g    v′ = β₂v + (1 − β₂)g²
 *   p′ = p − step·m′ / (√v′ / √(1 − β₂ᵗ) + eps)
 */
export function adam(args: usize, chunk: i32, tid: i32): void {
  const n = argI(args, 7), cs = argI(args, 8);
  const i0 = chunk * cs, i1 = min(n, i0 + cs);
  const flags = argI(args, 9);
  const b1 = argF(args, 10), b2 = argF(args, 11), eps = argF(args, 12), wd = argF(args, 13), step = argF(args, 14), bc2 = argF(args, 15);
  const maximize = (flags & 1) != 0, decoupled = (flags & 2) != 0;
  const P = <usize>argI(args, 0), G = <usize>argI(args, 1), M = <usize>argI(args, 2), V = <usize>argI(args, 3);
  const P2 = <usize>argI(args, 4), M2 = <usize>argI(args, 5), V2 = <usize>argI(args, 6);
  const vb1 = f32x4.splat(b1), vc1 = f32x4.splat(<f32>1 - b1), vb2 = f32x4.splat(b2), vc2 = f32x4.splat(<f32>1 - b2);
  const veps = f32x4.splat(eps), vwd = f32x4.splat(wd), vstep = f32x4.splat(step), vbc2 = f32x4.splat(bc2);
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const o = <usize>i << 2;
    let p = v128.load(P + o), g = v128.load(G + o);
    if (maximize) g = f32x4.neg(g);
    if (decoupled) p = f32x4.mul(p, vwd);
    else if (wd != 0) g = f32x4.add(g, f32x4.mul(p, vwd));
    const m = f32x4.add(f32x4.mul(v128.load(M + o), vb1), f32x4.mul(g, vc1));
    const v = f32x4.add(f32x4.mul(v128.load(V + o), vb2), f32x4.mul(f32x4.mul(g, g), vc2));
    const denom = f32x4.add(f32x4.div(f32x4.sqrt(v), vbc2), veps);
    v128.store(M2 + o, m);
    v128.store(V2 + o, v);
    v128.store(P2 + o, f32x4.add(p, f32x4.mul(f32x4.div(m, denom), f32x4.neg(vstep))));
  }
  for (; i < i1; i++) {
    const o = <usize>i << 2;
    let p = load<f32>(P + o), g = load<f32>(G + o);
    if (maximize) g = -g;
    if (decoupled) p = p * wd;
    else if (wd != 0) g = g + p * wd;
    const m = load<f32>(M + o) * b1 + g * (<f32>1 - b1);
    const v = load<f32>(V + o) * b2 + g * g * (<f32>1 - b2);
    const denom = Mathf.sqrt(v) / bc2 + eps;
    store<f32>(M2 + o, m);
    store<f32>(V2 + o, v);
    store<f32>(P2 + o, p + (m / denom) * -step);
  }
}
