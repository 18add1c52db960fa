/**
 * Dequantisation and bits per dimension, so that flow likelihoods on 8-bit images are comparable
 * with published numbers (Theis, van den Oord & Bethge 2016, Sec. 3.1; Dinh et al. 2017, Sec. 4.1;
 * Kingma & Dhariwal 2018, Sec. 5 and eq. 2; Ho et al. 2019, "Flow++", Sec. 3.1).
 *
 * An image has D pixels k ∈ {0, …, B − 1} (B = 256 bins). Uniform dequantisation feeds the flow
 *   x = (k + u) / B ∈ [0, 1)ᴰ,   u ~ U[0, 1)ᴰ,
 * and a density p on [0, 1)ᴰ assigns the pixels the probability P(k) = ∫ p((k + u)/B) B⁻ᴰ du, so by
 * Jensen
 *   log P(k) ≥ E_u[ log p(x) ] − D·log B.
 * Bits per dimension (the figures of the RealNVP and Glow papers) are
 *   bits/dim = ( −log p(x) + D·log B ) / ( D·log 2 )   = −log p(x) / (D·log 2) + log₂ B,
 * i.e. −log p(x)/(D ln 2) + 8 for 8-bit data, with log p(x) in nats including every log-det of the
 * model — in particular the logit transform's (`Logit`), which is a bijector of the flow, so
 * `flow.logProb` of x already contains it. Averaged over u this is an upper bound on the discrete
 * negative log-likelihood in bits.
 */
import { type Tensor, type Generator, rand } from '../../core/index.ts';
import { bitsPerDim as metricsBitsPerDim, logBinWidth } from '../../metrics/likelihood.ts';

/** Pixel levels k ∈ {0 … B−1} from images in [−1, 1] (the registry's convention: k/(B−1)·2 − 1). */
export function toLevels(x: Tensor, bins = 256): Tensor {
  return x.add(1).mul((bins - 1) / 2).round().clamp(0, bins - 1);
}

/** Images in [−1, 1] from levels k: k/(B−1)·2 − 1. */
export function fromLevels(k: Tensor, bins = 256): Tensor {
  return k.mul(2 / (bins - 1)).sub(1);
}

/** Uniform dequantisation x = (k + u)/B, u ~ U[0, 1): levels → [0, 1). */
export function uniformDequantize(levels: Tensor, rng: Generator, bins = 256): Tensor {
  const u = rand(levels.shape, { rng, dtype: levels.dtype, backend: levels.backend });
  return levels.add(u).div(bins);
}

/** The centre of each bin, (k + ½)/B: a deterministic dequantisation for evaluation and display. */
export function centreDequantize(levels: Tensor, bins = 256): Tensor {
  return levels.add(0.5).div(bins);
}

/** Lower bound on log P(k) in nats from log p(x) of dequantised x ∈ [0, 1)ᴰ: log p(x) + D·log Δ, Δ = 1/B. */
export function discreteLogLikelihood(logProb: Tensor, dims: number, bins = 256): Tensor {
  return logProb.add(dims * logBinWidth({ levels: bins, range: [0, 1] }));
}

/**
 * bits/dim = (−log p(x) + D·log B) / (D·log 2), per example (see the module comment): the metrics
 * module's one definition, with the flows' [0, 1) dequantisation range.
 */
export function bitsPerDim(logProb: Tensor, dims: number, bins = 256): Tensor {
  return metricsBitsPerDim(logProb, dims, { levels: bins, range: [0, 1] });
}
