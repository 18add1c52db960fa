/**
 * Normalisation layers as bijectors, per feature ([N, C]) or per channel ([N, C, H, W]).
 */
import { type Tensor, noGrad, zeros, ones } from '../../core/index.ts';
import { shapeStr } from '../../core/shape.ts';
import { buffer, parameter } from '../../nn/module.ts';
import { Bijector, type ForwardResult, type InverseResult, channelView, spatialSize } from './bijector.ts';

type FloatDType = 'float32' | 'float64';

function checkChannels(x: Tensor, C: number, who: string): void {
  if (x.ndim < 2 || x.shape[1] !== C) throw new Error(`${who}: expected input [N, ${C}, ...], got ${shapeStr(x.shape)}`);
}

/** Axes every channel statistic reduces over: all but axis 1. */
const statAxes = (x: Tensor) => x.shape.map((_, i) => i).filter((i) => i !== 1);

/**
 * Glow's activation normalisation (Kingma & Dhariwal 2018, Sec. 3.1, Table 1):
 *   y = s ⊙ x + b per channel,   log|det| = h·w·Σ log|s|,
 * with s = exp(logScale). Data-dependent initialisation: the first forward call in training mode
 * sets b and s so that that batch's output has zero mean and unit variance per channel; the flag
 * `initialized` is a buffer, so a loaded checkpoint is not initialised again.
 */
export class ActNorm extends Bijector {
  readonly bias: Tensor;
  readonly logScale: Tensor;
  readonly initialized: Tensor;
  /** Mirrors `initialized` once it has been read as set (saves a read-back per call). */
  #ready = false;
  constructor(readonly channels: number, opts: { dtype?: FloatDType } = {}) {
    super();
    const dtype = opts.dtype ?? 'float32';
    this.bias = parameter(zeros([channels], { dtype }));
    this.logScale = parameter(zeros([channels], { dtype }));
    this.initialized = buffer(zeros([], { dtype }));
  }

  /** Set b and s from a batch (Glow's data-dependent initialisation). */
  initialize(x: Tensor): void {
    noGrad(() => {
      const xd = x.detach();
      const axes = statAxes(xd);
      const mean = xd.mean(axes);
      const std = xd.sub(channelView(mean, xd)).square().mean(axes).sqrt();
      const logS = std.add(1e-6).log().neg();
      this.logScale.assign(logS);
      this.bias.assign(mean.mul(logS.exp()).neg());
      this.initialized.assign(ones([], { dtype: this.initialized.dtype, backend: this.initialized.backend }));
    });
  }

  private logDet(x: Tensor): Tensor {
    return this.logScale.sum().mul(spatialSize(x)).expand([x.shape[0]!]);
  }
  forward(x: Tensor): ForwardResult {
    checkChannels(x, this.channels, 'ActNorm');
    if (this.training && !this.#ready) {
      if (this.initialized.itemSync() === 0) this.initialize(x);
      this.#ready = true;
    }
    const y = x.mul(channelView(this.logScale.exp(), x)).add(channelView(this.bias, x));
    return { y, logDet: this.logDet(x) };
  }
  inverse(y: Tensor): InverseResult {
    checkChannels(y, this.channels, 'ActNorm');
    const x = y.sub(channelView(this.bias, y)).mul(channelView(this.logScale.neg().exp(), y));
    return { x, logDet: this.logDet(y).neg() };
  }
}

/**
 * Batch normalisation as a bijector (Dinh et al. 2017, Sec. 3.7; Papamakarios et al. 2017, Sec. 3.4):
 *   y = (x − μ) / √(σ² + ε) ⊙ exp(logGamma) + beta,   log|det| = h·w·Σ (logGamma − ½ log(σ² + ε)).
 * In training mode forward uses the batch statistics (and updates running averages with
 * `momentum`); the inverse, and forward in eval mode, use the running averages. The log-det of a
 * training-mode forward treats the batch statistics as given, as the papers do.
 */
export class BatchNormFlow extends Bijector {
  readonly logGamma: Tensor;
  readonly beta: Tensor;
  readonly running_mean: Tensor;
  readonly running_var: Tensor;
  readonly eps: number;
  readonly momentum: number;
  constructor(readonly channels: number, opts: { dtype?: FloatDType; eps?: number; momentum?: number } = {}) {
    super();
    const dtype = opts.dtype ?? 'float32';
    this.logGamma = parameter(zeros([channels], { dtype }));
    this.beta = parameter(zeros([channels], { dtype }));
    this.running_mean = buffer(zeros([channels], { dtype }));
    this.running_var = buffer(ones([channels], { dtype }));
    this.eps = opts.eps ?? 1e-5;
    this.momentum = opts.momentum ?? 0.1;
  }

  forward(x: Tensor): ForwardResult {
    checkChannels(x, this.channels, 'BatchNormFlow');
    let mean: Tensor, variance: Tensor;
    if (this.training) {
      const axes = statAxes(x);
      mean = x.mean(axes);
      variance = x.sub(channelView(mean, x)).square().mean(axes);
      noGrad(() => {
        const m = this.momentum;
        this.running_mean.assign(this.running_mean.mul(1 - m).add(mean.detach().mul(m)));
        this.running_var.assign(this.running_var.mul(1 - m).add(variance.detach().mul(m)));
      });
    } else {
      mean = this.running_mean;
      variance = this.running_var;
    }
    const logStd = variance.add(this.eps).log().mul(0.5);
    const y = x.sub(channelView(mean, x)).mul(channelView(this.logGamma.sub(logStd).exp(), x)).add(channelView(this.beta, x));
    const logDet = this.logGamma.sub(logStd).sum().mul(spatialSize(x)).expand([x.shape[0]!]);
    return { y, logDet };
  }

  inverse(y: Tensor): InverseResult {
    checkChannels(y, this.channels, 'BatchNormFlow');
    const logStd = this.running_var.add(this.eps).log().mul(0.5);
    const x = y.sub(channelView(this.beta, y)).mul(channelView(logStd.sub(this.logGamma).exp(), y)).add(channelView(this.running_mean, y));
    const logDet = logStd.sub(this.logGamma).sum().mul(spatialSize(y)).expand([y.shape[0]!]);
    return { x, logDet };
  }
}
