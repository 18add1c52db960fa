/** Functional autograd: grad, valueAndGrad, vjp (JAX's names) and torch.autograd.grad. */
import { type Tensor, backwardImpl } from './tensor.ts';
import { isGradEnabled, withGradMode } from './autograd.ts';

/**
 * Gradients of `outputs` with respect to `inputs` without touching `.grad` (torch.autograd.grad).
 * `createGraph` records the computation, for higher-order derivatives.
 */
export function autogradGrad(outputs: Tensor | readonly Tensor[], inputs: readonly Tensor[], opts: { gradOutputs?: readonly (Tensor | null)[]; createGraph?: boolean; retainGraph?: boolean; allowUnused?: boolean } = {}): Tensor[] {
  const outs = Array.isArray(outputs) ? (outputs as readonly Tensor[]) : [outputs as Tensor];
  const createGraph = opts.createGraph ?? false;
  const gs = backwardImpl(outs, opts.gradOutputs ?? outs.map(() => null), inputs, createGraph, opts.retainGraph ?? createGraph);
  return gs.map((g, i) => {
    if (g) return g;
    if (!opts.allowUnused) throw new Error(`grad: input ${i} was not used to compute the output (pass allowUnused to get zeros)`);
    return inputs[i]!.mul(0).detach();
  });
}

/** Inputs enter as fresh leaves; if an outer computation tracks them, the result stays differentiable. */
function prepare(xs: readonly Tensor[]): { leaves: Tensor[]; createGraph: boolean } {
  const tracked = isGradEnabled() && xs.some((x) => x.requiresGrad);
  const leaves = xs.map((x) => {
    if (tracked && x.requiresGrad) return x;
    const l = x.detach();
    l.requiresGrad = true;
    return l;
  });
  return { leaves, createGraph: tracked };
}

/**
 * Whether y's graph reaches a tensor requiring grad other than `own`: a parameter f closed over.
 * Then the gradient must stay differentiable too (a gradient penalty is trained through it).
 */
function reachesOther(y: Tensor, own: readonly Tensor[]): boolean {
  const mine = new Set(own), seen = new Set<Tensor>();
  const stack = [y];
  while (stack.length) {
    const t = stack.pop()!;
    if (seen.has(t) || mine.has(t)) continue;
    seen.add(t);
    if (!t._node) {
      if (t.requiresGrad) return true;
      continue;
    }
    for (const u of t._node.inputs) if (u.requiresGrad) stack.push(u);
  }
  return false;
}

/** `valueAndGrad(f)(x, …)` → [f(x, …), [∂f/∂x, …]]; f returns a scalar tensor. */
export function valueAndGrad<A extends Tensor[]>(f: (...args: A) => Tensor): (...args: A) => [Tensor, Tensor[]] {
  return (...args: A) => {
    const outer = isGradEnabled();
    const { leaves, createGraph: tracked } = prepare(args);
    const y = withGradMode(true, () => f(...(leaves as A)));
    const createGraph = tracked || (outer && reachesOther(y, leaves));
    if (y.size !== 1) throw new Error(`grad: f must return a scalar, got shape [${y.shape.join(', ')}]`);
    const gs = autogradGrad(y, leaves, { createGraph, allowUnused: true });
    return [createGraph ? y : y.detach(), gs];
  };
}

/** `grad(f)(x)` → ∂f/∂x (for several arguments, an array). Nest for higher derivatives: grad(grad(f)). */
export function grad<A extends Tensor[]>(f: (...args: A) => Tensor): (...args: A) => A extends [Tensor] ? Tensor : Tensor[] {
  const vg = valueAndGrad(f);
  return ((...args: A) => {
    const [, gs] = vg(...args);
    return args.length === 1 ? gs[0]! : gs;
  }) as (...args: A) => A extends [Tensor] ? Tensor : Tensor[];
}

/** `vjp(f, x)` → [f(x), v ↦ vᵀ·∂f/∂x]. */
export function vjp(f: (x: Tensor) => Tensor, x: Tensor): [Tensor, (v: Tensor) => Tensor] {
  const outer = isGradEnabled();
  const { leaves, createGraph: tracked } = prepare([x]);
  const y = withGradMode(true, () => f(leaves[0]!));
  const createGraph = tracked || (outer && reachesOther(y, leaves));
  return [y, (v: Tensor) => autogradGrad(y, leaves, { gradOutputs: [v], retainGraph: true, createGraph, allowUnused: true })[0]!];
}
