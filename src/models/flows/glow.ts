/**
 * Glow's invertible 1×1 convolution and step of flow (Kingma & Dhariwal 2018, Sec. 3.2–3.3).
 * The 1×1 convolution mixes channels at every position: y[:, :, i, j] = W · x[:, :, i, j]; on
 * vectors [N, C] it is an invertible linear map (the "Glow-style" 2-D flows use it so).
 */
import { type Tensor, type Generator, linalg, tensor, eye, noGrad } from '../../core/index.ts';
import { shapeStr } from '../../core/shape.ts';
import { buffer, parameter } from '../../nn/module.ts';
import * as init from '../../nn/init.ts';
import { Bijector, Chain, type ForwardResult, type InverseResult, spatialSize } from './bijector.ts';
import { ActNorm } from './norms.ts';
import { AffineCoupling, channelMask, halfMask } from './coupling.ts';
import type { Conditioner } from './nets.ts';

type FloatDType = 'float32' | 'float64';

/** W x over the channel axis of [N, C] or [N, C, H, W]. */
function mixChannels(W: Tensor, x: Tensor): Tensor {
  if (x.ndim === 2) return x.matmul(W.mT);
  const [N, C] = x.shape as [number, number];
  return W.matmul(x.reshape([N, C, -1])).reshape(x.shape);
}

export interface InvConvOptions {
  rng: Generator;
  dtype?: FloatDType;
  /** LU-decomposed parameterisation (Glow Sec. 3.2), log|det| in O(C) instead of O(C³). */
  lu?: boolean;
}

/**
 * Invertible 1×1 convolution (Glow Sec. 3.2): log|det| = h·w·log|det W|, W initialised as a random
 * rotation. With `lu`, W = P·L·(U + diag(sign(s) ⊙ exp(log|s|))), P fixed, L unit lower
 * triangular, U strictly upper triangular, so log|det| = h·w·Σ log|s| (names as openai/glow:
 * `p`, `l`, `u`, `sign_s`, `log_s`). Plain form: the single parameter `weight` [C, C].
 */
export class InvertibleConv1x1 extends Bijector {
  readonly weight: Tensor | null = null;
  readonly p: Tensor | null = null;
  readonly l: Tensor | null = null;
  readonly u: Tensor | null = null;
  readonly sign_s: Tensor | null = null;
  readonly log_s: Tensor | null = null;
  readonly lowerMask: Tensor | null = null;
  readonly upperMask: Tensor | null = null;
  readonly eye: Tensor | null = null;

  constructor(readonly channels: number, opts: InvConvOptions) {
    super();
    const dtype = opts.dtype ?? 'float32';
    const w0 = init.orthogonal([channels, channels], { rng: opts.rng, dtype });
    if (!opts.lu) {
      this.weight = parameter(w0);
      return;
    }
    const { P, L, U } = linalg.luSync(w0);
    const d = U.dataSync();
    const C = channels;
    const s = Float64Array.from({ length: C }, (_, i) => d[i * C + i]!);
    const lowerMask = Float64Array.from({ length: C * C }, (_, k) => (Math.floor(k / C) > k % C ? 1 : 0));
    const upperMask = Float64Array.from({ length: C * C }, (_, k) => (Math.floor(k / C) < k % C ? 1 : 0));
    this.p = buffer(P);
    this.sign_s = buffer(tensor(s.map(Math.sign), { dtype }));
    this.lowerMask = buffer(tensor(lowerMask, { shape: [C, C], dtype }), { persistent: false });
    this.upperMask = buffer(tensor(upperMask, { shape: [C, C], dtype }), { persistent: false });
    this.eye = buffer(eye(C, C, { dtype }), { persistent: false });
    this.l = parameter(noGrad(() => L.mul(this.lowerMask!)));
    this.u = parameter(noGrad(() => U.mul(this.upperMask!)));
    this.log_s = parameter(tensor(s.map((v) => Math.log(Math.abs(v))), { dtype }));
  }

  /** The matrix W (composed from the LU factors in the LU form). */
  matrix(): Tensor {
    if (this.weight) return this.weight;
    const L = this.l!.mul(this.lowerMask!).add(this.eye!);
    const U = this.u!.mul(this.upperMask!).add(this.eye!.mul(this.log_s!.exp().mul(this.sign_s!)));
    return this.p!.matmul(L.matmul(U));
  }

  /** log|det W| (scalar). */
  logAbsDetW(): Tensor {
    return this.weight ? linalg.logAbsDet(this.weight) : this.log_s!.sum();
  }

  private check(x: Tensor): void {
    if ((x.ndim !== 2 && x.ndim !== 4) || x.shape[1] !== this.channels) throw new Error(`InvertibleConv1x1: expected [N, ${this.channels}] or [N, ${this.channels}, H, W], got ${shapeStr(x.shape)}`);
  }
  forward(x: Tensor): ForwardResult {
    this.check(x);
    const ld = this.logAbsDetW().mul(spatialSize(x)).expand([x.shape[0]!]);
    return { y: mixChannels(this.matrix(), x), logDet: ld };
  }
  inverse(y: Tensor): InverseResult {
    this.check(y);
    const ld = this.logAbsDetW().mul(-spatialSize(y)).expand([y.shape[0]!]);
    return { x: mixChannels(linalg.inv(this.matrix()), y), logDet: ld };
  }
}

export interface GlowStepOptions {
  rng: Generator;
  dtype?: FloatDType;
  lu?: boolean;
  /** 'sigmoid' (Glow's) unless given. */
  scale?: 'tanh' | 'sigmoid' | 'exp';
}

/**
 * One step of flow (Glow Fig. 2a): actnorm → invertible 1×1 convolution → affine coupling, the
 * coupling conditioned on the first half of the channels (or features).
 */
export function glowStep(channels: number, net: Conditioner, opts: GlowStepOptions & { image: boolean }): Chain {
  const dtype = opts.dtype ?? 'float32';
  const mask = opts.image ? channelMask(channels, 0, dtype) : halfMask(channels, 0, dtype);
  return new Chain([
    new ActNorm(channels, { dtype }),
    new InvertibleConv1x1(channels, { rng: opts.rng, dtype, lu: opts.lu }),
    new AffineCoupling(mask, net, { scale: opts.scale ?? 'sigmoid', dtype }),
  ]);
}
