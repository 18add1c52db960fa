/**
 * Every differentiable op of the engine against central finite differences, in float64 on the
 * reference backend. Each check runs twice: with contiguous leaves and with non-contiguous ones
 * (offset, step-2 and permuted strides; see gradcheck.ts), so that every category sees a strided
 * input. Inputs avoid the kinks of abs/relu/max/clamp by construction.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gradcheck, randn64, rand64, type GradcheckOptions } from './gradcheck.ts';
import { type Tensor, Generator, tensor, where, concat, stack, pad, roll, einsum, linalg, noGrad, nn, setBackend } from '../src/index.ts';

// float64 finite differences: on the reference backend (the only one that stores float64)
setBackend('cpu');

const F = nn.functional;

const rng = new Generator(20240607);
const f64 = (data: number[] | number[][] | number[][][], shape?: number[]) => tensor(data as number[], { dtype: 'float64', ...(shape ? { shape } : {}) });
const int = (data: number[], shape?: number[]) => tensor(data, { dtype: 'int32', ...(shape ? { shape } : {}) });
const normal = (...shape: number[]) => randn64(rng, shape);
/** Values bounded away from zero: sign · U(lo, hi). */
const awayFromZero = (shape: number[], lo = 0.3, hi = 1.5) => noGrad(() => {
  const s = rand64(rng, shape, -1, 1).sign();
  return rand64(rng, shape, lo, hi).mul(s);
});
const positive = (shape: number[], lo = 0.3, hi = 2) => rand64(rng, shape, lo, hi);

/** gradcheck with contiguous and with strided leaves. */
function check(f: (...xs: Tensor[]) => Tensor, inputs: Tensor[], opts: GradcheckOptions = {}): void {
  gradcheck(f, inputs, opts);
  gradcheck(f, inputs, { ...opts, strided: true });
}

test('gradcheck itself catches a wrong gradient and a transposed one', () => {
  const x = normal(3, 4);
  // detach() hides a dependency: autograd misses half of d(x·x)/dx
  assert.throws(() => gradcheck((a) => a.mul(a.detach()), [x]), /differ from central differences/);
  // the projection makes a permuted output distinguishable from the right one
  const y = normal(3, 3);
  const wrongT = (a: Tensor) => noGrad(() => a.mT).add(a.sub(a.detach())); // value of aᵀ, gradient of a
  assert.throws(() => gradcheck(wrongT, [y]), /differ/);
  const r = gradcheck((a) => a.mT.mul(2), [y]);
  assert.equal(r.checked, 9);
  assert.ok(r.maxAbsErr < 1e-8, `max error ${r.maxAbsErr}`);
});

// ---------------------------------------------------------------------------------------------
// elementwise
// ---------------------------------------------------------------------------------------------

test('unary elementwise ops', () => {
  const x = normal(2, 3);
  const nz = awayFromZero([2, 3]);
  const pos = positive([2, 3]);
  check((a) => a.neg(), [x]);
  check((a) => a.abs(), [nz]);
  check((a) => a.exp(), [x]);
  check((a) => a.log(), [pos]);
  check((a) => a.log1p(), [rand64(rng, [2, 3], -0.7, 2)]);
  check((a) => a.expm1(), [x]);
  check((a) => a.sqrt(), [pos]);
  check((a) => a.rsqrt(), [pos]);
  check((a) => a.reciprocal(), [nz]);
  check((a) => a.sin(), [x]);
  check((a) => a.cos(), [x]);
  check((a) => a.tanh(), [x]);
  check((a) => a.sigmoid(), [normal(2, 3).mul(3)]);
  check((a) => a.erf(), [x]);
  check((a) => a.square(), [x]);
  // piecewise-constant ops have zero gradient; their product with x tests that they pass values
  check((a) => a.floor().mul(a).add(a.ceil()).add(a.round().mul(a)).add(a.sign().mul(a)), [f64([[0.3, 1.7, -2.2], [-0.6, 2.9, -1.4]])]);
});

test('activations composed from primitives', () => {
  const nz = awayFromZero([3, 4], 0.05, 3);
  check((a) => a.relu(), [nz]);
  check((a) => a.leakyRelu(0.2), [nz]);
  check((a) => a.elu(0.7), [nz]);
  check((a) => a.softplus(), [nz]);
  // beta and threshold: entries on both sides of threshold/beta = 0.5
  check((a) => a.softplus(2, 1), [f64([[-1.2, 0.1, 0.3, 0.7], [1.4, -0.2, 2.5, 0.45]])]);
  check((a) => a.silu(), [nz]);
  check((a) => a.gelu(), [nz]);
  check((a) => a.gelu('tanh'), [nz]);
  check((a) => a.logSigmoid(), [nz.mul(4)]);
  check((a) => a.softplus(1, 20), [f64([-30, -5, 25, 19])]); // far tails are stable
});

test('cast: through float32 and back passes the gradient; a cast to int stops it', () => {
  const x = f64([0.3, 1.7, -2.2]);
  x.requiresGrad = true;
  x.cast('float32').mul(2).cast('float64').sum().backward();
  assert.equal(x.grad!.dtype, 'float64');
  assert.deepEqual([...x.grad!.dataSync()], [2, 2, 2]);
  // d/da [trunc(a)·a] = trunc(a) away from integers: nothing flows through the int branch
  const r = gradcheck((a) => a.int().cast('float64').mul(a), [f64([0.3, 1.7, -2.2, 2.6])]);
  assert.ok(r.grads[0]!.some((g) => g !== 0));
});

const BROADCAST_PAIRS: [number[], number[]][] = [
  [[3, 4], [3, 4]],
  [[3, 4], [4]],
  [[4], [3, 4]],
  [[3, 1], [1, 4]],
  [[2, 1, 4], [3, 1]],
  [[1, 3, 1], [2, 1, 4]],
  [[], [3, 2]],
  [[3, 2], []],
  [[1], [1]],
];

test('binary ops with broadcasting in every position', () => {
  for (const [sa, sb] of BROADCAST_PAIRS) {
    const a = normal(...sa), b = normal(...sb);
    check((x, y) => x.add(y), [a, b]);
    check((x, y) => x.sub(y), [a, b]);
    check((x, y) => x.mul(y), [a, b]);
    check((x, y) => x.div(y), [a, awayFromZero(sb)]);
    check((x, y) => x.maximum(y), [a, b.add(0.01)]); // no ties
    check((x, y) => x.minimum(y), [a, b.add(0.01)]);
    check((x, y) => x.lerp(y, 0.3), [a, b]);
    check((x, y, w) => x.lerp(y, w), [a, b, normal(...sa)]);
  }
});

test('binary ops with number operands and reversed forms', () => {
  const x = awayFromZero([2, 3]);
  check((a) => a.add(2.5).mul(-1.5).sub(0.25).div(3), [x]);
  check((a) => a.rsub(1).mul(a.rdiv(2)), [x]);
  check((a) => a.maximum(0.1).add(a.minimum(-0.1)), [x]);
});

test('pow: gradients with respect to base and exponent, with broadcasting', () => {
  check((a, b) => a.pow(b), [positive([3, 4], 0.5, 2), normal(3, 4)]);
  check((a, b) => a.pow(b), [positive([3, 1], 0.5, 2), normal(4)]);
  check((a, b) => a.pow(b), [positive([4], 0.5, 2), normal(3, 1)]);
  check((a, b) => a.pow(b), [positive([], 0.5, 2), normal(2, 3)]);
  // integer exponent on negative bases: only the base gradient
  check((a) => a.pow(3).add(a.pow(2)).add(a.pow(-1)), [awayFromZero([2, 3])]);
  check((a) => a.pow(0.5).add(a.pow(-1.5)), [positive([5])]);
  // a number base: 2^x
  check((b) => tensor(2, { dtype: 'float64' }).pow(b), [normal(2, 3)]);
});

// ---------------------------------------------------------------------------------------------
// reductions
// ---------------------------------------------------------------------------------------------

test('sum and mean over axes, with keepDim', () => {
  const x = normal(2, 3, 4);
  for (const axes of [undefined, 0, 1, 2, -1, [0, 2], [1, 2], [0, 1, 2]] as (number | number[] | undefined)[]) {
    for (const keep of [false, true]) {
      check((a) => a.sum(axes, keep), [x]);
      check((a) => a.mean(axes, keep), [x]);
    }
  }
  check((a) => a.sum([]), [x]); // no axes: identity
});

test('prod over axes, including exact zeros', () => {
  const x = awayFromZero([2, 3, 4], 0.5, 1.5);
  for (const axes of [undefined, 0, 2, [0, 1]] as (number | number[] | undefined)[]) check((a) => a.prod(axes, true), [x]);
  check((a) => a.prod(1), [x]);
  // one zero per row: the zero entry's gradient is the product of the others; two zeros: all zero
  check((a) => a.prod(1), [f64([[0, 2, 3], [1.5, 0, -2], [0, 0, 4], [0.5, 0.7, -1.1]])]);
  check((a) => a.prod(), [f64([1.1, 0, -1.2, 0.9])]);
});

test('max and min over axes (no ties), and the even split on ties', () => {
  const x = normal(3, 4, 2);
  for (const axes of [undefined, 0, 1, -1, [0, 2]] as (number | number[] | undefined)[]) {
    for (const keep of [false, true]) {
      check((a) => a.max(axes, keep), [x]);
      check((a) => a.min(axes, keep), [x]);
    }
  }
  const t = f64([1, 3, 3, -2]);
  t.requiresGrad = true;
  t.max().backward();
  assert.deepEqual([...t.grad!.dataSync()], [0, 0.5, 0.5, 0]);
  t.grad = null;
  t.min().add(t.max(0)).backward();
  assert.deepEqual([...t.grad!.dataSync()], [0, 0.5, 0.5, 1]);
});

test('logsumexp, softmax and logSoftmax on every axis, and at large magnitudes', () => {
  const x = normal(2, 3, 4);
  for (const ax of [0, 1, 2, -1, [0, 2]] as (number | number[])[]) {
    check((a) => a.logsumexp(ax), [x]);
    check((a) => a.logsumexp(ax, true), [x]);
  }
  check((a) => a.logsumexp(), [x]);
  for (const ax of [0, 1, -1]) {
    check((a) => a.softmax(ax), [x]);
    check((a) => a.logSoftmax(ax), [x]);
  }
  // stable far from zero: values around ±500
  check((a) => a.logsumexp(1), [normal(2, 3).add(500)], { rtol: 1e-5 });
  check((a) => a.softmax(-1), [normal(2, 3).sub(500)]);
  check((a) => a.logSoftmax(-1), [normal(2, 3).add(700)], { rtol: 1e-5 });
  // size-1 axis: softmax is constant 1, logsumexp is the identity
  check((a) => a.softmax(1).add(a.logsumexp(1, true)), [normal(3, 1)]);
});

test('var and std with correction, axes and keepDim', () => {
  const x = normal(3, 4, 2);
  for (const axes of [undefined, 0, 1, [0, 2], -1] as (number | number[] | undefined)[]) {
    for (const correction of [0, 1]) {
      check((a) => a.var(axes, { correction }), [x]);
      check((a) => a.std(axes, { correction, keepDim: true }), [x]);
    }
  }
  check((a) => a.var(1, { correction: 0 }), [normal(3, 1)]); // size-1 axis: zero variance, zero gradient
});

test('cumsum on every axis', () => {
  const x = normal(3, 4, 2);
  for (const ax of [0, 1, 2, -1]) check((a) => a.cumsum(ax), [x]);
  check((a) => a.cumsum(0), [normal(1)]);
});

// ---------------------------------------------------------------------------------------------
// products
// ---------------------------------------------------------------------------------------------

test('matmul: 2-D, batched, broadcast batch, 1-D operands', () => {
  check((a, b) => a.matmul(b), [normal(3, 4), normal(4, 5)]);
  check((a, b) => a.matmul(b), [normal(2, 3, 4), normal(2, 4, 2)]);
  check((a, b) => a.matmul(b), [normal(2, 1, 3, 4), normal(3, 4, 2)]); // batch [2,1] × [3] → [2,3]
  check((a, b) => a.matmul(b), [normal(3, 4), normal(2, 4, 3)]); // 2-D broadcast against a batch
  check((a, b) => a.matmul(b), [normal(4), normal(4, 3)]);
  check((a, b) => a.matmul(b), [normal(3, 4), normal(4)]);
  check((a, b) => a.matmul(b), [normal(4), normal(4)]); // dot
  check((a, b) => a.matmul(b), [normal(4), normal(2, 4, 3)]);
  check((a, b) => a.matmul(b), [normal(2, 3, 4), normal(4)]);
  check((a, b) => a.matmul(b), [normal(1, 1), normal(1, 3)]);
  check((a) => a.matmul(a.mT), [normal(3, 2)]); // the same tensor on both sides
});

test('matmul and sums with empty dimensions', () => {
  const r = gradcheck((a, b) => a.matmul(b).add(1), [normal(2, 0), normal(0, 3)]);
  assert.equal(r.checked, 0);
  const x = tensor(new Float64Array(0), { shape: [2, 0], dtype: 'float64', requiresGrad: true });
  const w = normal(0, 3);
  w.requiresGrad = true;
  const y = x.matmul(w);
  assert.deepEqual([...y.dataSync()], [0, 0, 0, 0, 0, 0]);
  y.mul(normal(2, 3)).sum().backward();
  assert.deepEqual(x.grad!.shape, [2, 0]);
  assert.deepEqual(w.grad!.shape, [0, 3]);
  // a reduction over an empty axis: sum is 0, and a neighbouring input still gets its gradient
  check((a, b) => a.sum(1).add(b), [normal(3, 0), normal(3)]);
  check((a, b) => concat([a, b], 1).mul(2), [normal(2, 0), normal(2, 3)]);
});

test('einsum: contractions, batches, outer products, reductions, three operands', () => {
  check((a, b) => einsum('ij,jk->ik', a, b), [normal(3, 4), normal(4, 2)]);
  check((a, b) => einsum('bij,bjk->bik', a, b), [normal(2, 3, 4), normal(2, 4, 2)]);
  check((a, b) => einsum('i,i->', a, b), [normal(5), normal(5)]);
  check((a) => einsum('ij->ji', a), [normal(3, 4)]);
  check((a) => einsum('ijk->', a), [normal(2, 3, 2)]);
  check((a, b) => einsum('bi,bj->bij', a, b), [normal(2, 3), normal(2, 4)]);
  check((a, b) => einsum('ijk,ik->j', a, b), [normal(2, 3, 4), normal(2, 4)]);
  check((a, b, c) => einsum('ij,jk,kl->il', a, b, c), [normal(2, 3), normal(3, 4), normal(4, 2)]);
  check((a, b) => einsum('ij,jk', a, b), [normal(3, 4), normal(4, 2)]); // implicit output
  check((a, b) => einsum('bhqd,bhkd->bhqk', a, b), [normal(1, 2, 3, 2), normal(1, 2, 4, 2)]);
});

// ---------------------------------------------------------------------------------------------
// views and data movement
// ---------------------------------------------------------------------------------------------

test('reshape (also of non-contiguous), permute, transpose, expand, squeeze, flatten', () => {
  const x = normal(2, 3, 4);
  check((a) => a.reshape(6, 4), [x]);
  check((a) => a.reshape(-1), [x]);
  check((a) => a.permute(2, 0, 1).reshape(4, 6), [x]); // reshape of a non-contiguous view copies
  check((a) => a.mT.reshape(2, 12), [x]);
  check((a) => a.permute(1, 2, 0), [x]);
  check((a) => a.transpose(0, 2), [x]);
  check((a) => a.expand(3, 2, 4), [normal(2, 1)]);
  check((a) => a.expand(2, 3, 4), [normal(4)]);
  check((a) => a.expand(-1, 5).permute(1, 0), [normal(3, 1)]);
  check((a) => a.unsqueeze(1).squeeze(), [normal(1, 3, 1)]);
  check((a) => a.flatten(1), [x]);
  check((a) => a.contiguous().add(a.clone()), [x]);
});

test('slice with steps (negative too), flip, index', () => {
  const x = normal(4, 5, 3);
  check((a) => a.slice(1, 1, 4), [x]);
  check((a) => a.slice(1, 4, 0, -2), [x]);
  check((a) => a.slice(0, undefined, undefined, -1), [x]);
  check((a) => a.slice(2, -2), [x]);
  check((a) => a.slice(0, 1, 5, 3).slice(1, undefined, undefined, -2), [x]); // a slice of a slice
  check((a) => a.flip(0), [x]);
  check((a) => a.flip(0, 2), [x]);
  check((a) => a.index(1), [x]);
  check((a) => a.index(-1, [1, 4, 2]), [x]);
  check((a) => a.index(null, [undefined, undefined, -1], 0), [x]);
  check((a) => a.index([3, 0, -1], 2, [undefined, undefined, -2]), [x]);
  check((a) => a.slice(1, 2, 2), [x]); // empty result
});

test('concat, stack, split, chunk, unbind', () => {
  check((a, b) => concat([a, b], 0), [normal(2, 3), normal(4, 3)]);
  check((a, b, c) => concat([a, b, c], 1), [normal(2, 1), normal(2, 3), normal(2, 2)]);
  check((a, b) => concat([a, b, a], -1), [normal(2, 2), normal(2, 3)]);
  check((a, b) => stack([a, b], 0), [normal(2, 3), normal(2, 3)]);
  check((a, b) => stack([a, b, a], 2), [normal(2, 3), normal(2, 3)]);
  check((a) => { const [p, q, r] = a.split([1, 3, 1], 1); return p!.mul(q!.sum(1, true)).add(r!.mul(3)); }, [normal(2, 5)]);
  check((a) => { const parts = a.split(2, 0); return parts[2]!.add(parts[0]!.sum(0)); }, [normal(5, 2)]);
  check((a) => { const [p, q] = a.chunk(2, 1); return p!.mul(q!); }, [normal(3, 4)]);
  check((a) => { const rows = a.unbind(0); return rows[0]!.mul(rows[1]!).add(rows[2]!); }, [normal(3, 4)]);
});

test('pad (positive, negative, constant) and roll', () => {
  const x = normal(2, 3, 4);
  check((a) => pad(a, [1, 2]), [x]);
  check((a) => pad(a, [1, 0, 2, 1]), [x]);
  check((a) => pad(a, [1, 1, 0, 0, 1, 1], 0.5), [x]);
  check((a) => pad(a, [-1, 2, 1, -1]), [x]);
  check((a) => roll(a, 1, 2), [x]);
  check((a) => roll(a, -2, 1), [x]);
  check((a) => roll(a, 7, 0), [x]);
});

test('gather, scatterAdd and indexSelect (with repeated indices)', () => {
  const x = normal(3, 4);
  check((a) => a.gather(1, int([0, 3, 3, 1, 2, 0], [3, 2])), [x]);
  check((a) => a.gather(0, int([2, 2, 0, 1, 0, 0, 1, 2], [2, 4])), [x]);
  check((a, s) => a.scatterAdd(1, int([0, 0, 3, 1, 2, 2], [3, 2]), s), [x, normal(3, 2)]);
  check((a, s) => a.scatterAdd(0, int([1, 1, 0, 2], [1, 4]), s), [x, normal(2, 5)]); // src larger than index
  check((a) => a.indexSelect(0, int([2, 0, 2])), [x]);
  check((a) => a.indexSelect(1, int([3, 3, 1])), [x]);
  check((a) => a.indexSelect(-1, int([1])), [normal(2, 3, 4)]);
});

test('where, maskedFill, clamp', () => {
  const c = tensor([[true, false, true], [false, false, true]]);
  check((a, b) => where(c, a, b), [normal(2, 3), normal(2, 3)]);
  check((a, b) => where(c, a, b), [normal(3), normal(2, 1)]); // broadcast branches
  check((a) => where(c, a, 2.5), [normal(2, 3)]);
  check((a) => where(c, -1, a), [normal(1, 3)]);
  check((a) => a.maskedFill(c, 0.5), [normal(2, 3)]);
  const x = f64([[-1.3, -0.2, 0.4], [0.8, 1.7, -0.7]]);
  check((a) => a.clamp(-0.5, 0.6), [x]);
  check((a) => a.clamp(0), [x]);
  check((a) => a.clamp(null, 0), [x]);
});

// ---------------------------------------------------------------------------------------------
// nn.functional
// ---------------------------------------------------------------------------------------------

test('linear and dropout (a fixed mask)', () => {
  check((x, w, b) => F.linear(x, w, b), [normal(3, 4), normal(2, 4), normal(2)]);
  check((x, w) => F.linear(x, w), [normal(2, 3, 4), normal(5, 4)]);
  check((x) => F.dropout(x, 0.4, true, new Generator(7)), [normal(4, 5)]);
});

test('conv1d and conv2d: stride, padding, dilation, groups, bias', () => {
  check((x, w, b) => F.conv2d(x, w, b), [normal(1, 2, 4, 4), normal(3, 2, 2, 2), normal(3)]);
  check((x, w) => F.conv2d(x, w, null, { stride: 2, padding: 1 }), [normal(2, 2, 5, 4), normal(2, 2, 3, 3)]);
  check((x, w) => F.conv2d(x, w, null, { stride: [1, 2], padding: [0, 2], dilation: [2, 1] }), [normal(1, 2, 5, 5), normal(2, 2, 2, 3)]);
  check((x, w, b) => F.conv2d(x, w, b, { groups: 2, padding: 1 }), [normal(1, 4, 3, 3), normal(4, 2, 2, 2), normal(4)]);
  check((x, w) => F.conv2d(x, w, null, { groups: 3 }), [normal(1, 3, 3, 3), normal(3, 1, 2, 2)]); // depthwise
  check((x, w, b) => F.conv1d(x, w, b), [normal(2, 2, 6), normal(3, 2, 3), normal(3)]);
  check((x, w) => F.conv1d(x, w, null, { stride: 2, padding: 2, dilation: 2 }), [normal(1, 2, 7), normal(2, 2, 3)]);
  check((x, w) => F.conv1d(x, w, null, { groups: 2 }), [normal(1, 4, 5), normal(2, 2, 2)]);
  check((x, w) => F.conv2d(x, w), [normal(1, 1, 1, 1), normal(2, 1, 1, 1)]); // 1×1 everything
  // pointwise (1×1, stride 1, no padding): no column matrix; with groups and a non-square map
  check((x, w, b) => F.conv2d(x, w, b), [normal(2, 3, 2, 5), normal(4, 3, 1, 1), normal(4)]);
  check((x, w) => F.conv2d(x, w, null, { groups: 2 }), [normal(1, 4, 3, 2), normal(6, 2, 1, 1)]);
});

test('convTranspose2d and convTranspose1d: stride, padding, outputPadding, dilation, groups', () => {
  check((x, w, b) => F.convTranspose2d(x, w, b), [normal(1, 2, 3, 3), normal(2, 3, 2, 2), normal(3)]);
  check((x, w) => F.convTranspose2d(x, w, null, { stride: 2, padding: 1, outputPadding: 1 }), [normal(1, 2, 3, 2), normal(2, 2, 3, 3)]);
  check((x, w) => F.convTranspose2d(x, w, null, { dilation: [2, 1], stride: [1, 2] }), [normal(2, 1, 2, 3), normal(1, 2, 2, 2)]);
  check((x, w) => F.convTranspose2d(x, w, null, { groups: 2, stride: 2 }), [normal(1, 4, 2, 2), normal(4, 1, 2, 2)]);
  check((x, w, b) => F.convTranspose1d(x, w, b, { stride: 2, padding: 1, outputPadding: 1 }), [normal(1, 2, 4), normal(2, 3, 3), normal(3)]);
});

test('max and average pooling (padding, stride, 1-D), adaptive average', () => {
  // distinct values so no window has a tie at the maximum
  const distinct = (shape: number[]) => {
    const n = shape.reduce((p, d) => p * d, 1);
    const perm = rng.permutation(n);
    return tensor(Float64Array.from(perm, (v) => v * 0.37 - n * 0.15), { shape, dtype: 'float64' });
  };
  check((x) => F.maxPool2d(x, 2), [distinct([1, 2, 4, 4])]);
  check((x) => F.maxPool2d(x, 3, { stride: 2, padding: 1 }), [distinct([2, 1, 5, 5])]);
  check((x) => F.maxPool2d(x, [2, 3], { stride: 1, dilation: [1, 2] }), [distinct([1, 1, 4, 6])]);
  check((x) => F.avgPool2d(x, 2), [normal(1, 2, 4, 4)]);
  check((x) => F.avgPool2d(x, 3, { stride: 2, padding: 1 }), [normal(1, 2, 5, 5)]);
  check((x) => F.maxPool1d(x, 2, { stride: 1 }), [distinct([1, 2, 6])]);
  check((x) => F.avgPool1d(x, 3, { stride: 2, padding: 1 }), [normal(1, 2, 7)]);
  check((x) => F.adaptiveAvgPool2d1(x), [normal(2, 3, 2, 3)]);
});

test('interpolate: nearest (integer and fractional factors) and bilinear (both corner modes)', () => {
  const x = normal(1, 2, 3, 4);
  check((a) => F.interpolate(a, { scaleFactor: 2 }), [x]);
  check((a) => F.interpolate(a, { size: [5, 6] }), [x]);
  check((a) => F.interpolate(a, { size: [2, 3] }), [x]);
  check((a) => F.interpolate(a, { size: [5, 7], mode: 'bilinear' }), [x]);
  check((a) => F.interpolate(a, { size: [6, 8], mode: 'bilinear', alignCorners: true }), [x]);
  check((a) => F.interpolate(a, { size: [2, 2], mode: 'bilinear' }), [x]);
});

test('layerNorm, groupNorm, batchNorm (training and eval) with affine parameters', () => {
  check((x, w, b) => F.layerNorm(x, [4], w, b), [normal(2, 3, 4), normal(4), normal(4)]);
  check((x, w, b) => F.layerNorm(x, [3, 4], w, b), [normal(2, 3, 4), normal(3, 4), normal(3, 4)]);
  check((x) => F.layerNorm(x, [5]), [normal(3, 5)]);
  check((x, w, b) => F.groupNorm(x, 2, w, b), [normal(2, 4, 3), normal(4), normal(4)]);
  check((x) => F.groupNorm(x, 1), [normal(2, 3, 2, 2)]);
  check((x, w, b) => F.batchNorm(x, null, null, w, b, true), [normal(4, 3), normal(3), normal(3)]);
  check((x, w, b) => F.batchNorm(x, null, null, w, b, true), [normal(2, 3, 2, 2), normal(3), normal(3)]);
  // running statistics are updated in place (outside the graph) and do not disturb the gradient
  const rm = tensor(new Float64Array(3), { dtype: 'float64' }), rv = tensor(new Float64Array(3).fill(1), { dtype: 'float64' });
  check((x) => F.batchNorm(x, rm, rv, null, null, true), [normal(5, 3)]);
  check((x, w, b) => F.batchNorm(x, f64([0.1, -0.2, 0.3]), f64([1.5, 0.7, 2]), w, b, false), [normal(4, 3, 2), normal(3), normal(3)]);
});

test('losses: mse, l1, nll, crossEntropy (label smoothing), bce, bceWithLogits, every reduction', () => {
  const target = normal(3, 4);
  const cls = int([2, 0, 3]);
  for (const r of ['mean', 'sum', 'none'] as const) {
    check((x, t) => F.mseLoss(x, t, r), [normal(3, 4), target]);
    check((x) => F.l1Loss(x, target, r), [target.add(awayFromZero([3, 4]))]);
    check((x) => F.nllLoss(x, cls, r), [normal(3, 4)]);
    check((x) => F.crossEntropy(x, cls, { reduction: r }), [normal(3, 4)]);
    check((x) => F.crossEntropy(x, cls, { reduction: r, labelSmoothing: 0.1 }), [normal(3, 4)]);
    check((p, t) => F.binaryCrossEntropy(p, t, r), [rand64(rng, [3, 4], 0.05, 0.95), rand64(rng, [3, 4], 0, 1)]);
    check((x, t) => F.binaryCrossEntropyWithLogits(x, t, r), [awayFromZero([3, 4], 0.1, 3), rand64(rng, [3, 4], 0, 1)]);
  }
});

test('scaledDotProductAttention: plain, causal, masked, batched heads', () => {
  check((q, k, v) => F.scaledDotProductAttention(q, k, v), [normal(3, 2), normal(4, 2), normal(4, 3)]);
  check((q, k, v) => F.scaledDotProductAttention(q, k, v, { causal: true }), [normal(2, 3, 2), normal(2, 3, 2), normal(2, 3, 2)]);
  const mask = tensor([[true, false, true, true], [false, true, true, false]]);
  check((q, k, v) => F.scaledDotProductAttention(q, k, v, { mask }), [normal(1, 2, 2, 3), normal(1, 2, 4, 3), normal(1, 2, 4, 2)]);
});

// ---------------------------------------------------------------------------------------------
// linear algebra
// ---------------------------------------------------------------------------------------------

/** Well-conditioned random matrices: I·s + noise. */
const wellConditioned = (batch: number[], n: number) => noGrad(() => {
  const eye = tensor(Float64Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 2 : 0)), { shape: [n, n], dtype: 'float64' });
  return normal(...batch, n, n).mul(0.4).add(eye);
});

test('linalg: inv, det, slogdet, solve (batched, negative determinants)', () => {
  const a = wellConditioned([], 3);
  const ab = wellConditioned([2], 3);
  const neg = f64([[0.5, 2, 0.1], [1.8, 0.3, -0.4], [0.2, -0.5, 1.1]]); // det < 0
  check((m) => linalg.inv(m), [a]);
  check((m) => linalg.inv(m), [ab]);
  check((m) => linalg.det(m), [a]);
  check((m) => linalg.det(m), [ab]);
  check((m) => linalg.det(m), [neg]);
  check((m) => linalg.slogdet(m).logAbsDet, [neg]);
  check((m) => linalg.slogdet(m).logAbsDet, [ab]);
  check((m) => linalg.slogdet(m).sign.mul(m.sum()), [neg]); // sign has no gradient: only m.sum() contributes
  check((m, b) => linalg.solve(m, b), [a, normal(3, 2)]);
  check((m, b) => linalg.solve(m, b), [ab, normal(2, 3, 1)]);
  check((m) => linalg.det(m), [f64([[1.7]])]);
});

test('an empty batch flows through forward and backward; weights get a zero gradient', () => {
  const ops: [string, (x: Tensor, w: Tensor) => Tensor][] = [
    ['linear', (x, w) => F.linear(x, w)],
    ['softmax', (x, w) => x.softmax(-1).mul(w.sum())],
    ['logsumexp', (x, w) => x.logsumexp(1).mul(w.sum())],
    ['layerNorm', (x, w) => F.layerNorm(x, [4], w.index(0))],
    ['var', (x, w) => x.var(1).mul(w.sum())],
    ['cumsum', (x, w) => x.cumsum(1).matmul(w.mT)],
    ['conv2d', (x, w) => F.conv2d(x.reshape(0, 1, 2, 2), w.reshape(2, 1, 2, 2))],
    ['mseLoss sum', (x, w) => F.mseLoss(F.linear(x, w), F.linear(x, w).detach().add(1), 'sum')],
  ];
  for (const [name, f] of ops) {
    const r = gradcheck(f, [normal(0, 4), normal(2, 4)]);
    assert.equal(r.checked, 8, name);
    assert.ok(r.grads[1]!.every((v) => v === 0), `${name}: weight gradient should be zero`);
  }
});
