/** Linear algebra for flows (Glow's invertible 1×1 convolution) and metrics. */
import { type Tensor, inverseOp, logAbsDetOp, detSignOp, fromArray } from './tensor.ts';
import { shapeStr } from './shape.ts';
import type { TypedArray } from './dtype.ts';

/** Batched matrix inverse with gradient −A⁻ᵀ·G·A⁻ᵀ. */
export function inv(a: Tensor): Tensor {
  return inverseOp(a);
}

/** sign(det A) and log|det A| (torch.linalg.slogdet); the gradient of logAbsDet is A⁻ᵀ. */
export function slogdet(a: Tensor): { sign: Tensor; logAbsDet: Tensor } {
  return { sign: detSignOp(a), logAbsDet: logAbsDetOp(a) };
}

export function logAbsDet(a: Tensor): Tensor {
  return logAbsDetOp(a);
}

/** det A = sign · exp(log|det A|), differentiable. */
export function det(a: Tensor): Tensor {
  return detSignOp(a).mul(logAbsDetOp(a).exp());
}

/** Solve A X = B for X (batched), as A⁻¹B. */
export function solve(a: Tensor, b: Tensor): Tensor {
  const n = a.shape[a.ndim - 1];
  if (b.ndim === 0 || b.shape[b.ndim === 1 ? 0 : b.ndim - 2] !== n) {
    throw new Error(`solve: A ${shapeStr(a.shape)} and B ${shapeStr(b.shape)} do not fit (A X = B needs B of shape [..., ${n}, k] or [${n}])`);
  }
  return inverseOp(a).matmul(b);
}

/**
 * LU decomposition with partial pivoting, A = P·L·U (torch.linalg.lu), for one square matrix.
 * Not differentiable: Glow's LU-decomposed 1×1 convolution uses it once, at initialisation.
 */
export async function lu(a: Tensor): Promise<{ P: Tensor; L: Tensor; U: Tensor }> {
  if (a.ndim !== 2 || a.shape[0] !== a.shape[1]) throw new Error(`lu: expected a square matrix, got ${shapeStr(a.shape)}`);
  return luFromData(await a.data(), a);
}

/** Synchronous LU on backends that read back synchronously. */
export function luSync(a: Tensor): { P: Tensor; L: Tensor; U: Tensor } {
  if (a.ndim !== 2 || a.shape[0] !== a.shape[1]) throw new Error(`lu: expected a square matrix, got ${shapeStr(a.shape)}`);
  return luFromData(a.dataSync(), a);
}

function luFromData(data: TypedArray, like: Tensor): { P: Tensor; L: Tensor; U: Tensor } {
  const n = like.shape[0]!;
  const A = Float64Array.from(data);
  const perm = Array.from({ length: n }, (_, i) => i);
  for (let k = 0; k < n; k++) {
    let p = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(A[i * n + k]!) > Math.abs(A[p * n + k]!)) p = i;
    if (p !== k) {
      for (let j = 0; j < n; j++) [A[k * n + j], A[p * n + j]] = [A[p * n + j]!, A[k * n + j]!];
      [perm[k], perm[p]] = [perm[p]!, perm[k]!];
    }
    const piv = A[k * n + k]!;
    if (piv === 0) continue;
    for (let i = k + 1; i < n; i++) {
      const f = (A[i * n + k]! /= piv);
      for (let j = k + 1; j < n; j++) A[i * n + j]! -= f * A[k * n + j]!;
    }
  }
  const L = new Float64Array(n * n), U = new Float64Array(n * n), P = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (j < i) L[i * n + j] = A[i * n + j]!;
      else U[i * n + j] = A[i * n + j]!;
    }
    L[i * n + i] = 1;
    // row i of P·L·U is row perm[i] of A, so P[perm[i], i] = 1
    P[perm[i]! * n + i] = 1;
  }
  const mk = (v: Float64Array) => fromArray(like.dtype === 'float64' ? v : Float32Array.from(v), [n, n], like.dtype, like.backend);
  return { P: mk(P), L: mk(L), U: mk(U) };
}


