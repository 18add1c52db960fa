/**
 * Base distributions of flows: `logProb(x, ctx?)` → [N] (summed over the event dimensions) and
 * `sample(n, rng, ctx?, { temperature })` → [n, ...eventShape]. Distributions are Modules, so a
 * learnable one (a diagonal normal, a conditional normal with its network) saves like any other.
 *
 * Temperature T samples the Gaussian at standard deviation T·σ (Kingma & Dhariwal 2018, Sec. 5.4
 * and Fig. 8: "sampling with temperature T ... p_{θ,T}(x) ∝ (p_θ(x))^{T²}").
 */
import { type Tensor, type Generator, type DType, randn, zeros } from '../../core/index.ts';
import { shapeStr } from '../../core/shape.ts';
import { Module, parameter } from '../../nn/module.ts';
import type { TensorModule } from '../../nn/layers/common.ts';
import { sumEvent } from './bijector.ts';

export interface SampleCallOptions {
  /** Scale of the base noise (1 = the model; < 1 trades diversity for quality, as in Glow). */
  temperature?: number;
}

const LOG_2PI = Math.log(2 * Math.PI);

export abstract class Distribution extends Module {
  /** Shape of one item (without the batch dimension). */
  abstract readonly eventShape: readonly number[];
  /** log density of each item: x [N, ...eventShape] → [N]. */
  abstract logProb(x: Tensor, ctx?: Tensor | null): Tensor;
  /** n items [n, ...eventShape]; a conditional distribution takes n rows of context. */
  abstract sample(n: number, rng: Generator, ctx?: Tensor | null, opts?: SampleCallOptions): Tensor;
  forward(x: Tensor, ctx?: Tensor | null): Tensor {
    return this.logProb(x, ctx);
  }
}

function checkEvent(x: Tensor, eventShape: readonly number[], who: string): void {
  if (x.ndim !== eventShape.length + 1 || eventShape.some((d, i) => x.shape[i + 1] !== d)) {
    throw new Error(`${who}: expected input [N, ${eventShape.join(', ')}], got ${shapeStr(x.shape)}`);
  }
}

/** log N(x; μ, σ²) summed over the event: −½((x−μ)/σ)² − log σ − ½ log 2π. */
export function normalLogProb(x: Tensor, loc: Tensor | null, logScale: Tensor | null): Tensor {
  let u = loc ? x.sub(loc) : x;
  if (logScale) u = u.mul(logScale.neg().exp());
  let lp = u.square().add(LOG_2PI).mul(-0.5);
  if (logScale) lp = lp.sub(logScale.expand(lp.shape));
  return sumEvent(lp);
}

/** N(0, I) over `eventShape`. */
export class StandardNormal extends Distribution {
  readonly eventShape: readonly number[];
  readonly dtype: DType;
  constructor(eventShape: readonly number[], opts: { dtype?: 'float32' | 'float64' } = {}) {
    super();
    this.eventShape = [...eventShape];
    this.dtype = opts.dtype ?? 'float32';
  }
  logProb(x: Tensor): Tensor {
    checkEvent(x, this.eventShape, 'StandardNormal');
    return normalLogProb(x, null, null);
  }
  sample(n: number, rng: Generator, _ctx?: Tensor | null, opts: SampleCallOptions = {}): Tensor {
    const eps = randn([n, ...this.eventShape], { rng, dtype: this.dtype });
    const T = opts.temperature ?? 1;
    return T === 1 ? eps : eps.mul(T);
  }
}

/** N(μ, diag σ²) with learnable μ (`loc`) and log σ (`logScale`), both of `eventShape`. */
export class DiagonalNormal extends Distribution {
  readonly eventShape: readonly number[];
  readonly loc: Tensor;
  readonly logScale: Tensor;
  constructor(eventShape: readonly number[], opts: { dtype?: 'float32' | 'float64' } = {}) {
    super();
    this.eventShape = [...eventShape];
    this.loc = parameter(zeros(eventShape, { dtype: opts.dtype ?? 'float32' }));
    this.logScale = parameter(zeros(eventShape, { dtype: opts.dtype ?? 'float32' }));
  }
  logProb(x: Tensor): Tensor {
    checkEvent(x, this.eventShape, 'DiagonalNormal');
    return normalLogProb(x, this.loc, this.logScale);
  }
  sample(n: number, rng: Generator, _ctx?: Tensor | null, opts: SampleCallOptions = {}): Tensor {
    const eps = randn([n, ...this.eventShape], { rng, dtype: this.loc.dtype, backend: this.loc.backend }).mul(opts.temperature ?? 1);
    return eps.mul(this.logScale.exp()).add(this.loc);
  }
}

/**
 * N(μ(ctx), diag σ(ctx)²): a network maps the context [N, ...] to [N, 2·D] (D = ∏eventShape),
 * read as [μ, log σ]. Used by conditional flows whose base depends on a label or another variable.
 */
export class ConditionalDiagonalNormal extends Distribution {
  readonly eventShape: readonly number[];
  constructor(eventShape: readonly number[], readonly net: TensorModule) {
    super();
    this.eventShape = [...eventShape];
  }
  private params(ctx: Tensor | null | undefined, n: number): { loc: Tensor; logScale: Tensor } {
    if (!ctx) throw new Error('ConditionalDiagonalNormal: a context is required');
    if (ctx.shape[0] !== n) throw new Error(`ConditionalDiagonalNormal: ${ctx.shape[0]} context rows for ${n} items`);
    const h = this.net.forward(ctx);
    const D = this.eventShape.reduce((a, b) => a * b, 1);
    if (h.ndim !== 2 || h.shape[1] !== 2 * D) throw new Error(`ConditionalDiagonalNormal: the network must return [N, ${2 * D}], got ${shapeStr(h.shape)}`);
    const [loc, logScale] = h.split(D, 1) as [Tensor, Tensor];
    return { loc: loc.reshape([n, ...this.eventShape]), logScale: logScale.reshape([n, ...this.eventShape]) };
  }
  logProb(x: Tensor, ctx?: Tensor | null): Tensor {
    checkEvent(x, this.eventShape, 'ConditionalDiagonalNormal');
    const { loc, logScale } = this.params(ctx, x.shape[0]!);
    return normalLogProb(x, loc, logScale);
  }
  sample(n: number, rng: Generator, ctx?: Tensor | null, opts: SampleCallOptions = {}): Tensor {
    const { loc, logScale } = this.params(ctx, n);
    const eps = randn([n, ...this.eventShape], { rng, dtype: loc.dtype, backend: loc.backend }).mul(opts.temperature ?? 1);
    return eps.mul(logScale.exp()).add(loc);
  }
}
