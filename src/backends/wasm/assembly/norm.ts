// Row normalisation, the core of layer and group normalisation: each row of a dense [rows, n]
// float32 array becomes (x − μ)/√(σ² + eps), with μ and the biased σ² of that row. Composed, it
// took two reductions and five elementwise passes forward and about a dozen backward; here it is
// one kernel each way, a chunk being a range of whole rows.
import { argI, argF } from './common';
import { vexp, vexpNonPos } from './vmath';

@inline function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/** Σ of n floats at p, in two f32x4 accumulators. */
@inline function rowSum(p: usize, n: i32): f32 {
  let a = f32x4.splat(0), b = a;
  let i = 0;
  for (; i + 8 <= n; i += 8) {
    a = f32x4.add(a, v128.load(p + (<usize>i << 2)));
    b = f32x4.add(b, v128.load(p + (<usize>i << 2), 16));
  }
  let s = hsum(f32x4.add(a, b));
  for (; i < n; i++) s += load<f32>(p + (<usize>i << 2));
  return s;
}

/**
 * Forward. Arguments (words at `args`): 0 x, 1 y, 2 rstd (one per row), 3 rows, 4 n, 5 rows per
 * chunk, 6 eps (f32). Two passes over the row: μ, then Σ(x − μ)², as the composed mean-of-squared-
 * deviations did (no E[x²] − μ² cancellation).
 */
export function normRows(args: usize, chunk: i32, tid: i32): void {
  const X = <usize>argI(args, 0), Y = <usize>argI(args, 1), R = <usize>argI(args, 2);
  const rows = argI(args, 3), n = argI(args, 4), per = argI(args, 5);
  const eps = argF(args, 6);
  const r0 = chunk * per, r1 = min(rows, r0 + per);
  const inv = <f32>1 / <f32>n;
  for (let r = r0; r < r1; r++) {
    const p = X + ((<usize>r * <usize>n) << 2), q = Y + ((<usize>r * <usize>n) << 2);
    const mu = rowSum(p, n) * inv;
    const vmu = f32x4.splat(mu);
    let a = f32x4.splat(0), b = a;
    let i = 0;
    for (; i + 8 <= n; i += 8) {
      const d0 = f32x4.sub(v128.load(p + (<usize>i << 2)), vmu), d1 = f32x4.sub(v128.load(p + (<usize>i << 2), 16), vmu);
      a = f32x4.add(a, f32x4.mul(d0, d0));
      b = f32x4.add(b, f32x4.mul(d1, d1));
    }
    let ss = hsum(f32x4.add(a, b));
    for (; i < n; i++) {
      const d = load<f32>(p + (<usize>i << 2)) - mu;
      ss += d * d;
    }
    const rstd = <f32>1 / Mathf.sqrt(ss * inv + eps);
    store<f32>(R + (<usize>r << 2), rstd);
    const vr = f32x4.splat(rstd);
    i = 0;
    for (; i + 4 <= n; i += 4) v128.store(q + (<usize>i << 2), f32x4.mul(f32x4.sub(v128.load(p + (<usize>i << 2)), vmu), vr));
    for (; i < n; i++) store<f32>(q + (<usize>i << 2), (load<f32>(p + (<usize>i << 2)) - mu) * rstd);
  }
}

/**
 * Backward: with y the forward's output and g its gradient, per row
 *   ∂x = rstd · (g − mean(g) − y · mean(g·y)).
 * Arguments: 0 g, 1 y, 2 rstd, 3 ∂x, 4 rows, 5 n, 6 rows per chunk.
 */
export function normRowsBackward(args: usize, chunk: i32, tid: i32): void {
  const G = <usize>argI(args, 0), Y = <usize>argI(args, 1), R = <usize>argI(args, 2), D = <usize>argI(args, 3);
  const rows = argI(args, 4), n = argI(args, 5), per = argI(args, 6);
  const r0 = chunk * per, r1 = min(rows, r0 + per);
  const inv = <f32>1 / <f32>n;
  for (let r = r0; r < r1; r++) {
    const off = (<usize>r * <usize>n) << 2;
    const g = G + off, y = Y + off, d = D + off;
    let a = f32x4.splat(0), b = a;
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const gv = v128.load(g + (<usize>i << 2));
      a = f32x4.add(a, gv);
      b = f32x4.add(b, f32x4.mul(gv, v128.load(y + (<usize>i << 2))));
    }
    let sg = hsum(a), sgy = hsum(b);
    for (; i < n; i++) {
      const gs = load<f32>(g + (<usize>i << 2));
      sg += gs;
      sgy += gs * load<f32>(y + (<usize>i << 2));
    }
    const mg = sg * inv, mgy = sgy * inv, rstd = load<f32>(R + (<usize>r << 2));
    const vmg = f32x4.splat(mg), vmgy = f32x4.splat(mgy), vr = f32x4.splat(rstd);
    i = 0;
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      const t = f32x4.sub(f32x4.sub(v128.load(g + o), vmg), f32x4.mul(v128.load(y + o), vmgy));
      v128.store(d + o, f32x4.mul(t, vr));
    }
    for (; i < n; i++) {
      const o = <usize>i << 2;
      store<f32>(d + o, (load<f32>(g + o) - mg - load<f32>(y + o) * mgy) * rstd);
    }
  }
}

// ----- softmax and log-softmax over rows ---------------------------------------------------------

@inline function hmax(v: v128): f32 {
  const a = f32x4.extract_lane(v, 0), b = f32x4.extract_lane(v, 1), c = f32x4.extract_lane(v, 2), d = f32x4.extract_lane(v, 3);
  // NaN-propagating, as f32x4.max
  return a != a || b != b || c != c || d != d ? NaN : max(max(a, b), max(c, d));
}

@inline function exp1(x: f32): f32 {
  return f32x4.extract_lane(vexp(f32x4.splat(x)), 0);
}

/**
 * Forward: y = softmax(x) or log-softmax(x) per row, as the composed x − logsumexp(x) with the
 * row maximum m taken as 0 where it is infinite (so that rows of −∞ give NaN, as in PyTorch).
 * Arguments: 0 x, 1 y, 2 rows, 3 n, 4 rows per chunk, 5 log (0/1).
 * Softmax stores e = exp(x − m) and scales it by 1/Σe; where Σe is 0 or infinite it recomputes
 * exp(x − m − log Σe), the composed formula, which gives those rows their NaNs and zeros.
 */
export function softmaxRows(args: usize, chunk: i32, tid: i32): void {
  const X = <usize>argI(args, 0), Y = <usize>argI(args, 1);
  const rows = argI(args, 2), n = argI(args, 3), per = argI(args, 4), log = argI(args, 5) != 0;
  const r0 = chunk * per, r1 = min(rows, r0 + per);
  for (let r = r0; r < r1; r++) {
    const p = X + ((<usize>r * <usize>n) << 2), q = Y + ((<usize>r * <usize>n) << 2);
    let vm = f32x4.splat(-Infinity);
    let i = 0;
    for (; i + 4 <= n; i += 4) vm = f32x4.max(vm, v128.load(p + (<usize>i << 2)));
    let m = hmax(vm);
    for (; i < n; i++) {
      const v = load<f32>(p + (<usize>i << 2));
      m = m != m || v != v ? NaN : max(m, v);
    }
    if (Mathf.abs(m) == Infinity) m = 0;
    const vmm = f32x4.splat(m);
    let acc = f32x4.splat(0);
    let s: f32 = 0;
    i = 0;
    for (; i + 4 <= n; i += 4) {
      const e = vexpNonPos(f32x4.sub(v128.load(p + (<usize>i << 2)), vmm));
      if (!log) v128.store(q + (<usize>i << 2), e);
      acc = f32x4.add(acc, e);
    }
    s = hsum(acc);
    for (; i < n; i++) {
      const e = exp1(load<f32>(p + (<usize>i << 2)) - m);
      if (!log) store<f32>(q + (<usize>i << 2), e);
      s += e;
    }
    const lse = m + Mathf.log(s);
    if (log) {
      const vl = f32x4.splat(lse);
      i = 0;
      for (; i + 4 <= n; i += 4) v128.store(q + (<usize>i << 2), f32x4.sub(v128.load(p + (<usize>i << 2)), vl));
      for (; i < n; i++) store<f32>(q + (<usize>i << 2), load<f32>(p + (<usize>i << 2)) - lse);
    } else if (s > 0 && s < Infinity) {
      const vinv = f32x4.splat(<f32>1 / s);
      i = 0;
      for (; i + 4 <= n; i += 4) v128.store(q + (<usize>i << 2), f32x4.mul(v128.load(q + (<usize>i << 2)), vinv));
      for (; i < n; i++) store<f32>(q + (<usize>i << 2), load<f32>(q + (<usize>i << 2)) / s);
    } else {
      for (i = 0; i < n; i++) store<f32>(q + (<usize>i << 2), exp1(load<f32>(p + (<usize>i << 2)) - lse));
    }
  }
}

/**
 * Backward, with y the forward's output and g its gradient, per row:
 *   softmax:      ∂x = y·(g − Σ g·y)
 *   log-softmax:  ∂x = g − exp(y)·Σ g
 * Arguments: 0 g, 1 y, 2 ∂x, 3 rows, 4 n, 5 rows per chunk, 6 log (0/1).
 */
export function softmaxRowsBackward(args: usize, chunk: i32, tid: i32): void {
  const G = <usize>argI(args, 0), Y = <usize>argI(args, 1), D = <usize>argI(args, 2);
  const rows = argI(args, 3), n = argI(args, 4), per = argI(args, 5), log = argI(args, 6) != 0;
  const r0 = chunk * per, r1 = min(rows, r0 + per);
  for (let r = r0; r < r1; r++) {
    const off = (<usize>r * <usize>n) << 2;
    const g = G + off, y = Y + off, d = D + off;
    let acc = f32x4.splat(0);
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const gv = v128.load(g + (<usize>i << 2));
      acc = f32x4.add(acc, log ? gv : f32x4.mul(gv, v128.load(y + (<usize>i << 2))));
    }
    let s = hsum(acc);
    for (; i < n; i++) {
      const gs = load<f32>(g + (<usize>i << 2));
      s += log ? gs : gs * load<f32>(y + (<usize>i << 2));
    }
    const vs = f32x4.splat(s);
    i = 0;
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      const gv = v128.load(g + o), yv = v128.load(y + o);
      v128.store(d + o, log ? f32x4.sub(gv, f32x4.mul(vexpNonPos(yv), vs)) : f32x4.mul(yv, f32x4.sub(gv, vs)));
    }
    for (; i < n; i++) {
      const o = <usize>i << 2;
      const gs = load<f32>(g + o), ys = load<f32>(y + o);
      store<f32>(d + o, log ? gs - exp1(ys) * s : ys * (gs - s));
    }
  }
}
