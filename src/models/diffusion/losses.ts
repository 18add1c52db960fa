/**
 * Training objectives. One denoising loss covers DDPM's L_simple, denoising score matching, EDM's
 * loss and flow matching: E_σ E_ε [λ(σ)·‖D(x₀ + σε; σ) − x₀‖²], with σ's distribution and λ from
 * the parameterisation (see `precond.ts`). DDPM's variational bound is computed in closed form.
 */
import { type Tensor, type Generator, randnLike, bernoulli, where, full, scope, noGrad, stack } from '../../core/index.ts';
import { type Denoiser, type Cond, sigmaView } from './denoiser.ts';
import type { Parameterization } from './precond.ts';
import type { DiscreteSchedule } from './schedules.ts';

export interface DenoisingLossOptions {
  cond?: Cond;
  /** Classifier-free guidance training: replace each label by `nullClass` with this probability. */
  labelDropout?: number;
  nullClass?: number;
  /** Override λ(σ) (e.g. Min-SNR weighting). */
  weight?: (sigma: Tensor) => Tensor;
}

/** Mean over the batch of λ(σ)·‖D(x₀ + σε; σ) − x₀‖² / dim. */
export function denoisingLoss(denoise: Denoiser, p: Parameterization, x0: Tensor, rng: Generator, opts: DenoisingLossOptions = {}): Tensor {
  const n = x0.shape[0]!;
  const sigma = p.sampleSigma(n, rng, x0.backend).cast(x0.dtype);
  const noise = randnLike(x0, { rng });
  const x = x0.add(noise.mul(sigmaView(sigma, x0)));
  const cond = dropLabels(opts.cond, opts.labelDropout ?? 0, opts.nullClass ?? -1, rng);
  const d = denoise(x, sigma, cond);
  const w = (opts.weight ?? ((s: Tensor) => p.weight(s)))(sigma);
  const perExample = d.sub(x0).square().reshape([n, -1]).mean(1);
  return perExample.mul(w).mean();
}

/** Label dropout for classifier-free guidance (Ho & Salimans 2022). */
export function dropLabels(cond: Cond | undefined, p: number, nullClass: number, rng: Generator): Cond | undefined {
  if (!cond?.classes || p <= 0) return cond;
  const drop = bernoulli(p, [cond.classes.shape[0]!], { rng, backend: cond.classes.backend });
  return { ...cond, classes: where(drop.gt(0), nullClass, cond.classes) };
}

// ---------------------------------------------------------------------------------------------
// DDPM's variational bound (Ho et al. 2020, eq. 5; Nichol & Dhariwal 2021, §2)
// ---------------------------------------------------------------------------------------------

/** KL(N(μ₁, e^{lv₁}) ‖ N(μ₂, e^{lv₂})) elementwise. */
export function gaussianKL(mean1: Tensor, logVar1: Tensor | number, mean2: Tensor, logVar2: Tensor | number): Tensor {
  const lv1 = typeof logVar1 === 'number' ? full([], logVar1, { backend: mean1.backend, dtype: mean1.dtype }) : logVar1;
  const lv2 = typeof logVar2 === 'number' ? full([], logVar2, { backend: mean1.backend, dtype: mean1.dtype }) : logVar2;
  return lv2.sub(lv1).add(lv1.sub(lv2).exp()).add(mean1.sub(mean2).square().mul(lv2.neg().exp())).sub(1).mul(0.5);
}

/** Standard normal CDF Φ(x) = ½(1 + erf(x/√2)). */
export function normalCdf(x: Tensor): Tensor {
  return x.mul(Math.SQRT1_2).erf().add(1).mul(0.5);
}

/**
 * log-likelihood of 8-bit data scaled to [−1, 1] under a Gaussian discretised to the 256 bins of
 * width 2/255 (Ho et al. 2020, eq. 13); the edge bins extend to ±∞.
 */
export function discretizedGaussianLogLikelihood(x: Tensor, mean: Tensor, logScale: Tensor): Tensor {
  const c = x.sub(mean);
  const invStd = logScale.neg().exp();
  const cdfPlus = normalCdf(c.add(1 / 255).mul(invStd));
  const cdfMin = normalCdf(c.sub(1 / 255).mul(invStd));
  const logCdfPlus = cdfPlus.clamp(1e-12).log();
  const logOneMinusCdfMin = cdfMin.rsub(1).clamp(1e-12).log();
  const logDelta = cdfPlus.sub(cdfMin).clamp(1e-12).log();
  return where(x.lt(-0.999), logCdfPlus, where(x.gt(0.999), logOneMinusCdfMin, logDelta));
}

/** q(x_{t−1} | x_t, x₀) of a (possibly strided) step t → t' with ᾱ and ᾱ': mean coefficients and variance β̃. */
export function posteriorCoefficients(alphaBar: number, alphaBarPrev: number): { coefX0: number; coefXt: number; variance: number; beta: number } {
  const alpha = alphaBar / alphaBarPrev, beta = 1 - alpha;
  return {
    coefX0: (Math.sqrt(alphaBarPrev) * beta) / (1 - alphaBar),
    coefXt: (Math.sqrt(alpha) * (1 - alphaBarPrev)) / (1 - alphaBar),
    variance: ((1 - alphaBarPrev) / (1 - alphaBar)) * beta,
    beta,
  };
}

export interface VlbOptions {
  cond?: Cond;
  /** The reverse process variance: β̃ ("small") or β ("large"), or learned log-variance per element. */
  variance?: 'small' | 'large' | ((xScaled: Tensor, sigma: Tensor, t: number) => Tensor);
  onStep?: (t: number) => void;
}

/**
 * DDPM's variational bound per example in bits/dim for data x₀ ∈ [−1, 1] (8-bit):
 * L = L_T + Σ_{t>1} KL(q(x_{t−1}|x_t, x₀) ‖ p(x_{t−1}|x_t)) + L_0, with L_0 the discretised decoder.
 * Uses one x_t per t (fresh noise), as improved-diffusion's calc_bpd_loop. Returns [N] bits/dim
 * and the terms (nats per example), reading nothing back.
 */
export function ddpmVlb(denoise: Denoiser, schedule: DiscreteSchedule, x0: Tensor, rng: Generator, opts: VlbOptions = {}): { bpd: Tensor; prior: Tensor; terms: Tensor } {
  const n = x0.shape[0]!, D = x0.size / n;
  const ab = schedule.alphasCumprod, T = ab.length;
  const perEx = (t: Tensor) => t.reshape([n, -1]).sum(1);
  let total = full([n], 0, { backend: x0.backend, dtype: x0.dtype });
  const terms: Tensor[] = [];
  for (let t = T - 1; t >= 0; t--) {
    opts.onStep?.(t);
    const term = noGrad(() => scope(() => {
      const a = ab[t]!, ap = t > 0 ? ab[t - 1]! : 1;
      const eps = randnLike(x0, { rng });
      const xt = x0.mul(Math.sqrt(a)).add(eps.mul(Math.sqrt(1 - a)));
      const sigma = full([n], Math.sqrt((1 - a) / a), { backend: x0.backend, dtype: x0.dtype });
      const x0hat = denoise(xt.div(Math.sqrt(a)), sigma, opts.cond).clamp(-1, 1);
      const pc = posteriorCoefficients(a, ap);
      const meanModel = x0hat.mul(pc.coefX0).add(xt.mul(pc.coefXt));
      let logVar: Tensor | number;
      if (typeof opts.variance === 'function') logVar = opts.variance(xt.div(Math.sqrt(a)), sigma, t);
      else if (opts.variance === 'large') logVar = Math.log(t === 0 ? pc.variance || pc.beta : pc.beta);
      else logVar = Math.log(t === 0 ? posteriorCoefficients(ab[1]!, ab[0]!).variance : pc.variance);
      if (t === 0) {
        // L_0: −log p(x₀ | x₁) under the discretised Gaussian decoder
        const lv = typeof logVar === 'number' ? full([], logVar, { backend: x0.backend }) : logVar;
        return perEx(discretizedGaussianLogLikelihood(x0, meanModel, lv.mul(0.5))).neg();
      }
      const meanTrue = x0.mul(pc.coefX0).add(xt.mul(pc.coefXt));
      return perEx(gaussianKL(meanTrue, Math.log(pc.variance), meanModel, logVar));
    }));
    terms.push(term);
    const next = total.add(term);
    total.dispose();
    total = next;
  }
  // L_T = KL(q(x_T | x₀) ‖ N(0, I))
  const aT = ab[T - 1]!;
  const prior = perEx(gaussianKL(x0.mul(Math.sqrt(aT)), Math.log(1 - aT), x0.mul(0), 0));
  const nats = total.add(prior);
  const stacked = stack(terms, 0); // [T, N], t = T−1 … 0
  for (const t of terms) t.dispose();
  return { bpd: nats.div(D * Math.LN2), prior, terms: stacked };
}
