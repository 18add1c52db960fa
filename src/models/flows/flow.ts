/**
 * A normalizing flow: a base distribution and a chain of bijectors (data → latent).
 *
 *   log p(x | ctx) = log p_base(f(x) | ctx) + log|det ∂f/∂x|     (Dinh et al. 2014, eq. 1)
 *   sample:  z ~ p_base (at a temperature), x = f⁻¹(z)
 *
 * ```ts
 * const rng = new Generator(0);
 * const flow = new Flow(new StandardNormal([2]), [
 *   new AffineCoupling(halfMask(2, 0), new MLP(2, [64, 64], 4, { rng })),
 *   new AffineCoupling(halfMask(2, 1), new MLP(2, [64, 64], 4, { rng })),
 * ]);
 * const nll = flow.logProb(x).mean().neg();            // train on this
 * const xs = flow.sample(64, rng, { temperature: 0.7 });
 * ```
 */
import type { Tensor, Generator } from '../../core/index.ts';
import { shapeStr } from '../../core/shape.ts';
import { Module } from '../../nn/module.ts';
import { ModuleList } from '../../nn/layers/container.ts';
import { type Bijector, type BijectorCallOptions, zerosLogDet, layerScope } from './bijector.ts';
import type { Distribution } from './distributions.ts';

export interface FlowSampleOptions extends BijectorCallOptions {
  /** Conditioning context [n, ...] for conditional flows. */
  ctx?: Tensor | null;
  /** Standard deviation multiplier of the base noise (Glow's temperature; default 1). */
  temperature?: number;
}

export class Flow extends Module {
  readonly base: Distribution;
  readonly bijectors: ModuleList<Bijector>;

  constructor(base: Distribution, bijectors: Iterable<Bijector>) {
    super();
    this.base = base;
    this.bijectors = new ModuleList(bijectors);
  }

  /** Data → latent: z = f(x) and log|det ∂f/∂x| [N]. */
  forward(x: Tensor, ctx?: Tensor | null, opts?: BijectorCallOptions): { z: Tensor; logDet: Tensor } {
    let h = x;
    let logDet: Tensor | null = null;
    for (const b of this.bijectors) {
      const r = layerScope(() => b.forward(h, ctx, opts));
      h = r.y;
      logDet = logDet ? logDet.add(r.logDet) : r.logDet;
    }
    return { z: h, logDet: logDet ?? zerosLogDet(x) };
  }

  /** Latent → data: x = f⁻¹(z) and log|det ∂f⁻¹/∂z| [N]. */
  inverse(z: Tensor, ctx?: Tensor | null, opts?: BijectorCallOptions): { x: Tensor; logDet: Tensor } {
    let h = z;
    let logDet: Tensor | null = null;
    for (let i = this.bijectors.length - 1; i >= 0; i--) {
      const r = layerScope(() => this.bijectors.at(i).inverse(h, ctx, opts));
      h = r.x;
      logDet = logDet ? logDet.add(r.logDet) : r.logDet;
    }
    return { x: h, logDet: logDet ?? zerosLogDet(z) };
  }

  /** log p(x | ctx) in nats, one per example [N]. */
  logProb(x: Tensor, ctx?: Tensor | null, opts?: BijectorCallOptions): Tensor {
    const { z, logDet } = this.forward(x, ctx, opts);
    return this.base.logProb(z, ctx).add(logDet);
  }

  /** n draws x = f⁻¹(z), z from the base at `temperature`. */
  sample(n: number, rng: Generator, opts: FlowSampleOptions = {}): Tensor {
    return this.sampleWithLogProb(n, rng, opts).x;
  }

  /**
   * n draws and their log-density under the model, log p(x) = log p_base(z) − log|det ∂f⁻¹/∂z|
   * (at temperature 1; otherwise the density of the untempered model at the tempered draws).
   */
  sampleWithLogProb(n: number, rng: Generator, opts: FlowSampleOptions = {}): { x: Tensor; logProb: Tensor } {
    const ctx = opts.ctx ?? null;
    if (ctx && ctx.shape[0] !== n) throw new Error(`Flow.sample: ${n} samples need ${n} context rows, got ${shapeStr(ctx.shape)}`);
    const z = this.base.sample(n, rng, ctx, { temperature: opts.temperature });
    const { x, logDet } = this.inverse(z, ctx, { rng: opts.rng ?? rng, ode: opts.ode });
    return { x, logProb: this.base.logProb(z, ctx).sub(logDet) };
  }

  /** Shape of one latent item for one data item of `shape`. */
  latentShape(shape: readonly number[]): number[] {
    let s = [...shape];
    for (const b of this.bijectors) s = b.outputShape(s);
    return s;
  }
}
