/**
 * ODE solvers over tensor states, shared by the probability-flow ODE of diffusion models and by
 * continuous normalizing flows. The state is a list of tensors (e.g. [x, Δlog p]).
 */
import { type Tensor, scope, keep, noGrad } from '../core/index.ts';

export type OdeFn = (t: number, y: readonly Tensor[]) => Tensor[];

export interface OdeOptions {
  /** Relative and absolute tolerances of the local error (default 1e-5 each). */
  rtol?: number;
  atol?: number;
  /** First step size (default: estimated as in Hairer et al., II.4). */
  h0?: number;
  /** Give up after this many accepted + rejected steps (default 10 000). */
  maxSteps?: number;
  signal?: AbortSignal;
}

export interface OdeResult {
  y: Tensor[];
  /** Function evaluations, accepted and rejected steps. */
  nfe: number;
  accepted: number;
  rejected: number;
}

// Dormand & Prince (1980), RK5(4)7M: the Butcher tableau (Hairer, Nørsett & Wanner, Table II.5.2).
const C = [0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1, 1];
const A: number[][] = [
  [],
  [1 / 5],
  [3 / 40, 9 / 40],
  [44 / 45, -56 / 15, 32 / 9],
  [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729],
  [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656],
  [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84],
];
/** 5th-order weights (= last row of A: the FSAL property) and 4th-order ones. */
const B5 = [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0];
const B4 = [5179 / 57600, 0, 7571 / 16695, 393 / 640, -92097 / 339200, 187 / 2100, 1 / 40];

/** Hand kept tensors back to the caller's scope (a detached alias is tracked there; the kept one is freed). */
function adopt(ys: readonly Tensor[]): Tensor[] {
  return ys.map((v) => {
    const a = v.detach();
    v.dispose();
    return a;
  });
}

function combine(y: readonly Tensor[], h: number, ks: readonly (readonly Tensor[])[], w: readonly number[]): Tensor[] {
  return y.map((yi, i) => {
    let acc = yi;
    ks.forEach((k, j) => {
      if (w[j]) acc = acc.add(k[i]!.mul(h * w[j]!));
    });
    return acc;
  });
}

/** RMS of err / (atol + rtol·max(|y0|, |y1|)) over every element of every state tensor. */
function errorNorm(err: readonly Tensor[], y0: readonly Tensor[], y1: readonly Tensor[], rtol: number, atol: number): number {
  let sum = 0, n = 0;
  err.forEach((e, i) => {
    const tol = y0[i]!.abs().maximum(y1[i]!.abs()).mul(rtol).add(atol);
    sum += e.div(tol).square().sum().itemSync();
    n += e.size;
  });
  return Math.sqrt(sum / Math.max(1, n));
}

/**
 * Integrate dy/dt = f(t, y) from t0 to t1 (either direction) with the adaptive Dormand–Prince
 * RK5(4) method: local extrapolation, FSAL, and the standard step-size controller
 * h ← h·min(5, max(0.2, 0.9·err^(−1/5))) (Hairer, Nørsett & Wanner, Solving ODEs I, II.4–5).
 * Runs under noGrad unless f needs gradients inside (it may call grad itself). Reads the error
 * norm back synchronously (cpu and wasm backends).
 */
export function odeintDopri5(f: OdeFn, y0: readonly Tensor[], t0: number, t1: number, opts: OdeOptions = {}): OdeResult {
  const rtol = opts.rtol ?? 1e-5, atol = opts.atol ?? 1e-5, maxSteps = opts.maxSteps ?? 10000;
  const dir = Math.sign(t1 - t0) || 1;
  let t = t0;
  let y = y0.map((v) => keep(v.detach()));
  let nfe = 0, accepted = 0, rejected = 0;
  let k1 = scope(() => f(t, y)).map((k) => keep(k));
  nfe++;
  let h: number;
  if (opts.h0) h = Math.abs(opts.h0);
  else {
    // Initial step (Hairer et al. II.4): h = 0.01·‖y0‖/‖f0‖, bounded by the interval.
    const d0 = noGrad(() => scope(() => errorNorm(y, y, y, rtol, atol) || 1e-5));
    const d1 = noGrad(() => scope(() => errorNorm(k1, y, y, rtol, atol) || 1e-5));
    h = Math.min(Math.abs(t1 - t0), d0 < 1e-5 || d1 < 1e-5 ? 1e-6 : (0.01 * d0) / d1);
  }
  while (dir * (t1 - t) > 1e-12 * Math.max(1, Math.abs(t1))) {
    if (opts.signal?.aborted) throw new Error('odeint: aborted');
    if (accepted + rejected >= maxSteps) throw new Error(`odeint: more than ${maxSteps} steps between t=${t0} and t=${t1} (stiff problem, or tolerances too tight?); reached t=${t}`);
    h = Math.min(h, Math.abs(t1 - t));
    const hs = dir * h;
    const step = scope(() => {
      const ks: Tensor[][] = [k1];
      for (let s = 1; s < 7; s++) {
        const ys = combine(y, hs, ks, A[s]!);
        ks.push(f(t + C[s]! * hs, ys));
      }
      const y5 = combine(y, hs, ks, B5);
      const errT = ks[0]!.map((_, i) => ks.reduce((acc, k, j) => (B5[j]! - B4[j]! ? acc.add(k[i]!.mul(hs * (B5[j]! - B4[j]!))) : acc), y[i]!.mul(0)));
      const err = noGrad(() => errorNorm(errT, y, y5, rtol, atol));
      return { y5, k7: ks[6]!, err };
    });
    nfe += 6;
    if (step.err <= 1 || h < 1e-14) {
      t += hs;
      for (const v of y) v.dispose();
      for (const v of k1) v.dispose();
      y = step.y5.map((v) => keep(v));
      k1 = step.k7.map((v) => keep(v)); // FSAL: the last stage is the next step's first
      accepted++;
    } else {
      for (const v of [...step.y5, ...step.k7]) v.dispose();
      rejected++;
    }
    const factor = step.err === 0 ? 5 : Math.min(5, Math.max(0.2, 0.9 * Math.pow(step.err, -1 / 5)));
    h *= step.err <= 1 ? factor : Math.min(1, factor);
  }
  for (const v of k1) v.dispose();
  return { y: adopt(y), nfe, accepted, rejected };
}

/**
 * Fixed-step classical Runge–Kutta (RK4), for comparisons and when a fixed NFE budget is wanted.
 */
export function odeintRk4(f: OdeFn, y0: readonly Tensor[], t0: number, t1: number, steps: number): OdeResult {
  const h = (t1 - t0) / steps;
  let y = y0.map((v) => keep(v.detach()));
  for (let i = 0; i < steps; i++) {
    const t = t0 + i * h;
    const next = scope(() => {
      const k1 = f(t, y);
      const k2 = f(t + h / 2, combine(y, h, [k1], [0.5]));
      const k3 = f(t + h / 2, combine(y, h, [k2], [0.5]));
      const k4 = f(t + h, combine(y, h, [k3], [1]));
      return combine(y, h, [k1, k2, k3, k4], [1 / 6, 1 / 3, 1 / 3, 1 / 6]);
    });
    for (const v of y) v.dispose();
    y = next.map((v) => keep(v));
  }
  return { y: adopt(y), nfe: 4 * steps, accepted: steps, rejected: 0 };
}
