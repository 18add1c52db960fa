/**
 * The contract every normalizing-flow layer fills (DESIGN.md, "Flows"):
 *
 *   forward(x, ctx?) → { y, logDet }   data → latent,  logDet = log|det ∂y/∂x|  (one per example)
 *   inverse(y, ctx?) → { x, logDet }   latent → data,  logDet = log|det ∂x/∂y| = −forward's logDet
 *
 * Inputs carry a leading batch dimension [N, ...event]; logDet has shape [N]. A conditional
 * bijector reads a context `ctx` [N, ...] (a class embedding, another variable); the others ignore
 * it. Bijectors are Modules, so their parameters are found by walking fields and state dicts and
 * checkpoints work as for any network.
 *
 * The change of variables (Dinh et al. 2014, eq. 1): for z = f(x),
 *   log p_X(x) = log p_Z(f(x)) + log|det ∂f/∂x|.
 */
import { type Tensor, type Generator, zeros, scope, isGradEnabled } from '../../core/index.ts';
import { Module } from '../../nn/module.ts';
import { ModuleList } from '../../nn/layers/container.ts';

/** How a continuous flow integrates its ODE (see cnf.ts). */
export interface OdeSolverSpec {
  /** 'dopri5': adaptive Dormand–Prince (src/models/ode.ts; no gradients); 'rk4': fixed steps, differentiable. */
  method: 'dopri5' | 'rk4';
  /** RK4 steps over the integration interval. */
  steps?: number;
  /** Dormand–Prince tolerances. */
  rtol?: number;
  atol?: number;
}

/** What some bijectors need at call time; the others ignore it. */
export interface BijectorCallOptions {
  /** Randomness drawn at call time (the Hutchinson trace estimator of a CNF). */
  rng?: Generator;
  /** Overrides a continuous flow's own ODE solver settings for this call. */
  ode?: OdeSolverSpec;
}

export interface ForwardResult {
  y: Tensor;
  logDet: Tensor;
}

export interface InverseResult {
  x: Tensor;
  logDet: Tensor;
}

export abstract class Bijector extends Module {
  /** Data → latent, with log|det ∂y/∂x| per example. */
  abstract override forward(x: Tensor, ctx?: Tensor | null, opts?: BijectorCallOptions): ForwardResult;
  /** Latent → data, with log|det ∂x/∂y| per example. */
  abstract inverse(y: Tensor, ctx?: Tensor | null, opts?: BijectorCallOptions): InverseResult;
  /** Shape of one latent item for one data item of `shape` (most bijectors keep it). */
  outputShape(shape: readonly number[]): number[] {
    return [...shape];
  }
  /** Shape of one data item for one latent item of `shape`. */
  inputShape(shape: readonly number[]): number[] {
    return [...shape];
  }
}

/** Bijectors applied in order (forward: first to last; inverse: last to first), log-dets summed. */
export class Chain extends Bijector {
  readonly layers: ModuleList<Bijector>;

  constructor(layers: Iterable<Bijector>) {
    super();
    this.layers = new ModuleList(layers);
  }

  forward(x: Tensor, ctx?: Tensor | null, opts?: BijectorCallOptions): ForwardResult {
    let h = x;
    let logDet: Tensor | null = null;
    for (const b of this.layers) {
      const r = layerScope(() => b.forward(h, ctx, opts));
      h = r.y;
      logDet = logDet ? logDet.add(r.logDet) : r.logDet;
    }
    return { y: h, logDet: logDet ?? zerosLogDet(x) };
  }

  inverse(y: Tensor, ctx?: Tensor | null, opts?: BijectorCallOptions): InverseResult {
    let h = y;
    let logDet: Tensor | null = null;
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const r = layerScope(() => this.layers.at(i).inverse(h, ctx, opts));
      h = r.x;
      logDet = logDet ? logDet.add(r.logDet) : r.logDet;
    }
    return { x: h, logDet: logDet ?? zerosLogDet(y) };
  }

  override outputShape(shape: readonly number[]): number[] {
    let s = [...shape];
    for (const b of this.layers) s = b.outputShape(s);
    return s;
  }
  override inputShape(shape: readonly number[]): number[] {
    let s = [...shape];
    for (let i = this.layers.length - 1; i >= 0; i--) s = this.layers.at(i).inputShape(s);
    return s;
  }
}

/**
 * The inverse bijector: forward ↔ inverse swapped (sigmoid = Inverse(logit); IAF's fast direction
 * is MAF's slow one). Its state-dict keys are those of the wrapped bijector under `base.`.
 */
export class Inverse extends Bijector {
  constructor(readonly base: Bijector) {
    super();
  }
  forward(x: Tensor, ctx?: Tensor | null, opts?: BijectorCallOptions): ForwardResult {
    const r = this.base.inverse(x, ctx, opts);
    return { y: r.x, logDet: r.logDet };
  }
  inverse(y: Tensor, ctx?: Tensor | null, opts?: BijectorCallOptions): InverseResult {
    const r = this.base.forward(y, ctx, opts);
    return { x: r.y, logDet: r.logDet };
  }
  override outputShape(shape: readonly number[]): number[] {
    return this.base.inputShape(shape);
  }
  override inputShape(shape: readonly number[]): number[] {
    return this.base.outputShape(shape);
  }
}

// ---------------------------------------------------------------------------------------------
// Small helpers shared by the bijectors

/**
 * Run one layer of a chain. Without gradients (evaluation, sampling) it runs in a memory scope of
 * its own, so that a deep flow frees each layer's intermediates (convolution columns, …) as it
 * goes instead of holding all of them until the caller's scope ends; with gradients the graph needs
 * them for backward, so they stay.
 */
export function layerScope<T>(fn: () => T): T {
  return isGradEnabled() ? fn() : scope(fn);
}

/** Zeros [N] in x's dtype and backend: the log-det of a volume-preserving map. */
export function zerosLogDet(x: Tensor): Tensor {
  return zeros([x.shape[0]!], { dtype: x.dtype, backend: x.backend });
}

/** Σ over every dimension but the first: [N, ...] → [N]. */
export function sumEvent(t: Tensor): Tensor {
  return t.ndim === 1 ? t : t.reshape([t.shape[0]!, -1]).sum(1);
}

/** Number of positions a per-channel quantity is applied at: 1 for [N, C], H·W for [N, C, H, W]. */
export function spatialSize(x: Tensor): number {
  return x.shape.slice(2).reduce((a, b) => a * b, 1);
}

/** A per-feature / per-channel vector [C] shaped to broadcast against x [N, C, ...]. */
export function channelView(v: Tensor, x: Tensor): Tensor {
  return v.reshape([1, v.shape[0]!, ...x.shape.slice(2).map(() => 1)]);
}
