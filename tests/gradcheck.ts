/**
 * Finite-difference gradient checking (a helper for tests, not a test itself).
 *
 * `gradcheck(f, inputs)` compares the autograd gradient of a scalar projection of `f` with central
 * differences, in float64 on the reference cpu backend, in the manner of torch.autograd.gradcheck.
 * A non-scalar output y is reduced to Σ r ⊙ y with a fixed random projection r (seeded), so every
 * output element contributes with its own weight and a transposed or misplaced gradient shows.
 */
import assert from 'node:assert/strict';
import { type Tensor, Generator, tensor, scope, autogradGrad } from '../src/index.ts';
import { getBackend, getBackendByName, setBackend } from '../src/core/backend.ts';
import { contiguousStrides, isContiguous, sizeOf } from '../src/core/shape.ts';

export interface GradcheckOptions {
  /** Central-difference step. */
  eps?: number;
  /** Pass when |autograd − numeric| ≤ atol + rtol·|numeric| for every element. */
  atol?: number;
  rtol?: number;
  /** Feed f non-contiguous leaves (offset, step-2 and permuted strides) instead of contiguous ones. */
  strided?: boolean;
  /** Seed of the projection of non-scalar outputs. */
  seed?: number;
}

export interface GradcheckReport {
  /** Largest |autograd − numeric| over all input elements. */
  maxAbsErr: number;
  /** Input elements checked. */
  checked: number;
  /** The autograd gradients (plain arrays, row-major), one per input. */
  grads: Float64Array[];
}

const cpu = () => getBackendByName('cpu');

/**
 * A float64 leaf of `shape` holding `values` (row-major) through a non-contiguous layout: the
 * storage holds the dimensions reversed, the first one interleaved with padding (step 2, offset 1),
 * and the view permutes them back. A 0-d tensor stays contiguous.
 */
export function stridedLeaf(values: ArrayLike<number>, shape: readonly number[]): Tensor {
  const n = shape.length;
  if (n === 0) return tensor(Float64Array.from(values), { shape, dtype: 'float64', backend: cpu() });
  const rev = [...shape].reverse();
  const baseShape = [...rev.slice(0, -1), 2 * rev[n - 1]! + 1];
  const bs = contiguousStrides(baseShape);
  const base = new Float64Array(sizeOf(baseShape)).fill(Number.NaN); // padding must never be read
  const cs = contiguousStrides(shape);
  for (let flat = 0; flat < values.length; flat++) {
    let pos = 0;
    for (let d = 0; d < n; d++) {
      const i = Math.floor(flat / cs[d]!) % shape[d]!;
      // original axis d is base axis n−1−d; axis 0 is interleaved
      pos += (d === 0 ? 2 * i + 1 : i) * bs[n - 1 - d]!;
    }
    base[pos] = values[flat]!;
  }
  const b = tensor(base, { shape: baseShape, dtype: 'float64', backend: cpu() });
  const v = b.slice(n - 1, 1, undefined, 2).permute(rev.map((_, i) => n - 1 - i));
  return v;
}

/** A fresh float64 leaf (contiguous, or strided as `stridedLeaf`) holding `values`. */
export function makeLeaf(values: ArrayLike<number>, shape: readonly number[], strided: boolean): Tensor {
  return strided ? stridedLeaf(values, shape) : tensor(Float64Array.from(values), { shape, dtype: 'float64', backend: cpu() });
}

/** Row-major multi-index of a flat position, for messages. */
function multiIndex(flat: number, shape: readonly number[]): string {
  const cs = contiguousStrides(shape);
  return `[${shape.map((d, i) => Math.floor(flat / cs[i]!) % d).join(', ')}]`;
}

/**
 * Check autograd against central differences for every element of every input. Inputs must be
 * float64 tensors (their values are copied into fresh leaves); `f` must return a float64 tensor.
 * Throws an AssertionError listing the worst mismatches; returns the errors seen otherwise.
 */
export function gradcheck(f: (...xs: Tensor[]) => Tensor, inputs: readonly Tensor[], opts: GradcheckOptions = {}): GradcheckReport {
  const eps = opts.eps ?? 1e-6, atol = opts.atol ?? 1e-6, rtol = opts.rtol ?? 1e-6;
  const strided = opts.strided ?? false;
  assert.equal(getBackend().name, 'cpu', 'gradcheck runs on the cpu backend');
  for (const [i, x] of inputs.entries()) assert.equal(x.dtype, 'float64', `gradcheck: input ${i} must be float64, got ${x.dtype}`);
  const values = inputs.map((x) => Float64Array.from(x.dataSync()));
  const shapes = inputs.map((x) => [...x.shape]);

  return scope(() => {
    const leaves = values.map((v, i) => makeLeaf(v, shapes[i]!, strided));
    if (strided) {
      for (const [i, l] of leaves.entries()) {
        if (l.size > 1) assert.ok(!isContiguous(l.shape, l.strides), `gradcheck: strided input ${i} came out contiguous`);
      }
    }
    for (const l of leaves) l.requiresGrad = true;
    const y = f(...leaves);
    assert.equal(y.dtype, 'float64', `gradcheck: f must return float64, got ${y.dtype}`);
    const proj = tensor(new Generator(opts.seed ?? 1234).normal(y.size), { shape: y.shape, dtype: 'float64', backend: cpu() });
    const loss = y.mul(proj).sum();
    const analytic: Float64Array[] = loss.requiresGrad
      ? autogradGrad(loss, leaves, { allowUnused: true }).map((g, i) => {
        assert.deepEqual([...g.shape], shapes[i], `gradcheck: gradient of input ${i} has shape [${g.shape.join(', ')}], expected [${shapes[i]!.join(', ')}]`);
        assert.equal(g.dtype, 'float64', `gradcheck: gradient of input ${i} is ${g.dtype}`);
        return Float64Array.from(g.dataSync());
      })
      : values.map((v) => new Float64Array(v.length));

    // Grad mode stays on (the fresh leaves do not require grad, so nothing is recorded) so that f
    // may itself take gradients, as a gradient penalty or a second-derivative check does.
    const evalAt = (vals: Float64Array[]): number =>
      scope(() => f(...vals.map((v, i) => makeLeaf(v, shapes[i]!, strided))).mul(proj).sum().itemSync());

    let maxAbsErr = 0, checked = 0;
    const bad: string[] = [];
    values.forEach((v, i) => {
      for (let k = 0; k < v.length; k++) {
        const x0 = v[k]!;
        const plus = values.map((u) => u.slice()), minus = values.map((u) => u.slice());
        plus[i]![k] = x0 + eps;
        minus[i]![k] = x0 - eps;
        const numeric = (evalAt(plus) - evalAt(minus)) / (2 * eps);
        const a = analytic[i]![k]!;
        const err = Math.abs(a - numeric);
        checked++;
        maxAbsErr = Math.max(maxAbsErr, err); // NaN stays NaN
        if (!(err <= atol + rtol * Math.abs(numeric))) {
          bad.push(`input ${i} ${multiIndex(k, shapes[i]!)}: autograd ${a}, numeric ${numeric} (|diff| ${err.toExponential(2)})`);
        }
      }
    });
    if (bad.length) {
      assert.fail(`gradcheck: ${bad.length} of ${checked} gradient entries differ from central differences (eps ${eps}, atol ${atol}, rtol ${rtol}):\n  ${bad.slice(0, 8).join('\n  ')}`);
    }
    return { maxAbsErr, checked, grads: analytic };
  });
}

/** A float64 tensor of normal draws (seeded), for gradcheck inputs. */
export function randn64(rng: Generator, shape: readonly number[], scale = 1, shift = 0): Tensor {
  const v = rng.normal(sizeOf(shape), shift, scale);
  return tensor(v, { shape, dtype: 'float64', backend: cpu() });
}

/** A float64 tensor of uniform draws on [low, high) (seeded). */
export function rand64(rng: Generator, shape: readonly number[], low: number, high: number): Tensor {
  return tensor(rng.uniform(sizeOf(shape), low, high), { shape, dtype: 'float64', backend: cpu() });
}

/** Run fn with the reference backend selected (float64 lives only there), then restore the previous one. */
export function onCpu<T>(fn: () => T): T {
  const prev = getBackend().name;
  setBackend('cpu');
  try {
    return fn();
  } finally {
    setBackend(prev);
  }
}

/** max |a − b| over two tensors of one size. */
export function maxAbsDiff(a: Tensor, b: Tensor): number {
  const x = a.dataSync(), y = b.dataSync();
  assert.equal(x.length, y.length);
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]! - y[i]!));
  return m;
}
