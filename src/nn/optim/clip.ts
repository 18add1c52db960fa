/**
 * Gradient clipping, as torch.nn.utils.clip_grad_norm_ / clip_grad_value_. Gradients are
 * replaced in place (the `.grad` tensor objects are re-pointed with assign()).
 */
import { Tensor, keep, noGrad, scope, stack } from '../../core/index.ts';

type Params = Tensor | Iterable<Tensor>;

function withGrads(params: Params): Tensor[] {
  const list = params instanceof Tensor ? [params] : [...params];
  return list.filter((p) => p.grad !== null);
}

/** ‖g‖ₚ of every gradient taken together (as if concatenated), as a 0-d tensor. */
function totalNorm(grads: readonly Tensor[], normType: number): Tensor {
  return scope(() =>
    noGrad(() => {
      if (normType === Infinity) {
        const norms = grads.filter((g) => g.size > 0).map((g) => g.abs().max());
        return norms.length ? stack(norms).max() : stack(grads.map((g) => g.sum())).sum(); // all empty: 0
      }
      const norm = (x: Tensor): Tensor => (normType === 2 ? x.mul(x).sum().sqrt() : normType === 1 ? x.abs().sum() : x.abs().pow(normType).sum().pow(1 / normType));
      return norm(stack(grads.map((g) => norm(g))));
    }),
  );
}

function checkNormType(normType: number | 'inf'): number {
  const p = normType === 'inf' ? Infinity : normType;
  if (!(p > 0)) throw new Error(`clipGradNorm: normType must be positive or 'inf', got ${String(normType)}`);
  return p;
}

/** Multiply every grad by min(1, maxNorm / (total + 1e-6)) (torch's coefficient). */
function scaleGrads(params: readonly Tensor[], total: number, maxNorm: number, errorIfNonfinite: boolean, normType: number): void {
  if (errorIfNonfinite && !Number.isFinite(total)) {
    throw new Error(`clipGradNorm: the total norm of order ${normType} of the gradients is non-finite (${total}), so it cannot be clipped; pass errorIfNonfinite: false to scale by it anyway`);
  }
  const coef = maxNorm / (total + 1e-6);
  if (coef >= 1) return; // torch multiplies by the clamped coefficient 1: nothing to do
  scope(() =>
    noGrad(() => {
      for (const p of params) {
        const g = p.grad!;
        const scaled = g.mul(coef);
        if (g.isLeaf) g.assign(scaled);
        else {
          p.grad = keep(scaled);
          g.dispose();
        }
      }
    }),
  );
}

export interface ClipGradNormOptions {
  /** throw when the total norm is NaN or ±∞ instead of scaling by it (torch's error_if_nonfinite) */
  errorIfNonfinite?: boolean;
}

/**
 * Scale the gradients of `params` so that their total `normType`-norm (all gradients taken as
 * one vector) is at most `maxNorm`: every grad is multiplied by min(1, maxNorm / (total + 1e-6)).
 * Returns the total norm before clipping, as a number (0 when no parameter has a grad).
 *
 * The norm is read back synchronously with dataSync(), which only cpu/wasm backends allow; on a
 * GPU backend use clipGradNormAsync.
 */
export function clipGradNorm(params: Params, maxNorm: number, normType: number | 'inf' = 2, opts: ClipGradNormOptions = {}): number {
  const p = checkNormType(normType);
  const ps = withGrads(params);
  if (ps.length === 0) return 0;
  const t = totalNorm(ps.map((q) => q.grad!), p);
  let total: number;
  try {
    total = t.itemSync();
  } finally {
    t.dispose();
  }
  scaleGrads(ps, total, maxNorm, opts.errorIfNonfinite ?? false, p);
  return total;
}

/** clipGradNorm that reads the norm back asynchronously (works on every backend). */
export async function clipGradNormAsync(params: Params, maxNorm: number, normType: number | 'inf' = 2, opts: ClipGradNormOptions = {}): Promise<number> {
  const p = checkNormType(normType);
  const ps = withGrads(params);
  if (ps.length === 0) return 0;
  const t = totalNorm(ps.map((q) => q.grad!), p);
  let total: number;
  try {
    total = await t.item();
  } finally {
    t.dispose();
  }
  scaleGrads(ps, total, maxNorm, opts.errorIfNonfinite ?? false, p);
  return total;
}

/** Clamp every gradient entry to [−clipValue, clipValue] (torch.nn.utils.clip_grad_value_). */
export function clipGradValue(params: Params, clipValue: number): void {
  if (!(clipValue >= 0)) throw new Error(`clipGradValue: clipValue must be non-negative, got ${clipValue}`);
  const ps = withGrads(params);
  scope(() =>
    noGrad(() => {
      for (const p of ps) {
        const g = p.grad!;
        const clamped = g.clamp(-clipValue, clipValue);
        if (g.isLeaf) g.assign(clamped);
        else {
          p.grad = keep(clamped);
          g.dispose();
        }
      }
    }),
  );
}
