/**
 * Tensor: a strided view over reference-counted backend storage, with define-by-run autograd.
 *
 * Every differentiable operation is either a backend primitive (see `backend.ts`) or a view
 * (reshape, permute, expand, slice); each has exactly one vector-Jacobian rule in
 * `gradients.ts`. Everything else — sigmoid's friends, softmax, var, conv — is composed here or
 * in `functional.ts` from those, and gets its gradient by composition.
 */
import { type AdamStepHyper, type Backend, type Buf, type View, type Im2colParams, type UnaryOp, type BinaryOp, type ReduceOp, getBackend } from './backend.ts';
import { type DType, type TypedArray, isDType, isFloat, promote, floatOf, toArrayOf, bytesPerElement } from './dtype.ts';
import { type Shape, sizeOf, contiguousStrides, isContiguous, broadcastShapes, normAxis, normAxes, shapeStr, sameShape, checkShape } from './shape.ts';
import { isGradEnabled, withGradMode, noGrad } from './autograd.ts';
import { VJP, type GradOp, type AttrsOf, type CustomVjp } from './gradients.ts';

// ---------------------------------------------------------------------------------------------
// Storage and memory scopes
// ---------------------------------------------------------------------------------------------

/** Backend buffer shared by a tensor and its views; freed when the last holder lets go. */
class Storage {
  refs = 1;
  constructor(readonly backend: Backend, readonly buf: Buf, readonly dtype: DType, readonly size: number) {}
  retain(): this {
    this.refs++;
    return this;
  }
  release(): void {
    if (--this.refs === 0) this.backend.free(this.buf);
  }
}

/** Backstop only: a tensor dropped without dispose() gives its storage back when collected. */
const finalizer = new FinalizationRegistry<{ storage: Storage; done: boolean }>((h) => {
  if (!h.done) {
    h.done = true;
    h.storage.release();
  }
});

const scopes: Set<Tensor>[] = [];

/**
 * Run `fn` and free every tensor it created, except those it returns (a tensor, or arrays /
 * plain objects of them) and those passed to `keep()`. Training and sampler steps run in a
 * scope each. Returned tensors move to the enclosing scope.
 */
export function scope<T>(fn: () => T): T {
  const mine = new Set<Tensor>();
  scopes.push(mine);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.pop();
    for (const t of mine) t.dispose();
    throw e;
  }
  scopes.pop();
  if (result instanceof Promise) {
    for (const t of mine) t.dispose();
    throw new Error('scope: the function returned a Promise; scopes are synchronous (await outside, or use dispose())');
  }
  const out = new Set<Tensor>();
  collectTensors(result, out, 0);
  const parent = scopes[scopes.length - 1];
  for (const t of mine) {
    if (out.has(t)) parent?.add(t);
    else t.dispose();
  }
  return result;
}

function collectTensors(x: unknown, out: Set<Tensor>, depth: number): void {
  if (depth > 4 || x === null || typeof x !== 'object') return;
  if (x instanceof Tensor) {
    out.add(x);
    return;
  }
  if (Array.isArray(x)) for (const v of x) collectTensors(v, out, depth + 1);
  else if (Object.getPrototypeOf(x) === Object.prototype || x instanceof Map) {
    for (const v of x instanceof Map ? x.values() : Object.values(x)) collectTensors(v, out, depth + 1);
  }
}

/** Exempt tensors from the enclosing scopes' cleanup (parameters, optimizer state, grads). */
export function keep<T extends Tensor | null | undefined>(t: T): T {
  if (t) for (const s of scopes) s.delete(t);
  return t;
}

/** Live buffers and bytes on the current (or given) backend. */
export function memory(backend: Backend = getBackend()) {
  return backend.memory();
}

// ---------------------------------------------------------------------------------------------
// Autograd graph
// ---------------------------------------------------------------------------------------------

interface Node {
  readonly op: GradOp;
  readonly inputs: readonly Tensor[];
  readonly attrs: unknown;
  /** Set once a backward without retainGraph has freed the node's inputs. */
  readonly released?: boolean;
}

export type NestedArray = number | boolean | NestedArray[];
export type TensorLike = Tensor | number | boolean;

let nextId = 0;

export class Tensor {
  readonly id = nextId++;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
  readonly dtype: DType;
  /** Accumulated gradient of a leaf after backward(); null until then. */
  grad: Tensor | null = null;
  /** @internal */ _storage: Storage;
  /** @internal */ _node: Node | null = null;
  private _leafRequiresGrad = false;
  private _disposed = false;
  private readonly _handle: { storage: Storage; done: boolean };

  /** @internal Use the factory functions (tensor, zeros, randn, …). */
  constructor(storage: Storage, shape: readonly number[], strides: readonly number[], offset: number) {
    this._storage = storage;
    this.shape = shape;
    this.strides = strides;
    this.offset = offset;
    this.dtype = storage.dtype;
    this._handle = { storage, done: false };
    finalizer.register(this, this._handle, this);
    scopes[scopes.length - 1]?.add(this);
  }

  // ----- metadata ----------------------------------------------------------------------------
  get ndim(): number {
    return this.shape.length;
  }
  get size(): number {
    return sizeOf(this.shape);
  }
  get backend(): Backend {
    return this._storage.backend;
  }
  get isDisposed(): boolean {
    return this._disposed;
  }
  /** True for leaves marked requiresGrad and for results of ops on such tensors. */
  get requiresGrad(): boolean {
    return this._leafRequiresGrad || this._node !== null;
  }
  set requiresGrad(v: boolean) {
    if (this._node) throw new Error('requiresGrad can only be set on leaf tensors (use detach() first)');
    if (v && !isFloat(this.dtype)) throw new Error(`requiresGrad: only floating-point tensors can require gradients, got ${this.dtype}`);
    this._leafRequiresGrad = v;
  }
  get isLeaf(): boolean {
    return this._node === null;
  }
  /** Sets requiresGrad and returns this (chainable). */
  requiresGrad_(v = true): this {
    this.requiresGrad = v;
    return this;
  }

  /** @internal */
  view(): View {
    if (this._disposed) throw new Error(`tensor ${shapeStr(this.shape)} was used after dispose() (or after the scope that made it ended)`);
    return { buf: this._storage.buf, dtype: this.dtype, shape: this.shape, strides: this.strides, offset: this.offset };
  }

  /** Free this tensor's hold on its storage (and its grad). Idempotent. */
  dispose(): void {
    if (this._disposed) return;
    this._disposed = true;
    this._handle.done = true;
    finalizer.unregister(this);
    this._storage.release();
    this._node = null;
    if (this.grad) {
      this.grad.dispose();
      this.grad = null;
    }
  }
  [Symbol.dispose](): void {
    this.dispose();
  }

  /**
   * Replace this tensor's values by `src`'s (same shape and dtype), as the in-place updates of an
   * optimizer do. Views made earlier keep the old values. Not allowed while recording a graph
   * on a tensor that requires grad (as in PyTorch: run it under noGrad).
   */
  assign(src: Tensor): this {
    this.view(); // both throw if disposed
    src.view();
    if (!sameShape(src.shape, this.shape) || src.dtype !== this.dtype) {
      throw new Error(`assign: expected ${this.dtype} ${shapeStr(this.shape)}, got ${src.dtype} ${shapeStr(src.shape)}`);
    }
    if (isGradEnabled() && this.requiresGrad) throw new Error('assign: in-place update of a tensor that requires grad; wrap it in noGrad()');
    if (this._node) throw new Error('assign: only leaf tensors can be assigned');
    const full = src.offset === 0 && isContiguous(src.shape, src.strides) && src._storage.size === src.size;
    const storage = full ? src._storage.retain() : fromBuf(src.backend, src.backend.kernels.copy(src.view()), src.dtype, src.size);
    this._storage.release();
    this._storage = storage;
    this._handle.storage = storage;
    (this as { strides: readonly number[] }).strides = contiguousStrides(this.shape);
    (this as { offset: number }).offset = 0;
    return this;
  }

  // ----- reading back ------------------------------------------------------------------------
  /** The values, contiguous, as a typed array (async: GPU backends read back asynchronously). */
  async data(): Promise<TypedArray> {
    const c = this.contiguousStorage();
    try {
      return await this.backend.read(c.buf, this.dtype);
    } finally {
      c.release();
    }
  }
  /** Synchronous read on backends that allow it (cpu, wasm). */
  dataSync(): TypedArray {
    const b = this.backend;
    if (!b.readSync) throw new Error(`dataSync: backend '${b.name}' reads back asynchronously; use await tensor.data()`);
    const c = this.contiguousStorage();
    try {
      return b.readSync(c.buf, this.dtype);
    } finally {
      c.release();
    }
  }
  private contiguousStorage(): Storage {
    this.view(); // throws if disposed
    if (this.offset === 0 && isContiguous(this.shape, this.strides) && this._storage.size === this.size) return this._storage.retain();
    return fromBuf(this.backend, this.backend.kernels.copy(this.view()), this.dtype, this.size);
  }
  async item(): Promise<number> {
    if (this.size !== 1) throw new Error(`item: expected a tensor with one element, got shape ${shapeStr(this.shape)}`);
    return (await this.data())[0]!;
  }
  itemSync(): number {
    if (this.size !== 1) throw new Error(`item: expected a tensor with one element, got shape ${shapeStr(this.shape)}`);
    return this.dataSync()[0]!;
  }
  async array(): Promise<NestedArray> {
    return nest(await this.data(), this.shape, this.dtype);
  }
  arraySync(): NestedArray {
    return nest(this.dataSync(), this.shape, this.dtype);
  }
  toString(): string {
    return `Tensor(${shapeStr(this.shape)}, ${this.dtype}${this.requiresGrad ? ', requiresGrad' : ''})`;
  }

  // ----- autograd ----------------------------------------------------------------------------
  /** A new leaf sharing storage, cut from the graph. */
  detach(): Tensor {
    this.view(); // throws if disposed
    return new Tensor(this._storage.retain(), this.shape, this.strides, this.offset);
  }
  /**
   * Backpropagate from this tensor, accumulating into the `.grad` of leaves that require grad.
   * `gradient` defaults to ones for a scalar. `createGraph` records the backward pass itself, for
   * higher-order derivatives; `retainGraph` keeps the graph for another backward.
   */
  backward(gradient?: Tensor, opts: { retainGraph?: boolean; createGraph?: boolean } = {}): void {
    backwardImpl([this], [gradient ?? null], null, opts.createGraph ?? false, opts.retainGraph ?? opts.createGraph ?? false);
  }

  // ----- dtype -------------------------------------------------------------------------------
  cast(dtype: DType): Tensor {
    if (!isDType(dtype)) throw new Error(`cast: unknown dtype '${String(dtype)}'`);
    if (dtype === this.dtype) return this;
    checkDtypeOnBackend(this.backend, dtype, 'cast');
    return prim('cast', [this], { from: this.dtype }, this.shape, dtype, ([x]) => this.backend.kernels.cast(x!, dtype));
  }
  float(): Tensor {
    return this.cast('float32');
  }
  int(): Tensor {
    return this.cast('int32');
  }
  bool(): Tensor {
    return this.cast('bool');
  }
  /** Copy to another backend (reads back synchronously where possible). */
  async to(backend: Backend | string): Promise<Tensor> {
    const b = typeof backend === 'string' ? (await import('./backend.ts')).getBackendByName(backend) : backend;
    if (b === this.backend) return this;
    return fromArray(await this.data(), this.shape, this.dtype, b);
  }

  // ----- views -------------------------------------------------------------------------------
  /** Reshape; a view when the layout allows, otherwise a copy. One dimension may be -1. */
  reshape(...shapeArg: (number | readonly number[])[]): Tensor {
    const shape = inferShape(flatShape(shapeArg), this.size, this.shape);
    if (sameShape(shape, this.shape)) return this;
    const src = isContiguous(this.shape, this.strides) ? this : this.contiguous();
    return makeView(src, 'reshape', {}, shape, contiguousStrides(shape), src.offset);
  }
  view_(...shape: (number | readonly number[])[]): Tensor {
    if (!isContiguous(this.shape, this.strides)) throw new Error(`view: tensor ${shapeStr(this.shape)} is not contiguous; use reshape()`);
    return this.reshape(...shape);
  }
  flatten(startDim = 0, endDim = -1): Tensor {
    if (this.ndim === 0) return this.reshape(1);
    const s = normAxis(startDim, this.ndim, 'flatten'), e = normAxis(endDim, this.ndim, 'flatten');
    const shape = [...this.shape.slice(0, s), sizeOf(this.shape.slice(s, e + 1)), ...this.shape.slice(e + 1)];
    return this.reshape(shape);
  }
  permute(...permArg: (number | readonly number[])[]): Tensor {
    const perm = flatShape(permArg).map((a) => normAxis(a, this.ndim, 'permute'));
    if (perm.length !== this.ndim || new Set(perm).size !== perm.length) {
      throw new Error(`permute: [${perm.join(', ')}] is not a permutation of the ${this.ndim} dimensions of ${shapeStr(this.shape)}`);
    }
    if (perm.every((p, i) => p === i)) return this;
    return makeView(this, 'permute', { perm }, perm.map((p) => this.shape[p]!), perm.map((p) => this.strides[p]!), this.offset);
  }
  transpose(dim0 = -2, dim1 = -1): Tensor {
    const a = normAxis(dim0, this.ndim, 'transpose'), b = normAxis(dim1, this.ndim, 'transpose');
    const perm = this.shape.map((_, i) => i);
    perm[a] = b;
    perm[b] = a;
    return this.permute(perm);
  }
  /** Transpose of the last two dimensions. */
  get mT(): Tensor {
    return this.transpose(-2, -1);
  }
  /** Broadcast to `shape` without copying (zero strides). */
  expand(...shapeArg: (number | readonly number[])[]): Tensor {
    const target = flatShape(shapeArg);
    const nd = target.length;
    if (nd < this.ndim) throw new Error(`expand: cannot expand ${shapeStr(this.shape)} to fewer dimensions ${shapeStr(target)}`);
    const shape: number[] = [], strides: number[] = [];
    for (let i = 0; i < nd; i++) {
      const j = i - (nd - this.ndim);
      const d = j >= 0 ? this.shape[j]! : 1;
      const t = target[i] === -1 ? d : target[i]!;
      if (d !== t && d !== 1) throw new Error(`expand: cannot expand ${shapeStr(this.shape)} to ${shapeStr(target)} (dimension ${i}: ${d} vs ${t})`);
      shape.push(t);
      strides.push(j >= 0 && d === t ? this.strides[j]! : 0);
    }
    if (sameShape(shape, this.shape)) return this;
    return makeView(this, 'expand', {}, shape, strides, this.offset);
  }
  broadcastTo(shape: readonly number[]): Tensor {
    return this.expand(shape);
  }
  expandAs(other: Tensor): Tensor {
    return this.expand(other.shape);
  }
  /**
   * Strided slice along one axis: start (inclusive), end (exclusive), step (may be negative),
   * with Python's clamping of out-of-range bounds.
   */
  slice(axis: number, start?: number, end?: number, step = 1): Tensor {
    const a = normAxis(axis, this.ndim, 'slice');
    const n = this.shape[a]!;
    if (!Number.isInteger(step) || step === 0) throw new Error(`slice: step must be a non-zero integer, got ${step}`);
    const [s, len] = sliceRange(n, start, end, step);
    const starts = this.shape.map(() => 0), steps = this.shape.map(() => 1);
    starts[a] = s;
    steps[a] = step;
    const shape = [...this.shape];
    shape[a] = len;
    return this.sliceView(starts, steps, shape);
  }
  /** Slices along several axes at once: `x.at([0, 2], null, [null, null, -1])` style specs. */
  index(...spec: (number | [number?, number?, number?] | null)[]): Tensor {
    if (spec.length > this.ndim) throw new Error(`index: ${spec.length} indices for a tensor with ${this.ndim} dimensions`);
    const starts = this.shape.map(() => 0), steps = this.shape.map(() => 1), shape = [...this.shape];
    const drop: number[] = [];
    spec.forEach((sp, d) => {
      const n = this.shape[d]!;
      if (sp === null) return;
      if (typeof sp === 'number') {
        const i = sp < 0 ? sp + n : sp;
        if (!Number.isInteger(i) || i < 0 || i >= n) throw new Error(`index: index ${sp} is out of range for dimension ${d} of size ${n}`);
        starts[d] = i;
        shape[d] = 1;
        drop.push(d);
        return;
      }
      const step = sp[2] ?? 1;
      if (!Number.isInteger(step) || step === 0) throw new Error(`index: step must be a non-zero integer, got ${step}`);
      const [s, len] = sliceRange(n, sp[0], sp[1], step);
      starts[d] = s;
      steps[d] = step;
      shape[d] = len;
    });
    const v = this.sliceView(starts, steps, shape);
    return drop.length ? v.reshape(shape.filter((_, d) => !drop.includes(d))) : v;
  }
  private sliceView(starts: number[], steps: number[], shape: number[]): Tensor {
    return stridedSlice(this, starts, steps, shape);
  }
  /** Reverse the order of elements along the given axes (a view with negative strides). */
  flip(...axesArg: (number | readonly number[])[]): Tensor {
    return normAxes(flatShape(axesArg), this.ndim, 'flip').reduce<Tensor>((t, a) => t.slice(a, undefined, undefined, -1), this);
  }
  squeeze(axis?: number | readonly number[]): Tensor {
    const axes = axis === undefined ? this.shape.flatMap((d, i) => (d === 1 ? [i] : [])) : normAxes(axis, this.ndim, 'squeeze').filter((a) => this.shape[a] === 1);
    return this.reshape(this.shape.filter((_, i) => !axes.includes(i)));
  }
  unsqueeze(axis: number): Tensor {
    const a = normAxis(axis, this.ndim + 1, 'unsqueeze');
    const shape = [...this.shape];
    shape.splice(a, 0, 1);
    return this.reshape(shape);
  }
  contiguous(): Tensor {
    if (isContiguous(this.shape, this.strides)) return this;
    return prim('copy', [this], {}, this.shape, this.dtype, ([x]) => this.backend.kernels.copy(x!));
  }
  /** A contiguous copy that does not share storage (differentiable). */
  clone(): Tensor {
    return prim('copy', [this], {}, this.shape, this.dtype, ([x]) => this.backend.kernels.copy(x!));
  }
  split(sizeOrSections: number | readonly number[], axis = 0): Tensor[] {
    const a = normAxis(axis, this.ndim, 'split');
    const n = this.shape[a]!;
    const sizes = typeof sizeOrSections === 'number'
      ? Array.from({ length: Math.max(1, Math.ceil(n / sizeOrSections)) }, (_, i) => Math.min(sizeOrSections, n - i * sizeOrSections))
      : [...sizeOrSections];
    if (sizes.reduce((x, y) => x + y, 0) !== n) throw new Error(`split: sizes [${sizes.join(', ')}] do not add up to dimension ${a} of size ${n}`);
    let start = 0;
    return sizes.map((s) => this.slice(a, start, (start += s)));
  }
  chunk(chunks: number, axis = 0): Tensor[] {
    const n = this.shape[normAxis(axis, this.ndim, 'chunk')]!;
    return this.split(Math.ceil(n / chunks) || 1, axis);
  }
  unbind(axis = 0): Tensor[] {
    const a = normAxis(axis, this.ndim, 'unbind');
    return Array.from({ length: this.shape[a]! }, (_, i) => this.index(...this.shape.map((_, d) => (d === a ? i : null))));
  }

  // ----- elementwise -------------------------------------------------------------------------
  neg(): Tensor { return unary('neg', this); }
  abs(): Tensor { return unary('abs', this); }
  sign(): Tensor { return unary('sign', this); }
  exp(): Tensor { return unary('exp', this, true); }
  log(): Tensor { return unary('log', this, true); }
  log1p(): Tensor { return unary('log1p', this, true); }
  expm1(): Tensor { return unary('expm1', this, true); }
  sqrt(): Tensor { return unary('sqrt', this, true); }
  rsqrt(): Tensor { return unary('recip', unary('sqrt', this, true)); }
  reciprocal(): Tensor { return unary('recip', this, true); }
  sin(): Tensor { return unary('sin', this, true); }
  cos(): Tensor { return unary('cos', this, true); }
  tanh(): Tensor { return unary('tanh', this, true); }
  sigmoid(): Tensor { return unary('sigmoid', this, true); }
  erf(): Tensor { return unary('erf', this, true); }
  floor(): Tensor { return isFloat(this.dtype) ? unary('floor', this) : this; }
  ceil(): Tensor { return isFloat(this.dtype) ? unary('ceil', this) : this; }
  round(): Tensor { return isFloat(this.dtype) ? unary('round', this) : this; }
  logicalNot(): Tensor { return unary('logicalNot', this.bool()); }
  square(): Tensor { return this.mul(this); }

  add(o: TensorLike): Tensor { return binary('add', this, o); }
  sub(o: TensorLike): Tensor { return binary('sub', this, o); }
  mul(o: TensorLike): Tensor { return binary('mul', this, o); }
  /** True division: integer inputs give float32, as torch.div. */
  div(o: TensorLike): Tensor { return binary('div', this, o, 'float'); }
  pow(o: TensorLike): Tensor { return binary('pow', this, o); }
  maximum(o: TensorLike): Tensor { return binary('maximum', this, o); }
  minimum(o: TensorLike): Tensor { return binary('minimum', this, o); }
  eq(o: TensorLike): Tensor { return binary('eq', this, o, 'bool'); }
  ne(o: TensorLike): Tensor { return binary('ne', this, o, 'bool'); }
  lt(o: TensorLike): Tensor { return binary('lt', this, o, 'bool'); }
  le(o: TensorLike): Tensor { return binary('le', this, o, 'bool'); }
  gt(o: TensorLike): Tensor { return binary('gt', this, o, 'bool'); }
  ge(o: TensorLike): Tensor { return binary('ge', this, o, 'bool'); }
  logicalAnd(o: TensorLike): Tensor { return binary('logicalAnd', this.bool(), asTensor(o, this).bool(), 'bool'); }
  logicalOr(o: TensorLike): Tensor { return binary('logicalOr', this.bool(), asTensor(o, this).bool(), 'bool'); }
  /** Reverse-operand forms for scalars: x.rsub(1) = 1 - x, x.rdiv(1) = 1 / x. */
  rsub(o: TensorLike): Tensor { return binary('sub', asTensor(o, this), this); }
  rdiv(o: TensorLike): Tensor { return binary('div', asTensor(o, this), this, 'float'); }

  relu(): Tensor { return where(this.gt(0), this, 0); }
  leakyRelu(negativeSlope = 0.01): Tensor { return where(this.gt(0), this, this.mul(negativeSlope)); }
  /** ELU (Clevert et al. 2016); expm1 sees only non-positive inputs so no inf·0 in the gradient. */
  elu(alpha = 1): Tensor { return where(this.gt(0), this, this.minimum(0).expm1().mul(alpha)); }
  /** softplus(x) = log(1 + eˣ), computed as max(x, 0) + log1p(e^{−|x|}); linear above `threshold`·beta as torch. */
  softplus(beta = 1, threshold = 20): Tensor {
    const bx = beta === 1 ? this : this.mul(beta);
    const sp = bx.maximum(0).add(bx.abs().neg().exp().log1p()); // maximum: gradient ½ at 0 (relu would give 0)
    const y = beta === 1 ? sp : sp.div(beta);
    return where(bx.gt(threshold), this, y);
  }
  /** SiLU / swish: x·σ(x). */
  silu(): Tensor { return siluFused(this) ?? unary('silu', this, true); }
  /** The derivative of silu, σ(x)·(1 + x·(1 − σ(x))) (its backward rule's kernel). */
  siluGrad(): Tensor { return unary('siluGrad', this, true); }
  /** GELU (Hendrycks & Gimpel 2016): exact x·Φ(x), or the tanh approximation. */
  gelu(approximate: 'none' | 'tanh' = 'none'): Tensor {
    if (approximate === 'tanh') {
      const inner = this.add(this.pow(3).mul(0.044715)).mul(Math.sqrt(2 / Math.PI));
      return this.mul(0.5).mul(inner.tanh().add(1));
    }
    return this.mul(0.5).mul(this.mul(Math.SQRT1_2).erf().add(1));
  }
  logSigmoid(): Tensor { return this.neg().softplus().neg(); }
  /** Clamp to [min, max]; the gradient passes where min ≤ x ≤ max, as torch.clamp. */
  clamp(min?: number | null, max?: number | null): Tensor {
    const lo = min === undefined || min === null ? this : where(this.lt(min), min, this);
    return max === undefined || max === null ? lo : where(lo.gt(max), max, lo);
  }
  /** Fill with `value` where mask is true. */
  maskedFill(mask: Tensor, value: number): Tensor { return where(mask, value, this); }
  lerp(end: TensorLike, weight: TensorLike): Tensor { return this.add(asTensor(end, this).sub(this).mul(weight)); }

  // ----- reductions --------------------------------------------------------------------------
  sum(axes?: number | readonly number[], keepDim = false): Tensor { return reduce('sum', this, axes, keepDim); }
  prod(axes?: number | readonly number[], keepDim = false): Tensor { return reduce('prod', this, axes, keepDim); }
  max(axes?: number | readonly number[], keepDim = false): Tensor { return reduce('max', this, axes, keepDim); }
  min(axes?: number | readonly number[], keepDim = false): Tensor { return reduce('min', this, axes, keepDim); }
  mean(axes?: number | readonly number[], keepDim = false): Tensor {
    const ax = normAxes(axes, this.ndim, 'mean');
    const n = sizeOf(ax.map((a) => this.shape[a]!));
    return reduce('sum', isFloat(this.dtype) ? this : this.float(), ax, keepDim).div(n);
  }
  /** Variance with Bessel's correction by default (correction = 1), as torch.var. */
  var(axes?: number | readonly number[], opts: { correction?: number; keepDim?: boolean } = {}): Tensor {
    const ax = normAxes(axes, this.ndim, 'var');
    const n = sizeOf(ax.map((a) => this.shape[a]!));
    const d = this.sub(this.mean(ax, true));
    return d.mul(d).sum(ax, opts.keepDim ?? false).div(Math.max(0, n - (opts.correction ?? 1)));
  }
  std(axes?: number | readonly number[], opts: { correction?: number; keepDim?: boolean } = {}): Tensor {
    return this.var(axes, opts).sqrt();
  }
  argmax(axis?: number, keepDim = false): Tensor { return argReduce('argmax', this, axis, keepDim); }
  argmin(axis?: number, keepDim = false): Tensor { return argReduce('argmin', this, axis, keepDim); }
  /** log Σ exp, stabilised by the (detached) maximum. */
  logsumexp(axes?: number | readonly number[], keepDim = false): Tensor {
    const ax = normAxes(axes, this.ndim, 'logsumexp');
    const m = noGrad(() => {
      const mx = this.max(ax, true);
      return where(mx.abs().eq(Infinity), 0, mx);
    });
    const out = this.sub(m).exp().sum(ax, true).log().add(m);
    return keepDim ? out : out.squeeze(ax);
  }
  softmax(axis = -1): Tensor {
    return softmaxRows(this, axis, false) ?? this.sub(this.logsumexp(axis, true)).exp();
  }
  logSoftmax(axis = -1): Tensor {
    return softmaxRows(this, axis, true) ?? this.sub(this.logsumexp(axis, true));
  }
  cumsum(axis: number): Tensor {
    const a = normAxis(axis, this.ndim, 'cumsum');
    const x = this.dtype === 'bool' ? this.int() : this;
    return prim('cumsum', [x], { axis: a }, x.shape, x.dtype, ([v]) => x.backend.kernels.cumsum(v!, a));
  }
  all(): Tensor { return this.bool().logicalNot().cast('int32').sum().eq(0); }
  any(): Tensor { return this.bool().cast('int32').sum().gt(0); }

  // ----- products ----------------------------------------------------------------------------
  /** Matrix product with batching and broadcasting of leading dimensions (torch.matmul). */
  matmul(o: Tensor): Tensor { return matmul(this, o); }

  // ----- indexing ----------------------------------------------------------------------------
  /** torch.gather along `axis`: out has index's shape. */
  gather(axis: number, index: Tensor): Tensor { return gather(this, axis, index); }
  /** torch.index_select: pick entries of a 1-D int index along `axis`. */
  indexSelect(axis: number, index: Tensor): Tensor {
    const a = normAxis(axis, this.ndim, 'indexSelect');
    if (index.ndim !== 1) throw new Error(`indexSelect: index must be 1-D, got ${shapeStr(index.shape)}`);
    if (index.dtype !== 'int32') throw new Error(`indexSelect: index must be int32, got ${index.dtype}`);
    const shape = [...this.shape];
    shape[a] = index.shape[0]!;
    const idxShape = this.shape.map((_, d) => (d === a ? index.shape[0]! : 1));
    return gather(this, a, index.reshape(idxShape).expand(shape));
  }
  /** out = this, then out[index] += src along `axis` (torch.scatter_add). */
  scatterAdd(axis: number, index: Tensor, src: Tensor): Tensor { return scatterAdd(this, axis, index, src); }
}

// ---------------------------------------------------------------------------------------------
// Dispatch
// ---------------------------------------------------------------------------------------------

function fromBuf(backend: Backend, buf: Buf, dtype: DType, size: number): Storage {
  return new Storage(backend, buf, dtype, size);
}

/**
 * One fused Adam/AdamW step where the backend has one (`OtherKernels.adamStep`): new tensors
 * [p′, m′, v′], or null where the backend lacks it or the tensors are not float32 of one shape on
 * one backend (then the optimizer composes the update). Not recorded for autograd.
 */
export function fusedAdamStep(p: Tensor, g: Tensor, m: Tensor, v: Tensor, h: AdamStepHyper): [Tensor, Tensor, Tensor] | null {
  const k = p.backend.kernels.adamStep;
  if (!k || [p, g, m, v].some((t) => t.backend !== p.backend || t.dtype !== 'float32' || !sameShape(t.shape, p.shape))) return null;
  const bufs = k(p.view(), g.view(), m.view(), v.view(), h);
  return bufs.map((b) => wrapBuf(p.backend, b, p.shape, 'float32')) as [Tensor, Tensor, Tensor];
}

/**
 * @internal (x − μ)/√(σ² + eps) over each row of a float32 [rows, n] tensor, with the row's mean μ
 * and biased variance σ², through the backend's fused kernels (`OtherKernels.normRows`), or null
 * where the backend has none (callers compose it then). The gradient is the fused adjoint
 *   ∂x = rstd·(g − mean(g) − y·mean(g·y));
 * under createGraph it is composed from x instead, so that it stays differentiable.
 */
export function normalizeRows(x: Tensor, eps: number): Tensor | null {
  const { normRows, normRowsBackward } = x.backend.kernels;
  if (!normRows || !normRowsBackward || x.dtype !== 'float32' || x.ndim !== 2 || x.size === 0) return null;
  const [yb, rb] = normRows(x.view(), eps);
  const y = wrapBuf(x.backend, yb, x.shape, 'float32');
  const rstd = wrapBuf(x.backend, rb, [x.shape[0]!, 1], 'float32');
  if (!(isGradEnabled() && x.requiresGrad)) {
    rstd.dispose();
    return y;
  }
  return customGrad(y, [x, rstd], 'normalizeRows', (g, [xi, r], out) => {
    if (!isGradEnabled()) return [wrapBuf(x.backend, normRowsBackward(g.view(), out.view(), r!.view()), x.shape, 'float32'), null];
    const d = xi!.sub(xi!.mean(1, true));
    const rs = d.square().mean(1, true).add(eps).rsqrt();
    const yc = d.mul(rs);
    return [g.sub(g.mean(1, true)).sub(yc.mul(g.mul(yc).mean(1, true))).mul(rs), null];
  });
}

/**
 * Softmax or log-softmax over the last axis through the backend's fused kernels
 * (`OtherKernels.softmaxRows`), or null where they do not apply (another axis, not float32, no
 * kernels): the caller composes it then. The rule uses the output y only,
 *   softmax: ∂x = y·(g − Σg·y),   log-softmax: ∂x = g − exp(y)·Σg,
 * by the fused kernel, or composed from y under createGraph (y is this node's output, so the
 * composition is differentiable through the same rule).
 */
function softmaxRows(x: Tensor, axis: number, log: boolean): Tensor | null {
  const { softmaxRows: fwd, softmaxRowsBackward: bwd } = x.backend.kernels;
  if (!fwd || !bwd || x.dtype !== 'float32' || x.ndim === 0 || normAxis(axis, x.ndim, log ? 'logSoftmax' : 'softmax') !== x.ndim - 1 || x.size === 0) return null;
  const n = x.shape[x.ndim - 1]!;
  const x2 = x.reshape([x.size / n, n]);
  const y = customGrad(wrapBuf(x.backend, fwd(x2.view(), log), x2.shape, 'float32'), [x2], log ? 'logSoftmax' : 'softmax', (g, _, out) => {
    if (!isGradEnabled()) return [wrapBuf(x.backend, bwd(g.view(), out.view(), log), out.shape, 'float32')];
    return [log ? g.sub(out.exp().mul(g.sum(1, true))) : out.mul(g.sub(g.mul(out).sum(1, true)))];
  });
  return y.reshape(x.shape);
}

/**
 * SiLU whose gradient is the backend's fused g·silu′(x) (`OtherKernels.siluBackward`, given the
 * output too so that it need not evaluate σ again), or null where that does not apply (no kernel,
 * not float32, no gradient wanted): the primitive then records g·siluGrad(x). Under createGraph
 * the rule is that composition, so it stays differentiable.
 */
function siluFused(x: Tensor): Tensor | null {
  const bwd = x.backend.kernels.siluBackward;
  if (!bwd || x.dtype !== 'float32' || !(isGradEnabled() && x.requiresGrad)) return null;
  const y = wrapBuf(x.backend, x.backend.kernels.silu(x.view(), 'float32'), x.shape, 'float32');
  return customGrad(y, [x], 'silu', (g, [xi], out) => {
    if (isGradEnabled()) return [g.mul(xi!.siluGrad())];
    return [wrapBuf(x.backend, bwd(g.cast('float32').view(), xi!.view(), out.view()), x.shape, 'float32')];
  });
}

/**
 * @internal x·Wᵀ + b with the bias added by the matmul kernel itself (one pass over the output
 * instead of two), for float32 x [..., in], W [out, in] and b [out] on one backend; null otherwise
 * (F.linear composes it then). The rule is the composed one, written with tensor ops:
 *   ∂x = g·W,   ∂W = gᵀ·x,   ∂b = Σ_rows g.
 */
export function linearWithBias(x: Tensor, w: Tensor, b: Tensor): Tensor | null {
  if (x.ndim < 2 || x.size === 0 || w.ndim !== 2 || b.ndim !== 1 || b.shape[0] !== w.shape[0] || x.shape[x.ndim - 1] !== w.shape[1]) return null;
  if ([x, w, b].some((t) => t.dtype !== 'float32' || t.backend !== x.backend)) return null;
  const n = w.shape[1]!, m = w.shape[0]!;
  const x2 = x.reshape([-1, n]);
  const y = wrapBuf(x.backend, x.backend.kernels.matmul(x2.view(), w.mT.view(), b.view()), [x2.shape[0]!, m], 'float32');
  const out = customGrad(y, [x2, w, b], 'linear', (g, [xi, wi, bi]) => [
    xi!.requiresGrad ? g.matmul(wi!) : null,
    wi!.requiresGrad ? g.mT.matmul(xi!) : null,
    bi!.requiresGrad ? g.sum(0) : null,
  ]);
  return out.reshape([...x.shape.slice(0, -1), m]);
}

/** @internal A fresh contiguous tensor over a new buffer. */
export function wrapBuf(backend: Backend, buf: Buf, shape: readonly number[], dtype: DType): Tensor {
  return new Tensor(fromBuf(backend, buf, dtype, sizeOf(shape)), shape, contiguousStrides(shape), 0);
}

function record<K extends GradOp>(out: Tensor, op: K, inputs: readonly Tensor[], attrs: AttrsOf<K>): Tensor {
  if (isGradEnabled() && VJP[op] !== null && inputs.some((t) => t.requiresGrad)) {
    out._node = { op, inputs, attrs };
  }
  return out;
}

/**
 * @internal Gives `out` (computed from `inputs` under noGrad, so without a graph of its own) a
 * hand-written gradient rule. Only `inputs` are kept for backward; the rule recomputes whatever
 * else it needs. Rules written with tensor ops stay differentiable (createGraph).
 */
export function customGrad(out: Tensor, inputs: readonly Tensor[], name: string, vjp: CustomVjp): Tensor {
  if (out._node) throw new Error(`customGrad(${name}): the output already has a graph; compute it under noGrad`);
  return record(out, 'custom', inputs, { name, vjp });
}

/** Run a primitive kernel on the inputs' backend and record it for autograd. */
export function prim<K extends GradOp>(op: K, inputs: readonly Tensor[], attrs: AttrsOf<K>, shape: readonly number[], dtype: DType, run: (views: View[]) => Buf): Tensor {
  const backend = inputs[0]!.backend;
  for (const t of inputs) {
    if (t.backend !== backend) throw new Error(`${op}: tensors live on different backends ('${backend.name}' and '${t.backend.name}'); move them with await t.to(...)`);
  }
  const out = wrapBuf(backend, run(inputs.map((t) => t.view())), shape, dtype);
  return record(out, op, inputs, attrs);
}

function makeView<K extends 'reshape' | 'permute' | 'expand' | 'slice'>(src: Tensor, op: K, attrs: AttrsOf<K>, shape: readonly number[], strides: readonly number[], offset: number): Tensor {
  src.view(); // throws if disposed
  const out = new Tensor(src._storage.retain(), shape, strides, offset);
  return record(out, op, [src], attrs);
}

function checkDtypeOnBackend(b: Backend, d: DType, op: string) {
  if (!b.dtypes.includes(d)) throw new Error(`${op}: backend '${b.name}' does not support ${d} (it supports ${b.dtypes.join(', ')})`);
}

/** A scalar operand takes the tensor's dtype (weakly typed, as in PyTorch), or float32 if it is fractional. */
function asTensor(v: TensorLike, like: Tensor): Tensor {
  if (v instanceof Tensor) return v;
  const n = typeof v === 'boolean' ? (v ? 1 : 0) : v;
  const dtype: DType = isFloat(like.dtype) ? like.dtype : Number.isInteger(n) || !Number.isFinite(n) ? (typeof v === 'boolean' && like.dtype === 'bool' ? 'bool' : like.dtype === 'bool' ? 'int32' : like.dtype) : 'float32';
  const d2: DType = dtype === 'int32' && !Number.isFinite(n) ? 'float32' : dtype;
  return fromArray(toArrayOf(d2, [n]), [], d2, like.backend);
}

function unary(op: UnaryOp, x: Tensor, float = false): Tensor {
  const src = float && !isFloat(x.dtype) ? x.cast(floatOf(x.dtype)) : x;
  if (src.dtype === 'bool' && op !== 'logicalNot') throw new Error(`${op}: not defined for bool tensors; cast first`);
  return prim(op, [src], {}, src.shape, src.dtype, ([v]) => src.backend.kernels[op](v!, src.dtype));
}

function binary(op: BinaryOp, a: Tensor, bArg: TensorLike, result?: 'bool' | 'float'): Tensor {
  const b = asTensor(bArg, a);
  const shape = broadcastShapes(a.shape, b.shape, op);
  let ct = promote(a.dtype, b.dtype);
  if (result === 'float') ct = floatOf(ct);
  if (ct === 'bool' && result !== 'bool' && op !== 'maximum' && op !== 'minimum') ct = 'int32';
  const aa = a.cast(ct).expand(shape), bb = b.cast(ct).expand(shape);
  const out = result === 'bool' ? 'bool' : ct;
  return prim(op, [aa, bb], {}, shape, out, ([u, v]) => a.backend.kernels[op](u!, v!, out));
}

/** where(cond, a, b) with broadcasting. */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  const like = a instanceof Tensor ? a : b instanceof Tensor ? b : cond;
  let ta = asTensor(a, like), tb = asTensor(b, like);
  const dt = promote(ta.dtype, tb.dtype);
  ta = ta.cast(dt);
  tb = tb.cast(dt);
  const c = cond.bool();
  const shape = broadcastShapes(broadcastShapes(c.shape, ta.shape, 'where'), tb.shape, 'where');
  const [cc, aa, bb] = [c.expand(shape), ta.expand(shape), tb.expand(shape)];
  return prim('where', [cc, aa, bb], {}, shape, dt, ([u, v, w]) => c.backend.kernels.where(u!, v!, w!, dt));
}

function reduce(op: ReduceOp, x: Tensor, axesArg: number | readonly number[] | undefined, keepDim: boolean): Tensor {
  const axes = normAxes(axesArg, x.ndim, op);
  const src = x.dtype === 'bool' ? x.int() : x;
  if ((op === 'max' || op === 'min') && axes.some((a) => x.shape[a] === 0)) {
    throw new Error(`${op}: cannot reduce over an empty dimension of ${shapeStr(x.shape)}`);
  }
  const outShape = src.shape.filter((_, i) => !axes.includes(i));
  const out = axes.length === 0 ? src : prim(op, [src], { axes }, outShape, src.dtype, ([v]) => src.backend.kernels[op](v!, axes));
  return keepDim ? out.reshape(src.shape.map((d, i) => (axes.includes(i) ? 1 : d))) : out;
}

function argReduce(op: 'argmax' | 'argmin', x: Tensor, axis: number | undefined, keepDim: boolean): Tensor {
  if (axis === undefined) return argReduce(op, x.reshape(-1), 0, false);
  const a = normAxis(axis, x.ndim, op);
  if (x.shape[a] === 0) throw new Error(`${op}: cannot reduce over an empty dimension of ${shapeStr(x.shape)}`);
  const shape = x.shape.filter((_, i) => i !== a);
  const out = prim(op, [x], {}, shape, 'int32', ([v]) => x.backend.kernels[op](v!, a));
  return keepDim ? out.unsqueeze(a) : out;
}

/** torch.matmul semantics: 1-D operands are promoted and the added dimension removed. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.ndim === 0 || b.ndim === 0) throw new Error(`matmul: both operands need at least one dimension, got ${shapeStr(a.shape)} and ${shapeStr(b.shape)}`);
  const a2 = a.ndim === 1 ? a.unsqueeze(0) : a;
  const b2 = b.ndim === 1 ? b.unsqueeze(1) : b;
  const [M, K] = a2.shape.slice(-2) as [number, number];
  const [K2, N] = b2.shape.slice(-2) as [number, number];
  if (K !== K2) throw new Error(`matmul: shapes ${shapeStr(a.shape)} and ${shapeStr(b.shape)} are not aligned (${K} vs ${K2})`);
  const batch = broadcastShapes(a2.shape.slice(0, -2), b2.shape.slice(0, -2), `matmul: batch dimensions of ${shapeStr(a.shape)} and ${shapeStr(b.shape)}`);
  const dt = promote(a.dtype, b.dtype);
  if (!isFloat(dt)) throw new Error(`matmul: expected floating-point tensors, got ${a.dtype} and ${b.dtype}`);
  const aa = a2.cast(dt).expand([...batch, M, K]), bb = b2.cast(dt).expand([...batch, K, N]);
  let out = prim('matmul', [aa, bb], {}, [...batch, M, N], dt, ([u, v]) => a.backend.kernels.matmul(u!, v!));
  if (a.ndim === 1) out = out.squeeze(-2);
  if (b.ndim === 1) out = out.squeeze(-1);
  return out;
}

export function gather(x: Tensor, axis: number, index: Tensor): Tensor {
  const a = normAxis(axis, x.ndim, 'gather');
  if (index.dtype !== 'int32') throw new Error(`gather: index must be int32, got ${index.dtype}`);
  if (index.ndim !== x.ndim || index.shape.some((d, i) => i !== a && d > x.shape[i]!)) {
    throw new Error(`gather: index ${shapeStr(index.shape)} does not fit input ${shapeStr(x.shape)} along axis ${a}`);
  }
  return prim('gather', [x, index], { axis: a }, index.shape, x.dtype, ([v, i]) => x.backend.kernels.gather(v!, a, i!));
}

export function scatterAdd(x: Tensor, axis: number, index: Tensor, src: Tensor): Tensor {
  const a = normAxis(axis, x.ndim, 'scatterAdd');
  if (index.dtype !== 'int32') throw new Error(`scatterAdd: index must be int32, got ${index.dtype}`);
  if (index.ndim !== x.ndim || src.ndim !== x.ndim || index.shape.some((d, i) => d > src.shape[i]! || (i !== a && d > x.shape[i]!))) {
    throw new Error(`scatterAdd: index ${shapeStr(index.shape)}, src ${shapeStr(src.shape)} and input ${shapeStr(x.shape)} do not fit along axis ${a}`);
  }
  const s = src.cast(x.dtype);
  return prim('scatterAdd', [x, index, s], { axis: a }, x.shape, x.dtype, ([v, i, w]) => x.backend.kernels.scatterAdd(v!, a, i!, w!));
}

/** @internal A strided region (starts, steps, shape) of t, as a view. */
export function stridedSlice(t: Tensor, starts: readonly number[], steps: readonly number[], shape: readonly number[]): Tensor {
  if (sameShape(shape, t.shape) && steps.every((s) => s === 1)) return t;
  const offset = t.offset + starts.reduce((acc, s, d) => acc + s * t.strides[d]!, 0);
  const strides = t.strides.map((st, d) => st * steps[d]!);
  return makeView(t, 'slice', { starts, steps }, shape, strides, offset);
}

function checkSquare(a: Tensor, op: string): void {
  if (a.ndim < 2 || a.shape[a.ndim - 1] !== a.shape[a.ndim - 2]) throw new Error(`${op}: expected a batch of square matrices [..., n, n], got ${shapeStr(a.shape)}`);
  if (!isFloat(a.dtype)) throw new Error(`${op}: expected a floating-point tensor, got ${a.dtype}`);
}
/** @internal Batched matrix inverse (differentiable). */
export function inverseOp(a: Tensor): Tensor {
  checkSquare(a, 'inverse');
  return prim('inverse', [a], {}, a.shape, a.dtype, ([v]) => a.backend.kernels.inverse(v!));
}
/** @internal Batched log|det A| (differentiable: d/dA = A⁻ᵀ). */
export function logAbsDetOp(a: Tensor): Tensor {
  checkSquare(a, 'logAbsDet');
  return prim('logAbsDet', [a], {}, a.shape.slice(0, -2), a.dtype, ([v]) => a.backend.kernels.logAbsDet(v!));
}
/** @internal Batched sign of det A. */
export function detSignOp(a: Tensor): Tensor {
  checkSquare(a, 'detSign');
  return prim('detSign', [a], {}, a.shape.slice(0, -2), a.dtype, ([v]) => a.backend.kernels.detSign(v!));
}

/** @internal The adjoint of slicing: zeros of `shape` with `g` placed at (starts, steps). */
export function embedSlice(g: Tensor, shape: readonly number[], starts: readonly number[], steps: readonly number[]): Tensor {
  return prim('embedSlice', [g], { starts, steps, shape }, shape, g.dtype, ([v]) => g.backend.kernels.embedSlice(v!, shape, starts, steps));
}

/** Join tensors along an existing axis. */
export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new Error('concat: expected at least one tensor');
  const first = xs[0]!;
  const a = normAxis(axis, first.ndim, 'concat');
  const dt = xs.map((x) => x.dtype).reduce(promote);
  for (const x of xs) {
    if (x.ndim !== first.ndim || x.shape.some((d, i) => i !== a && d !== first.shape[i])) {
      throw new Error(`concat: shapes ${shapeStr(first.shape)} and ${shapeStr(x.shape)} differ outside axis ${a}`);
    }
  }
  const parts = xs.map((x) => x.cast(dt));
  const shape = [...first.shape];
  shape[a] = parts.reduce((s, x) => s + x.shape[a]!, 0);
  if (parts.length === 1) return parts[0]!;
  return prim('concat', parts, { axis: a, sizes: parts.map((x) => x.shape[a]!) }, shape, dt, (vs) => first.backend.kernels.concat(vs, a, shape));
}

/** Join tensors along a new axis. */
export function stack(xs: readonly Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new Error('stack: expected at least one tensor');
  const a = normAxis(axis, xs[0]!.ndim + 1, 'stack');
  for (const x of xs) if (!sameShape(x.shape, xs[0]!.shape)) throw new Error(`stack: shapes ${shapeStr(xs[0]!.shape)} and ${shapeStr(x.shape)} differ`);
  return concat(xs.map((x) => x.unsqueeze(a)), a);
}

/** @internal im2col / col2im with autograd. */
export function im2colOp(x: Tensor, p: Im2colParams): Tensor {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const oh = Math.floor((H + 2 * p.padding[0] - p.dilation[0] * (p.kernel[0] - 1) - 1) / p.stride[0]) + 1;
  const ow = Math.floor((W + 2 * p.padding[1] - p.dilation[1] * (p.kernel[1] - 1) - 1) / p.stride[1]) + 1;
  if (oh <= 0 || ow <= 0) throw new Error(`im2col: kernel ${p.kernel.join('×')} (dilation ${p.dilation.join('×')}) is larger than the padded input ${H}×${W}`);
  return prim('im2col', [x], { p, H, W }, [N, C * p.kernel[0] * p.kernel[1], oh * ow], x.dtype, ([v]) => x.backend.kernels.im2col(v!, p));
}
export function col2imOp(cols: Tensor, p: Im2colParams, C: number, H: number, W: number): Tensor {
  return prim('col2im', [cols], { p, H, W }, [cols.shape[0]!, C, H, W], cols.dtype, ([v]) => cols.backend.kernels.col2im(v!, p, C, H, W));
}

// ---------------------------------------------------------------------------------------------
// Backward
// ---------------------------------------------------------------------------------------------

/** Reverse topological order of the graph above `roots` (iterative DFS: deep graphs are fine). */
function topoOrder(roots: readonly Tensor[]): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  const stack: [Tensor, number][] = roots.filter((r) => r.requiresGrad).map((r) => [r, 0]);
  for (const [r] of stack) seen.add(r);
  while (stack.length) {
    const top = stack[stack.length - 1]!;
    const [t, i] = top;
    const inputs = t._node?.inputs ?? [];
    if (i < inputs.length) {
      top[1]++;
      const u = inputs[i]!;
      if (u.requiresGrad && !seen.has(u)) {
        seen.add(u);
        stack.push([u, 0]);
      }
    } else {
      stack.pop();
      order.push(t);
    }
  }
  return order.reverse();
}

/**
 * The engine behind backward() and grad(). With `targets` null, accumulates into leaves' `.grad`;
 * otherwise returns the gradient of each target (null where it does not depend on it).
 *
 * Memory: without createGraph, each rule runs in a scope of its own (its temporaries, such as
 * conv2d's recomputed column matrix, are freed at once), and a gradient is freed as soon as it
 * has been passed on to the node's inputs. So the peak is the forward activations plus the
 * gradients of the current frontier, not plus every intermediate gradient. With createGraph the
 * gradients are part of a new graph and live until the caller's scope ends.
 */
export function backwardImpl(roots: readonly Tensor[], seeds: readonly (Tensor | null)[], targets: readonly Tensor[] | null, createGraph: boolean, retainGraph: boolean): (Tensor | null)[] {
  if (createGraph) return backwardGraph(roots, seeds, targets, retainGraph);
  // Every tensor held in `grads` is a distinct object owned here (rule outputs, sums, or aliases
  // of tensors owned elsewhere), so it can be disposed when consumed.
  const grads = new Map<Tensor, Tensor>();
  const alias = (t: Tensor): Tensor => new Tensor(t._storage.retain(), t.shape, t.strides, t.offset);
  const add = (t: Tensor, g: Tensor): void => {
    const prev = grads.get(t);
    if (!prev) {
      grads.set(t, g);
      return;
    }
    grads.set(t, prev.add(g));
    prev.dispose();
    g.dispose();
  };
  withGradMode(false, () => {
    roots.forEach((r, i) => {
      const s = rootSeed(r, seeds[i] ?? null);
      add(r, s === seeds[i] ? alias(s) : s);
    });
    const order = topoOrder(roots);
    const isTarget = new Set(targets ?? []);
    for (const t of order) {
      const g = grads.get(t);
      const node = t._node;
      if (!g || !node) continue;
      const rule = ruleOf(node);
      // the rule's own scope: what it creates and does not return is freed now
      const made = new Set<Tensor>();
      scopes.push(made);
      let gs: readonly (Tensor | null)[];
      try {
        gs = rule(g, node.inputs, t, node.attrs);
      } catch (e) {
        scopes.pop();
        for (const m of made) m.dispose();
        throw e;
      }
      scopes.pop();
      const returned = new Set(gs.filter((x): x is Tensor => x !== null));
      for (const m of made) if (!returned.has(m)) m.dispose();
      const taken = new Set<Tensor>();
      node.inputs.forEach((u, i) => {
        const gi = gs[i];
        if (!gi || !u.requiresGrad) return;
        if (!sameShape(gi.shape, u.shape)) throw new Error(`internal: gradient of ${node.op} has shape ${shapeStr(gi.shape)} for input ${shapeStr(u.shape)}`);
        // a tensor the rule did not make (g itself, an input), or one it returns twice, is aliased
        const own = made.has(gi) && !taken.has(gi) ? gi : alias(gi);
        taken.add(gi);
        if (own.dtype === u.dtype) add(u, own);
        else {
          add(u, own.cast(u.dtype));
          own.dispose();
        }
      });
      // rule outputs that went to no input (inputs without requiresGrad)
      for (const x of returned) if (made.has(x) && !taken.has(x)) x.dispose();
      if (!retainGraph) t._node = releaseNode(t, node);
      if (!isTarget.has(t)) {
        grads.delete(t);
        g.dispose();
      }
    }
  });
  const parent = scopes[scopes.length - 1];
  if (targets) {
    const out = targets.map((t) => grads.get(t) ?? null);
    const keepSet = new Set(out);
    for (const g of grads.values()) {
      if (keepSet.has(g)) parent?.add(g);
      else g.dispose();
    }
    return out;
  }
  for (const [t, g] of grads) {
    if (t.isLeaf && t.requiresGrad) {
      const own = keep(alias(g));
      if (t.grad) {
        const old = t.grad;
        t.grad = keep(old.add(own));
        old.dispose();
        own.dispose();
      } else t.grad = own;
    }
    g.dispose();
  }
  return [];
}

type AnyRule = (g: Tensor, inputs: readonly Tensor[], out: Tensor, attrs: unknown) => readonly (Tensor | null)[];

/** The VJP rule of a node, or an error if an earlier backward already freed it. */
function ruleOf(node: Node): AnyRule {
  if (node.released) {
    throw new Error(`backward: the graph through '${node.op}' was already freed by an earlier backward; pass { retainGraph: true } to the first backward to run backward twice`);
  }
  return VJP[node.op]! as AnyRule;
}

/** The gradient that starts backward at root r: the given seed (checked), or 1 for a scalar. */
function rootSeed(r: Tensor, s: Tensor | null): Tensor {
  if (!r.requiresGrad) throw new Error('backward: the tensor does not require grad and has no grad history (did you forget requiresGrad, or run under noGrad?)');
  if (!s) {
    if (r.size !== 1) throw new Error(`backward: a gradient must be given for a non-scalar output of shape ${shapeStr(r.shape)}`);
    return onesLike(r);
  }
  if (!sameShape(s.shape, r.shape)) throw new Error(`backward: gradient of shape ${shapeStr(s.shape)} given for an output of shape ${shapeStr(r.shape)}`);
  return s;
}

/** backward with createGraph: the gradients are tensors of a new graph, so nothing is freed early. */
function backwardGraph(roots: readonly Tensor[], seeds: readonly (Tensor | null)[], targets: readonly Tensor[] | null, retainGraph: boolean): (Tensor | null)[] {
  const grads = new Map<Tensor, Tensor>();
  withGradMode(true, () => {
    roots.forEach((r, i) => accumulate(grads, r, rootSeed(r, seeds[i] ?? null)));
    const order = topoOrder(roots);
    for (const t of order) {
      const g = grads.get(t);
      const node = t._node;
      if (!g || !node) continue;
      const gs = ruleOf(node)(g, node.inputs, t, node.attrs);
      node.inputs.forEach((u, i) => {
        const gi = gs[i];
        if (gi && u.requiresGrad) {
          if (!sameShape(gi.shape, u.shape)) throw new Error(`internal: gradient of ${node.op} has shape ${shapeStr(gi.shape)} for input ${shapeStr(u.shape)}`);
          accumulate(grads, u, gi.dtype === u.dtype ? gi : gi.cast(u.dtype));
        }
      });
      if (!retainGraph) t._node = releaseNode(t, node);
    }
  });
  if (targets) return targets.map((t) => grads.get(t) ?? null);
  for (const [t, g] of grads) {
    if (t.isLeaf && t.requiresGrad) {
      const own = keep(aliasOf(g, true));
      if (t.grad) {
        const old = t.grad;
        t.grad = keep(withGradMode(true, () => old.add(own)));
        old.dispose();
        own.dispose();
      } else t.grad = own;
    }
  }
  return [];
}

/** After backward without retainGraph, a non-leaf keeps requiresGrad but forgets its inputs. */
function releaseNode(_t: Tensor, node: Node): Node {
  return { op: node.op, inputs: [], attrs: node.attrs, released: true };
}

function accumulate(grads: Map<Tensor, Tensor>, t: Tensor, g: Tensor): void {
  const prev = grads.get(t);
  grads.set(t, prev ? prev.add(g) : g);
}

/** A tensor object of its own over g's storage (so that two leaves never share one grad object). */
function aliasOf(g: Tensor, createGraph: boolean): Tensor {
  if (createGraph) return g.reshape([...g.shape, 1]).reshape(g.shape);
  return new Tensor(g._storage.retain(), g.shape, g.strides, g.offset);
}

// ---------------------------------------------------------------------------------------------
// Creation
// ---------------------------------------------------------------------------------------------

/** @internal */
export function fromArray(data: TypedArray, shape: readonly number[], dtype: DType, backend: Backend = getBackend()): Tensor {
  checkDtypeOnBackend(backend, dtype, 'tensor');
  if (data.length !== sizeOf(shape)) throw new Error(`tensor: ${data.length} values do not fill shape ${shapeStr(shape)}`);
  return wrapBuf(backend, backend.fromArray(data, dtype), shape, dtype);
}

export interface TensorOptions {
  dtype?: DType;
  requiresGrad?: boolean;
  backend?: Backend;
}

function flattenNested(data: NestedArray, shape: number[], out: number[], depth: number): void {
  if (Array.isArray(data)) {
    if (shape.length === depth) shape.push(data.length);
    else if (shape[depth] !== data.length) throw new Error(`tensor: ragged nested array (expected ${shape[depth]} entries at depth ${depth}, got ${data.length})`);
    for (const d of data) flattenNested(d, shape, out, depth + 1);
  } else {
    if (shape.length !== depth) throw new Error(`tensor: ragged nested array (a number where an array of length ${shape[depth]} was expected)`);
    out.push(typeof data === 'boolean' ? (data ? 1 : 0) : data);
  }
}

/**
 * A tensor from nested arrays, a typed array (with `shape`) or a number. float32 unless `dtype`
 * (a typed array keeps its own type: Int32Array → int32, Float64Array → float64).
 */
export function tensor(data: NestedArray | TypedArray | readonly number[], opts: TensorOptions & { shape?: readonly number[] } = {}): Tensor {
  let values: ArrayLike<number>;
  let shape: number[];
  let dtype: DType = opts.dtype ?? 'float32';
  if (ArrayBuffer.isView(data)) {
    values = data as TypedArray;
    shape = opts.shape ? checkShape(opts.shape, 'tensor') : [values.length];
    if (!opts.dtype) dtype = data instanceof Int32Array ? 'int32' : data instanceof Float64Array ? 'float64' : data instanceof Uint8Array ? 'bool' : 'float32';
  } else {
    shape = [];
    const flat: number[] = [];
    flattenNested(data as NestedArray, shape, flat, 0);
    values = flat;
    if (!opts.dtype && typeof (Array.isArray(data) ? flat.length && firstLeaf(data as NestedArray) : data) === 'boolean') dtype = 'bool';
    if (opts.shape) shape = checkShape(opts.shape, 'tensor');
  }
  const t = fromArray(toArrayOf(dtype, values), shape, dtype, opts.backend);
  if (opts.requiresGrad) t.requiresGrad = true;
  return t;
}

function firstLeaf(d: NestedArray): NestedArray {
  let x = d;
  while (Array.isArray(x)) x = x[0]!;
  return x;
}

export function full(shape: readonly number[], value: number, opts: TensorOptions = {}): Tensor {
  const s = checkShape(shape, 'full');
  const dtype = opts.dtype ?? 'float32';
  const arr = toArrayOf(dtype, [value]);
  const data = toArrayOf(dtype, []);
  const out = new (data.constructor as new (n: number) => TypedArray)(sizeOf(s));
  out.fill(arr[0]!);
  const t = fromArray(out, s, dtype, opts.backend);
  if (opts.requiresGrad) t.requiresGrad = true;
  return t;
}
export const zeros = (shape: readonly number[], opts: TensorOptions = {}) => full(shape, 0, opts);
export const ones = (shape: readonly number[], opts: TensorOptions = {}) => full(shape, 1, opts);
export const zerosLike = (t: Tensor, opts: TensorOptions = {}) => full(t.shape, 0, { dtype: t.dtype, backend: t.backend, ...opts });
export const onesLike = (t: Tensor, opts: TensorOptions = {}) => full(t.shape, 1, { dtype: t.dtype, backend: t.backend, ...opts });
export const fullLike = (t: Tensor, v: number, opts: TensorOptions = {}) => full(t.shape, v, { dtype: t.dtype, backend: t.backend, ...opts });

/** [start, end) with `step` (arange(n) = 0…n−1); int32 for integer arguments unless dtype. */
export function arange(start: number, end?: number, step = 1, opts: TensorOptions = {}): Tensor {
  if (end === undefined) [start, end] = [0, start];
  if (step === 0 || !Number.isFinite(step)) throw new Error(`arange: step must be finite and non-zero, got ${step}`);
  const n = Math.max(0, Math.ceil((end - start) / step));
  const dtype = opts.dtype ?? (Number.isInteger(start) && Number.isInteger(end) && Number.isInteger(step) ? 'int32' : 'float32');
  const vals = new Float64Array(n);
  for (let i = 0; i < n; i++) vals[i] = start + i * step;
  return fromArray(toArrayOf(dtype, vals), [n], dtype, opts.backend);
}

export function linspace(start: number, end: number, steps: number, opts: TensorOptions = {}): Tensor {
  if (!Number.isInteger(steps) || steps < 0) throw new Error(`linspace: steps must be a non-negative integer, got ${steps}`);
  const vals = new Float64Array(steps);
  for (let i = 0; i < steps; i++) vals[i] = steps === 1 ? start : start + ((end - start) * i) / (steps - 1);
  const dtype = opts.dtype ?? 'float32';
  return fromArray(toArrayOf(dtype, vals), [steps], dtype, opts.backend);
}

export function eye(n: number, m = n, opts: TensorOptions = {}): Tensor {
  const dtype = opts.dtype ?? 'float32';
  const vals = new Float64Array(n * m);
  for (let i = 0; i < Math.min(n, m); i++) vals[i * m + i] = 1;
  return fromArray(toArrayOf(dtype, vals), [n, m], dtype, opts.backend);
}

/** One-hot encoding of int class indices: [..., numClasses] (float32 unless dtype). */
export function oneHot(index: Tensor, numClasses: number, opts: TensorOptions = {}): Tensor {
  if (index.dtype !== 'int32') throw new Error(`oneHot: index must be int32, got ${index.dtype}`);
  return index.unsqueeze(-1).eq(arange(numClasses, undefined, 1, { backend: index.backend })).cast(opts.dtype ?? 'float32');
}

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

function flatShape(args: readonly (number | readonly number[])[]): number[] {
  return args.length === 1 && Array.isArray(args[0]) ? [...(args[0] as number[])] : (args as number[]);
}

function inferShape(shape: number[], size: number, from: Shape): number[] {
  const neg = shape.filter((d) => d === -1).length;
  if (neg > 1 || shape.some((d) => d < -1 || !Number.isInteger(d))) throw new Error(`reshape: invalid shape ${shapeStr(shape)}`);
  if (neg === 1) {
    const known = sizeOf(shape.filter((d) => d !== -1));
    if (known === 0 || size % known !== 0) throw new Error(`reshape: cannot reshape ${shapeStr(from)} (${size} elements) to ${shapeStr(shape)}`);
    return shape.map((d) => (d === -1 ? size / known : d));
  }
  if (sizeOf(shape) !== size) throw new Error(`reshape: cannot reshape ${shapeStr(from)} (${size} elements) to ${shapeStr(shape)}`);
  return shape;
}

/** Python slice semantics: returns [first index, length]. */
function sliceRange(n: number, start: number | undefined, end: number | undefined, step: number): [number, number] {
  let s: number, e: number;
  if (step > 0) {
    s = start === undefined ? 0 : start < 0 ? Math.max(0, start + n) : Math.min(start, n);
    e = end === undefined ? n : end < 0 ? Math.max(0, end + n) : Math.min(end, n);
    return [s, Math.max(0, Math.ceil((e - s) / step))];
  }
  s = start === undefined ? n - 1 : start < 0 ? Math.max(-1, start + n) : Math.min(start, n - 1);
  e = end === undefined ? -1 : end < 0 ? Math.max(-1, end + n) : Math.min(end, n - 1);
  const len = Math.max(0, Math.ceil((s - e) / -step));
  return [len === 0 ? 0 : s, len];
}

function nest(data: TypedArray, shape: readonly number[], dtype: DType): NestedArray {
  const conv = (v: number): number | boolean => (dtype === 'bool' ? v !== 0 : v);
  if (shape.length === 0) return conv(data[0]!);
  const rec = (off: number, d: number): NestedArray[] => {
    const n = shape[d]!;
    const stride = sizeOf(shape.slice(d + 1));
    const out: NestedArray[] = [];
    for (let i = 0; i < n; i++) out.push(d === shape.length - 1 ? conv(data[off + i]!) : rec(off + i * stride, d + 1));
    return out;
  };
  return rec(0, 0);
}

export { bytesPerElement };
