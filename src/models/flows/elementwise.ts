/**
 * Volume-bookkeeping maps: permutations of features/channels (log|det| = 0), elementwise
 * invertible maps (logit/sigmoid, fixed affine), and the squeeze of RealNVP and Glow.
 */
import { type Tensor, type Generator, tensor, zerosLike } from '../../core/index.ts';
import { shapeStr } from '../../core/shape.ts';
import { buffer } from '../../nn/module.ts';
import { Bijector, Inverse, type ForwardResult, type InverseResult, sumEvent, zerosLogDet } from './bijector.ts';

/**
 * A fixed permutation of axis 1 (features of [N, D], channels of [N, C, H, W]): y[:, i] = x[:, perm[i]].
 * Between coupling or autoregressive layers it lets every variable be transformed (NICE Sec. 3.2
 * alternates partitions; MAF and Glow's baseline reverse or shuffle the order). `perm` is a
 * persistent int32 buffer, so a random one is saved with the weights.
 */
export class Permutation extends Bijector {
  readonly perm: Tensor;
  constructor(perm: ArrayLike<number>) {
    super();
    const n = perm.length;
    const seen = new Set(Array.from(perm));
    if (seen.size !== n || [...seen].some((v) => !Number.isInteger(v) || v < 0 || v >= n)) throw new Error(`Permutation: [${Array.from(perm).join(', ')}] is not a permutation of 0…${n - 1}`);
    this.perm = buffer(tensor(Int32Array.from(perm)));
  }
  /** A uniformly random permutation of n items. */
  static random(n: number, rng: Generator): Permutation {
    return new Permutation(rng.permutation(n));
  }
  /** The order reversed (MAF's and Glow's "reverse" baseline). */
  static reverse(n: number): Permutation {
    return new Permutation(Int32Array.from({ length: n }, (_, i) => n - 1 - i));
  }
  private check(x: Tensor): void {
    if (x.ndim < 2 || x.shape[1] !== this.perm.size) throw new Error(`Permutation: expected [N, ${this.perm.size}, ...], got ${shapeStr(x.shape)}`);
  }
  forward(x: Tensor): ForwardResult {
    this.check(x);
    return { y: x.indexSelect(1, this.perm), logDet: zerosLogDet(x) };
  }
  inverse(y: Tensor): InverseResult {
    this.check(y);
    // x[:, perm[i]] = y[:, i], as a scatter (no read-back of perm)
    const index = this.perm.reshape([1, -1, ...y.shape.slice(2).map(() => 1)]).expand(y.shape);
    return { x: zerosLike(y).scatterAdd(1, index, y), logDet: zerosLogDet(y) };
  }
}

/**
 * The logit transform for data in [0, 1] (Dinh et al. 2017, Sec. 4.1; Papamakarios et al. 2017,
 * Sec. 4.3): p = α + (1 − 2α)·x, y = logit(p) = log p − log(1 − p),
 *   log|det ∂y/∂x| = Σ [log(1 − 2α) − log p − log(1 − p)].
 * α keeps the boundary away from ±∞ (MAF: λ = 10⁻⁶; RealNVP: 0.05 on x/256). Its inverse is the
 * sigmoid (`Sigmoid`). The log-det is part of the model's density of x, so bits/dim computed from
 * `flow.logProb` of dequantised data in [0, 1] already account for it.
 */
export class Logit extends Bijector {
  constructor(readonly alpha = 0.05) {
    super();
    if (!(alpha >= 0 && alpha < 0.5)) throw new Error(`Logit: alpha must be in [0, 0.5), got ${alpha}`);
  }
  forward(x: Tensor): ForwardResult {
    const p = this.alpha ? x.mul(1 - 2 * this.alpha).add(this.alpha) : x;
    const logP = p.log(), log1mP = p.rsub(1).log();
    const ld = logP.add(log1mP).neg().add(Math.log(1 - 2 * this.alpha));
    return { y: logP.sub(log1mP), logDet: sumEvent(ld) };
  }
  inverse(y: Tensor): InverseResult {
    const p = y.sigmoid();
    const x = this.alpha ? p.sub(this.alpha).div(1 - 2 * this.alpha) : p;
    // log σ(y) + log σ(−y) − log(1 − 2α)
    const ld = y.logSigmoid().add(y.neg().logSigmoid()).sub(Math.log(1 - 2 * this.alpha));
    return { x, logDet: sumEvent(ld) };
  }
}

/** The sigmoid, y = σ(x): the inverse of `Logit` with α = 0. */
export class Sigmoid extends Inverse {
  constructor() {
    super(new Logit(0));
  }
}

/**
 * A fixed elementwise affine map y = scale·x + shift, log|det| = D·log|scale| (Glow's
 * preprocessing x − ½ of data in [0, 1]; scaling of 2-D data sets).
 */
export class FixedAffine extends Bijector {
  constructor(readonly scale: number, readonly shift: number) {
    super();
    if (!(scale !== 0 && Number.isFinite(scale) && Number.isFinite(shift))) throw new Error(`FixedAffine: scale must be finite and non-zero, shift finite; got ${scale}, ${shift}`);
  }
  private ld(x: Tensor, sign: number): Tensor {
    const D = x.size / x.shape[0]!;
    return zerosLogDet(x).add(sign * D * Math.log(Math.abs(this.scale)));
  }
  forward(x: Tensor): ForwardResult {
    return { y: x.mul(this.scale).add(this.shift), logDet: this.ld(x, 1) };
  }
  inverse(y: Tensor): InverseResult {
    return { x: y.sub(this.shift).div(this.scale), logDet: this.ld(y, -1) };
  }
}

/**
 * Squeeze [N, C, H, W] → [N, 4C, H/2, W/2]: every 2×2×C block becomes 1×1×4C (Dinh et al. 2017,
 * Sec. 3.6; Glow's squeeze2d ordering: channel c·4 + 2·i + j holds pixel (i, j) of the block).
 */
export class Squeeze extends Bijector {
  forward(x: Tensor): ForwardResult {
    if (x.ndim !== 4 || x.shape[2]! % 2 || x.shape[3]! % 2) throw new Error(`Squeeze: expected [N, C, H, W] with even H and W, got ${shapeStr(x.shape)}`);
    const [N, C, H, W] = x.shape as [number, number, number, number];
    const y = x.reshape([N, C, H / 2, 2, W / 2, 2]).permute(0, 1, 3, 5, 2, 4).reshape([N, 4 * C, H / 2, W / 2]);
    return { y, logDet: zerosLogDet(x) };
  }
  inverse(y: Tensor): InverseResult {
    if (y.ndim !== 4 || y.shape[1]! % 4) throw new Error(`Squeeze.inverse: expected [N, 4C, H, W], got ${shapeStr(y.shape)}`);
    const [N, C4, H, W] = y.shape as [number, number, number, number];
    const x = y.reshape([N, C4 / 4, 2, 2, H, W]).permute(0, 1, 4, 2, 5, 3).reshape([N, C4 / 4, 2 * H, 2 * W]);
    return { x, logDet: zerosLogDet(y) };
  }
  override outputShape(s: readonly number[]): number[] {
    return [4 * s[0]!, s[1]! / 2, s[2]! / 2];
  }
  override inputShape(s: readonly number[]): number[] {
    return [s[0]! / 4, 2 * s[1]!, 2 * s[2]!];
  }
}

/** Reshape each item between `inShape` (data side) and `outShape` (latent side), e.g. [1, 28, 28] ↔ [784]. */
export class Reshape extends Bijector {
  constructor(readonly inShape: readonly number[], readonly outShape: readonly number[]) {
    super();
    const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
    if (size(inShape) !== size(outShape)) throw new Error(`Reshape: ${shapeStr(inShape)} and ${shapeStr(outShape)} hold different numbers of elements`);
  }
  forward(x: Tensor): ForwardResult {
    return { y: x.reshape([x.shape[0]!, ...this.outShape]), logDet: zerosLogDet(x) };
  }
  inverse(y: Tensor): InverseResult {
    return { x: y.reshape([y.shape[0]!, ...this.inShape]), logDet: zerosLogDet(y) };
  }
  override outputShape(): number[] {
    return [...this.outShape];
  }
  override inputShape(): number[] {
    return [...this.inShape];
  }
}
