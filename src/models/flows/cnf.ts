/**
 * Continuous normalizing flows (Chen, Rubanova, Bettencourt & Duvenaud 2018; FFJORD, Grathwohl,
 * Chen, Bettencourt, Sutskever & Duvenaud 2019). The bijector is the flow of an ODE dz/dt = f(z, t)
 * from t = 0 (data) to t = T (latent); by the instantaneous change of variables (Chen et al.
 * Theorem 1)
 *   d log p(z(t))/dt = −tr(∂f/∂z(t)),   so   log|det ∂z(T)/∂z(0)| = ∫₀ᵀ tr(∂f/∂z) dt,
 * which is integrated alongside z as the augmented state [z, ℓ].
 *
 * The trace is exact — Σᵢ (J eᵢ)ᵢ from D Jacobian-vector products, cheap for 2-D — or FFJORD's
 * Hutchinson estimator tr J = E[εᵀ J ε] with one Rademacher ε drawn per solve (Grathwohl et al.
 * Sec. 3.1), unbiased for the log-density. Jacobian-vector products are carried forward through
 * the network (forward mode), so training needs first-order gradients only.
 *
 * Solvers: 'dopri5' is the shared adaptive Dormand–Prince of src/models/ode.ts (the probability-
 * flow ODE of diffusion uses the same), for evaluation and sampling under noGrad — that solver
 * detaches its state, so it carries no gradients. 'rk4' is a fixed-step classical Runge–Kutta kept
 * here because it must record the autograd graph through every stage (discretise-then-optimise
 * training, and the Jacobian checks of the bijector property test).
 */
import { type Tensor, type Generator, full, zeros, eye, bernoulli, concat, noGrad, isGradEnabled } from '../../core/index.ts';
import { shapeStr } from '../../core/shape.ts';
import { Module } from '../../nn/module.ts';
import { Linear } from '../../nn/layers/linear.ts';
import { ModuleList } from '../../nn/layers/container.ts';
import { odeintDopri5 } from '../ode.ts';
import { Bijector, type BijectorCallOptions, type ForwardResult, type InverseResult, type OdeSolverSpec } from './bijector.ts';

type FloatDType = 'float32' | 'float64';

/**
 * FFJORD's ConcatSquashLinear (lib/layers/diffeq_layers/basic.py): y = (W x + b) ⊙ σ(W_g t + b_g) + W_b t.
 * Linear in x for a fixed t, so its Jacobian-vector product is (W v) ⊙ σ(W_g t + b_g).
 */
export class ConcatSquashLinear extends Module {
  readonly _layer: Linear;
  readonly _hyper_gate: Linear;
  readonly _hyper_bias: Linear;
  constructor(inFeatures: number, outFeatures: number, opts: { rng: Generator; dtype?: FloatDType }) {
    super();
    this._layer = new Linear(inFeatures, outFeatures, opts);
    this._hyper_gate = new Linear(1, outFeatures, opts);
    this._hyper_bias = new Linear(1, outFeatures, { ...opts, bias: false });
  }
  gate(t: Tensor): Tensor {
    return this._hyper_gate.forward(t).sigmoid();
  }
  forward(t: Tensor, x: Tensor): Tensor {
    return this._layer.forward(x).mul(this.gate(t)).add(this._hyper_bias.forward(t));
  }
}

export interface OdeNetOptions {
  /** Hidden sizes (FFJORD's toy models: 64-64-64). */
  hidden: readonly number[];
  /** 'tanh' (default) or 'softplus'; both smooth, as the trace needs. */
  activation?: 'tanh' | 'softplus';
  contextFeatures?: number;
  rng: Generator;
  dtype?: FloatDType;
}

/** The dynamics f(z, t, ctx): ConcatSquash layers with a smooth activation. */
export class OdeNet extends Module {
  readonly layers: ModuleList<ConcatSquashLinear>;
  readonly activation: 'tanh' | 'softplus';
  readonly features: number;
  constructor(features: number, opts: OdeNetOptions) {
    super();
    const sizes = [features + (opts.contextFeatures ?? 0), ...opts.hidden, features];
    this.layers = new ModuleList(sizes.slice(1).map((o, i) => new ConcatSquashLinear(sizes[i]!, o, { rng: opts.rng, dtype: opts.dtype })));
    this.activation = opts.activation ?? 'tanh';
    this.features = features;
  }

  private timeTensor(t: number, like: Tensor): Tensor {
    return full([1, 1], t, { dtype: like.dtype, backend: like.backend });
  }

  forward(t: number, z: Tensor, ctx?: Tensor | null): Tensor {
    return this.jvp(t, z, null, ctx).f;
  }

  /**
   * f(z, t) and the Jacobian-vector products J·v for tangents `vs` [K, N, D] (forward mode through
   * the layers: a linear layer maps v to (W v) ⊙ gate, an activation multiplies by its derivative).
   */
  jvp(t: number, z: Tensor, vs: Tensor | null, ctx?: Tensor | null): { f: Tensor; jv: Tensor | null } {
    const tt = this.timeTensor(t, z);
    let h = ctx ? concat([z, ctx.reshape([ctx.shape[0]!, -1]).cast(z.dtype)], 1) : z;
    let dh = vs;
    const n = this.layers.length;
    for (let i = 0; i < n; i++) {
      const layer = this.layers.at(i);
      const g = layer.gate(tt);
      h = layer._layer.forward(h).mul(g).add(layer._hyper_bias.forward(tt));
      if (dh) {
        const W = i === 0 && ctx ? layer._layer.weight.slice(1, 0, this.features) : layer._layer.weight;
        dh = dh.matmul(W.mT).mul(g);
      }
      if (i < n - 1) {
        if (this.activation === 'tanh') {
          h = h.tanh();
          if (dh) dh = dh.mul(h.square().rsub(1));
        } else {
          if (dh) dh = dh.mul(h.sigmoid());
          h = h.softplus();
        }
      }
    }
    return { f: h, jv: dh };
  }
}

export interface CNFOptions {
  /** Integration time T (default 1). */
  T?: number;
  /** 'exact' (D products; default) or 'hutchinson' (one Rademacher probe per solve; needs { rng }). */
  trace?: 'exact' | 'hutchinson';
  /** Solver used when a call does not say (default dopri5 at 1e-5 / 1e-5). */
  solver?: OdeSolverSpec;
}

/** Differentiable fixed-step RK4 over a list of tensors (records the graph through every stage). */
function rk4(f: (t: number, y: Tensor[]) => Tensor[], y0: Tensor[], t0: number, t1: number, steps: number): Tensor[] {
  const h = (t1 - t0) / steps;
  let y = y0;
  const axpy = (ys: Tensor[], k: Tensor[], a: number) => ys.map((v, i) => v.add(k[i]!.mul(a)));
  for (let s = 0; s < steps; s++) {
    const t = t0 + s * h;
    // classical RK4 stages
    const k1 = f(t, y);
    const k2 = f(t + h / 2, axpy(y, k1, h / 2));
    const k3 = f(t + h / 2, axpy(y, k2, h / 2));
    const k4 = f(t + h, axpy(y, k3, h));
    y = y.map((v, i) => v.add(k1[i]!.add(k2[i]!.mul(2)).add(k3[i]!.mul(2)).add(k4[i]!).mul(h / 6)));
  }
  return y;
}

/**
 * A continuous normalizing flow on vectors [N, D] (FFJORD). forward integrates 0 → T (data →
 * latent) with logDet = ∫ tr(∂f/∂z) dt; inverse integrates T → 0.
 */
export class CNF extends Bijector {
  readonly T: number;
  readonly trace: 'exact' | 'hutchinson';
  readonly solver: OdeSolverSpec;
  constructor(readonly net: OdeNet, opts: CNFOptions = {}) {
    super();
    this.T = opts.T ?? 1;
    this.trace = opts.trace ?? 'exact';
    this.solver = opts.solver ?? { method: 'dopri5', rtol: 1e-5, atol: 1e-5 };
  }

  /** Integrate [z, ℓ] from t0 to t1; returns z(t1) and ℓ(t1) − ℓ(t0) = ∫ tr dt. */
  private solve(z0: Tensor, t0: number, t1: number, ctx: Tensor | null | undefined, opts: BijectorCallOptions = {}): { z: Tensor; logDet: Tensor } {
    if (z0.ndim !== 2 || z0.shape[1] !== this.net.features) throw new Error(`CNF: expected [N, ${this.net.features}], got ${shapeStr(z0.shape)}`);
    const [N, D] = z0.shape as [number, number];
    const spec = opts.ode ?? this.solver;
    let probes: Tensor;
    if (this.trace === 'exact') probes = eye(D, D, { dtype: z0.dtype, backend: z0.backend }).unsqueeze(1).expand([D, N, D]);
    else {
      if (!opts.rng) throw new Error('CNF: the Hutchinson trace estimator draws a probe per solve; pass { rng }');
      probes = bernoulli(0.5, [1, N, D], { rng: opts.rng, dtype: z0.dtype, backend: z0.backend }).mul(2).sub(1);
    }
    const dynamics = (t: number, [z]: readonly Tensor[]): Tensor[] => {
      const { f, jv } = this.net.jvp(t, z!, probes, ctx);
      // exact: Σᵢ (J eᵢ)ᵢ;  Hutchinson: εᵀ (J ε)
      const tr = jv!.mul(probes).sum([0, 2]);
      return [f, tr];
    };
    const l0 = zeros([N], { dtype: z0.dtype, backend: z0.backend });
    if (spec.method === 'rk4') {
      const [z, l] = rk4(dynamics, [z0, l0], t0, t1, spec.steps ?? 8) as [Tensor, Tensor];
      return { z, logDet: l };
    }
    if (isGradEnabled() && (z0.requiresGrad || this.parameters().some((p) => p.requiresGrad))) {
      throw new Error("CNF: the dopri5 solve carries no gradients (src/models/ode.ts detaches its state); train with { ode: { method: 'rk4', steps } }, or evaluate under noGrad()");
    }
    const r = odeintDopri5((t, ys) => noGrad(() => dynamics(t, ys)), [z0, l0], t0, t1, { rtol: spec.rtol ?? 1e-5, atol: spec.atol ?? 1e-5 });
    return { z: r.y[0]!, logDet: r.y[1]! };
  }

  forward(x: Tensor, ctx?: Tensor | null, opts?: BijectorCallOptions): ForwardResult {
    const { z, logDet } = this.solve(x, 0, this.T, ctx, opts);
    return { y: z, logDet };
  }
  inverse(y: Tensor, ctx?: Tensor | null, opts?: BijectorCallOptions): InverseResult {
    const { z, logDet } = this.solve(y, this.T, 0, ctx, opts);
    return { x: z, logDet };
  }
}
