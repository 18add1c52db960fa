/**
 * μ-law companding and 8-bit quantisation (ITU-T G.711), as WaveNet uses it (van den Oord et al.
 * 2016, §2.2): a waveform x ∈ [−1, 1] is compressed by
 *
 *     f(x) = sign(x) · ln(1 + μ|x|) / ln(1 + μ)          (eq. 2 of the paper, μ = 255)
 *
 * and f(x) ∈ [−1, 1] is quantised to μ + 1 = 256 levels, q = round((f(x) + 1)/2 · μ) ∈ {0…μ},
 * so the network predicts a 256-way softmax. Decoding maps a level back to the centre of its
 * bin, y = 2q/μ − 1, and expands it, x = sign(y)·((1 + μ)^|y| − 1)/μ.
 *
 * Plain-number and typed-array versions are exact inverses on the levels
 * (`muLawEncode(muLawDecode(q)) = q`); the tensor version serves the model's loss.
 */
import type { Tensor } from '../../core/index.ts';

function checkMu(mu: number, where: string): void {
  if (!Number.isInteger(mu) || mu < 1) throw new Error(`${where}: mu must be a positive integer (255 for 8-bit μ-law), got ${mu}`);
}

/** f(x) = sign(x)·ln(1 + μ|x|)/ln(1 + μ), with x clipped to [−1, 1]. */
export function muLawCompress(x: number, mu = 255): number {
  const a = Math.min(1, Math.abs(x));
  return Math.sign(x) * (Math.log1p(mu * a) / Math.log1p(mu));
}

/** The inverse of `muLawCompress`: sign(y)·((1 + μ)^|y| − 1)/μ. */
export function muLawExpand(y: number, mu = 255): number {
  const a = Math.min(1, Math.abs(y));
  return (Math.sign(y) * Math.expm1(a * Math.log1p(mu))) / mu;
}

/** Waveform samples in [−1, 1] (clipped) → μ-law levels {0…μ} (Int32Array). */
export function muLawEncode(x: ArrayLike<number>, mu = 255): Int32Array {
  checkMu(mu, 'muLawEncode');
  const out = new Int32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (Number.isNaN(v)) throw new Error(`muLawEncode: sample ${i} is NaN`);
    out[i] = Math.floor(((muLawCompress(v, mu) + 1) / 2) * mu + 0.5);
  }
  return out;
}

/** μ-law levels {0…μ} → waveform samples (the expanded centre of each level's bin). */
export function muLawDecode(q: ArrayLike<number>, mu = 255): Float32Array {
  checkMu(mu, 'muLawDecode');
  const out = new Float32Array(q.length);
  for (let i = 0; i < q.length; i++) {
    const k = q[i]!;
    if (!(Number.isInteger(k) && k >= 0 && k <= mu)) throw new Error(`muLawDecode: level ${i} is ${k}, expected an integer in [0, ${mu}]`);
    out[i] = muLawExpand((2 * k) / mu - 1, mu);
  }
  return out;
}

/**
 * The waveform-domain edges of the μ + 1 quantisation bins: level q holds x ∈ [edges[q], edges[q+1]),
 * with edges[0] = −∞ and edges[μ+1] = +∞ (every real x falls in some bin). For discretised
 * baselines (a Gaussian predictor's probability of each level).
 */
export function muLawBinEdges(mu = 255): Float64Array {
  checkMu(mu, 'muLawBinEdges');
  const edges = new Float64Array(mu + 2);
  edges[0] = -Infinity;
  edges[mu + 1] = Infinity;
  for (let q = 1; q <= mu; q++) edges[q] = muLawExpand((2 * q - 1) / mu - 1, mu);
  return edges;
}

/** Tensor version of `muLawEncode`: float waveform → int32 levels, same rule (computed in the tensor's dtype). */
export function muLawEncodeTensor(x: Tensor, mu = 255): Tensor {
  checkMu(mu, 'muLawEncodeTensor');
  const c = x.clamp(-1, 1);
  const f = c.sign().mul(c.abs().mul(mu).log1p()).div(Math.log1p(mu));
  return f.add(1).mul(mu / 2).add(0.5).floor().clamp(0, mu).int();
}

/** Tensor version of `muLawDecode`: int32 levels → float32 waveform. */
export function muLawDecodeTensor(q: Tensor, mu = 255): Tensor {
  checkMu(mu, 'muLawDecodeTensor');
  const y = q.float().mul(2 / mu).sub(1);
  return y.sign().mul(y.abs().mul(Math.log1p(mu)).expm1()).div(mu);
}
