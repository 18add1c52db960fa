/**
 * Module: PyTorch's nn.Module, in camelCase. Children, parameters and buffers are found by
 * walking the module's own fields in insertion order — a field holding a Module is a child, a
 * tensor made with `parameter()` is a parameter, one made with `buffer()` a buffer. State-dict
 * keys are the dotted field paths, byte-identical to PyTorch's (`down.0.conv1.weight`); a field
 * whose PyTorch name is not a valid camelCase identifier (BatchNorm's `running_mean`) simply
 * uses PyTorch's name.
 */
import { Tensor, keep, noGrad, type DType } from '../core/index.ts';
import { shapeStr } from '../core/shape.ts';

interface Mark { kind: 'param' | 'buffer'; persistent: boolean }
const marks = new WeakMap<Tensor, Mark>();

/** Mark a tensor as a trainable parameter (a leaf requiring grad, kept out of scopes). */
export function parameter(t: Tensor): Tensor {
  const p = t.isLeaf ? t : t.detach();
  p.requiresGrad = true;
  marks.set(p, { kind: 'param', persistent: true });
  return keep(p);
}

/** Mark a tensor as a buffer: state that is saved (if persistent) but not trained (BatchNorm statistics). */
export function buffer(t: Tensor, opts: { persistent?: boolean } = {}): Tensor {
  const b = t.isLeaf ? t : t.detach();
  marks.set(b, { kind: 'buffer', persistent: opts.persistent ?? true });
  return keep(b);
}

export function isParameter(t: unknown): t is Tensor {
  return t instanceof Tensor && marks.get(t)?.kind === 'param';
}

export type StateDict = Record<string, Tensor>;

export abstract class Module {
  /** Training mode (dropout active, batch statistics used). */
  training = true;

  /** The computation; subclasses define it with their own signature. */
  abstract forward(...args: never[]): unknown;

  // ----- walking fields ----------------------------------------------------------------------
  namedChildren(): [string, Module][] {
    return Object.entries(this).filter((e): e is [string, Module] => e[1] instanceof Module);
  }
  children(): Module[] {
    return this.namedChildren().map(([, m]) => m);
  }
  /** This module and all below it, pre-order, with dotted prefixes ('' for this one). */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [name, m] of this.namedChildren()) out.push(...m.namedModules(prefix ? `${prefix}.${name}` : name));
    return out;
  }
  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }
  private ownTensors(kind: Mark['kind']): [string, Tensor, Mark][] {
    const out: [string, Tensor, Mark][] = [];
    for (const [name, v] of Object.entries(this)) {
      if (v instanceof Tensor) {
        const m = marks.get(v);
        if (m?.kind === kind) out.push([name, v, m]);
      }
    }
    return out;
  }
  /** Dotted names and parameters, each tensor once (shared parameters under their first name). */
  namedParameters(prefix = ''): [string, Tensor][] {
    const seen = new Set<Tensor>();
    const out: [string, Tensor][] = [];
    for (const [mp, m] of this.namedModules(prefix)) {
      for (const [name, t] of m.ownTensors('param')) {
        if (seen.has(t)) continue;
        seen.add(t);
        out.push([mp ? `${mp}.${name}` : name, t]);
      }
    }
    return out;
  }
  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }
  namedBuffers(prefix = '', opts: { persistentOnly?: boolean } = {}): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [mp, m] of this.namedModules(prefix)) {
      for (const [name, t, mark] of m.ownTensors('buffer')) {
        if (opts.persistentOnly && !mark.persistent) continue;
        out.push([mp ? `${mp}.${name}` : name, t]);
      }
    }
    return out;
  }
  buffers(): Tensor[] {
    return this.namedBuffers().map(([, t]) => t);
  }
  /** Number of trainable scalars. */
  numParameters(): number {
    return this.parameters().reduce((s, p) => s + p.size, 0);
  }

  // ----- modes and grads -----------------------------------------------------------------------
  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }
  eval(): this {
    return this.train(false);
  }
  /** Drop every parameter's gradient (PyTorch's set_to_none=True). */
  zeroGrad(): void {
    for (const p of this.parameters()) {
      p.grad?.dispose();
      p.grad = null;
    }
  }
  apply(fn: (m: Module) => void): this {
    for (const m of this.modules()) fn(m);
    return this;
  }

  // ----- state ---------------------------------------------------------------------------------
  /** Parameters and persistent buffers by dotted name, as PyTorch's state_dict(). */
  stateDict(): StateDict {
    const sd: StateDict = {};
    for (const [mp, m] of this.namedModules()) {
      for (const [name, t, mark] of [...m.ownTensors('param'), ...m.ownTensors('buffer')]) {
        if (mark.kind === 'buffer' && !mark.persistent) continue;
        sd[mp ? `${mp}.${name}` : name] = t;
      }
    }
    return sd;
  }
  /**
   * Copy values from a state dict. Shapes must match; values are cast to each tensor's dtype.
   * With `strict` (default), missing or unexpected keys are an error; otherwise they are returned.
   */
  loadStateDict(sd: Readonly<Record<string, Tensor>>, opts: { strict?: boolean } = {}): { missingKeys: string[]; unexpectedKeys: string[] } {
    const strict = opts.strict ?? true;
    const own = this.stateDict();
    const missingKeys = Object.keys(own).filter((k) => !(k in sd));
    const unexpectedKeys = Object.keys(sd).filter((k) => !(k in own));
    if (strict && (missingKeys.length || unexpectedKeys.length)) {
      throw new Error(`loadStateDict: missing keys [${missingKeys.join(', ')}], unexpected keys [${unexpectedKeys.join(', ')}]`);
    }
    for (const [k, dst] of Object.entries(own)) {
      const src = sd[k];
      if (!src) continue;
      if (src.shape.length !== dst.shape.length || src.shape.some((d, i) => d !== dst.shape[i])) {
        throw new Error(`loadStateDict: '${k}' has shape ${shapeStr(src.shape)} in the state dict but ${shapeStr(dst.shape)} in the module`);
      }
    }
    noGrad(() => {
      for (const [k, dst] of Object.entries(own)) {
        const src = sd[k];
        if (src) dst.assign(castTo(src, dst.dtype, dst));
      }
    });
    return { missingKeys, unexpectedKeys };
  }
  /** Free every parameter and buffer. */
  dispose(): void {
    for (const t of [...this.parameters(), ...this.buffers()]) t.dispose();
  }
}

function castTo(src: Tensor, dtype: DType, like: Tensor): Tensor {
  if (src.backend !== like.backend) throw new Error(`loadStateDict: tensor on backend '${src.backend.name}', module on '${like.backend.name}'`);
  return src.dtype === dtype ? src : src.cast(dtype);
}
