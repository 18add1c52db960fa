/**
 * Coupling layers: a binary mask b splits x into a part that passes unchanged and a part that is
 * transformed by a function of the first (Dinh et al. 2014, "NICE", Sec. 3.1–3.2; Dinh et al.
 * 2017, "Density estimation using Real NVP", Sec. 3.3–3.4). With the mask form of RealNVP eq. (9)
 * one layer serves vectors ([D] masks), checkerboard masks ([1, H, W]) and channel masks ([C, 1, 1]).
 */
import { type Tensor, type DType, tensor, zeros, ones } from '../../core/index.ts';
import { shapeStr } from '../../core/shape.ts';
import { buffer, parameter } from '../../nn/module.ts';
import { Bijector, type ForwardResult, type InverseResult, sumEvent, zerosLogDet } from './bijector.ts';
import type { Conditioner } from './nets.ts';

type FloatDType = 'float32' | 'float64';

// ---------------------------------------------------------------------------------------------
// Masks (1 = passes unchanged and conditions the rest)

/** [D]: ones on the first ⌈D/2⌉ features (parity 0) or on the others (parity 1). */
export function halfMask(D: number, parity: 0 | 1, dtype: FloatDType = 'float32'): Tensor {
  const h = Math.ceil(D / 2);
  return tensor(Float64Array.from({ length: D }, (_, i) => ((i < h) === (parity === 0) ? 1 : 0)), { dtype });
}

/** [D]: ones on even features (parity 0) or odd ones (parity 1) (NICE's alternating partition). */
export function alternatingMask(D: number, parity: 0 | 1, dtype: FloatDType = 'float32'): Tensor {
  return tensor(Float64Array.from({ length: D }, (_, i) => (i % 2 === parity ? 1 : 0)), { dtype });
}

/** [1, H, W]: RealNVP's checkerboard, 1 where (i + j) is even (parity 0) or odd (parity 1). */
export function checkerboardMask(H: number, W: number, parity: 0 | 1, dtype: FloatDType = 'float32'): Tensor {
  return tensor(Float64Array.from({ length: H * W }, (_, k) => ((Math.floor(k / W) + (k % W)) % 2 === parity ? 1 : 0)), { shape: [1, H, W], dtype });
}

/** [C, 1, 1]: RealNVP's channel-wise mask, 1 on the first half of the channels (parity 0) or the second. */
export function channelMask(C: number, parity: 0 | 1, dtype: FloatDType = 'float32'): Tensor {
  const h = Math.ceil(C / 2);
  return tensor(Float64Array.from({ length: C }, (_, i) => ((i < h) === (parity === 0) ? 1 : 0)), { shape: [C, 1, 1], dtype });
}

function checkMask(mask: Tensor, who: string): Tensor {
  const m = mask.dataSync();
  if (!m.every((v) => v === 0 || v === 1) || m.every((v) => v === 0) || m.every((v) => v === 1)) {
    throw new Error(`${who}: the mask must hold 0s and 1s, with at least one of each`);
  }
  return buffer(mask.detach());
}

function checkOut(h: Tensor, x: Tensor, k: number, who: string): void {
  if (h.shape[0] !== x.shape[0] || h.shape[1] !== k * x.shape[1]! || h.ndim !== x.ndim || h.shape.slice(2).some((d, i) => d !== x.shape[i + 2])) {
    throw new Error(`${who}: the conditioner must map ${shapeStr(x.shape)} to [N, ${k}·${x.shape[1]}, ...], got ${shapeStr(h.shape)}`);
  }
}

// ---------------------------------------------------------------------------------------------

/**
 * NICE's additive coupling law (Dinh et al. 2014, eq. 4–5), in mask form:
 *   y = x + (1 − b) ⊙ m(b ⊙ x),   x = y − (1 − b) ⊙ m(b ⊙ y),   log|det| = 0.
 * The conditioner m maps [N, ...] (+ context) to [N, ...].
 */
export class AdditiveCoupling extends Bijector {
  readonly mask: Tensor;
  constructor(mask: Tensor, readonly net: Conditioner) {
    super();
    this.mask = checkMask(mask, 'AdditiveCoupling');
  }
  private shift(x: Tensor, ctx?: Tensor | null): Tensor {
    const h = this.net.forward(x.mul(this.mask), ctx);
    checkOut(h, x, 1, 'AdditiveCoupling');
    return h.mul(this.mask.rsub(1));
  }
  forward(x: Tensor, ctx?: Tensor | null): ForwardResult {
    return { y: x.add(this.shift(x, ctx)), logDet: zerosLogDet(x) };
  }
  inverse(y: Tensor, ctx?: Tensor | null): InverseResult {
    return { x: y.sub(this.shift(y, ctx)), logDet: zerosLogDet(y) };
  }
}

/**
 * How an affine coupling turns the conditioner's raw output into a log-scale:
 * - 'tanh':    log s = λ ⊙ tanh(raw), λ a learned per-feature/channel factor starting at 1 (RealNVP's
 *              implementation; bounded, the stable choice for deep stacks);
 * - 'sigmoid': s = sigmoid(raw + 2) and y = (x + t) ⊙ s (Glow's coupling, openai/glow model.py);
 * - 'exp':     log s = raw (RealNVP eq. 7 as written; unbounded).
 */
export type ScaleKind = 'tanh' | 'sigmoid' | 'exp';

/**
 * RealNVP's affine coupling layer (Dinh et al. 2017, eq. 6–9), in mask form:
 *   y = b ⊙ x + (1 − b) ⊙ (x ⊙ exp(s(b ⊙ x)) + t(b ⊙ x)),   log|det ∂y/∂x| = Σ (1 − b) ⊙ s,
 * or Glow's variant with s = sigmoid(raw + 2): y = b ⊙ x + (1 − b) ⊙ (x + t) ⊙ s.
 * The conditioner maps [N, C, ...] (+ context) to [N, 2C, ...]: the raw log-scale (first C) and
 * the shift t (last C).
 */
export class AffineCoupling extends Bijector {
  readonly mask: Tensor;
  /** λ of the 'tanh' scale, one per feature or channel. */
  readonly scaleFactor: Tensor | null;
  readonly scale: ScaleKind;
  /**
   * `channels`: features (vectors) or channels (images) of x, for the per-channel λ; default the
   * mask's first dimension (right for [D] and [C, 1, 1] masks; give C for a checkerboard mask).
   */
  constructor(mask: Tensor, readonly net: Conditioner, opts: { scale?: ScaleKind; channels?: number; dtype?: DType } = {}) {
    super();
    this.mask = checkMask(mask, 'AffineCoupling');
    this.scale = opts.scale ?? 'tanh';
    this.scaleFactor = this.scale === 'tanh' ? parameter(ones([opts.channels ?? mask.shape[0]!], { dtype: opts.dtype ?? mask.dtype })) : null;
  }

  /** log s (already masked to the transformed part) and t. */
  private params(x: Tensor, ctx?: Tensor | null): { logS: Tensor; t: Tensor } {
    const h = this.net.forward(x.mul(this.mask), ctx);
    checkOut(h, x, 2, 'AffineCoupling');
    const [raw, t] = h.chunk(2, 1) as [Tensor, Tensor];
    const inv = this.mask.rsub(1);
    let logS: Tensor;
    if (this.scale === 'tanh') logS = raw.tanh().mul(this.scaleFactor!.reshape([1, -1, ...x.shape.slice(2).map(() => 1)]));
    else if (this.scale === 'sigmoid') logS = raw.add(2).logSigmoid();
    else logS = raw;
    return { logS: logS.mul(inv), t: t.mul(inv) };
  }

  forward(x: Tensor, ctx?: Tensor | null): ForwardResult {
    const { logS, t } = this.params(x, ctx);
    const y = this.scale === 'sigmoid' ? x.add(t).mul(logS.exp()) : x.mul(logS.exp()).add(t);
    return { y, logDet: sumEvent(logS) };
  }

  inverse(y: Tensor, ctx?: Tensor | null): InverseResult {
    const { logS, t } = this.params(y, ctx);
    const x = this.scale === 'sigmoid' ? y.mul(logS.neg().exp()).sub(t) : y.sub(t).mul(logS.neg().exp());
    return { x, logDet: sumEvent(logS).neg() };
  }
}

/**
 * NICE's diagonal scaling layer (Dinh et al. 2014, Sec. 3.3): y = x ⊙ exp(S), log|det| = Σ S, with
 * S learned over the event shape (or per channel for [C, 1, 1]-shaped S).
 */
export class Scaling extends Bijector {
  readonly logScale: Tensor;
  constructor(shape: readonly number[], opts: { dtype?: FloatDType } = {}) {
    super();
    this.logScale = parameter(zeros(shape, { dtype: opts.dtype ?? 'float32' }));
  }
  private logDet(x: Tensor): Tensor {
    const per = this.logScale.sum();
    const reps = x.size / x.shape[0]! / this.logScale.size;
    return per.mul(reps).expand([x.shape[0]!]);
  }
  forward(x: Tensor): ForwardResult {
    return { y: x.mul(this.logScale.exp()), logDet: this.logDet(x) };
  }
  inverse(y: Tensor): InverseResult {
    return { x: y.mul(this.logScale.neg().exp()), logDet: this.logDet(y).neg() };
  }
}
