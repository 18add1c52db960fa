/**
 * Conformance of the wasm backend with the reference cpu backend, kernel by kernel, on the shapes
 * that break kernels: sizes that are not multiples of the SIMD width or of the GEMM tiles, empty
 * and size-1 dimensions, strided views (permuted, sliced with a step, flipped — negative strides —,
 * and expanded — zero strides —), and broadcasting in every position.
 *
 * Tolerances (the reference computes in float64 and rounds once to float32):
 * - exact (bit for bit, NaN matching NaN): + − × ÷, maximum/minimum, comparisons, logical ops,
 *   neg/abs/sign/sqrt/recip/floor/ceil/round, where, copy, cast, concat, gather, scatterAdd,
 *   embedSlice, max/min/argmax/argmin reductions, int32 sums and cumsums;
 * - transcendental functions: within ULP_BOUND[op] units in the last place (see the sweep test,
 *   which reports the largest error it measured);
 * - float32 sums, products and cumsums: |Δ| ≤ 1e-6·Σ|x| (both accumulate in float64, in a
 *   different order);
 * - matmul and convolutions: |Δ| ≤ K·2⁻²³·(|A|·|B|)ᵢⱼ, the standard bound for a K-term float32
 *   dot product (the wasm kernels accumulate in float32, the reference in float64).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Tensor, type DType, type Backend, Generator, createWasmBackend, tensor, where, concat, scope, linalg, nn, grad } from '../src/index.ts';
import { getBackendByName } from '../src/core/backend.ts';
import { embedSlice, im2colOp, col2imOp } from '../src/core/tensor.ts';
import { toArrayOf } from '../src/core/dtype.ts';
import { sizeOf } from '../src/core/shape.ts';

const F = nn.functional;
const cpu = getBackendByName('cpu');
const wasm = getBackendByName('wasm');
const rng = new Generator(2024);

type Layout = 'contig' | 'perm' | 'step' | 'flip' | 'expand';
const LAYOUTS: readonly Layout[] = ['contig', 'perm', 'step', 'flip', 'expand'];

/** Row-major multi-index ↔ flat index helpers. */
function unflat(i: number, shape: readonly number[]): number[] {
  const m = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    m[d] = i % shape[d]!;
    i = Math.floor(i / shape[d]!);
  }
  return m;
}
function flat(m: readonly number[], shape: readonly number[]): number {
  let i = 0;
  for (let d = 0; d < shape.length; d++) i = i * shape[d]! + m[d]!;
  return i;
}

/**
 * A tensor of `shape` on `be` holding `vals` (row-major) in the given storage layout: 'perm'
 * stores the dimensions reversed and permutes them back, 'step' interleaves axis 0 with junk
 * (stride 2, offset 1), 'flip' stores every axis reversed and flips it back (negative strides),
 * 'expand' broadcasts the slice at index 0 of the first axis longer than 1 (zero stride).
 */
function place(vals: ArrayLike<number>, shape: readonly number[], dtype: DType, be: Backend, layout: Layout): Tensor {
  const n = shape.length, size = sizeOf(shape);
  const make = (v: ArrayLike<number>, s: readonly number[]) => tensor(toArrayOf(dtype, v), { shape: [...s], dtype, backend: be });
  if (n === 0 || size === 0 || layout === 'contig') return make(vals, shape);
  if (layout === 'perm') {
    const rev = [...shape].reverse();
    const stored = new Array<number>(size);
    for (let i = 0; i < size; i++) stored[flat(unflat(i, shape).reverse(), rev)] = vals[i]!;
    return make(stored, rev).permute(rev.map((_, i) => n - 1 - i));
  }
  if (layout === 'step') {
    const big = [2 * shape[0]! + 1, ...shape.slice(1)];
    const stored = new Array<number>(sizeOf(big)).fill(dtype === 'bool' ? 1 : 77);
    for (let i = 0; i < size; i++) {
      const m = unflat(i, shape);
      m[0] = 2 * m[0]! + 1;
      stored[flat(m, big)] = vals[i]!;
    }
    return make(stored, big).slice(0, 1, undefined, 2);
  }
  if (layout === 'flip') {
    const stored = new Array<number>(size);
    for (let i = 0; i < size; i++) stored[flat(unflat(i, shape).map((k, d) => shape[d]! - 1 - k), shape)] = vals[i]!;
    return make(stored, shape).flip(shape.map((_, d) => d));
  }
  const a = shape.findIndex((d) => d > 1);
  if (a < 0) return make(vals, shape);
  const small = shape.map((d, i) => (i === a ? 1 : d));
  const stored = new Array<number>(sizeOf(small));
  for (let i = 0; i < stored.length; i++) stored[i] = vals[flat(unflat(i, small), shape)]!;
  return make(stored, small).expand([...shape]);
}

function normals(n: number, scale = 1): Float32Array {
  return Float32Array.from(rng.normal(n, 0, scale));
}
function ints(n: number, lo = -6, hi = 7): Int32Array {
  return Int32Array.from(rng.randint(n, lo, hi));
}
function bools(n: number): Uint8Array {
  return Uint8Array.from(rng.randint(n, 0, 2));
}
function valuesOf(dtype: DType, n: number): Float32Array | Int32Array | Uint8Array {
  return dtype === 'float32' ? normals(n, 2) : dtype === 'int32' ? ints(n) : bools(n);
}

/** float32 spacing at |x| (the unit in the last place). */
function ulp(x: number): number {
  const a = Math.abs(x);
  if (a < 2 ** -126) return 2 ** -149;
  return 2 ** (Math.floor(Math.log2(a)) - 23);
}

interface Tol {
  /** Max units in the last place. */
  ulps?: number;
  /** Per-element absolute bounds (same length as the output). */
  bound?: ArrayLike<number>;
}

function agree(what: string, got: Tensor, ref: Tensor, tol: Tol = {}): number {
  assert.deepEqual([...got.shape], [...ref.shape], `${what}: shape`);
  assert.equal(got.dtype, ref.dtype, `${what}: dtype`);
  const g = got.dataSync(), r = ref.dataSync();
  let worst = 0;
  for (let i = 0; i < r.length; i++) {
    const a = g[i]!, b = r[i]!;
    if (Number.isNaN(b) && Number.isNaN(a)) continue;
    if (a === b) continue;
    if (tol.bound && Math.abs(a - b) <= tol.bound[i]!) continue;
    const u = tol.ulps !== undefined && Number.isFinite(b) ? Math.abs(a - b) / ulp(b) : Infinity;
    if (tol.ulps !== undefined && u <= tol.ulps) {
      worst = Math.max(worst, u);
      continue;
    }
    assert.fail(`${what}: element ${i} (${unflat(i, ref.shape).join(', ')}): wasm ${a}, cpu ${b}${tol.ulps !== undefined ? ` (${u.toFixed(2)} ulp)` : ''}`);
  }
  return worst;
}

/** Run f on both backends (inside scopes) and compare. */
function same(what: string, f: (be: Backend) => Tensor, tol: Tol | ((ref: Tensor) => Tol) = {}): void {
  scope(() => {
    const ref = f(cpu), got = f(wasm);
    assert.equal(got.backend, wasm, `${what}: the wasm result lives on the wasm backend`);
    agree(what, got, ref, typeof tol === 'function' ? tol(ref) : tol);
  });
}

// ----- elementwise ---------------------------------------------------------------------------------

const SPECIALS = [0, -0, 1, -1, 0.5, -0.5, 1.5, 2.5, -2.5, 3.5, Infinity, -Infinity, NaN, 1e-40, -1e-40, 1e-30, 88.5, -88.5, 100, -100, 1e10, -1e10, 4e9];

test('unary float32 ops on every layout and odd sizes, special values included', () => {
  const exactOps = ['neg', 'abs', 'sign', 'sqrt', 'reciprocal', 'floor', 'ceil', 'round'] as const;
  const special = ['exp', 'log', 'log1p', 'expm1', 'sin', 'cos', 'tanh', 'sigmoid', 'erf'] as const;
  for (const shape of [[5, 7, 3], [1, 13], [], [0, 4], [2, 1, 9]]) {
    const n = sizeOf(shape);
    const vals = normals(n, 3);
    for (let i = 0; i < Math.min(n, SPECIALS.length); i++) vals[(i * 7) % n] = SPECIALS[i]!;
    for (const layout of LAYOUTS) {
      for (const op of exactOps) same(`${op} ${layout} [${shape}]`, (be) => place(vals, shape, 'float32', be, layout)[op]());
      for (const op of special) same(`${op} ${layout} [${shape}]`, (be) => place(vals, shape, 'float32', be, layout)[op](), { ulps: ULP_BOUND[op] });
      same(`silu ${layout} [${shape}]`, (be) => place(vals, shape, 'float32', be, layout).silu(), siluTol);
      same(`siluGrad ${layout} [${shape}]`, (be) => place(vals, shape, 'float32', be, layout).siluGrad(), siluGradTol);
    }
  }
  // int32 and bool
  const iv = ints(60), bv = bools(60);
  for (const layout of LAYOUTS) {
    for (const op of ['neg', 'abs', 'sign', 'floor'] as const) same(`${op} int32 ${layout}`, (be) => place(iv, [4, 3, 5], 'int32', be, layout)[op]());
    same(`logicalNot ${layout}`, (be) => place(bv, [4, 3, 5], 'bool', be, layout).logicalNot());
  }
  same('neg of int32 extremes wraps', (be) => tensor([-2147483648, 2147483647, 0], { dtype: 'int32', backend: be }).neg());
});

/** Shape pairs covering broadcasting in every position (and scalars, size-1 and empty dims). */
const BROADCASTS: readonly [number[], number[]][] = [
  [[4, 5, 6], [4, 5, 6]], [[4, 5, 6], [6]], [[4, 5, 6], [5, 1]], [[4, 1, 6], [1, 5, 1]], [[1], [4, 5, 6]],
  [[], [3, 7]], [[4, 5, 6], [4, 1, 1]], [[3, 1], [1, 9]], [[0, 3], [3]], [[2, 3, 1, 5], [3, 4, 1]], [[37], [37]],
];

test('binary ops on float32, int32 and bool with broadcasting in every position and strided operands', () => {
  const floatOps = ['add', 'sub', 'mul', 'div', 'maximum', 'minimum', 'eq', 'ne', 'lt', 'le', 'gt', 'ge'] as const;
  const intOps = ['add', 'sub', 'mul', 'maximum', 'minimum', 'eq', 'ne', 'lt', 'le', 'gt', 'ge'] as const;
  for (const [sa, sb] of BROADCASTS) {
    const na = sizeOf(sa), nb = sizeOf(sb);
    const fa = normals(na), fb = normals(nb);
    if (na > 3) [fa[0], fa[1], fa[2]] = [NaN, Infinity, 0];
    if (nb > 2) [fb[0], fb[1]] = [NaN, -0];
    for (let i = 3; i < Math.min(na, nb); i += 5) fb[i] = fa[i]!; // some ties for the comparisons
    const ia = ints(na), ib = ints(nb), ba = bools(na), bb = bools(nb);
    for (const layout of LAYOUTS) {
      const A = (v: ArrayLike<number>, dt: DType, be: Backend) => place(v, sa, dt, be, layout);
      const B = (v: ArrayLike<number>, dt: DType, be: Backend) => place(v, sb, dt, be, layout === 'perm' ? 'flip' : 'contig');
      const tag = `[${sa}]·[${sb}] ${layout}`;
      for (const op of floatOps) same(`${op} f32 ${tag}`, (be) => A(fa, 'float32', be)[op](B(fb, 'float32', be)));
      same(`pow f32 ${tag}`, (be) => A(fa, 'float32', be).abs().pow(B(fb, 'float32', be)), { ulps: 1 });
      for (const op of intOps) same(`${op} i32 ${tag}`, (be) => A(ia, 'int32', be)[op](B(ib, 'int32', be)));
      same(`pow i32 ${tag}`, (be) => A(ia, 'int32', be).pow(B(ib, 'int32', be).abs()));
      same(`div i32 ${tag}`, (be) => A(ia, 'int32', be).div(B(ib, 'int32', be)));
      for (const op of ['logicalAnd', 'logicalOr', 'eq', 'lt', 'maximum'] as const) same(`${op} bool ${tag}`, (be) => A(ba, 'bool', be)[op](B(bb, 'bool', be)));
      same(`add bool→int32 ${tag}`, (be) => A(ba, 'bool', be).add(B(bb, 'bool', be)));
    }
  }
  same('int32 add and mul wrap around', (be) => tensor([2147483647, -2147483648, 65536], { dtype: 'int32', backend: be }).add(tensor([1, -1, 0], { dtype: 'int32', backend: be })).mul(tensor([3, 3, 65536], { dtype: 'int32', backend: be })));
});

test('where, cast and copy on every layout and dtype', () => {
  const shape = [3, 4, 7];
  const n = sizeOf(shape);
  const c = bools(n);
  for (const dt of ['float32', 'int32', 'bool'] as const) {
    const a = valuesOf(dt, n), b = valuesOf(dt, 7);
    for (const layout of LAYOUTS) {
      same(`where ${dt} ${layout}`, (be) => where(place(c, shape, 'bool', be, layout), place(a, shape, dt, be, 'flip'), place(b, [7], dt, be, 'contig')));
      same(`where ${dt} broadcast cond ${layout}`, (be) => where(place(c.subarray(0, 4), [4, 1], 'bool', be, 'contig'), place(a, shape, dt, be, layout), place(b.slice(0, 1), [], dt, be, 'contig')));
      same(`copy ${dt} ${layout}`, (be) => place(a, shape, dt, be, layout).contiguous());
      for (const to of ['float32', 'int32', 'bool'] as const) same(`cast ${dt}→${to} ${layout}`, (be) => place(a, shape, dt, be, layout).cast(to));
    }
  }
  const odd = [0, -0, 0.5, -0.5, 1.99, -1.99, NaN, Infinity, -Infinity, 2147483647, 2147483648, -2147483649, 4294967297.5, 1e20, -3e9, 123456789];
  same('cast float32→int32 out of range and non-finite (ToInt32, as Int32Array stores)', (be) => tensor(odd, { backend: be }).cast('int32'));
  same('cast float32→bool of NaN and ±0', (be) => tensor(odd, { backend: be }).cast('bool'));
  same('cast int32→float32 rounds', (be) => tensor([16777217, -16777219, 2147483647], { dtype: 'int32', backend: be }).cast('float32'));
});

test('concat, gather, scatterAdd and embedSlice on strided operands', () => {
  for (const dt of ['float32', 'int32', 'bool'] as const) {
    const shape = [3, 5, 4];
    const v = valuesOf(dt, 60), w = valuesOf(dt, 36);
    for (const layout of LAYOUTS) {
      for (let axis = 0; axis < 3; axis++) {
        const other = shape.map((d, i) => (i === axis ? 3 : d));
        same(`concat ${dt} axis ${axis} ${layout}`, (be) => concat([place(v, shape, dt, be, layout), place(w.slice(0, sizeOf(other)), other, dt, be, 'flip'), place(v, shape, dt, be, 'contig')], axis));
        // index of shape ≤ x's shape elsewhere, values in range along axis
        const ishape = shape.map((d, i) => (i === axis ? 6 : Math.max(1, d - 1)));
        const idx = Int32Array.from(rng.randint(sizeOf(ishape), 0, shape[axis]!));
        same(`gather ${dt} axis ${axis} ${layout}`, (be) => place(v, shape, dt, be, layout).gather(axis, place(idx, ishape, 'int32', be, layout === 'flip' ? 'perm' : 'step')));
        if (dt !== 'bool') {
          const src = valuesOf(dt, sizeOf(ishape));
          same(`scatterAdd ${dt} axis ${axis} ${layout}`, (be) => place(v, shape, dt, be, layout).scatterAdd(axis, place(idx, ishape, 'int32', be, 'flip'), place(src, ishape, dt, be, layout)));
        }
      }
      same(`embedSlice ${dt} ${layout}`, (be) => embedSlice(place(v, shape, dt, be, layout), [8, 6, 11], [1, 0, 10], [2, 1, -3]));
    }
  }
  for (const be of [wasm]) {
    const x = tensor([1, 2, 3], { backend: be });
    assert.throws(() => x.gather(0, tensor([0, 3], { dtype: 'int32', backend: be })), /gather: index 3 is out of range for dimension 0 of size 3/);
    assert.throws(() => x.scatterAdd(0, tensor([-1], { dtype: 'int32', backend: be }), tensor([1], { backend: be })), /scatterAdd: index -1 is out of range/);
    // an empty index right after a failure reports nothing stale
    assert.deepEqual([...x.gather(0, tensor(new Int32Array(0), { dtype: 'int32', backend: be })).shape], [0]);
    x.dispose();
  }
});

// ----- reductions ----------------------------------------------------------------------------------

function subsets(n: number): number[][] {
  const out: number[][] = [];
  for (let m = 1; m < 1 << n; m++) out.push(Array.from({ length: n }, (_, i) => i).filter((i) => m & (1 << i)));
  return out;
}

test('sum, prod, max and min over every subset of axes, every layout, float32 and int32', () => {
  const shape = [3, 4, 5, 6];
  const fv = normals(sizeOf(shape)), iv = ints(sizeOf(shape), -3, 4), pv = Float32Array.from(normals(sizeOf(shape)), (x) => 1 + 0.1 * x);
  for (const layout of LAYOUTS) {
    for (const axes of subsets(4)) {
      const tag = `axes [${axes}] ${layout}`;
      const sumTol = (be: Backend) => place(fv, shape, 'float32', be, layout).abs().sum(axes);
      same(`sum f32 ${tag}`, (be) => place(fv, shape, 'float32', be, layout).sum(axes), () => ({ bound: scope(() => Float64Array.from(sumTol(cpu).dataSync(), (s) => 1e-6 * s + 1e-30)) }));
      same(`prod f32 ${tag}`, (be) => place(pv, shape, 'float32', be, layout).prod(axes), (ref) => ({ bound: Float64Array.from(ref.dataSync(), (p) => 1e-6 * Math.abs(p)) }));
      same(`max f32 ${tag}`, (be) => place(fv, shape, 'float32', be, layout).max(axes));
      same(`min f32 ${tag}`, (be) => place(fv, shape, 'float32', be, layout).min(axes));
      for (const op of ['sum', 'prod', 'max', 'min'] as const) same(`${op} i32 ${tag}`, (be) => place(iv, shape, 'int32', be, layout)[op](axes));
    }
  }
  // NaN propagates, empty reductions give the identity, size-1 and zero-size dimensions
  const withNan = normals(24);
  withNan[5] = NaN;
  for (const op of ['sum', 'max', 'min'] as const) same(`${op} with NaN`, (be) => tensor(withNan, { shape: [4, 6], backend: be })[op](1));
  same('sum over an empty axis', (be) => tensor(new Float32Array(0), { shape: [3, 0, 2], backend: be }).sum(1));
  same('prod over an empty axis', (be) => tensor(new Float32Array(0), { shape: [3, 0], backend: be }).prod(1));
  const six = normals(6), thirty = bools(30);
  same('sum over size-1 axes', (be) => tensor(six, { shape: [1, 6, 1], backend: be }).sum([0, 2]));
  same('sum of a bool tensor', (be) => tensor(thirty, { shape: [5, 6], dtype: 'bool', backend: be }).sum(0));
  // column sums (a bias gradient): blocks of columns across threads, 16-column groups and their tails
  for (const [shape, axis] of [[[1000, 259], 0], [[3, 500, 70], 1], [[700, 16], 0]] as [number[], number][]) {
    const v = normals(sizeOf(shape));
    for (const layout of ['contig', 'step'] as const) {
      const abs = scope(() => Float64Array.from(place(v, shape, 'float32', cpu, layout).abs().sum(axis).dataSync(), (x) => 1e-6 * x + 1e-30));
      same(`column sum [${shape}] axis ${axis} ${layout}`, (be) => place(v, shape, 'float32', be, layout).sum(axis), { bound: abs });
    }
  }
});

test('argmax/argmin along each axis (ties keep the first, NaN wins), cumsum along each axis', () => {
  const shape = [4, 5, 6];
  const fv = Float32Array.from(ints(120, -3, 4)); // many ties
  fv[17] = NaN;
  const iv = ints(120);
  for (const layout of LAYOUTS) {
    for (let axis = 0; axis < 3; axis++) {
      for (const op of ['argmax', 'argmin'] as const) {
        same(`${op} f32 axis ${axis} ${layout}`, (be) => place(fv, shape, 'float32', be, layout)[op](axis));
        same(`${op} i32 axis ${axis} ${layout}`, (be) => place(iv, shape, 'int32', be, layout)[op](axis));
      }
      const cv = normals(120);
      const abs = scope(() => Float64Array.from(place(cv, shape, 'float32', cpu, layout).abs().cumsum(axis).dataSync(), (s) => 1e-6 * s + 1e-30));
      same(`cumsum f32 axis ${axis} ${layout}`, (be) => place(cv, shape, 'float32', be, layout).cumsum(axis), { bound: abs });
      same(`cumsum i32 axis ${axis} ${layout}`, (be) => place(iv, shape, 'int32', be, layout).cumsum(axis));
    }
  }
  const v77 = normals(77);
  same('argmax of a whole tensor', (be) => tensor(v77, { backend: be }).argmax());
});

// ----- matmul, convolution, linear algebra -----------------------------------------------------------------

/** |Δ| ≤ K·2⁻²³·(|A|·|B|)ᵢⱼ for a product with inner size K. */
function dotBound(K: number, absProduct: Tensor): Tol {
  return { bound: Float64Array.from(absProduct.dataSync(), (v) => Math.max(1, K) * 2 ** -23 * v + 1e-30) };
}

/** A·B on both backends for each [M, K, N], with each operand row-major or transposed (a column-major view). */
function matmulVariants(label: string, sizes: readonly [number, number, number][]): void {
  for (const [M, K, N] of sizes) {
    const av = normals(M * K), bv = normals(K * N);
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        // a transposed operand is stored [K, M] and viewed through .mT
        const A = (be: Backend) => (ta ? place(transpose(av, M, K), [K, M], 'float32', be, 'contig').mT : place(av, [M, K], 'float32', be, 'contig'));
        const B = (be: Backend) => (tb ? place(transpose(bv, K, N), [N, K], 'float32', be, 'contig').mT : place(bv, [K, N], 'float32', be, 'contig'));
        const abs = scope(() => A(cpu).abs().matmul(B(cpu).abs()).dataSync());
        same(`${label} ${M}×${K}×${N} ta=${ta} tb=${tb}`, (be) => A(be).matmul(B(be)), { bound: Float64Array.from(abs, (v) => Math.max(1, K) * 2 ** -23 * v + 1e-30) });
      }
    }
  }
}

test('matmul: all transposition variants, odd and tile-crossing sizes, batches with broadcast and negative strides', () => {
  matmulVariants('matmul', [[1, 1, 1], [3, 5, 7], [4, 8, 8], [17, 33, 9], [67, 130, 45], [5, 0, 3], [0, 4, 3], [2, 300, 1030], [129, 257, 20], [1, 40, 1], [9, 260, 17], [331, 20, 70], [164, 3, 8], [37, 2100, 45], [257, 333, 203]]);
  // batched: broadcast batch dims (zero strides), flipped rows (negative strides), stepped and permuted layouts
  const av = normals(2 * 3 * 5 * 4), bv = normals(3 * 4 * 6);
  for (const layout of LAYOUTS) {
    const A = (be: Backend) => place(av, [2, 1, 3, 5, 4].filter((_, i) => i !== 1), 'float32', be, layout).unsqueeze(1).expand([2, 2, 3, 5, 4]);
    const B = (be: Backend) => place(bv, [3, 4, 6], 'float32', be, layout === 'contig' ? 'flip' : layout);
    const abs = scope(() => A(cpu).abs().matmul(B(cpu).abs()));
    same(`batched matmul ${layout}`, (be) => A(be).matmul(B(be)), dotBound(4, abs));
    abs.dispose();
  }
  same('matrix-vector', (be) => place(av, [10, 12], 'float32', be, 'step').matmul(place(bv, [12], 'float32', be, 'flip')), (ref) => ({ bound: Float64Array.from(ref.dataSync(), () => 1e-4) }));
});

test('matmul with a dimension of at most four (the thin kernels): every route, layout and tail', () => {
  // [M, K, N]: K ≤ 4 (gemmSmallK), N ≤ 4 with A column- or row-major (gemmThinV, gemmThinK), M ≤ 4
  // with B row- or column-major; lengths that leave tails of 16-row blocks and of 8-lane dots
  matmulVariants('thin matmul', [[300, 3, 37], [301, 1, 9], [77, 4, 260], [40, 0, 5], [1007, 261, 2], [203, 37, 1], [90, 1030, 4], [3, 261, 1001], [1, 45, 77], [4, 1030, 90], [2, 2, 2], [1, 1, 1]]);
  // neither operand with a unit stride (the packed GEMM takes it), and stepped, flipped, broadcast batches
  const av = normals(2 * 3 * 400 * 2), bv = normals(3 * 2 * 300);
  const strided = (be: Backend) => place(av.subarray(0, 2 * 400 * 3), [400, 2 * 3], 'float32', be, 'contig').slice(1, 0, 6, 2).mT.mT;
  same('thin matmul without a unit stride', (be) => strided(be).matmul(place(bv.subarray(0, 3 * 5), [3, 5], 'float32', be, 'contig')), { bound: Float64Array.from({ length: 400 * 5 }, () => 1e-4) });
  for (const layout of LAYOUTS) {
    const A = (be: Backend) => place(av, [2, 3, 400, 2], 'float32', be, layout);
    const B = (be: Backend) => place(bv, [3, 2, 300], 'float32', be, layout === 'contig' ? 'flip' : layout);
    const abs = scope(() => A(cpu).abs().matmul(B(cpu).abs()));
    same(`batched thin matmul ${layout}`, (be) => A(be).matmul(B(be)), dotBound(2, abs));
    abs.dispose();
    const Bt = (be: Backend) => place(bv, [3, 300, 2], 'float32', be, layout);
    const abs2 = scope(() => Bt(cpu).abs().mT.matmul(Bt(cpu).abs()));
    same(`batched thin matmul Bᵀ·B ${layout}`, (be) => Bt(be).mT.matmul(Bt(be)), dotBound(300, abs2));
    abs2.dispose();
  }
});

function transpose(v: Float32Array, r: number, c: number): Float32Array {
  const out = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = v[i * c + j]!;
  return out;
}

test('the fused conv2d forward (columns a block at a time, bias in place) equals im2col · matmul + bias bit for bit', () => {
  // K = 64·9 = 576 makes blocks of 112 output positions, which cross output rows (28 wide); O > 4
  // keeps the composed product on the packed GEMM (the thin kernels sum in another order)
  const cases: { x: number[]; w: number[]; stride: [number, number]; padding: [number, number]; dilation: [number, number] }[] = [
    { x: [2, 64, 28, 28], w: [16, 64, 3, 3], stride: [1, 1], padding: [1, 1], dilation: [1, 1] },
    { x: [3, 5, 11, 9], w: [7, 5, 3, 2], stride: [2, 1], padding: [2, 1], dilation: [1, 2] },
    // K = 2000: several blocks of K, short of the products the GEMM splits along K (which sum in another order)
    { x: [1, 80, 6, 7], w: [5, 80, 5, 5], stride: [1, 2], padding: [3, 0], dilation: [1, 1] },
    // the bench's second layer, narrower: stride 2, no padding, runs of 13
    { x: [2, 8, 28, 28], w: [6, 8, 3, 3], stride: [2, 2], padding: [0, 0], dilation: [1, 1] },
  ];
  for (const c of cases) {
    const xv = normals(sizeOf(c.x)), wv = normals(sizeOf(c.w)), bv = normals(c.w[0]!);
    const K = c.w[1]! * c.w[2]! * c.w[3]!;
    const p = { kernel: [c.w[2]!, c.w[3]!] as [number, number], stride: c.stride, padding: c.padding, dilation: c.dilation, padValue: 0 };
    for (const layout of ['contig', 'perm', 'flip'] as const) {
      const tag = `x [${c.x}] w [${c.w}] ${layout}`;
      scope(() => {
        const x = place(xv, c.x, 'float32', wasm, layout), w = place(wv, c.w, 'float32', wasm, 'contig'), b = tensor(bv, { backend: wasm });
        const fused = F.conv2d(x, w, b, c);
        const O = c.w[0]!;
        const composed = w.reshape([1, O, K]).matmul(im2colOp(x, p)).add(b.reshape([1, O, 1])).reshape(fused.shape);
        assert.deepEqual(Array.from(fused.dataSync()), Array.from(composed.dataSync()), `fused conv2d ${tag}`);
      });
      const bound = scope(() => F.conv2d(place(xv, c.x, 'float32', cpu, layout).abs(), place(wv, c.w, 'float32', cpu, 'contig').abs(), tensor(bv, { backend: cpu }).abs(), c).dataSync());
      same(`fused conv2d against the reference ${tag}`, (be) => F.conv2d(place(xv, c.x, 'float32', be, layout), place(wv, c.w, 'float32', be, 'contig'), tensor(bv, { backend: be }), c), { bound: Float64Array.from(bound, (v) => (K + 1) * 2 ** -23 * v + 1e-30) });
      // the weight gradient (conv2dWeightGrad: columns a block at a time, summed over images) and the bias gradient
      const gyv = normals(sizeOf(scope(() => F.conv2d(place(xv, c.x, 'float32', cpu, 'contig'), place(wv, c.w, 'float32', cpu, 'contig'), null, c).shape)));
      const grads = (be: Backend, abs = false) => {
        const x = place(xv, c.x, 'float32', be, layout), w = place(wv, c.w, 'float32', be, 'contig'), b = tensor(bv, { backend: be });
        const gy = place(gyv, F.conv2d(x, w, null, c).shape, 'float32', be, 'contig');
        const [gx, gw, gb] = grad((xx: Tensor, ww: Tensor, bb: Tensor) => F.conv2d(abs ? xx.abs() : xx, abs ? ww.abs() : ww, bb, c).mul(abs ? gy.abs() : gy).sum())(x, w, b) as Tensor[];
        return [gw!, gb!, gx!];
      };
      const L = gyv.length / (c.x[0]! * c.w[0]!);
      const [gwAbs, , gxAbs] = scope(() => grads(cpu, true).map((t) => t.dataSync()));
      same(`fused conv2d weight gradient ${tag}`, (be) => grads(be)[0]!, { bound: Float64Array.from(gwAbs!, (v) => 2 * c.x[0]! * L * 2 ** -23 * Math.abs(v) + 1e-30) });
      same(`fused conv2d bias gradient ${tag}`, (be) => grads(be)[1]!, (ref) => ({ bound: Float64Array.from(ref.dataSync(), () => 1e-3) }));
      // the input gradient (col2im of Wᵀ·g): sums of O·kh·kw terms
      same(`fused conv2d input gradient ${tag}`, (be) => grads(be)[2]!, { bound: Float64Array.from(gxAbs!, (v) => 2 * c.w[0]! * c.w[2]! * c.w[3]! * 2 ** -23 * Math.abs(v) + 1e-30) });
    }
  }
});

test('im2col and col2im: conv2d forward and both backward passes, transposed convs and pools, on strided inputs', () => {
  const cases: { x: number[]; w: number[]; stride: [number, number]; padding: [number, number]; dilation: [number, number] }[] = [
    { x: [2, 3, 7, 9], w: [4, 3, 3, 3], stride: [1, 1], padding: [1, 1], dilation: [1, 1] },
    { x: [1, 2, 10, 8], w: [3, 2, 3, 2], stride: [2, 3], padding: [2, 0], dilation: [1, 2] },
    { x: [3, 1, 5, 5], w: [2, 1, 5, 5], stride: [1, 1], padding: [0, 0], dilation: [1, 1] },
    { x: [1, 4, 6, 1], w: [5, 4, 3, 1], stride: [2, 1], padding: [1, 0], dilation: [2, 1] },
    // stride 2 along rows: runs of 11 and 7 gathered four at a time (with and without padding and dilation)
    { x: [2, 3, 13, 21], w: [4, 3, 3, 3], stride: [2, 2], padding: [1, 1], dilation: [1, 1] },
    { x: [1, 2, 9, 17], w: [3, 2, 3, 3], stride: [1, 2], padding: [0, 2], dilation: [1, 2] },
  ];
  for (const c of cases) {
    const xv = normals(sizeOf(c.x)), wv = normals(sizeOf(c.w));
    const K = c.w[1]! * c.w[2]! * c.w[3]!;
    for (const layout of ['contig', 'perm', 'flip'] as const) {
      const tag = `x [${c.x}] w [${c.w}] s ${c.stride} p ${c.padding} d ${c.dilation} ${layout}`;
      const run = (be: Backend, abs = false) => {
        let x = place(xv, c.x, 'float32', be, layout), w = place(wv, c.w, 'float32', be, 'contig');
        if (abs) [x, w] = [x.abs(), w.abs()];
        return F.conv2d(x, w, null, c);
      };
      const bound = scope(() => run(cpu, true).dataSync());
      same(`conv2d ${tag}`, (be) => run(be), { bound: Float64Array.from(bound, (v) => K * 2 ** -23 * v + 1e-30) });
      const p = { kernel: [c.w[2]!, c.w[3]!] as [number, number], stride: c.stride, padding: c.padding, dilation: c.dilation, padValue: 0 };
      same(`im2col ${tag}`, (be) => im2colOp(place(xv, c.x, 'float32', be, layout), p));
      same(`im2col pad −∞ ${tag}`, (be) => im2colOp(place(xv, c.x, 'float32', be, layout), { ...p, padValue: -Infinity }));
      const cols = scope(() => im2colOp(place(xv, c.x, 'float32', cpu, 'contig'), p).shape);
      const gv = normals(sizeOf(cols));
      const gb = scope(() => col2imOp(place(gv, cols, 'float32', cpu, 'contig').abs(), p, c.x[1]!, c.x[2]!, c.x[3]!).dataSync());
      same(`col2im ${tag}`, (be) => col2imOp(place(gv, cols, 'float32', be, layout === 'perm' ? 'step' : layout), p, c.x[1]!, c.x[2]!, c.x[3]!), { bound: Float64Array.from(gb, (v) => 16 * 2 ** -23 * v + 1e-30) });
    }
  }
  // pools and a transposed convolution go through the same kernels
  const xv = normals(2 * 3 * 9 * 8);
  same('maxPool2d k3 s2 p1', (be) => F.maxPool2d(place(xv, [2, 3, 9, 8], 'float32', be, 'flip'), 3, { stride: 2, padding: 1 }));
  same('avgPool2d k2', (be) => F.avgPool2d(place(xv, [2, 3, 9, 8], 'float32', be, 'perm'), 2), { ulps: 1 });
  const wv = normals(3 * 2 * 3 * 3);
  same('convTranspose2d s2', (be) => F.convTranspose2d(place(xv, [2, 3, 9, 8], 'float32', be, 'contig'), place(wv, [3, 2, 3, 3], 'float32', be, 'contig'), null, { stride: 2, padding: 1 }), (ref) => ({ bound: Float64Array.from(ref.dataSync(), () => 1e-5) }));
});

test('inverse, log|det| and sign of det on batches of float32 matrices', () => {
  const v = normals(3 * 5 * 5);
  for (const layout of ['contig', 'perm', 'flip'] as const) {
    same(`inverse ${layout}`, (be) => linalg.inv(place(v, [3, 5, 5], 'float32', be, layout)), (ref) => ({ bound: Float64Array.from(ref.dataSync(), (x) => 1e-6 * Math.abs(x) + 1e-7) }));
    same(`slogdet ${layout}`, (be) => linalg.slogdet(place(v, [3, 5, 5], 'float32', be, layout)).logAbsDet, (ref) => ({ bound: Float64Array.from(ref.dataSync(), (x) => 1e-6 * Math.abs(x) + 1e-7) }));
    same(`det sign ${layout}`, (be) => linalg.slogdet(place(v, [3, 5, 5], 'float32', be, layout)).sign);
  }
});

// ----- transcendental accuracy -----------------------------------------------------------------------

/** Largest error allowed, in float32 ulps, against the float64 reference rounded to float32. */
const ULP_BOUND: Record<'exp' | 'log' | 'log1p' | 'expm1' | 'sin' | 'cos' | 'tanh' | 'sigmoid' | 'erf', number> = {
  exp: 2, log: 2, log1p: 2, expm1: 2, sin: 1, cos: 1, tanh: 2, sigmoid: 2, erf: 2,
};

/**
 * silu = x·σ(x): σ's error, one rounding, and x's factor on it; below float32's smallest normal
 * (x < −87, where σ(x) is subnormal) the error is absolute.
 */
const siluTol = (ref: Tensor): Tol => ({ ulps: 4, bound: new Array<number>(ref.size).fill(1.2e-38) });
/**
 * silu′ = σ·(1 + x(1 − σ)) crosses zero near x = −1.278, where a relative bound means nothing: there
 * the error is absolute, a few float32 ulps of 1.
 */
const siluGradTol = (ref: Tensor): Tol => ({ ulps: 4, bound: new Array<number>(ref.size).fill(5e-7) });

test('silu and its derivative over wide sweeps (ulps, and absolute near the derivative\'s zero)', (t) => {
  const N = 60000;
  for (const v of [Float32Array.from(rng.uniform(N, -100, 30)), Float32Array.from(rng.uniform(N, -4, 2))]) {
    scope(() => {
      const x = tensor(v, { backend: cpu }), y = tensor(v, { backend: wasm });
      const w1 = agree('silu sweep', y.silu(), x.silu(), siluTol(x));
      agree('siluGrad sweep', y.siluGrad(), x.siluGrad(), siluGradTol(x));
      const a = y.siluGrad().dataSync(), b = x.siluGrad().dataSync();
      let err = 0;
      for (let i = 0; i < a.length; i++) err = Math.max(err, Math.abs(a[i]! - b[i]!));
      t.diagnostic(`silu: max ${w1.toFixed(2)} ulp; siluGrad: max absolute error ${err.toExponential(2)}`);
    });
  }
});

test('σ, whose e^{−|x|} takes a shorter path where it can, equals its composition from the exp kernel bit for bit', () => {
  // vexpNonPos (σ, silu, softmax, erf) must give exactly vexp's bits: σ(x) = q or e·q with e = exp(−|x|), q = 1/(1 + e)
  const xs = new Float32Array(200003);
  for (let i = 0; i < xs.length; i++) xs[i] = -130 + (260 * i) / (xs.length - 1);
  const all = Float32Array.from([...xs, ...SPECIALS, -87, -87.0001, -86.9999, 87, 87.0001]);
  scope(() => {
    const x = tensor(all, { backend: wasm });
    const e = x.abs().neg().exp(), q = e.add(1).reciprocal();
    const composed = where(x.ge(0), q, e.mul(q)).dataSync(), fused = x.sigmoid().dataSync();
    for (let i = 0; i < all.length; i++) {
      assert.ok(Object.is(fused[i], composed[i]) || (Number.isNaN(fused[i]) && Number.isNaN(composed[i])), `σ(${all[i]}): ${fused[i]} against ${composed[i]}`);
    }
  });
});

test('transcendental functions: the largest error in ulps over wide sweeps', (t) => {
  const N = 60000;
  const sweep = (lo: number, hi: number) => Float32Array.from(rng.uniform(N, lo, hi));
  const logSweep = (lo: number, hi: number, signs = false) => Float32Array.from(rng.uniform(N, Math.log(lo), Math.log(hi)), (u, i) => (signs && i % 2 ? -1 : 1) * Math.exp(u));
  const domains: Record<keyof typeof ULP_BOUND, Float32Array[]> = {
    exp: [sweep(-104, 89), sweep(-1, 1)],
    log: [logSweep(1e-44, 3e38), sweep(0.5, 2)],
    log1p: [logSweep(1e-30, 1e30), sweep(-0.999, 1)],
    expm1: [sweep(-20, 89), logSweep(1e-30, 1, true)],
    sin: [sweep(-100, 100), logSweep(1e-30, 1e6, true)],
    cos: [sweep(-100, 100), logSweep(1e-30, 1e6, true)],
    tanh: [sweep(-10, 10), logSweep(1e-30, 20, true)],
    sigmoid: [sweep(-100, 30), logSweep(1e-30, 20, true)],
    erf: [sweep(-5, 5), logSweep(1e-30, 4, true)],
  };
  // the default build (relaxed SIMD where the runtime has it: fused multiply-adds in the
  // polynomials) and the plain SIMD128 build (a multiply and an add), which browsers without
  // relaxed SIMD load
  const builds: [string, Backend][] = [['default', wasm]];
  if ((wasm as { relaxed?: boolean }).relaxed) builds.push(['SIMD128', createWasmBackend({ relaxed: false, threads: 1, name: 'wasm-simd128' })]);
  for (const [build, be] of builds) {
    for (const [op, parts] of Object.entries(domains) as [keyof typeof ULP_BOUND, Float32Array[]][]) {
      let worst = 0;
      for (const v of parts) {
        scope(() => {
          const ref = tensor(v, { backend: cpu })[op](), got = tensor(v, { backend: be })[op]();
          worst = Math.max(worst, agree(`${op} sweep (${build})`, got, ref, { ulps: ULP_BOUND[op] }));
        });
      }
      t.diagnostic(`${op} (${build} build): max error ${worst.toFixed(2)} ulp (bound ${ULP_BOUND[op]})`);
    }
  }
});
