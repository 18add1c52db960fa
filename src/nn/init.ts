/**
 * torch.nn.init in camelCase. Every initialiser takes a target — an existing tensor, which is
 * filled in place through `assign` (under noGrad, so parameters can be re-initialised) and
 * returned, or a shape, for which a new float32 tensor (or `dtype`) is made — and a `{ rng }`
 * Generator: randomness is always a parameter.
 *
 * ```ts
 * import { Generator, zeros, nn } from 'genlab';
 * const { init } = nn;
 *
 * const bias = zeros([64]);
 * const rng = new Generator(0);
 * const w = init.kaimingUniform([64, 32], { rng, a: Math.sqrt(5) }); // nn.Linear's default
 * init.zeros(bias);                                                    // in place
 * ```
 */
import { type Tensor, type DType, type Generator, noGrad, fromArray, getBackend } from '../core/index.ts';
import { toArrayOf } from '../core/dtype.ts';
import { shapeStr, sizeOf } from '../core/shape.ts';

/** A tensor to fill in place, or the shape of a new one. */
export type InitTarget = Tensor | readonly number[];

export interface InitOptions {
  rng: Generator;
  /** dtype of a newly made tensor (ignored when filling one): float32 unless given. */
  dtype?: DType;
}

/** Nonlinearities known to calculateGain, named as in PyTorch. */
export type Nonlinearity =
  | 'linear' | 'identity' | 'conv1d' | 'conv2d' | 'conv3d'
  | 'conv_transpose1d' | 'conv_transpose2d' | 'conv_transpose3d'
  | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu' | 'selu';

export type FanMode = 'fanIn' | 'fanOut';

const shapeOf = (t: InitTarget): readonly number[] => (Array.isArray(t) ? (t as readonly number[]) : (t as Tensor).shape);

/** Write `values` into the target (in place) or into a new tensor of its shape. */
function fill(target: InitTarget, values: ArrayLike<number>, dtype: DType | undefined): Tensor {
  if (!Array.isArray(target)) {
    const t = target as Tensor;
    const src = fromArray(toArrayOf(t.dtype, values), t.shape, t.dtype, t.backend);
    noGrad(() => t.assign(src));
    src.dispose();
    return t;
  }
  const shape = [...(target as readonly number[])];
  const dt = dtype ?? 'float32';
  return fromArray(toArrayOf(dt, values), shape, dt, getBackend());
}

function uniformValues(rng: Generator, n: number, low: number, high: number): ArrayLike<number> {
  if (!(low <= high)) throw new Error(`init.uniform: need low <= high, got low=${low}, high=${high}`);
  return low === high ? new Float64Array(n).fill(low) : rng.uniform(n, low, high);
}

/**
 * The recommended gain for a nonlinearity (torch.nn.init.calculate_gain): 1 for linear, conv and
 * sigmoid; 5/3 for tanh; √2 for relu; √(2 / (1 + slope²)) for leaky_relu (slope `param`,
 * default 0.01); 3/4 for selu.
 */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'linear': case 'identity': case 'conv1d': case 'conv2d': case 'conv3d':
    case 'conv_transpose1d': case 'conv_transpose2d': case 'conv_transpose3d': case 'sigmoid':
      return 1;
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.SQRT2;
    case 'leaky_relu': {
      const slope = param ?? 0.01;
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case 'selu':
      return 3 / 4;
    default:
      throw new Error(`calculateGain: unsupported nonlinearity '${String(nonlinearity)}'`);
  }
}

/**
 * Fan-in and fan-out of a weight, as PyTorch computes them: for shape [out, in, ...kernel],
 * fanIn = in·∏kernel and fanOut = out·∏kernel. (A transposed convolution's weight is
 * [in, out/groups, ...], so PyTorch — and this — take out/groups as its fan-in.)
 */
export function fanInAndFanOut(target: InitTarget): { fanIn: number; fanOut: number } {
  const s = shapeOf(target);
  if (s.length < 2) throw new Error(`fanInAndFanOut: fan in and fan out cannot be computed for a tensor with fewer than 2 dimensions, got ${shapeStr(s)}`);
  const receptive = sizeOf(s.slice(2));
  return { fanIn: s[1]! * receptive, fanOut: s[0]! * receptive };
}

/** U(low, high) (torch.nn.init.uniform_); defaults U(0, 1). */
export function uniform(target: InitTarget, opts: InitOptions & { low?: number; high?: number }): Tensor {
  const n = sizeOf(shapeOf(target));
  return fill(target, uniformValues(opts.rng, n, opts.low ?? 0, opts.high ?? 1), opts.dtype);
}

/** N(mean, std²) (torch.nn.init.normal_); defaults N(0, 1). */
export function normal(target: InitTarget, opts: InitOptions & { mean?: number; std?: number }): Tensor {
  const n = sizeOf(shapeOf(target));
  return fill(target, opts.rng.normal(n, opts.mean ?? 0, opts.std ?? 1), opts.dtype);
}

/**
 * N(mean, std²) truncated to [a, b] by rejection (torch.nn.init.trunc_normal_; defaults
 * mean 0, std 1, a = −2, b = 2, in absolute units as PyTorch's).
 */
export function truncNormal(target: InitTarget, opts: InitOptions & { mean?: number; std?: number; a?: number; b?: number }): Tensor {
  const n = sizeOf(shapeOf(target));
  const mean = opts.mean ?? 0, std = opts.std ?? 1, a = opts.a ?? -2, b = opts.b ?? 2;
  if (!(a < b)) throw new Error(`truncNormal: need a < b, got a=${a}, b=${b}`);
  const out = new Float64Array(n);
  let filled = 0;
  for (let tries = 0; filled < n; tries++) {
    if (tries > 1000) throw new Error(`truncNormal: [${a}, ${b}] holds too little of N(${mean}, ${std}²) for rejection sampling`);
    const draw = opts.rng.normal(Math.max(16, 2 * (n - filled)), mean, std);
    for (let i = 0; i < draw.length && filled < n; i++) if (draw[i]! >= a && draw[i]! <= b) out[filled++] = draw[i]!;
  }
  return fill(target, out, opts.dtype);
}

/** Fill with a constant (no randomness: `rng` is not needed). */
export function constant(target: InitTarget, value: number, opts: { dtype?: DType } = {}): Tensor {
  return fill(target, new Float64Array(sizeOf(shapeOf(target))).fill(value), opts.dtype);
}
export function zeros(target: InitTarget, opts: { dtype?: DType } = {}): Tensor {
  return constant(target, 0, opts);
}
export function ones(target: InitTarget, opts: { dtype?: DType } = {}): Tensor {
  return constant(target, 1, opts);
}

/**
 * Glorot uniform (Glorot & Bengio 2010, "Understanding the difficulty of training deep
 * feedforward neural networks"): U(−a, a) with a = gain·√(6 / (fanIn + fanOut)).
 */
export function xavierUniform(target: InitTarget, opts: InitOptions & { gain?: number }): Tensor {
  const { fanIn, fanOut } = fanInAndFanOut(target);
  const a = (opts.gain ?? 1) * Math.sqrt(6 / (fanIn + fanOut));
  return uniform(target, { ...opts, low: -a, high: a });
}

/** Glorot normal (Glorot & Bengio 2010): N(0, std²) with std = gain·√(2 / (fanIn + fanOut)). */
export function xavierNormal(target: InitTarget, opts: InitOptions & { gain?: number }): Tensor {
  const { fanIn, fanOut } = fanInAndFanOut(target);
  const std = (opts.gain ?? 1) * Math.sqrt(2 / (fanIn + fanOut));
  return normal(target, { ...opts, mean: 0, std });
}

export interface KaimingOptions extends InitOptions {
  /** Negative slope of the leaky_relu that follows (0: plain relu). */
  a?: number;
  /** 'fanIn' (default) keeps the variance of activations in the forward pass; 'fanOut' of gradients in the backward pass. */
  mode?: FanMode;
  /** Default 'leaky_relu' (with slope `a`), as PyTorch. */
  nonlinearity?: Nonlinearity;
}

function kaimingStd(target: InitTarget, opts: KaimingOptions): number {
  const { fanIn, fanOut } = fanInAndFanOut(target);
  const fan = (opts.mode ?? 'fanIn') === 'fanIn' ? fanIn : fanOut;
  const gain = calculateGain(opts.nonlinearity ?? 'leaky_relu', opts.a ?? 0);
  return fan === 0 ? 0 : gain / Math.sqrt(fan);
}

/**
 * He uniform (He et al. 2015, "Delving deep into rectifiers"): U(−bound, bound) with
 * bound = gain·√(3 / fan), gain = calculateGain(nonlinearity, a). With a = √5 (nn.Linear's and
 * nn.Conv's default) bound = 1/√fanIn. The variance is bound²/3 = gain²/fan.
 */
export function kaimingUniform(target: InitTarget, opts: KaimingOptions): Tensor {
  const bound = Math.sqrt(3) * kaimingStd(target, opts);
  return uniform(target, { ...opts, low: -bound, high: bound });
}

/** He normal (He et al. 2015): N(0, std²) with std = gain / √fan. */
export function kaimingNormal(target: InitTarget, opts: KaimingOptions): Tensor {
  return normal(target, { ...opts, mean: 0, std: kaimingStd(target, opts) });
}

/**
 * A (semi-)orthogonal matrix (Saxe et al. 2014), flattened over the trailing dimensions, times
 * `gain`: the Q of a QR decomposition of a standard normal matrix, with signs fixed so that
 * R has a positive diagonal (torch.nn.init.orthogonal_).
 */
export function orthogonal(target: InitTarget, opts: InitOptions & { gain?: number }): Tensor {
  const s = shapeOf(target);
  if (s.length < 2) throw new Error(`orthogonal: only tensors with 2 or more dimensions are supported, got ${shapeStr(s)}`);
  const rows = s[0]!, cols = sizeOf(s) / rows;
  const g = opts.gain ?? 1;
  // QR of the tall matrix A [m, n] (m ≥ n): A = flat, or its transpose when rows < cols.
  const m = Math.max(rows, cols), n = Math.min(rows, cols);
  const flat = opts.rng.normal(rows * cols);
  const A = new Float64Array(m * n);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) {
    if (rows >= cols) A[i * n + j] = flat[i * cols + j]!;
    else A[j * n + i] = flat[i * cols + j]!;
  }
  const Q = householderQ(A, m, n);
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) {
    out[i * cols + j] = g * (rows >= cols ? Q[i * n + j]! : Q[j * n + i]!);
  }
  return fill(target, out, opts.dtype);
}

/** The thin Q [m, n] of A [m, n] (m ≥ n, row-major) by Householder reflections, with diag(R) > 0. */
function householderQ(A: Float64Array, m: number, n: number): Float64Array {
  const R = Float64Array.from(A);
  const vs: Float64Array[] = [];
  for (let k = 0; k < n; k++) {
    const v = new Float64Array(m);
    let norm = 0;
    for (let i = k; i < m; i++) norm += R[i * n + k]! ** 2;
    norm = Math.sqrt(norm);
    const x0 = R[k * n + k]!;
    const alpha = x0 >= 0 ? -norm : norm;
    for (let i = k; i < m; i++) v[i] = R[i * n + k]!;
    v[k] = x0 - alpha;
    let vn = 0;
    for (let i = k; i < m; i++) vn += v[i]! ** 2;
    if (vn > 0) {
      for (let j = k; j < n; j++) {
        let dot = 0;
        for (let i = k; i < m; i++) dot += v[i]! * R[i * n + j]!;
        const f = (2 * dot) / vn;
        for (let i = k; i < m; i++) R[i * n + j] = R[i * n + j]! - f * v[i]!;
      }
    }
    vs.push(v);
  }
  // Q = H₀ H₁ … H_{n−1} applied to the first n columns of the identity
  const Q = new Float64Array(m * n);
  for (let j = 0; j < n; j++) Q[j * n + j] = 1;
  for (let k = n - 1; k >= 0; k--) {
    const v = vs[k]!;
    let vn = 0;
    for (let i = k; i < m; i++) vn += v[i]! ** 2;
    if (vn === 0) continue;
    for (let j = 0; j < n; j++) {
      let dot = 0;
      for (let i = k; i < m; i++) dot += v[i]! * Q[i * n + j]!;
      const f = (2 * dot) / vn;
      for (let i = k; i < m; i++) Q[i * n + j] = Q[i * n + j]! - f * v[i]!;
    }
  }
  // make diag(R) positive: flip the sign of Q's column j where R[j, j] < 0
  for (let j = 0; j < n; j++) {
    if (R[j * n + j]! < 0) for (let i = 0; i < m; i++) Q[i * n + j] = -Q[i * n + j]!;
  }
  return Q;
}
