/**
 * One vector-Jacobian rule per differentiable operation (backend primitives and views), in one
 * table. A rule maps the output gradient `g` to one gradient per input (null: none). Rules are
 * written with tensor ops, so they are themselves differentiable: backward({ createGraph: true })
 * gives higher-order derivatives. `null` marks an operation without a gradient.
 */
import type { Im2colParams, PrimitiveOp } from './backend.ts';
import type { DType } from './dtype.ts';
import { isFloat } from './dtype.ts';
import { type Tensor, where, embedSlice, stridedSlice, zerosLike, im2colOp, col2imOp, inverseOp } from './tensor.ts';

export type ViewOp = 'reshape' | 'permute' | 'expand' | 'slice';
/**
 * 'custom': a composite operation with a hand-written rule (see `customGrad` in tensor.ts), used
 * where saving the composition's intermediates would cost too much memory (conv2d's im2col).
 */
export type GradOp = PrimitiveOp | ViewOp | 'custom';

/** The rule of a 'custom' node: gradients of the inputs from the output's gradient. */
export type CustomVjp = (g: Tensor, inputs: readonly Tensor[], out: Tensor) => readonly (Tensor | null)[];

interface AttrMap {
  permute: { perm: readonly number[] };
  slice: { starts: readonly number[]; steps: readonly number[] };
  embedSlice: { starts: readonly number[]; steps: readonly number[]; shape: readonly number[] };
  sum: { axes: readonly number[] };
  prod: { axes: readonly number[] };
  max: { axes: readonly number[] };
  min: { axes: readonly number[] };
  cumsum: { axis: number };
  cast: { from: DType };
  concat: { axis: number; sizes: readonly number[] };
  gather: { axis: number };
  scatterAdd: { axis: number };
  im2col: { p: Im2colParams; H: number; W: number };
  col2im: { p: Im2colParams; H: number; W: number };
  custom: { name: string; vjp: CustomVjp };
}
export type AttrsOf<K extends GradOp> = K extends keyof AttrMap ? AttrMap[K] : Record<string, never>;

type Rule<K extends GradOp> = (g: Tensor, inputs: readonly Tensor[], out: Tensor, attrs: AttrsOf<K>) => readonly (Tensor | null)[];

/** Sum a broadcast gradient back down to `shape` (the adjoint of expand). */
export function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  const lead = g.ndim - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.ndim; i++) if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  return axes.length ? g.sum(axes, true).reshape(shape) : g;
}

/** Re-insert reduced axes (size 1) and broadcast back to the input's shape. */
function unreduce(t: Tensor, axes: readonly number[], shape: readonly number[]): Tensor {
  return t.reshape(shape.map((d, i) => (axes.includes(i) ? 1 : d))).expand(shape);
}

/** Gradient of max/min: split evenly between tied extrema, as torch.amax. */
function extremumRule(g: Tensor, [x]: readonly Tensor[], out: Tensor, { axes }: { axes: readonly number[] }) {
  const mask = x!.eq(unreduce(out, axes, x!.shape)).cast(x!.dtype);
  const count = mask.sum(axes as number[], true);
  return [unreduce(g, axes, x!.shape).mul(mask).div(count)];
}

/** Gradient of maximum/minimum: to the winner, split in half on ties, as torch. */
function pickRule(cmp: 'gt' | 'lt') {
  return (g: Tensor, [a, b]: readonly Tensor[]) => {
    const tie = a!.eq(b!);
    const half = g.mul(0.5);
    return [a!.requiresGrad ? where(a![cmp](b!), g, where(tie, half, 0)) : null, b!.requiresGrad ? where(b![cmp](a!), g, where(tie, half, 0)) : null];
  };
}

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

export const VJP: { readonly [K in GradOp]: Rule<K> | null } = {
  // views
  reshape: (g, [x]) => [g.reshape(x!.shape)],
  permute: (g, _, __, { perm }) => {
    const inv = new Array<number>(perm.length);
    perm.forEach((p, i) => (inv[p] = i));
    return [g.permute(inv)];
  },
  expand: (g, [x]) => [sumTo(g, x!.shape)],
  slice: (g, [x], _, { starts, steps }) => [embedSlice(g, x!.shape, starts, steps)],
  embedSlice: (g, [x], _, { starts, steps }) => [stridedSlice(g, starts, steps, x!.shape)],

  // unary
  neg: (g) => [g.neg()],
  abs: (g, [x]) => [g.mul(x!.sign())],
  sign: null,
  exp: (g, _, out) => [g.mul(out)],
  log: (g, [x]) => [g.div(x!)],
  log1p: (g, [x]) => [g.div(x!.add(1))],
  expm1: (g, _, out) => [g.mul(out.add(1))],
  sqrt: (g, _, out) => [g.div(out.mul(2))],
  recip: (g, _, out) => [g.mul(out.mul(out)).neg()],
  sin: (g, [x]) => [g.mul(x!.cos())],
  cos: (g, [x]) => [g.mul(x!.sin()).neg()],
  tanh: (g, _, out) => [g.mul(out.mul(out).rsub(1))],
  sigmoid: (g, _, out) => [g.mul(out.mul(out.rsub(1)))],
  silu: (g, [x]) => [g.mul(x!.siluGrad())],
  // d/dx σ(1 + x(1 − σ)) = σ(1 − σ)·(2 + x(1 − 2σ))
  siluGrad: (g, [x]) => {
    const s = x!.sigmoid();
    return [g.mul(s.mul(s.rsub(1)).mul(x!.mul(s.mul(-2).add(1)).add(2)))];
  },
  erf: (g, [x]) => [g.mul(x!.mul(x!).neg().exp().mul(TWO_OVER_SQRT_PI))],
  floor: null,
  ceil: null,
  round: null,
  logicalNot: null,

  // binary (inputs are already broadcast by expand views); where a rule computes something for an
  // input, it skips it for one that takes no gradient (a constant: x·0.5, relu's where(x > 0, x, 0))
  add: (g) => [g, g],
  sub: (g, [, b]) => [g, b!.requiresGrad ? g.neg() : null],
  mul: (g, [a, b]) => [a!.requiresGrad ? g.mul(b!) : null, b!.requiresGrad ? g.mul(a!) : null],
  div: (g, [a, b], out) => [a!.requiresGrad ? g.div(b!) : null, b!.requiresGrad ? g.mul(out).div(b!).neg() : null],
  pow: (g, [a, b], out) => [
    a!.requiresGrad ? g.mul(b!).mul(a!.pow(b!.sub(1))) : null,
    b!.requiresGrad ? where(a!.gt(0), g.mul(out).mul(where(a!.gt(0), a!, 1).log()), 0) : null,
  ],
  maximum: pickRule('gt'),
  minimum: pickRule('lt'),
  eq: null,
  ne: null,
  lt: null,
  le: null,
  gt: null,
  ge: null,
  logicalAnd: null,
  logicalOr: null,
  where: (g, [c, a, b]) => [null, a!.requiresGrad ? where(c!, g, 0) : null, b!.requiresGrad ? where(c!, 0, g) : null],

  // reductions
  sum: (g, [x], _, { axes }) => [unreduce(g, axes, x!.shape)],
  prod: (g, [x], out, { axes }) => {
    // ∂Π/∂xᵢ = Π/xᵢ, except at an exact zero: there it is the product of the others (non-zero
    // only when xᵢ is the single zero of its group), so never divide by zero.
    const zero = x!.eq(0);
    const x1 = where(zero, 1, x!);
    const others = where(zero.cast(x!.dtype).sum(axes, true).eq(1), x1.prod(axes, true), 0);
    const local = where(zero, unreduce(others, axes, x!.shape), unreduce(out, axes, x!.shape).div(x1));
    return [unreduce(g, axes, x!.shape).mul(local)];
  },
  max: extremumRule,
  min: extremumRule,
  argmax: null,
  argmin: null,
  cumsum: (g, _, __, { axis }) => [g.flip(axis).cumsum(axis).flip(axis)],

  // data movement
  copy: (g) => [g],
  cast: (g, _, __, { from }) => [isFloat(from) ? g.cast(from) : null],
  concat: (g, _, __, { axis, sizes }) => g.split(sizes, axis),
  gather: (g, [x, index], _, { axis }) => [zerosLike(x!).scatterAdd(axis, index!, g), null],
  scatterAdd: (g, [, index, src], _, { axis }) => {
    let gs = g.gather(axis, index!);
    if (gs.shape.some((d, i) => d !== src!.shape[i])) gs = embedSlice(gs, src!.shape, src!.shape.map(() => 0), src!.shape.map(() => 1));
    return [g, null, gs];
  },

  // products and convolution
  // (a product is skipped for an input that takes no gradient: the data of a first layer)
  matmul: (g, [a, b]) => [a!.requiresGrad ? g.matmul(b!.mT) : null, b!.requiresGrad ? a!.mT.matmul(g) : null],
  im2col: (g, [x], _, { p, H, W }) => [col2imOp(g, p, x!.shape[1]!, H, W)],
  col2im: (g, _, __, { p }) => [im2colOp(g, p)],
  custom: (g, inputs, out, { vjp }) => vjp(g, inputs, out),

  // linear algebra
  inverse: (g, _, out) => [out.mT.matmul(g).matmul(out.mT).neg()],
  logAbsDet: (g, [a]) => [g.unsqueeze(-1).unsqueeze(-1).mul(inverseOp(a!).mT)],
  detSign: null,
  adamStep: null, // an optimizer update, never recorded
  // kernels of normalizeRows and softmaxRows (tensor.ts), recorded as custom nodes with their own rules
  normRows: null,
  normRowsBackward: null,
  softmaxRows: null,
  softmaxRowsBackward: null,
  siluBackward: null,
  conv2dForward: null,
  conv2dWeightGrad: null,
  conv2dInputGrad: null,
};

