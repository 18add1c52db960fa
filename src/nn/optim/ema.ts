/**
 * Exponential moving average of weights (Polyak & Juditsky 1992): after each optimizer step,
 *
 *   ema ← decay·ema + (1 − decay)·p
 *
 * With `warmup`, update n (counting from 0) uses min(decay, (1 + n)/(10 + n)) instead, so early
 * averages forget the random initialisation quickly (TensorFlow's ExponentialMovingAverage with
 * num_updates, as diffusers' EMAModel without use_ema_warmup).
 *
 * The shadow tensors are kept out of scopes and updated with assign(), like optimizer state.
 * Only parameters are averaged; buffers (BatchNorm statistics) are left to the model.
 *
 *   const ema = new EMA(net, { decay: 0.999 });
 *   ...; opt.step(); ema.update(net);
 *   ema.copyTo(evalNet);             // sample with the averaged weights
 */
import { Tensor, keep, noGrad, scope } from '../../core/index.ts';
import { shapeStr } from '../../core/shape.ts';
import { Module } from '../module.ts';

/** A model, or a plain list of tensors (named by index). */
export type EMASource = Module | readonly Tensor[];

export interface EMAOptions {
  /** decay per update; the average's time constant is about 1/(1 − decay) updates */
  decay?: number;
  /** use min(decay, (1 + n)/(10 + n)) at update n */
  warmup?: boolean;
}

export interface EMAStateDict {
  /** shadow weights by parameter name (the model's dotted names) */
  state: Record<string, Tensor>;
  hyper: { decay: number; warmup: boolean; numUpdates: number };
}

function namedParams(model: EMASource): [string, Tensor][] {
  return model instanceof Module ? model.namedParameters() : model.map((t, i) => [String(i), t] as [string, Tensor]);
}

export class EMA {
  readonly decay: number;
  readonly warmup: boolean;
  /** Number of update() calls so far. */
  numUpdates = 0;
  /** The averaged weights, by parameter name. */
  readonly shadow = new Map<string, Tensor>();

  /** Starts the average at the model's current weights. */
  constructor(model: EMASource, opts: EMAOptions = {}) {
    this.decay = opts.decay ?? 0.9999;
    this.warmup = opts.warmup ?? false;
    if (!(this.decay >= 0 && this.decay <= 1)) throw new Error(`EMA: decay must be in [0, 1], got ${this.decay}`);
    scope(() =>
      noGrad(() => {
        for (const [name, p] of namedParams(model)) this.shadow.set(name, keep(p.detach().clone()));
      }),
    );
  }

  /** The decay the next update() will use. */
  currentDecay(): number {
    const n = this.numUpdates;
    return this.warmup ? Math.min(this.decay, (1 + n) / (10 + n)) : this.decay;
  }

  /** Fold the model's current weights into the average. */
  update(model: EMASource): void {
    const d = this.currentDecay();
    scope(() =>
      noGrad(() => {
        for (const [name, p] of this.matched(model, 'update')) {
          const s = this.shadow.get(name)!;
          s.assign(s.mul(d).add(p.mul(1 - d)));
        }
      }),
    );
    this.numUpdates++;
  }

  /** Write the averaged weights into the model's parameters. */
  copyTo(model: EMASource): void {
    scope(() =>
      noGrad(() => {
        for (const [name, p] of this.matched(model, 'copyTo')) {
          const s = this.shadow.get(name)!;
          p.assign(s.dtype === p.dtype ? s : s.cast(p.dtype));
        }
      }),
    );
  }

  stateDict(): EMAStateDict {
    return { state: Object.fromEntries(this.shadow), hyper: { decay: this.decay, warmup: this.warmup, numUpdates: this.numUpdates } };
  }

  /** Restore shadow weights and the update count (decay and warmup are the constructor's). */
  loadStateDict(sd: EMAStateDict): void {
    const missing = [...this.shadow.keys()].filter((k) => !(k in sd.state));
    const unexpected = Object.keys(sd.state).filter((k) => !this.shadow.has(k));
    if (missing.length || unexpected.length) throw new Error(`EMA.loadStateDict: missing keys [${missing.join(', ')}], unexpected keys [${unexpected.join(', ')}]`);
    for (const [k, s] of this.shadow) {
      const t = sd.state[k]!;
      if (t.shape.length !== s.shape.length || t.shape.some((d, i) => d !== s.shape[i])) throw new Error(`EMA.loadStateDict: '${k}' has shape ${shapeStr(t.shape)}, expected ${shapeStr(s.shape)}`);
    }
    scope(() =>
      noGrad(() => {
        for (const [k, s] of this.shadow) {
          const t = sd.state[k]!;
          s.assign(t.dtype === s.dtype ? t : t.cast(s.dtype));
        }
      }),
    );
    this.numUpdates = sd.hyper.numUpdates;
  }

  dispose(): void {
    for (const s of this.shadow.values()) s.dispose();
    this.shadow.clear();
  }

  private matched(model: EMASource, fn: string): [string, Tensor][] {
    const named = namedParams(model);
    if (named.length !== this.shadow.size) throw new Error(`EMA.${fn}: the model has ${named.length} parameters, the average ${this.shadow.size}`);
    for (const [name, p] of named) {
      const s = this.shadow.get(name);
      if (!s) throw new Error(`EMA.${fn}: the average has no parameter '${name}'`);
      if (s.shape.length !== p.shape.length || s.shape.some((d, i) => d !== p.shape[i])) throw new Error(`EMA.${fn}: '${name}' has shape ${shapeStr(p.shape)}, the average ${shapeStr(s.shape)}`);
    }
    return named;
  }
}
