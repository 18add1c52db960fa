/** Element types. float64 exists for gradient checks on the reference backend. */
export type DType = 'float32' | 'float64' | 'int32' | 'bool';

export type TypedArray = Float32Array | Float64Array | Int32Array | Uint8Array;

export const DTYPES: readonly DType[] = ['float32', 'float64', 'int32', 'bool'];

export function isDType(x: unknown): x is DType {
  return typeof x === 'string' && (DTYPES as readonly string[]).includes(x);
}

export function isFloat(d: DType): boolean {
  return d === 'float32' || d === 'float64';
}

export function bytesPerElement(d: DType): number {
  return d === 'float64' ? 8 : d === 'bool' ? 1 : 4;
}

export function allocArray(d: DType, n: number): TypedArray {
  switch (d) {
    case 'float32': return new Float32Array(n);
    case 'float64': return new Float64Array(n);
    case 'int32': return new Int32Array(n);
    case 'bool': return new Uint8Array(n);
  }
}

/** Copies (and converts) `src` into a fresh array of dtype `d`. bool is 0/1. */
export function toArrayOf(d: DType, src: ArrayLike<number>): TypedArray {
  const out = allocArray(d, src.length);
  if (d === 'bool') for (let i = 0; i < src.length; i++) out[i] = src[i] ? 1 : 0;
  else if (d === 'int32') for (let i = 0; i < src.length; i++) out[i] = Math.trunc(src[i]!);
  else out.set(src);
  return out;
}

const RANK: Record<DType, number> = { bool: 0, int32: 1, float32: 2, float64: 3 };

/** Result type of a binary op, as in PyTorch's type promotion for tensor-tensor operands. */
export function promote(a: DType, b: DType): DType {
  return RANK[a] >= RANK[b] ? a : b;
}

/** The float type an op such as exp() computes in for input dtype `d`. */
export function floatOf(d: DType): DType {
  return isFloat(d) ? d : 'float32';
}
