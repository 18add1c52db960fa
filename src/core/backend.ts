/**
 * The backend contract. A backend stores buffers and fills one typed kernel table: a
 * backend that misses a primitive does not compile (`KernelTable` is a mapped type over the
 * primitive unions). Kernels read strided views and always write a fresh contiguous buffer;
 * broadcasting, views, dtype promotion and autograd live above, in `core/`.
 */
import type { DType, TypedArray } from './dtype.ts';

/** An opaque buffer owned by a backend. */
export type Buf = object;

/** A strided view over a buffer: element (i0, i1, …) lives at offset + Σ ik·strides[k]. */
export interface View {
  readonly buf: Buf;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
}

export const UNARY_OPS = [
  'neg', 'abs', 'sign', 'exp', 'log', 'log1p', 'expm1', 'sqrt', 'recip',
  'sin', 'cos', 'tanh', 'sigmoid', 'erf', 'floor', 'ceil', 'round', 'logicalNot',
  // x·σ(x) and its derivative σ(x)·(1 + x·(1 − σ(x))): one pass each where SiLU's composition took two and six
  'silu', 'siluGrad',
] as const;
export type UnaryOp = (typeof UNARY_OPS)[number];

export const BINARY_OPS = [
  'add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum',
  'eq', 'ne', 'lt', 'le', 'gt', 'ge', 'logicalAnd', 'logicalOr',
] as const;
export type BinaryOp = (typeof BINARY_OPS)[number];

export const REDUCE_OPS = ['sum', 'prod', 'max', 'min'] as const;
export type ReduceOp = (typeof REDUCE_OPS)[number];

export const ARG_REDUCE_OPS = ['argmax', 'argmin'] as const;
export type ArgReduceOp = (typeof ARG_REDUCE_OPS)[number];

/** Parameters shared by im2col / col2im (2-D; 1-D convolutions use H = 1). */
export interface Im2colParams {
  readonly kernel: readonly [number, number];
  readonly stride: readonly [number, number];
  readonly padding: readonly [number, number];
  readonly dilation: readonly [number, number];
  /** Value of padded cells in im2col (0 for convolution, -Infinity for max pooling). */
  readonly padValue: number;
}

export interface UnaryKernel { (x: View, outDtype: DType): Buf }
/** Both inputs already have the output's shape (broadcast views with zero strides). */
export interface BinaryKernel { (a: View, b: View, outDtype: DType): Buf }
/** Reduces over sorted `axes`; the output drops those axes. */
export interface ReduceKernel { (x: View, axes: readonly number[]): Buf }
export interface ArgReduceKernel { (x: View, axis: number): Buf }

export interface OtherKernels {
  /** where(cond, a, b), all three already of the output shape. */
  where(cond: View, a: View, b: View, outDtype: DType): Buf;
  /** Materialise a view contiguously. */
  copy(x: View): Buf;
  cast(x: View, dtype: DType): Buf;
  cumsum(x: View, axis: number): Buf;
  concat(xs: readonly View[], axis: number, outShape: readonly number[]): Buf;
  /** torch.gather: out[i][j][k] = x[i][index[i][j][k]][k] for axis 1; out has index's shape. */
  gather(x: View, axis: number, index: View): Buf;
  /** out = copy of x, then out[...index...] += src (torch.scatter_add). */
  scatterAdd(x: View, axis: number, index: View, src: View): Buf;
  /** Zeros of `outShape` with `g` written into the strided region (starts, steps): the adjoint of slicing. */
  embedSlice(g: View, outShape: readonly number[], starts: readonly number[], steps: readonly number[]): Buf;
  /**
   * [...batch, M, K] @ [...batch, K, N] → [...batch, M, N]; batch shapes are equal (possibly zero
   * strides). With `bias` (float32 [N]), it is added to every row of the product (a linear layer's
   * x·Wᵀ + b in one pass).
   */
  matmul(a: View, b: View, bias?: View): Buf;
  /** [N, C, H, W] → [N, C·kh·kw, oh·ow]. */
  im2col(x: View, p: Im2colParams): Buf;
  /** [N, C·kh·kw, oh·ow] → [N, C, H, W], summing overlaps: the adjoint of im2col. */
  col2im(cols: View, p: Im2colParams, channels: number, height: number, width: number): Buf;
  /** Batched inverse of [..., n, n] (LU with partial pivoting). */
  inverse(a: View): Buf;
  /** Batched log|det| of [..., n, n]. */
  logAbsDet(a: View): Buf;
  /** Batched sign of det (−1, 0 or 1). */
  detSign(a: View): Buf;
  /**
   * Optional fused update: one Adam/AdamW step over a float32 parameter p, its gradient g and its
   * moments m, v (all of one shape), returning new buffers [p′, m′, v′] in torch.optim's order of
   * operations. Optimizers compose the same update from elementwise kernels where it is missing.
   */
  adamStep?(p: View, g: View, m: View, v: View, h: AdamStepHyper): [Buf, Buf, Buf];
  /**
   * Optional fused row normalisation (the core of layer and group normalisation): x is float32
   * [rows, n]; returns [y, rstd] with y = (x − μ)·rstd per row, rstd = 1/√(σ² + eps) of shape
   * [rows], μ and the biased σ² of that row. Layer and group norm compose it where it is missing.
   */
  normRows?(x: View, eps: number): [Buf, Buf];
  /** The adjoint of `normRows`: ∂x = rstd·(g − mean(g) − y·mean(g·y)) per row, for g, y [rows, n] and rstd [rows]. */
  normRowsBackward?(g: View, y: View, rstd: View): Buf;
  /**
   * Optional fused softmax (log = false) or log-softmax (log = true) over each row of a float32
   * [rows, n]: x − logsumexp(x), exponentiated for softmax, with logsumexp as `Tensor.logsumexp`
   * computes it (an infinite row maximum taken as 0). The composition serves where it is missing.
   */
  softmaxRows?(x: View, log: boolean): Buf;
  /** The adjoint of `softmaxRows` from its output y: y·(g − Σg·y), or g − exp(y)·Σg for log-softmax. */
  softmaxRowsBackward?(g: View, y: View, log: boolean): Buf;
  /**
   * Optional fused SiLU backward: g·silu′(x) for float32 g and x of one shape, with y = silu(x) as
   * the forward computed it (a backend may use it to avoid evaluating σ again). `Tensor.silu`
   * composes g·siluGrad(x) where it is missing.
   */
  siluBackward?(g: View, x: View, y: View): Buf;
  /**
   * Optional fused 2-D convolution forward with one group: y[n] = W·im2col(x[n]) (+ bias[o] on
   * channel o) for float32 x [N, C, H, W], w [O, C, kh, kw] and bias [O]; y is [N, O, oh, ow].
   * A backend may build the column matrix a block at a time instead of whole. F.conv2d composes
   * im2col and matmul where it is missing.
   */
  conv2dForward?(x: View, w: View, p: Im2colParams, bias?: View): Buf;
  /**
   * Optional fused weight gradient of that convolution: Σₙ g[n]·im2col(x[n])ᵀ for x [N, C, H, W]
   * and g [N, O, oh, ow], as a [O, C, kh, kw] buffer. F.conv2d composes it where it is missing.
   */
  conv2dWeightGrad?(x: View, g: View, p: Im2colParams): Buf;
  /**
   * Optional fused input gradient of that convolution: col2im(Wᵀ·g[n]) for w [O, C, kh, kw] and
   * g [N, O, oh, ow], as a [N, C, H, W] buffer (`input` is [H, W]). F.conv2d composes it where it
   * is missing; fused, the column matrix (kh·kw times the size of x) is never whole.
   */
  conv2dInputGrad?(g: View, w: View, p: Im2colParams, input: readonly [number, number]): Buf;
}

/** The scalars of one fused Adam step (see `OtherKernels.adamStep`). */
export interface AdamStepHyper {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  /** Adam: L2 penalty added to the gradient; AdamW (`decoupled`): p is first scaled by 1 − lr·weightDecay. */
  readonly weightDecay: number;
  readonly decoupled: boolean;
  readonly maximize: boolean;
  readonly lr: number;
  /** lr / (1 − β₁ᵗ) */
  readonly stepSize: number;
  /** √(1 − β₂ᵗ) */
  readonly biasCorrection2Sqrt: number;
}

export type KernelTable =
  & { readonly [K in UnaryOp]: UnaryKernel }
  & { readonly [K in BinaryOp]: BinaryKernel }
  & { readonly [K in ReduceOp]: ReduceKernel }
  & { readonly [K in ArgReduceOp]: ArgReduceKernel }
  & OtherKernels;

export type PrimitiveOp = keyof KernelTable;

export interface MemoryInfo {
  /** Buffers allocated and not yet freed. */
  buffers: number;
  bytes: number;
  /** The most bytes live at once since the backend started (or since `resetPeakMemory()`). */
  peakBytes: number;
}

export interface Backend {
  /** Starts the peak of `memory().peakBytes` again from the bytes live now. */
  resetPeakMemory(): void;
  readonly name: string;
  /** Which dtypes this backend stores (float64 only on the reference backend). */
  readonly dtypes: readonly DType[];
  readonly kernels: KernelTable;
  /** Upload host data; the backend takes a copy. */
  fromArray(data: TypedArray, dtype: DType): Buf;
  /** A buffer of `size` elements; contents unspecified. */
  alloc(dtype: DType, size: number): Buf;
  /** Read a whole buffer back (async on GPU backends). */
  read(buf: Buf, dtype: DType): Promise<TypedArray>;
  /** Synchronous read, where the backend can (CPU backends). */
  readSync?(buf: Buf, dtype: DType): TypedArray;
  free(buf: Buf): void;
  memory(): MemoryInfo;
}

const registry = new Map<string, () => Backend>();
const instances = new Map<string, Backend>();
let current: Backend | undefined;
let defaultName = 'cpu';

/** Register a backend factory under a name (done by each backend module). */
export function registerBackend(name: string, factory: () => Backend, opts: { default?: boolean } = {}): void {
  registry.set(name, factory);
  if (opts.default) defaultName = name;
}

export function backendNames(): string[] {
  return [...registry.keys()];
}

export function getBackendByName(name: string): Backend {
  let b = instances.get(name);
  if (!b) {
    const f = registry.get(name);
    if (!f) throw new Error(`setBackend: unknown backend '${name}' (available: ${backendNames().join(', ') || 'none'})`);
    b = f();
    instances.set(name, b);
  }
  return b;
}

/** Select the backend for new tensors. */
export function setBackend(name: string): Backend {
  current = getBackendByName(name);
  return current;
}

export function getBackend(): Backend {
  return current ?? setBackend(defaultName);
}
