/**
 * Decoder likelihoods shared by the VAE and autoregressive families: per-element log-probabilities
 * (the caller sums over the dimensions it wants) and a sampler for each.
 *
 * - Bernoulli on logits: log p(x) = x·ℓ − softplus(ℓ) for x ∈ {0, 1}.
 * - Gaussian with a log standard deviation: log N(x; μ, e^{2s}).
 * - Discretised logistic (PixelCNN++, Salimans et al. 2017, eq. 2): x ∈ [−1, 1] on `levels`
 *   evenly spaced values; the mass of a bin is σ((x + h − μ)/s) − σ((x − h − μ)/s) with half-width
 *   h = 1/(levels − 1), and the two edge bins take the whole tail: at x = −1 the mass is
 *   σ((x + h − μ)/s), at x = +1 it is 1 − σ((x − h − μ)/s). As in the authors' code, a bin whose
 *   mass underflows (< 1e−5) falls back to the density at the centre times the bin width, and
 *   log s is clamped below at −7.
 * - A mixture of K discretised logistics (PixelCNN++ eq. 2 with mixture weights π). This is the
 *   per-channel (grey-level) form: the RGB coefficient coupling of PixelCNN++ (each channel's
 *   mean shifted linearly by the previous channels) is not implemented here.
 *
 * ```ts
 * const lp = discretizedLogisticLogProb(mean, logScale, x, { levels: 256 }).sum([1, 2, 3]);  // [N]
 * ```
 */
import { type Tensor, type Generator, where, rand, randn, bernoulli, noGrad } from '../core/index.ts';

const LOG_2PI = Math.log(2 * Math.PI);

function checkLevels(levels: number, op: string): number {
  if (!Number.isInteger(levels) || levels < 2) throw new Error(`${op}: levels must be an integer ≥ 2, got ${levels}`);
  return levels;
}

/** log Bernoulli(x; σ(logits)) per element, x ∈ {0, 1}: x·ℓ − softplus(ℓ). */
export function bernoulliLogProb(logits: Tensor, x: Tensor): Tensor {
  return x.mul(logits).sub(logits.softplus());
}

/** Bernoulli draws (0/1 floats) with probabilities σ(logits). */
export function bernoulliSample(logits: Tensor, rng: Generator): Tensor {
  return noGrad(() => bernoulli(logits.sigmoid(), null, { rng }));
}

/** log N(x; mean, exp(logScale)²) per element. */
export function gaussianLogProb(mean: Tensor, logScale: Tensor | number, x: Tensor): Tensor {
  const z = x.sub(mean).mul(typeof logScale === 'number' ? Math.exp(-logScale) : logScale.neg().exp());
  return z.square().add(LOG_2PI).mul(-0.5).sub(logScale);
}

/** mean + exp(logScale)·ε, ε ~ N(0, I). */
export function gaussianSample(mean: Tensor, logScale: Tensor | number, rng: Generator): Tensor {
  return noGrad(() => {
    const eps = randn(mean.shape, { rng, backend: mean.backend });
    return mean.add(eps.mul(typeof logScale === 'number' ? Math.exp(logScale) : logScale.exp()));
  });
}

export interface DiscretizedOptions {
  /** Number of grey levels on [−1, 1] (256 for 8-bit pixels). */
  levels?: number;
}

/**
 * log P(x) per element under a logistic(mean, e^{logScale}) discretised into `levels` bins on
 * [−1, 1], with the edge bins at −1 and +1 taking the tails (PixelCNN++ eq. 2 and its code).
 * `x` must lie on the bin centres −1 + 2k/(levels − 1).
 */
export function discretizedLogisticLogProb(mean: Tensor, logScale: Tensor, x: Tensor, opts: DiscretizedOptions = {}): Tensor {
  const levels = checkLevels(opts.levels ?? 256, 'discretizedLogisticLogProb');
  const h = 1 / (levels - 1); // half the bin width
  const ls = logScale.clamp(-7);
  const centered = x.sub(mean);
  const invS = ls.neg().exp();
  const plusIn = centered.add(h).mul(invS);
  const minIn = centered.sub(h).mul(invS);
  const midIn = centered.mul(invS);
  const logCdfPlus = plusIn.sub(plusIn.softplus()); // log σ(plusIn): the x = −1 edge
  const logOneMinusCdfMin = minIn.softplus().neg(); // log(1 − σ(minIn)): the x = +1 edge
  const cdfDelta = plusIn.sigmoid().sub(minIn.sigmoid());
  // log density at the bin centre + log(bin width): used where the bin's mass underflows
  const logPdfMid = midIn.sub(ls).sub(midIn.softplus().mul(2)).add(Math.log(2 * h));
  const inner = where(cdfDelta.gt(1e-5), cdfDelta.clamp(1e-12).log(), logPdfMid);
  const edge = 1 - h; // halfway between the edge bin centre and its neighbour (0.996 for 256 levels)
  return where(x.lt(-edge), logCdfPlus, where(x.gt(edge), logOneMinusCdfMin, inner));
}

/** Round values in [−1, 1] to the nearest of `levels` bin centres. */
export function quantize(x: Tensor, levels = 256): Tensor {
  checkLevels(levels, 'quantize');
  return x.clamp(-1, 1).add(1).mul((levels - 1) / 2).round().mul(2 / (levels - 1)).sub(1);
}

/** Draws from the discretised logistic: a logistic sample, clamped to [−1, 1] and rounded to a bin. */
export function discretizedLogisticSample(mean: Tensor, logScale: Tensor, rng: Generator, opts: DiscretizedOptions = {}): Tensor {
  const levels = checkLevels(opts.levels ?? 256, 'discretizedLogisticSample');
  return noGrad(() => {
    const u = rand(mean.shape, { rng, backend: mean.backend, low: 1e-5, high: 1 - 1e-5 });
    const logistic = u.log().sub(u.rsub(1).log()); // inverse CDF of the standard logistic
    return quantize(mean.add(logScale.clamp(-7).exp().mul(logistic)), levels);
  });
}

export interface MixtureOptions extends DiscretizedOptions {
  /** The axis of the K components in `logitPi`, `means` and `logScales` (default: the last). */
  axis?: number;
}

/** The component axis of a parameter tensor with one more dimension than x. */
function componentAxis(params: Tensor, axis: number | undefined, op: string): number {
  const a = axis ?? -1;
  const n = params.ndim;
  const norm = a < 0 ? a + n : a;
  if (norm < 0 || norm >= n) throw new Error(`${op}: component axis ${a} is out of range for parameters of rank ${n}`);
  return norm;
}

/**
 * log P(x) per element under a mixture of K discretised logistics (PixelCNN++ eq. 2): parameters
 * have x's shape with a component axis of size K inserted at `axis`; the result has x's shape.
 */
export function discretizedLogisticMixtureLogProb(logitPi: Tensor, means: Tensor, logScales: Tensor, x: Tensor, opts: MixtureOptions = {}): Tensor {
  const op = 'discretizedLogisticMixtureLogProb';
  const a = componentAxis(means, opts.axis, op);
  if (means.ndim !== x.ndim + 1) throw new Error(`${op}: parameters must have one more dimension (the K components) than x: got [${means.shape.join(', ')}] for x [${x.shape.join(', ')}]`);
  const lp = discretizedLogisticLogProb(means, logScales, x.unsqueeze(a), opts);
  return logitPi.logSoftmax(a).add(lp).logsumexp(a);
}

/** Draws from the mixture: a component by the Gumbel-max trick, then its discretised logistic. */
export function discretizedLogisticMixtureSample(logitPi: Tensor, means: Tensor, logScales: Tensor, rng: Generator, opts: MixtureOptions = {}): Tensor {
  const a = componentAxis(means, opts.axis, 'discretizedLogisticMixtureSample');
  return noGrad(() => {
    const u = rand(logitPi.shape, { rng, backend: logitPi.backend, low: 1e-5, high: 1 - 1e-5 });
    const gumbel = u.log().neg().log().neg();
    const k = logitPi.add(gumbel).argmax(a, true);
    const mu = means.gather(a, k).squeeze(a);
    const ls = logScales.gather(a, k).squeeze(a);
    return discretizedLogisticSample(mu, ls, rng, opts);
  });
}
