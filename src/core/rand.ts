/** Random tensors. Every draw takes a Generator: randomness is a parameter, never global. */
import type { Generator } from './random.ts';
import { type Tensor, type TensorOptions, fromArray } from './tensor.ts';
import { type DType, toArrayOf, isFloat } from './dtype.ts';
import { checkShape, sizeOf, shapeStr } from './shape.ts';
import { getBackend } from './backend.ts';

export interface RandOptions extends TensorOptions {
  rng: Generator;
}

function need(opts: RandOptions | undefined, op: string): Generator {
  if (!opts?.rng) throw new Error(`${op}: pass a Generator as { rng } (randomness is always explicit)`);
  return opts.rng;
}

function make(values: ArrayLike<number>, shape: number[], dtype: DType, opts: TensorOptions): Tensor {
  const t = fromArray(toArrayOf(dtype, values), shape, dtype, opts.backend ?? getBackend());
  if (opts.requiresGrad) t.requiresGrad = true;
  return t;
}

/** Standard normal samples. */
export function randn(shape: readonly number[], opts: RandOptions): Tensor {
  const s = checkShape(shape, 'randn');
  return make(need(opts, 'randn').normal(sizeOf(s)), s, opts.dtype ?? 'float32', opts);
}

/** Uniform samples on [low, high). */
export function rand(shape: readonly number[], opts: RandOptions & { low?: number; high?: number }): Tensor {
  const s = checkShape(shape, 'rand');
  return make(need(opts, 'rand').uniform(sizeOf(s), opts.low ?? 0, opts.high ?? 1), s, opts.dtype ?? 'float32', opts);
}

/** Uniform integers on [low, high). */
export function randint(low: number, high: number, shape: readonly number[], opts: RandOptions): Tensor {
  const s = checkShape(shape, 'randint');
  return make(need(opts, 'randint').randint(sizeOf(s), low, high), s, opts.dtype ?? 'int32', opts);
}

/** A random permutation of 0…n−1 (int32). */
export function randperm(n: number, opts: RandOptions): Tensor {
  return make(need(opts, 'randperm').permutation(n), [n], 'int32', opts);
}

/** Bernoulli draws with probability p (a number or a tensor of probabilities); float32 0/1. */
export function bernoulli(p: number | Tensor, shape: readonly number[] | null, opts: RandOptions): Tensor {
  const rng = need(opts, 'bernoulli');
  if (typeof p === 'number') {
    const s = checkShape(shape ?? [], 'bernoulli');
    return make(rng.bernoulli(sizeOf(s), p), s, opts.dtype ?? 'float32', opts);
  }
  const u = make(rng.uniform(p.size), [...p.shape], p.dtype, { backend: p.backend });
  return u.lt(p).cast(opts.dtype ?? (isFloat(p.dtype) ? p.dtype : 'float32'));
}

/**
 * Draw class indices from the last axis of `probs` (unnormalised, non-negative): [..., K] →
 * [..., numSamples] (int32), with replacement. Reads probabilities back synchronously.
 */
export function categorical(probs: Tensor, numSamples: number, opts: RandOptions): Tensor {
  const rng = need(opts, 'categorical');
  if (probs.ndim < 1) throw new Error(`categorical: expected [..., K] probabilities, got ${shapeStr(probs.shape)}`);
  const K = probs.shape[probs.ndim - 1]!;
  const rows = K === 0 ? 0 : probs.size / K;
  const out = rng.categorical(probs.dataSync(), rows, numSamples);
  return make(out, [...probs.shape.slice(0, -1), numSamples], 'int32', { backend: probs.backend });
}

/** Like randn, with another tensor's shape, dtype and backend. */
export function randnLike(t: Tensor, opts: RandOptions): Tensor {
  return randn(t.shape, { dtype: t.dtype, backend: t.backend, ...opts });
}
