/**
 * Every op against golden values from PyTorch (tests/fixtures/ops.json, written by
 * scripts/fixtures/make_op_fixtures.py): the forward output, and each input's gradient after
 * backward() from a fixed random upstream gradient. Inputs are float32 (marked requiresGrad where
 * torch recorded a gradient); the reference was computed by torch in float64 from the same float32
 * values and rounded to float32.
 *
 * Metric, per element: |got − ref| / max(|ref|, 0.1·max|ref|) ≤ 1e-5, i.e. a relative error of
 * 1e-5 with an absolute floor of 1e-6·max|ref| over the tensor (so entries that cancel to nearly
 * zero are judged against the tensor's scale). Integer and bool outputs must match exactly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { type Tensor, type TypedArray, tensor, where, concat, stack, oneHot, pad, roll, einsum, linalg, scope, nn } from '../src/index.ts';

const F = nn.functional;

interface Arr { shape: number[]; data: number[] }
interface Input extends Arr { dtype: 'float32' | 'int32' | 'bool' }
interface Case {
  name: string;
  op: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  attrs: Record<string, any>;
  inputs: Input[];
  gradOut: Arr | null;
  output: Input;
  grads: (Arr | null)[];
}

const fixture = JSON.parse(readFileSync(new URL('./fixtures/ops.json', import.meta.url), 'utf8')) as { cases: Case[] };

const RTOL = 1e-5;
const FLOOR = 0.1; // the denominator never drops below FLOOR·max|ref|: an absolute floor of RTOL·FLOOR·max|ref|

/** Worst per-element error under the metric above, and where it happened. */
function worstError(got: ArrayLike<number>, ref: readonly number[]): { err: number; at: number } {
  let scale = 0;
  for (const r of ref) scale = Math.max(scale, Math.abs(r));
  const floor = Math.max(FLOOR * scale, 1e-30);
  let err = 0, at = -1;
  for (let i = 0; i < ref.length; i++) {
    const e = Math.abs(got[i]! - ref[i]!) / Math.max(Math.abs(ref[i]!), floor);
    if (!(e <= err)) {
      err = e;
      at = i;
    }
  }
  return { err, at };
}

let worstSeen = { err: 0, where: '' };

function expectClose(what: string, t: Tensor, ref: Arr, exact = false): void {
  assert.deepEqual([...t.shape], ref.shape, `${what}: shape`);
  const got: TypedArray = t.dataSync();
  if (exact) {
    assert.deepEqual(Array.from(got), ref.data, `${what}: values`);
    return;
  }
  const { err, at } = worstError(got, ref.data);
  if (err > worstSeen.err) worstSeen = { err, where: what };
  assert.ok(err <= RTOL, `${what}: relative error ${err.toExponential(2)} at flat index ${at} (got ${got[at]}, torch ${ref.data[at]})`);
}

function makeInput(x: Input, requiresGrad: boolean): Tensor {
  const data = x.dtype === 'float32' ? Float32Array.from(x.data) : x.dtype === 'int32' ? Int32Array.from(x.data) : Uint8Array.from(x.data);
  return tensor(data, { shape: x.shape, dtype: x.dtype, requiresGrad });
}

/** attrs.pre: per input, null or { perm, flip } applied before the op (non-contiguous operands). */
function applyPre(xs: Tensor[], pre: ({ perm?: number[]; flip?: number[] } | null)[] | undefined): Tensor[] {
  if (!pre) return xs;
  return xs.map((x, i) => {
    const p = pre[i];
    let y = x;
    if (p?.perm) y = y.permute(p.perm);
    if (p?.flip) y = y.flip(p.flip);
    return y;
  });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Attrs = Record<string, any>;
const opt = (v: unknown) => (v === null ? undefined : v) as number | undefined;
const flatCat = (ts: Tensor[]) => concat(ts.map((t) => t.reshape(-1)), 0);

/** Each fixture `op` as a genlab call. */
const OPS: Record<string, (x: Tensor[], a: Attrs) => Tensor> = {
  // elementwise unary
  neg: ([x]) => x!.neg(),
  abs: ([x]) => x!.abs(),
  exp: ([x]) => x!.exp(),
  log: ([x]) => x!.log(),
  log1p: ([x]) => x!.log1p(),
  expm1: ([x]) => x!.expm1(),
  sqrt: ([x]) => x!.sqrt(),
  rsqrt: ([x]) => x!.rsqrt(),
  sin: ([x]) => x!.sin(),
  cos: ([x]) => x!.cos(),
  tanh: ([x]) => x!.tanh(),
  sigmoid: ([x]) => x!.sigmoid(),
  softplus: ([x], a) => x!.softplus(a.beta, a.threshold),
  silu: ([x]) => x!.silu(),
  gelu: ([x], a) => x!.gelu(a.approximate),
  erf: ([x]) => x!.erf(),
  relu: ([x]) => x!.relu(),
  leakyRelu: ([x], a) => x!.leakyRelu(a.negativeSlope),
  elu: ([x], a) => x!.elu(a.alpha),
  clamp: ([x], a) => x!.clamp(a.min, a.max),
  reciprocal: ([x]) => x!.reciprocal(),
  square: ([x]) => x!.square(),
  logSigmoid: ([x]) => x!.logSigmoid(),
  sign: ([x]) => x!.sign(),
  floor: ([x]) => x!.floor(),
  ceil: ([x]) => x!.ceil(),
  round: ([x]) => x!.round(),
  // elementwise binary
  add: ([a, b]) => a!.add(b!),
  sub: ([a, b]) => a!.sub(b!),
  mul: ([a, b]) => a!.mul(b!),
  div: ([a, b]) => a!.div(b!),
  pow: ([a, b]) => a!.pow(b!),
  powScalar: ([x], a) => x!.pow(a.exponent),
  maximum: ([a, b]) => a!.maximum(b!),
  minimum: ([a, b]) => a!.minimum(b!),
  where: ([c, a, b]) => where(c!, a!, b!),
  lerp: ([x, y], a) => x!.lerp(y!, a.weight),
  gt: ([a, b]) => a!.gt(b!),
  le: ([a, b]) => a!.le(b!),
  eq: ([a, b]) => a!.eq(b!),
  // reductions
  sum: ([x], a) => x!.sum(opt(a.axes), a.keepDim),
  mean: ([x], a) => x!.mean(opt(a.axes), a.keepDim),
  max: ([x], a) => x!.max(opt(a.axes), a.keepDim),
  min: ([x], a) => x!.min(opt(a.axes), a.keepDim),
  prod: ([x], a) => x!.prod(opt(a.axes), a.keepDim),
  logsumexp: ([x], a) => x!.logsumexp(opt(a.axes), a.keepDim),
  var: ([x], a) => x!.var(opt(a.axes), { correction: a.correction, keepDim: a.keepDim }),
  std: ([x], a) => x!.std(opt(a.axes), { correction: a.correction, keepDim: a.keepDim }),
  argmax: ([x], a) => x!.argmax(opt(a.axis), a.keepDim),
  argmin: ([x], a) => x!.argmin(opt(a.axis), a.keepDim),
  cumsum: ([x], a) => x!.cumsum(a.axis),
  softmax: ([x], a) => x!.softmax(a.axis),
  logSoftmax: ([x], a) => x!.logSoftmax(a.axis),
  // products
  matmul: ([a, b]) => a!.matmul(b!),
  einsum: (xs, a) => einsum(a.equation, ...xs),
  // views and data movement
  reshape: ([x], a) => x!.reshape(a.shape),
  permute: ([x], a) => x!.permute(a.perm),
  transpose: ([x], a) => x!.transpose(a.dim0, a.dim1),
  expand: ([x], a) => x!.expand(a.shape),
  slice: ([x], a) => x!.slice(a.axis, opt(a.start), opt(a.end), a.step),
  flip: ([x], a) => x!.flip(a.axes),
  squeeze: ([x], a) => x!.squeeze(opt(a.axis)),
  unsqueeze: ([x], a) => x!.unsqueeze(a.axis),
  unbind: ([x], a) => flatCat(x!.unbind(a.axis)),
  concat: (xs, a) => concat(xs, a.axis),
  stack: (xs, a) => stack(xs, a.axis),
  split: ([x], a) => flatCat(x!.split(a.sizes, a.axis)),
  chunk: ([x], a) => flatCat(x!.chunk(a.chunks, a.axis)),
  pad: ([x], a) => pad(x!, a.pads, a.value),
  roll: ([x], a) => roll(x!, a.shift, a.axis),
  gather: ([x, i], a) => x!.gather(a.axis, i!),
  scatterAdd: ([x, i, s], a) => x!.scatterAdd(a.axis, i!, s!),
  indexSelect: ([x, i], a) => x!.indexSelect(a.axis, i!),
  maskedFill: ([x, m], a) => x!.maskedFill(m!, a.value),
  oneHot: ([i], a) => oneHot(i!, a.numClasses),
  // nn.functional
  linear: ([x, w, b]) => F.linear(x!, w!, b),
  conv1d: ([x, w, b], a) => F.conv1d(x!, w!, b, { stride: a.stride, padding: a.padding, dilation: a.dilation, groups: a.groups }),
  conv2d: ([x, w, b], a) => F.conv2d(x!, w!, b, { stride: a.stride, padding: a.padding, dilation: a.dilation, groups: a.groups }),
  convTranspose2d: ([x, w, b], a) => F.convTranspose2d(x!, w!, b, { stride: a.stride, padding: a.padding, outputPadding: a.outputPadding, groups: a.groups, dilation: a.dilation }),
  convTranspose1d: ([x, w, b], a) => F.convTranspose1d(x!, w!, b, { stride: a.stride, padding: a.padding, outputPadding: a.outputPadding, groups: a.groups, dilation: a.dilation }),
  maxPool1d: ([x], a) => F.maxPool1d(x!, a.kernel, { stride: a.stride, padding: a.padding }),
  avgPool1d: ([x], a) => F.avgPool1d(x!, a.kernel, { stride: a.stride, padding: a.padding }),
  maxPool2d: ([x], a) => F.maxPool2d(x!, a.kernel, { stride: a.stride, padding: a.padding }),
  avgPool2d: ([x], a) => F.avgPool2d(x!, a.kernel, { stride: a.stride, padding: a.padding }),
  interpolate: ([x], a) => F.interpolate(x!, { mode: a.mode, size: a.size, scaleFactor: a.scaleFactor, alignCorners: a.alignCorners }),
  layerNorm: ([x, w, b], a) => F.layerNorm(x!, a.normalizedShape, w, b, a.eps),
  groupNorm: ([x, w, b], a) => F.groupNorm(x!, a.numGroups, w, b, a.eps),
  batchNorm: ([x, w, b, rm, rv], a) => (a.training === false ? F.batchNorm(x!, rm!, rv!, w!, b!, false, 0.1, a.eps) : F.batchNorm(x!, null, null, w!, b!, true, 0.1, a.eps)),
  /** The running statistics after one training step, [mean, var] (forward only). */
  batchNormRunningStats: ([x, rm, rv], a) => {
    F.batchNorm(x!, rm!, rv!, null, null, true, a.momentum);
    return concat([rm!, rv!], 0);
  },
  mseLoss: ([x, t], a) => F.mseLoss(x!, t!, a.reduction),
  l1Loss: ([x, t], a) => F.l1Loss(x!, t!, a.reduction),
  crossEntropy: ([x, t], a) => F.crossEntropy(x!, t!, { reduction: a.reduction, labelSmoothing: a.labelSmoothing }),
  nllLoss: ([x, t], a) => F.nllLoss(x!, t!, a.reduction),
  binaryCrossEntropy: ([p, t], a) => F.binaryCrossEntropy(p!, t!, a.reduction),
  binaryCrossEntropyWithLogits: ([x, t], a) => F.binaryCrossEntropyWithLogits(x!, t!, a.reduction),
  scaledDotProductAttention: ([q, k, v, mask], a) => F.scaledDotProductAttention(q!, k!, v!, { causal: a.causal, mask }),
  // linear algebra
  inv: ([x]) => linalg.inv(x!),
  det: ([x]) => linalg.det(x!),
  slogdet: ([x]) => linalg.slogdet(x!).logAbsDet,
  slogdetSign: ([x]) => linalg.slogdet(x!).sign,
  solve: ([a, b]) => linalg.solve(a!, b!),
};

test('the fixture has cases and every op is mapped', () => {
  assert.ok(fixture.cases.length >= 150, `only ${fixture.cases.length} cases in ops.json`);
  const unmapped = [...new Set(fixture.cases.map((c) => c.op))].filter((op) => !(op in OPS));
  assert.deepEqual(unmapped, []);
});

for (const c of fixture.cases) {
  test(`${c.name} (${c.op})`, () => {
    scope(() => {
      const xs = c.inputs.map((x, i) => makeInput(x, c.grads[i] !== null));
      const out = OPS[c.op]!(applyPre(xs, c.attrs.pre), c.attrs);
      assert.equal(out.dtype, c.output.dtype, `${c.name}: output dtype`);
      expectClose(`${c.name}: output`, out, c.output, c.output.dtype !== 'float32');
      if (!c.gradOut) return;
      out.backward(tensor(Float32Array.from(c.gradOut.data), { shape: c.gradOut.shape }));
      c.grads.forEach((g, i) => {
        if (!g) return;
        const got = xs[i]!.grad;
        assert.ok(got, `${c.name}: input ${i} got no gradient`);
        expectClose(`${c.name}: grad of input ${i}`, got, g);
      });
    });
  });
}

test('worst relative error seen (report)', (t) => {
  t.diagnostic(`worst relative error ${worstSeen.err.toExponential(2)} in ${worstSeen.where}`);
  assert.ok(worstSeen.err <= RTOL);
});
