/**
 * torch.nn.functional, composed from the engine's primitives: convolution is im2col + batched
 * matmul (its transposes are col2im), pooling reduces im2col columns, normalisations and losses
 * are plain tensor algebra — so every one of them gets its gradient by composition, except
 * conv2d, whose hand-written rule recomputes the column matrix instead of keeping it.
 */
import { type Tensor, type Generator, tensor, where, bernoulli, oneHot, noGrad, scope, isGradEnabled } from '../core/index.ts';
import { im2colOp, col2imOp, customGrad, normalizeRows, linearWithBias, wrapBuf } from '../core/tensor.ts';
import type { Im2colParams } from '../core/backend.ts';
import { shapeStr, sizeOf } from '../core/shape.ts';

type Pair = number | readonly [number, number];
const pair = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : [v[0], v[1]]);

export interface ConvOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
}

/** y = x·Wᵀ + b, with W of shape [out, in] (torch.nn.functional.linear). */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  const fused = bias ? linearWithBias(x, weight, bias) : null;
  if (fused) return fused;
  const y = x.matmul(weight.mT);
  return bias ? y.add(bias) : y;
}

/** 2-D convolution (cross-correlation) of x [N, C, H, W] with weight [O, C/groups, kh, kw]. */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor | null, opts: ConvOptions = {}): Tensor {
  if (x.ndim !== 4 || weight.ndim !== 4) throw new Error(`conv2d: expected input [N, C, H, W] and weight [O, C/groups, kh, kw], got ${shapeStr(x.shape)} and ${shapeStr(weight.shape)}`);
  const g = opts.groups ?? 1;
  const [N, C, H] = x.shape as [number, number, number, number];
  const [O, Cg, kh, kw] = weight.shape as [number, number, number, number];
  if (C % g !== 0 || O % g !== 0 || Cg * g !== C) {
    throw new Error(`conv2d: input ${shapeStr(x.shape)} with ${C} channels does not match weight ${shapeStr(weight.shape)} with groups=${g}`);
  }
  const p: Im2colParams = { kernel: [kh, kw], stride: pair(opts.stride ?? 1), padding: pair(opts.padding ?? 0), dilation: pair(opts.dilation ?? 1), padValue: 0 };
  const W = x.shape[3]!;
  const oh = Math.floor((H + 2 * p.padding[0] - p.dilation[0] * (kh - 1) - 1) / p.stride[0]) + 1;
  const ow = Math.floor((W + 2 * p.padding[1] - p.dilation[1] * (kw - 1) - 1) / p.stride[1]) + 1;
  const K = Cg * kh * kw, L = oh * ow;
  // y = W·im2col(x), per group. The column matrix is kh·kw times the size of x, so it is freed at
  // once and recomputed in backward rather than kept for it: backward keeps x and W only.
  //   ∂W = Σₙ gₙ · colsₙᵀ,   ∂x = col2im(Wᵀ · g)
  // A 1×1 convolution with stride 1 and no padding needs no column matrix: it is x itself.
  const pointwise = kh === 1 && kw === 1 && p.stride[0] === 1 && p.stride[1] === 1 && p.padding[0] === 0 && p.padding[1] === 0;
  const colsOf = (t: Tensor) => (pointwise ? t.reshape([N, C, L]) : im2colOp(t, p));
  // the backend's fused forward (columns built a block at a time, bias added in place) where it has one
  const fused = g === 1 && !pointwise ? x.backend.kernels.conv2dForward : undefined;
  const fusedBias = !!fused && !!bias && bias.ndim === 1 && bias.dtype === 'float32' && bias.backend === x.backend;
  const useFused = !!fused && x.dtype === 'float32' && weight.dtype === 'float32' && weight.backend === x.backend && (!bias || fusedBias);
  const y = useFused
    ? wrapBuf(x.backend, fused(x.view(), weight.view(), p, bias ? bias.view() : undefined), [N, O, oh, ow], 'float32')
    : noGrad(() => scope(() => weight.reshape([g, O / g, K]).matmul(colsOf(x).reshape([N, g, K, L])).reshape([N, O, oh, ow])));
  const out = customGrad(y, useFused && bias ? [x, weight, bias] : [x, weight], 'conv2d', (gy, [xi, wi, bi]) => {
    const g4 = gy.reshape([N, g, O / g, L]);
    const gcols = () => wi!.reshape([g, O / g, K]).mT.matmul(g4).reshape([N, g * K, L]);
    const igrad = useFused && !isGradEnabled() ? x.backend.kernels.conv2dInputGrad : undefined;
    const gx = !xi!.requiresGrad ? null
      : igrad ? wrapBuf(x.backend, igrad(gy.view(), wi!.view(), p, [H, W]), [N, C, H, W], 'float32')
      : pointwise ? gcols().reshape([N, C, H, W]) : col2imOp(gcols(), p, C, H, W);
    const wgrad = useFused && !isGradEnabled() ? x.backend.kernels.conv2dWeightGrad : undefined;
    const gw = !wi!.requiresGrad ? null
      : wgrad ? wrapBuf(x.backend, wgrad(xi!.view(), gy.view(), p), wi!.shape, 'float32')
      : g4.matmul(colsOf(xi!).reshape([N, g, K, L]).mT).sum(0).reshape(wi!.shape);
    return bi ? [gx, gw, bi.requiresGrad ? gy.sum([0, 2, 3]) : null] : [gx, gw];
  });
  return bias && !useFused ? out.add(bias.reshape([1, O, 1, 1])) : out;
}

/** 1-D convolution of x [N, C, L] with weight [O, C/groups, k]: a conv2d with height 1. */
export function conv1d(x: Tensor, weight: Tensor, bias?: Tensor | null, opts: { stride?: number; padding?: number; dilation?: number; groups?: number } = {}): Tensor {
  if (x.ndim !== 3 || weight.ndim !== 3) throw new Error(`conv1d: expected input [N, C, L] and weight [O, C/groups, k], got ${shapeStr(x.shape)} and ${shapeStr(weight.shape)}`);
  if (x.shape[1] !== weight.shape[1]! * (opts.groups ?? 1)) {
    throw new Error(`conv1d: input ${shapeStr(x.shape)} with ${x.shape[1]} channels does not match weight ${shapeStr(weight.shape)} with groups=${opts.groups ?? 1}`);
  }
  const y = conv2d(x.unsqueeze(2), weight.unsqueeze(2), bias, {
    stride: [1, opts.stride ?? 1], padding: [0, opts.padding ?? 0], dilation: [1, opts.dilation ?? 1], groups: opts.groups ?? 1,
  });
  return y.squeeze(2);
}

export interface ConvTransposeOptions extends ConvOptions {
  outputPadding?: Pair;
}

/**
 * Transposed 2-D convolution (the gradient of conv2d with respect to its input) of x [N, Cin, H, W]
 * with weight [Cin, Cout/groups, kh, kw], PyTorch's layout.
 */
export function convTranspose2d(x: Tensor, weight: Tensor, bias?: Tensor | null, opts: ConvTransposeOptions = {}): Tensor {
  if (x.ndim !== 4 || weight.ndim !== 4) throw new Error(`convTranspose2d: expected input [N, C, H, W] and weight [Cin, Cout/groups, kh, kw], got ${shapeStr(x.shape)} and ${shapeStr(weight.shape)}`);
  const g = opts.groups ?? 1;
  const [N, Cin, H, W] = x.shape as [number, number, number, number];
  const [Cin2, Cog, kh, kw] = weight.shape as [number, number, number, number];
  if (Cin !== Cin2 || Cin % g !== 0) throw new Error(`convTranspose2d: input ${shapeStr(x.shape)} does not match weight ${shapeStr(weight.shape)} with groups=${g}`);
  const [sh, sw] = pair(opts.stride ?? 1), [ph, pw] = pair(opts.padding ?? 0), [dh, dw] = pair(opts.dilation ?? 1), [oph, opw] = pair(opts.outputPadding ?? 0);
  if (oph >= Math.max(sh, dh) || opw >= Math.max(sw, dw)) throw new Error(`convTranspose2d: outputPadding must be smaller than stride or dilation`);
  const Ho = (H - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1;
  const Wo = (W - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1;
  const Cout = Cog * g;
  const p: Im2colParams = { kernel: [kh, kw], stride: [sh, sw], padding: [ph, pw], dilation: [dh, dw], padValue: 0 };
  const wT = weight.reshape([g, Cin / g, Cog * kh * kw]).mT; // [g, Cog·kh·kw, Cin/g]
  const cols = wT.matmul(x.reshape([N, g, Cin / g, H * W])); // [N, g, Cog·kh·kw, H·W]
  const out = col2imOp(cols.reshape([N, Cout * kh * kw, H * W]), p, Cout, Ho, Wo);
  return bias ? out.add(bias.reshape([1, Cout, 1, 1])) : out;
}

export function convTranspose1d(x: Tensor, weight: Tensor, bias?: Tensor | null, opts: { stride?: number; padding?: number; dilation?: number; groups?: number; outputPadding?: number } = {}): Tensor {
  const y = convTranspose2d(x.unsqueeze(2), weight.unsqueeze(2), bias, {
    stride: [1, opts.stride ?? 1], padding: [0, opts.padding ?? 0], dilation: [1, opts.dilation ?? 1], groups: opts.groups ?? 1, outputPadding: [0, opts.outputPadding ?? 0],
  });
  return y.squeeze(2);
}

export interface PoolOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
}

function pool(x: Tensor, kernel: Pair, opts: PoolOptions, padValue: number, kind: 'max' | 'avg'): Tensor {
  if (x.ndim !== 4) throw new Error(`${kind}Pool2d: expected input [N, C, H, W], got ${shapeStr(x.shape)}`);
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const k = pair(kernel);
  const p: Im2colParams = { kernel: k, stride: pair(opts.stride ?? kernel), padding: pair(opts.padding ?? 0), dilation: pair(opts.dilation ?? 1), padValue };
  if (p.padding[0] * 2 > k[0] || p.padding[1] * 2 > k[1]) throw new Error(`${kind}Pool2d: padding should be at most half the kernel size`);
  const cols = im2colOp(x.reshape([N * C, 1, H, W]), p); // [N·C, kh·kw, L]
  const oh = Math.floor((H + 2 * p.padding[0] - p.dilation[0] * (k[0] - 1) - 1) / p.stride[0]) + 1;
  const ow = cols.shape[2]! / oh;
  const r = kind === 'max' ? cols.max(1) : cols.mean(1);
  return r.reshape([N, C, oh, ow]);
}

/** Max pooling over [N, C, H, W] windows (stride defaults to the kernel size). */
export function maxPool2d(x: Tensor, kernel: Pair, opts: PoolOptions = {}): Tensor {
  return pool(x, kernel, opts, -Infinity, 'max');
}

/** Average pooling; padded cells count in the average (torch's count_include_pad=True). */
export function avgPool2d(x: Tensor, kernel: Pair, opts: PoolOptions = {}): Tensor {
  return pool(x, kernel, opts, 0, 'avg');
}

export function maxPool1d(x: Tensor, kernel: number, opts: { stride?: number; padding?: number } = {}): Tensor {
  return maxPool2d(x.unsqueeze(2), [1, kernel], { stride: [1, opts.stride ?? kernel], padding: [0, opts.padding ?? 0] }).squeeze(2);
}
export function avgPool1d(x: Tensor, kernel: number, opts: { stride?: number; padding?: number } = {}): Tensor {
  return avgPool2d(x.unsqueeze(2), [1, kernel], { stride: [1, opts.stride ?? kernel], padding: [0, opts.padding ?? 0] }).squeeze(2);
}

/** Mean over all of H and W: [N, C, H, W] → [N, C, 1, 1]. */
export function adaptiveAvgPool2d1(x: Tensor): Tensor {
  return x.mean([2, 3], true);
}

/**
 * Upsampling of [N, C, H, W] by an integer factor (nearest) or to a size (bilinear, with
 * align_corners=False as PyTorch's default). Bilinear is separable: Aₕ · x · A_wᵀ.
 */
export function interpolate(x: Tensor, opts: { scaleFactor?: number; size?: readonly [number, number]; mode?: 'nearest' | 'bilinear'; alignCorners?: boolean }): Tensor {
  if (x.ndim !== 4) throw new Error(`interpolate: expected input [N, C, H, W], got ${shapeStr(x.shape)}`);
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const mode = opts.mode ?? 'nearest';
  const [Ho, Wo] = opts.size ?? [Math.floor(H * (opts.scaleFactor ?? 1)), Math.floor(W * (opts.scaleFactor ?? 1))];
  if (!(Ho > 0 && Wo > 0)) throw new Error('interpolate: give a positive scaleFactor or size');
  if (mode === 'nearest') {
    if (Ho % H === 0 && Wo % W === 0) {
      const sh = Ho / H, sw = Wo / W;
      return x.reshape([N, C, H, 1, W, 1]).expand([N, C, H, sh, W, sw]).reshape([N, C, Ho, Wo]);
    }
    const rows = Array.from({ length: Ho }, (_, i) => Math.min(H - 1, Math.floor((i * H) / Ho)));
    const cols = Array.from({ length: Wo }, (_, j) => Math.min(W - 1, Math.floor((j * W) / Wo)));
    return x.indexSelect(2, tensor(rows, { dtype: 'int32', backend: x.backend })).indexSelect(3, tensor(cols, { dtype: 'int32', backend: x.backend }));
  }
  const Ah = interpMatrix(Ho, H, opts.alignCorners ?? false, x);
  const Aw = interpMatrix(Wo, W, opts.alignCorners ?? false, x);
  return Ah.matmul(x).matmul(Aw.mT);
}

function interpMatrix(out: number, inp: number, alignCorners: boolean, like: Tensor): Tensor {
  const m = new Float64Array(out * inp);
  for (let i = 0; i < out; i++) {
    let src = alignCorners ? (out === 1 ? 0 : (i * (inp - 1)) / (out - 1)) : ((i + 0.5) * inp) / out - 0.5;
    src = Math.max(0, src);
    const i0 = Math.min(Math.floor(src), inp - 1);
    const i1 = Math.min(i0 + 1, inp - 1);
    const w1 = src - i0;
    m[i * inp + i0]! += 1 - w1;
    m[i * inp + i1]! += w1;
  }
  return tensor(m, { shape: [out, inp], dtype: like.dtype, backend: like.backend });
}

/** Inverted dropout: zero with probability p and scale the rest by 1/(1−p), in training only. */
export function dropout(x: Tensor, p: number, training: boolean, rng: Generator | undefined): Tensor {
  if (!(p >= 0 && p < 1)) throw new Error(`dropout: p must be in [0, 1), got ${p}`);
  if (!training || p === 0) return x;
  if (!rng) throw new Error('dropout: training mode needs a Generator ({ rng })');
  const keepMask = bernoulli(1 - p, x.shape, { rng, dtype: x.dtype, backend: x.backend });
  return x.mul(keepMask).div(1 - p);
}

/**
 * (x − μ)/√(σ² + eps) over each row of [rows, n], μ and the biased σ² of the row: the backend's
 * fused kernels where it has them (`normalizeRows`), else two reductions and the elementwise ops.
 */
function normalize(x: Tensor, eps: number): Tensor {
  const fused = normalizeRows(x, eps);
  if (fused) return fused;
  const d = x.sub(x.mean(1, true));
  return d.mul(d.mul(d).mean(1, true).add(eps).rsqrt());
}

/** Layer normalisation over the trailing `normalizedShape` dimensions (Ba et al. 2016). */
export function layerNorm(x: Tensor, normalizedShape: readonly number[], weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  const k = normalizedShape.length;
  if (x.shape.slice(-k).some((d, i) => d !== normalizedShape[i])) {
    throw new Error(`layerNorm: input ${shapeStr(x.shape)} does not end in normalized shape ${shapeStr(normalizedShape)}`);
  }
  const n = sizeOf(normalizedShape);
  let y = normalize(x.reshape([x.size / Math.max(1, n), n]), eps).reshape(x.shape);
  if (weight) y = y.mul(weight);
  if (bias) y = y.add(bias);
  return y;
}

/** Group normalisation of [N, C, ...] over channel groups (Wu & He 2018). */
export function groupNorm(x: Tensor, numGroups: number, weight?: Tensor | null, bias?: Tensor | null, eps = 1e-5): Tensor {
  const [N, C] = x.shape as [number, number];
  if (x.ndim < 2 || C % numGroups !== 0) throw new Error(`groupNorm: ${C} channels of ${shapeStr(x.shape)} are not divisible into ${numGroups} groups`);
  let y = normalize(x.reshape([N * numGroups, x.size / Math.max(1, N * numGroups)]), eps).reshape(x.shape);
  const bshape = [1, C, ...x.shape.slice(2).map(() => 1)];
  if (weight) y = y.mul(weight.reshape(bshape));
  if (bias) y = y.add(bias.reshape(bshape));
  return y;
}

/**
 * Batch normalisation of [N, C, ...] (Ioffe & Szegedy 2015). In training, normalises by the batch
 * statistics (biased variance) and updates the running estimates in place with `momentum`
 * (unbiased variance), as PyTorch; in evaluation, uses the running statistics.
 */
export function batchNorm(x: Tensor, runningMean: Tensor | null, runningVar: Tensor | null, weight: Tensor | null, bias: Tensor | null, training: boolean, momentum = 0.1, eps = 1e-5): Tensor {
  const C = x.shape[1]!;
  const axes = x.shape.map((_, i) => i).filter((i) => i !== 1);
  const bshape = x.shape.map((_, i) => (i === 1 ? C : 1));
  let mean: Tensor, varB: Tensor;
  if (training || !runningMean || !runningVar) {
    const n = x.size / C;
    if (training && n <= 1) throw new Error(`batchNorm: expected more than one value per channel in training, got input ${shapeStr(x.shape)}`);
    mean = x.mean(axes, true);
    const d = x.sub(mean);
    varB = d.mul(d).mean(axes, true);
    if (training && runningMean && runningVar) {
      noGrad(() => {
        runningMean.assign(runningMean.mul(1 - momentum).add(mean.reshape([C]).mul(momentum)));
        runningVar.assign(runningVar.mul(1 - momentum).add(varB.reshape([C]).mul((momentum * n) / (n - 1))));
      });
    }
  } else {
    mean = runningMean.reshape(bshape);
    varB = runningVar.reshape(bshape);
  }
  let y = x.sub(mean).mul(varB.add(eps).rsqrt());
  if (weight) y = y.mul(weight.reshape(bshape));
  if (bias) y = y.add(bias.reshape(bshape));
  return y;
}

// ----- losses --------------------------------------------------------------------------------
export type Reduction = 'mean' | 'sum' | 'none';
function reduceLoss(l: Tensor, reduction: Reduction): Tensor {
  return reduction === 'mean' ? l.mean() : reduction === 'sum' ? l.sum() : l;
}
function sameShapes(a: Tensor, b: Tensor, op: string) {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) throw new Error(`${op}: input ${shapeStr(a.shape)} and target ${shapeStr(b.shape)} differ in shape`);
}

export function mseLoss(input: Tensor, target: Tensor, reduction: Reduction = 'mean'): Tensor {
  sameShapes(input, target, 'mseLoss');
  const d = input.sub(target);
  return reduceLoss(d.mul(d), reduction);
}

export function l1Loss(input: Tensor, target: Tensor, reduction: Reduction = 'mean'): Tensor {
  sameShapes(input, target, 'l1Loss');
  return reduceLoss(input.sub(target).abs(), reduction);
}

/** Negative log-likelihood of int class targets [N] under log-probabilities [N, K]. */
export function nllLoss(logProbs: Tensor, target: Tensor, reduction: Reduction = 'mean'): Tensor {
  if (logProbs.ndim !== 2 || target.ndim !== 1 || target.shape[0] !== logProbs.shape[0]) {
    throw new Error(`nllLoss: expected log-probabilities [N, K] and int32 targets [N], got ${shapeStr(logProbs.shape)} and ${shapeStr(target.shape)}`);
  }
  if (target.dtype !== 'int32') throw new Error(`nllLoss: targets must be int32 class indices, got ${target.dtype}`);
  return reduceLoss(logProbs.gather(1, target.unsqueeze(1)).squeeze(1).neg(), reduction);
}

/** Cross-entropy of logits [N, K] against int class targets [N], with optional label smoothing. */
export function crossEntropy(logits: Tensor, target: Tensor, opts: { reduction?: Reduction; labelSmoothing?: number } = {}): Tensor {
  const lp = logits.logSoftmax(-1);
  const eps = opts.labelSmoothing ?? 0;
  if (eps === 0) return nllLoss(lp, target, opts.reduction ?? 'mean');
  const K = logits.shape[1]!;
  const q = oneHot(target, K, { dtype: logits.dtype }).mul(1 - eps).add(eps / K);
  return reduceLoss(q.mul(lp).sum(1).neg(), opts.reduction ?? 'mean');
}

/** Binary cross-entropy on probabilities; log is clamped at −100 as in PyTorch. */
export function binaryCrossEntropy(p: Tensor, target: Tensor, reduction: Reduction = 'mean'): Tensor {
  sameShapes(p, target, 'binaryCrossEntropy');
  const lp = p.log().clamp(-100), l1p = p.rsub(1).log().clamp(-100);
  return reduceLoss(target.mul(lp).add(target.rsub(1).mul(l1p)).neg(), reduction);
}

/** Binary cross-entropy on logits, stable: max(x, 0) − x·t + log(1 + e^{−|x|}). */
export function binaryCrossEntropyWithLogits(logits: Tensor, target: Tensor, reduction: Reduction = 'mean'): Tensor {
  sameShapes(logits, target, 'binaryCrossEntropyWithLogits');
  const l = logits.relu().sub(logits.mul(target)).add(logits.abs().neg().exp().log1p());
  return reduceLoss(l, reduction);
}

/**
 * Scaled dot-product attention softmax(QKᵀ/√d + mask)·V (Vaswani et al. 2017). `mask` is a bool
 * tensor, true where attention is allowed, broadcastable to [..., Lq, Lk]; `causal` adds the
 * lower-triangular mask.
 */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, opts: { mask?: Tensor | null; causal?: boolean; dropoutP?: number; training?: boolean; rng?: Generator } = {}): Tensor {
  const d = q.shape[q.ndim - 1]!;
  let scores = q.matmul(k.mT).mul(1 / Math.sqrt(d));
  const Lq = q.shape[q.ndim - 2]!, Lk = k.shape[k.ndim - 2]!;
  if (opts.causal) {
    const rows = tensor(Array.from({ length: Lq }, (_, i) => i), { dtype: 'int32', backend: q.backend }).reshape([Lq, 1]);
    const cols = tensor(Array.from({ length: Lk }, (_, j) => j), { dtype: 'int32', backend: q.backend }).reshape([1, Lk]);
    scores = where(cols.le(rows), scores, -Infinity);
  }
  if (opts.mask) scores = where(opts.mask, scores, -Infinity);
  let attn = scores.softmax(-1);
  if (opts.dropoutP) attn = dropout(attn, opts.dropoutP, opts.training ?? false, opts.rng);
  return attn.matmul(v);
}
