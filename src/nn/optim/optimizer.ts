/**
 * Optimizer base: PyTorch's torch.optim.Optimizer in camelCase — parameter groups with per-group
 * hyperparameters, `step()`, `zeroGrad()`, `stateDict()` / `loadStateDict()`.
 *
 * Memory: `step()` runs in its own scope under noGrad, so its intermediates are freed whatever
 * scope the caller is in. Parameters are updated with `p.assign(newValue)`; optimizer state
 * tensors (momentum buffers, moments) are created once, exempted from scopes with `keep()`, and
 * updated the same way, so a training step leaves the number of live buffers unchanged after
 * the first step (which creates the state).
 */
import { Tensor, keep, noGrad, scope } from '../../core/index.ts';
import { shapeStr } from '../../core/shape.ts';

/** A parameter group: its tensors and its own copy of every hyperparameter. */
export type ParamGroup<H> = H & { params: Tensor[] };

/** Either a list of tensors (one group) or a list of groups, each overriding some defaults. */
export type ParamsArg<H> = readonly Tensor[] | readonly ({ params: readonly Tensor[] } & Partial<H>)[];

/** JSON values allowed in hyperparameters (numbers, booleans, arrays of numbers). */
export type HyperValue = number | boolean | string | readonly number[];

/**
 * What a checkpoint stores: `state` holds tensors keyed `"<param index>.<name>"` (torch's names:
 * `0.exp_avg`, `3.momentum_buffer`), where the index counts parameters across groups in order;
 * `hyper` is JSON: each group's hyperparameters with the indices of its parameters, and the
 * step count of each parameter that has state.
 */
export interface OptimizerStateDict {
  state: Record<string, Tensor>;
  hyper: {
    groups: (Record<string, HyperValue> & { params: number[] })[];
    steps: Record<string, number>;
  };
}

/** Per-parameter state: a step count and named tensors that live as long as the optimizer. */
export class ParamState {
  /** Number of updates applied to this parameter (torch's `state['step']`). */
  step = 0;
  private readonly tensors = new Map<string, Tensor>();

  get(name: string): Tensor | undefined {
    return this.tensors.get(name);
  }
  /**
   * Store `value` under `name` and return the state tensor. The first time, a new tensor object
   * (sharing `value`'s storage) is kept out of every scope; afterwards the existing object is
   * re-pointed with assign(), releasing the old values.
   */
  set(name: string, value: Tensor): Tensor {
    const cur = this.tensors.get(name);
    if (cur) return cur.assign(value);
    const t = keep(value.detach());
    this.tensors.set(name, t);
    return t;
  }
  entries(): [string, Tensor][] {
    return [...this.tensors.entries()];
  }
  dispose(): void {
    for (const t of this.tensors.values()) t.dispose();
    this.tensors.clear();
  }
}

/**
 * Base class of the optimizers. `H` is the hyperparameter record of one group (JSON values only:
 * numbers, booleans, arrays of numbers); `Optimizer` without arguments accepts any optimizer.
 */
export abstract class Optimizer<H extends { lr: number } = { lr: number }> {
  readonly paramGroups: ParamGroup<H>[];
  private readonly states = new Map<Tensor, ParamState>();

  constructor(params: ParamsArg<H>, readonly defaults: H) {
    this.validate(defaults);
    const list = [...params];
    if (list.length === 0) throw new Error(`${this.constructor.name}: got an empty parameter list`);
    const groups = list[0] instanceof Tensor ? [{ params: list as readonly Tensor[] }] : (list as readonly ({ params: readonly Tensor[] } & Partial<H>)[]);
    const seen = new Set<Tensor>();
    this.paramGroups = groups.map((g, gi) => {
      if (!g || g instanceof Tensor || !Array.isArray(g.params)) {
        throw new Error(`${this.constructor.name}: params must be an array of tensors or of { params, ...options } groups (entry ${gi} is neither)`);
      }
      for (const p of g.params) {
        if (!(p instanceof Tensor)) throw new Error(`${this.constructor.name}: group ${gi} holds something that is not a Tensor`);
        if (!p.isLeaf) throw new Error(`${this.constructor.name}: can't optimize a non-leaf tensor ${shapeStr(p.shape)} (use detach() and requiresGrad)`);
        if (seen.has(p)) throw new Error(`${this.constructor.name}: a parameter appears more than once (in group ${gi})`);
        seen.add(p);
      }
      const group = { ...defaults, ...g, params: [...g.params] } as ParamGroup<H>;
      this.validate(group);
      return group;
    });
  }

  /** Throw on invalid hyperparameters (checked for the defaults and for every group). */
  protected abstract validate(h: H): void;

  /** Update one parameter from its gradient; runs under noGrad inside step()'s scope. */
  protected abstract update(p: Tensor, grad: Tensor, group: ParamGroup<H>, state: ParamState): void;

  /** Learning rate of the first group; setting it sets every group's. */
  get lr(): number {
    return this.paramGroups[0]!.lr;
  }
  set lr(v: number) {
    for (const g of this.paramGroups) g.lr = v;
  }

  /** All parameters, in group order (the order that stateDict's indices count). */
  params(): Tensor[] {
    return this.paramGroups.flatMap((g) => g.params);
  }

  /** One update of every parameter whose `.grad` is set (parameters without a grad are skipped). */
  step(): void {
    scope(() =>
      noGrad(() => {
        for (const group of this.paramGroups) {
          for (const p of group.params) {
            if (!p.grad) continue;
            let st = this.states.get(p);
            if (!st) this.states.set(p, (st = new ParamState()));
            this.update(p, p.grad, group, st);
          }
        }
      }),
    );
  }

  /** Dispose every parameter's gradient and set it to null (torch's set_to_none=True). */
  zeroGrad(): void {
    for (const p of this.params()) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /**
   * The optimizer's state for a checkpoint. The tensors are the live state tensors (they stay
   * valid: later steps re-point them with assign()); serialise them before disposing the optimizer.
   */
  stateDict(): OptimizerStateDict {
    const index = new Map<Tensor, number>();
    this.params().forEach((p, i) => index.set(p, i));
    const state: Record<string, Tensor> = {};
    const steps: Record<string, number> = {};
    for (const [p, st] of this.states) {
      const i = index.get(p)!;
      steps[String(i)] = st.step;
      for (const [name, t] of st.entries()) state[`${i}.${name}`] = t;
    }
    const groups = this.paramGroups.map((g) => {
      const { params, ...hyper } = g;
      return { ...jsonClone(hyper as unknown as Record<string, HyperValue>), params: params.map((p) => index.get(p)!) };
    });
    return { state, hyper: { groups, steps } };
  }

  /**
   * Restore a state dict made by stateDict() for the same parameter layout (same groups, same
   * sizes, same shapes). Hyperparameters are replaced (so a schedule's current lr comes back too);
   * state tensors are copied by reference to their storage, so the caller may dispose its own.
   */
  loadStateDict(sd: OptimizerStateDict): void {
    const name = this.constructor.name;
    const { groups, steps } = sd.hyper;
    if (groups.length !== this.paramGroups.length) {
      throw new Error(`${name}.loadStateDict: the state dict has ${groups.length} parameter groups, the optimizer ${this.paramGroups.length}`);
    }
    groups.forEach((g, gi) => {
      if (g.params.length !== this.paramGroups[gi]!.params.length) {
        throw new Error(`${name}.loadStateDict: group ${gi} has ${g.params.length} parameters in the state dict, ${this.paramGroups[gi]!.params.length} in the optimizer`);
      }
    });
    const params = this.params();
    const byIndex = new Map<number, Record<string, Tensor>>();
    for (const [key, t] of Object.entries(sd.state)) {
      const dot = key.indexOf('.');
      const i = Number(key.slice(0, dot));
      if (dot <= 0 || !Number.isInteger(i) || i < 0 || i >= params.length) throw new Error(`${name}.loadStateDict: bad state key '${key}' (expected '<param index>.<name>' with index < ${params.length})`);
      const p = params[i]!;
      if (t.shape.length !== p.shape.length || t.shape.some((d, k) => d !== p.shape[k])) {
        throw new Error(`${name}.loadStateDict: '${key}' has shape ${shapeStr(t.shape)} but parameter ${i} has shape ${shapeStr(p.shape)}`);
      }
      if (!(String(i) in steps)) throw new Error(`${name}.loadStateDict: state '${key}' has no step count in hyper.steps`);
      const rec = byIndex.get(i) ?? {};
      rec[key.slice(dot + 1)] = t;
      byIndex.set(i, rec);
    }
    for (const [k, n] of Object.entries(steps)) {
      const i = Number(k);
      if (!Number.isInteger(i) || i < 0 || i >= params.length || !Number.isInteger(n) || n < 0) {
        throw new Error(`${name}.loadStateDict: bad step count '${k}': ${n} (there are ${params.length} parameters)`);
      }
    }
    // Everything checked: replace hyperparameters and state.
    groups.forEach((g, gi) => {
      const { params: _ignored, ...hyper } = g;
      Object.assign(this.paramGroups[gi]!, jsonClone(hyper as Record<string, HyperValue>));
    });
    for (const st of this.states.values()) st.dispose();
    this.states.clear();
    scope(() => noGrad(() => {
      for (const [k, n] of Object.entries(steps)) {
        const i = Number(k);
        const p = params[i]!;
        const st = new ParamState();
        st.step = n;
        for (const [sn, t] of Object.entries(byIndex.get(i) ?? {})) st.set(sn, t.dtype === p.dtype ? t : t.cast(p.dtype));
        this.states.set(p, st);
      }
    }));
  }

  /** Free the optimizer's state tensors (parameters and grads are the caller's). */
  dispose(): void {
    for (const st of this.states.values()) st.dispose();
    this.states.clear();
  }
}

function jsonClone<T extends Record<string, HyperValue>>(h: T): T {
  const out: Record<string, HyperValue> = {};
  for (const [k, v] of Object.entries(h)) out[k] = Array.isArray(v) ? [...(v as number[])] : v;
  return out as T;
}

/** Shared argument checks (torch's ValueError messages). */
export function checkHyper(cls: string, name: string, v: number, ok: boolean): void {
  if (typeof v !== 'number' || Number.isNaN(v) || !ok) throw new Error(`${cls}: invalid ${name} ${String(v)}`);
}
