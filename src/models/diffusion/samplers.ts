/**
 * Samplers: pure loops over a Denoiser and a decreasing σ grid (ending in 0), in the scaled space
 * x = x₀ + σ·ε where every parameterisation looks alike. Multistep history is a loop variable,
 * never object state. Each sampler is a generator function yielding every step (for UIs that
 * show the trajectory), and a plain function that runs it to the end.
 *
 * Memory: each step runs in a scope under noGrad; the yielded `x` and `denoised` are valid until
 * the generator resumes (clone them to keep them). The input x stays the caller's.
 */
import { type Tensor, type Generator, full, randnLike, scope, keep, noGrad } from '../../core/index.ts';
import { type Denoiser, type Cond, toD, sigmaView } from './denoiser.ts';
import type { DiscreteSchedule } from './schedules.ts';
import { odeintDopri5 } from '../ode.ts';

export interface StepInfo {
  /** Step index (0-based) and number of steps. */
  i: number;
  total: number;
  sigma: number;
  sigmaNext: number;
  /** The state after the step, and the denoiser's estimate of x₀ at this step. */
  x: Tensor;
  denoised: Tensor;
  /** Denoiser evaluations so far. */
  nfe: number;
}

export interface SamplerOptions {
  /** Randomness of stochastic samplers (and of churn). */
  rng?: Generator;
  cond?: Cond;
  onStep?: (s: StepInfo) => void;
  signal?: AbortSignal;
  /** Source of the standard normal noise at step i (default: randn from rng) — lets tests replay another implementation's noise. */
  noise?: (like: Tensor, i: number) => Tensor;
}

/** Stochastic "churn" of Karras et al. (2022), Algorithm 2. */
export interface ChurnOptions {
  sChurn?: number;
  sTmin?: number;
  sTmax?: number;
  sNoise?: number;
}

export type StepGenerator = globalThis.Generator<StepInfo, Tensor, void>;

/** σ as a [N] tensor for the batch x. */
function sig(x: Tensor, s: number): Tensor {
  return full([x.shape[0]!], s, { dtype: x.dtype, backend: x.backend });
}

function noiseOf(opts: SamplerOptions, like: Tensor, i: number, who: string): Tensor {
  if (opts.noise) return opts.noise(like, i);
  if (!opts.rng) throw new Error(`${who}: this sampler draws noise; pass { rng }`);
  return randnLike(like, { rng: opts.rng });
}

function checkSigmas(sigmas: readonly number[], who: string): void {
  if (sigmas.length < 2) throw new Error(`${who}: need a σ grid of at least 2 values, got ${sigmas.length}`);
  for (let i = 1; i < sigmas.length; i++) {
    if (!(sigmas[i]! < sigmas[i - 1]!) || sigmas[i]! < 0) throw new Error(`${who}: σ grid must be decreasing and non-negative (σ[${i - 1}] = ${sigmas[i - 1]}, σ[${i}] = ${sigmas[i]})`);
  }
}

/**
 * Run each step body in a scope under noGrad; hand the caller the step's outputs and free the
 * previous state (never the caller's input).
 */
function* loop(
  who: string, x0: Tensor, sigmas: readonly number[], opts: SamplerOptions,
  body: (x: Tensor, i: number) => { x: Tensor; denoised: Tensor; nfe: number; carry?: Tensor[] },
): StepGenerator {
  checkSigmas(sigmas, who);
  let x = x0;
  let nfe = 0;
  const total = sigmas.length - 1;
  for (let i = 0; i < total; i++) {
    if (opts.signal?.aborted) throw new Error(`${who}: aborted at step ${i} of ${total}`);
    const r = noGrad(() => scope(() => body(x, i)));
    keep(r.x);
    keep(r.denoised);
    if (x !== x0 && x !== r.x) x.dispose();
    x = r.x;
    nfe += r.nfe;
    const info: StepInfo = { i, total, sigma: sigmas[i]!, sigmaNext: sigmas[i + 1]!, x, denoised: r.denoised, nfe };
    opts.onStep?.(info);
    yield info;
    if (r.denoised !== r.x) r.denoised.dispose();
  }
  return x;
}

/** Drive a step generator to its end and return the final sample. */
export function run(steps: StepGenerator): Tensor {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** The churned noise level σ̂ = σ(1 + γ) of Algorithm 2 of Karras et al. (2022). */
function churn(x: Tensor, sigma: number, n: number, c: ChurnOptions, opts: SamplerOptions, i: number, who: string): { x: Tensor; sigmaHat: number } {
  const { sChurn = 0, sTmin = 0, sTmax = Infinity, sNoise = 1 } = c;
  const gamma = sChurn > 0 && sigma >= sTmin && sigma <= sTmax ? Math.min(sChurn / n, Math.SQRT2 - 1) : 0;
  const sigmaHat = sigma * (gamma + 1);
  if (gamma === 0) return { x, sigmaHat };
  const eps = noiseOf(opts, x, i, who).mul(sNoise);
  return { x: x.add(eps.mul(Math.sqrt(sigmaHat ** 2 - sigma ** 2))), sigmaHat };
}

// ---------------------------------------------------------------------------------------------
// First- and second-order ODE samplers
// ---------------------------------------------------------------------------------------------

/** Euler steps of the probability-flow ODE dx/dσ = (x − D)/σ, with optional churn (k-diffusion `sample_euler`). */
export function* eulerSteps(denoise: Denoiser, x: Tensor, sigmas: readonly number[], opts: SamplerOptions & ChurnOptions = {}): StepGenerator {
  return yield* loop('euler', x, sigmas, opts, (xi, i) => {
    const { x: xh, sigmaHat } = churn(xi, sigmas[i]!, sigmas.length - 1, opts, opts, i, 'euler');
    const denoised = denoise(xh, sig(xh, sigmaHat), opts.cond);
    // Euler step
    const d = toD(xh, sig(xh, sigmaHat), denoised);
    return { x: xh.add(d.mul(sigmas[i + 1]! - sigmaHat)), denoised, nfe: 1 };
  });
}

/**
 * Heun's 2nd-order method with churn: Algorithm 2 of Karras et al. (2022) (k-diffusion `sample_heun`).
 * The last step, to σ = 0, is an Euler step.
 */
export function* heunSteps(denoise: Denoiser, x: Tensor, sigmas: readonly number[], opts: SamplerOptions & ChurnOptions = {}): StepGenerator {
  return yield* loop('heun', x, sigmas, opts, (xi, i) => {
    const { x: xh, sigmaHat } = churn(xi, sigmas[i]!, sigmas.length - 1, opts, opts, i, 'heun');
    const denoised = denoise(xh, sig(xh, sigmaHat), opts.cond);
    const d = toD(xh, sig(xh, sigmaHat), denoised);
    const dt = sigmas[i + 1]! - sigmaHat;
    // Euler step
    const x2 = xh.add(d.mul(dt));
    if (sigmas[i + 1] === 0) return { x: x2, denoised, nfe: 1 };
    // 2nd-order correction
    const denoised2 = denoise(x2, sig(x2, sigmas[i + 1]!), opts.cond);
    const d2 = toD(x2, sig(x2, sigmas[i + 1]!), denoised2);
    return { x: xh.add(d.add(d2).mul(0.5 * dt)), denoised, nfe: 2 };
  });
}

/**
 * Ancestral split of a step σ → σ' (k-diffusion `get_ancestral_step`):
 * σ_up = min(σ', η·√(σ'²(σ² − σ'²)/σ²)), σ_down = √(σ'² − σ_up²).
 */
export function ancestralStep(sigma: number, sigmaNext: number, eta = 1): { sigmaDown: number; sigmaUp: number } {
  if (!eta || sigmaNext === 0) return { sigmaDown: sigmaNext, sigmaUp: 0 };
  const sigmaUp = Math.min(sigmaNext, eta * Math.sqrt((sigmaNext ** 2 * (sigma ** 2 - sigmaNext ** 2)) / sigma ** 2));
  return { sigmaDown: Math.sqrt(sigmaNext ** 2 - sigmaUp ** 2), sigmaUp };
}

/** Euler ancestral: an Euler step down to σ_down, then fresh noise up to σ' (k-diffusion `sample_euler_ancestral`). */
export function* eulerAncestralSteps(denoise: Denoiser, x: Tensor, sigmas: readonly number[], opts: SamplerOptions & { eta?: number; sNoise?: number } = {}): StepGenerator {
  const eta = opts.eta ?? 1, sNoise = opts.sNoise ?? 1;
  return yield* loop('eulerAncestral', x, sigmas, opts, (xi, i) => {
    const denoised = denoise(xi, sig(xi, sigmas[i]!), opts.cond);
    const { sigmaDown, sigmaUp } = ancestralStep(sigmas[i]!, sigmas[i + 1]!, eta);
    // Euler step to σ_down
    let xn = xi.add(toD(xi, sig(xi, sigmas[i]!), denoised).mul(sigmaDown - sigmas[i]!));
    // noise back up to σ'
    if (sigmas[i + 1]! > 0) xn = xn.add(noiseOf(opts, xi, i, 'eulerAncestral').mul(sNoise * sigmaUp));
    return { x: xn, denoised, nfe: 1 };
  });
}

/**
 * DPM-Solver++(2M) (Lu et al. 2022, Algorithm 2; k-diffusion `sample_dpmpp_2m`): a multistep
 * exponential integrator in λ = −log σ using the previous denoised estimate.
 */
export function* dpmpp2mSteps(denoise: Denoiser, x: Tensor, sigmas: readonly number[], opts: SamplerOptions = {}): StepGenerator {
  let oldDenoised: Tensor | null = null;
  const t = (s: number) => -Math.log(s);
  try {
    return yield* loop('dpmpp2m', x, sigmas, opts, (xi, i) => {
      const denoised = denoise(xi, sig(xi, sigmas[i]!), opts.cond);
      const s = sigmas[i]!, sn = sigmas[i + 1]!;
      let xn: Tensor;
      if (sn === 0) {
        xn = denoised; // the last step lands on the estimate (t_next = ∞)
      } else {
        const h = t(sn) - t(s);
        let dEff = denoised;
        if (oldDenoised && i > 0) {
          // 2nd-order multistep correction with the previous estimate
          const r = (t(s) - t(sigmas[i - 1]!)) / h;
          dEff = denoised.mul(1 + 1 / (2 * r)).sub(oldDenoised.mul(1 / (2 * r)));
        }
        xn = xi.mul(sn / s).sub(dEff.mul(Math.expm1(-h)));
      }
      oldDenoised?.dispose();
      oldDenoised = keep(denoised.clone());
      return { x: xn, denoised, nfe: 1 };
    });
  } finally {
    (oldDenoised as Tensor | null)?.dispose();
  }
}

// ---------------------------------------------------------------------------------------------
// DDPM and DDIM in their papers' form
// ---------------------------------------------------------------------------------------------

const alphaBar = (sigma: number) => 1 / (1 + sigma * sigma);

/**
 * DDIM (Song, Meng & Ermon 2021, eq. 12) with η and any subsequence of steps:
 * x_{t'} = √ᾱ' x̂₀ + √(1 − ᾱ' − σ_η²)·ε̂ + σ_η z, σ_η = η·√((1 − ᾱ')/(1 − ᾱ))·√(1 − ᾱ/ᾱ'),
 * written in the scaled space x/√ᾱ. η = 0 is deterministic; η = 1 is DDPM's ancestral sampler.
 */
export function* ddimSteps(denoise: Denoiser, x: Tensor, sigmas: readonly number[], opts: SamplerOptions & { eta?: number } = {}): StepGenerator {
  const eta = opts.eta ?? 0;
  return yield* loop('ddim', x, sigmas, opts, (xi, i) => {
    const s = sigmas[i]!, sn = sigmas[i + 1]!;
    const x0 = denoise(xi, sig(xi, s), opts.cond);
    const eps = xi.sub(x0).div(s);
    const a = alphaBar(s), ap = alphaBar(sn);
    const sigmaEta = eta * Math.sqrt(((1 - ap) / (1 - a)) * (1 - a / ap));
    // in the unscaled space, then back: x̃' = x'/√ᾱ'
    const dirCoef = Math.sqrt(Math.max(0, 1 - ap - sigmaEta ** 2));
    let xt = x0.mul(Math.sqrt(ap)).add(eps.mul(dirCoef));
    if (sigmaEta > 0) xt = xt.add(noiseOf(opts, xi, i, 'ddim').mul(sigmaEta));
    return { x: xt.div(Math.sqrt(ap)), denoised: x0, nfe: 1 };
  });
}

export type DdpmVariance = 'small' | 'large' | 'learned';

export interface DdpmOptions extends SamplerOptions {
  /** Posterior variance β̃ ("fixed small"), β ("fixed large", with β̃ at the first step as Ho et al.), or learned. */
  variance?: DdpmVariance;
  /** For 'learned': the interpolation v ∈ [0, 1] per element, log Σ = v·log β + (1 − v)·log β̃ (Nichol & Dhariwal 2021). */
  learnedV?: (x: Tensor, sigma: Tensor, cond?: Cond) => Tensor;
}

/**
 * DDPM ancestral sampling (Ho et al. 2020, Algorithm 2) on any σ subsequence of a VP schedule:
 * x_{t−1} ~ N(μ̃(x_t, x̂₀), Σ), μ̃ = (√ᾱ' β/(1 − ᾱ))·x̂₀ + (√α(1 − ᾱ')/(1 − ᾱ))·x_t, with
 * α = ᾱ/ᾱ', β = 1 − α and β̃ = (1 − ᾱ')/(1 − ᾱ)·β. Works in the unscaled x_t = √ᾱ·x.
 */
export function* ddpmSteps(denoise: Denoiser, x: Tensor, sigmas: readonly number[], opts: DdpmOptions = {}): StepGenerator {
  const variance = opts.variance ?? 'small';
  if (variance === 'learned' && !opts.learnedV) throw new Error("ddpm: variance 'learned' needs opts.learnedV (from a model with a learned-variance head)");
  return yield* loop('ddpm', x, sigmas, opts, (xi, i) => {
    const s = sigmas[i]!, sn = sigmas[i + 1]!;
    const a = alphaBar(s), ap = alphaBar(sn);
    const alpha = a / ap, beta = 1 - alpha;
    const x0 = denoise(xi, sig(xi, s), opts.cond);
    const xt = xi.mul(Math.sqrt(a));
    const mean = x0.mul((Math.sqrt(ap) * beta) / (1 - a)).add(xt.mul((Math.sqrt(alpha) * (1 - ap)) / (1 - a)));
    let out = mean;
    if (sn > 0) {
      const betaTilde = ((1 - ap) / (1 - a)) * beta;
      const z = noiseOf(opts, xi, i, 'ddpm');
      if (variance === 'learned') {
        const v = opts.learnedV!(xi, sig(xi, s), opts.cond);
        const logVar = v.mul(Math.log(beta)).add(v.rsub(1).mul(Math.log(betaTilde)));
        out = mean.add(logVar.mul(0.5).exp().mul(z));
      } else {
        const varT = variance === 'small' ? betaTilde : beta;
        out = mean.add(z.mul(Math.sqrt(varT)));
      }
    }
    return { x: out.div(Math.sqrt(ap)), denoised: x0, nfe: 1 };
  });
}

// ---------------------------------------------------------------------------------------------
// Score-SDE samplers
// ---------------------------------------------------------------------------------------------

/** The score ∇ₓ log p_σ(x) = (D(x; σ) − x)/σ² in the scaled space. */
function score(denoise: Denoiser, x: Tensor, s: number, cond?: Cond): { score: Tensor; denoised: Tensor } {
  const denoised = denoise(x, sig(x, s), cond);
  return { score: denoised.sub(x).div(s * s), denoised };
}

export interface ReverseSdeOptions extends SamplerOptions {
  /** Which forward SDE to reverse: VE (σ(t) = t) or VP (linear β(t), in EDM's σ terms). */
  sde?: 've' | 'vp';
  betaMin?: number;
  betaMax?: number;
}

/** t of σ on the VP-SDE: t = (√(β_min² + 2β_d·ln(1 + σ²)) − β_min)/β_d (Karras et al. 2022, Table 1). */
export function vpTOfSigma(sigma: number, betaMin = 0.1, betaMax = 20): number {
  const bd = betaMax - betaMin;
  return (Math.sqrt(betaMin * betaMin + 2 * bd * Math.log1p(sigma * sigma)) - betaMin) / bd;
}

/**
 * Euler–Maruyama on the reverse-time SDE (Song et al. 2021, eq. 6):
 *  VE: x ← x + (σ² − σ'²)·∇log p + √(σ² − σ'²)·z;
 *  VP: in x_t = √ᾱ·x, x_t ← x_t + (½β x_t + β ∇log p)Δt + √(βΔt)·z with Δt = t(σ) − t(σ').
 * The last step (to σ' = 0, or at the end of the grid) adds no noise.
 */
export function* reverseSdeSteps(denoise: Denoiser, x: Tensor, sigmas: readonly number[], opts: ReverseSdeOptions = {}): StepGenerator {
  return yield* loop('reverseSde', x, sigmas, opts, (xi, i) => ({ ...reverseSdeStep(denoise, xi, sigmas, i, opts, 'reverseSde'), nfe: 1 }));
}

function reverseSdeStep(denoise: Denoiser, xi: Tensor, sigmas: readonly number[], i: number, opts: ReverseSdeOptions, who: string): { x: Tensor; denoised: Tensor } {
  const kind = opts.sde ?? 've', bMin = opts.betaMin ?? 0.1, bMax = opts.betaMax ?? 20;
  const s = sigmas[i]!, sn = sigmas[i + 1]!;
  const { score: g, denoised } = score(denoise, xi, s, opts.cond);
  const last = i === sigmas.length - 2;
  if (kind === 've') {
    const dv = s * s - sn * sn;
    let xn = xi.add(g.mul(dv));
    if (!last && sn > 0) xn = xn.add(noiseOf(opts, xi, i, who).mul(Math.sqrt(dv)));
    return { x: xn, denoised };
  }
  const t = vpTOfSigma(s, bMin, bMax), tn = sn > 0 ? vpTOfSigma(sn, bMin, bMax) : 0;
  const dt = t - tn, beta = bMin + t * (bMax - bMin);
  const sa = Math.sqrt(alphaBar(s));
  const xt = xi.mul(sa), gt = g.div(sa); // score in x_t space: ∇_{x_t} = ∇_x / √ᾱ
  let xtn = xt.add(xt.mul(0.5 * beta).add(gt.mul(beta)).mul(dt));
  if (!last && sn > 0) xtn = xtn.add(noiseOf(opts, xi, i, who).mul(Math.sqrt(beta * dt)));
  return { x: sn > 0 ? xtn.div(Math.sqrt(alphaBar(sn))) : denoised, denoised };
}

/**
 * Predictor–corrector sampling (Song et al. 2021, Algorithms 2–3): a reverse-SDE predictor step,
 * then `correctorSteps` of Langevin MCMC at the new σ with step size 2α(snr·‖z‖/‖∇log p‖)² (α = 1;
 * the corrector runs in the scaled space, where the target p_σ is the same up to a linear map).
 * Noise indices: predictor at step i uses i, the k-th corrector step uses total·(k+1) + i.
 */
export function* predictorCorrectorSteps(denoise: Denoiser, x: Tensor, sigmas: readonly number[], opts: ReverseSdeOptions & { snr?: number; correctorSteps?: number } = {}): StepGenerator {
  const snr = opts.snr ?? 0.16, nc = opts.correctorSteps ?? 1;
  const total = sigmas.length - 1;
  return yield* loop('predictorCorrector', x, sigmas, opts, (xi, i) => {
    // predictor
    const p = reverseSdeStep(denoise, xi, sigmas, i, opts, 'predictorCorrector');
    let xc = p.x;
    const sn = sigmas[i + 1]!;
    if (sn === 0 || i === total - 1) return { ...p, nfe: 1 };
    // Langevin corrector at σ'
    for (let k = 0; k < nc; k++) {
      const { score: g } = score(denoise, xc, sn, opts.cond);
      const z = noiseOf(opts, xc, total * (k + 1) + i, 'predictorCorrector');
      const n = xc.shape[0]!;
      const gNorm = g.reshape([n, -1]).square().sum(1).sqrt().mean().itemSync();
      const zNorm = z.reshape([n, -1]).square().sum(1).sqrt().mean().itemSync();
      const eps = 2 * ((snr * zNorm) / Math.max(gNorm, 1e-12)) ** 2;
      xc = xc.add(g.mul(eps)).add(z.mul(Math.sqrt(2 * eps)));
    }
    return { x: xc, denoised: p.denoised, nfe: 1 + nc };
  });
}

export interface AnnealedLangevinOptions extends SamplerOptions {
  /** Langevin steps per noise level (T in Song & Ermon 2019). */
  stepsPerSigma?: number;
  /** Step size ε at the smallest σ; α_i = ε·σ_i²/σ_L². */
  stepSize?: number;
  /** End with the denoising step x + σ_L²·∇log p (Jolicoeur-Martineau et al. 2021; NCSNv2). */
  denoiseFinal?: boolean;
}

/**
 * Annealed Langevin dynamics (Song & Ermon 2019, Algorithm 1) over the positive σ of the grid:
 * at each σ_i, x ← x + (α_i/2)·∇log p_{σ_i}(x) + √α_i·z, T times.
 */
export function* annealedLangevinSteps(denoise: Denoiser, x: Tensor, sigmas: readonly number[], opts: AnnealedLangevinOptions = {}): StepGenerator {
  const levels = sigmas.filter((s) => s > 0);
  const T = opts.stepsPerSigma ?? 100, eps = opts.stepSize ?? 2e-5;
  const sL = levels[levels.length - 1]!;
  const grid = [...levels, 0];
  return yield* loop('annealedLangevin', x, grid, opts, (xi, i) => {
    const s = grid[i]!;
    const a = (eps * s * s) / (sL * sL);
    let xc = xi;
    let den = xi;
    for (let k = 0; k < T; k++) {
      const { score: g, denoised } = score(denoise, xc, s, opts.cond);
      den = denoised;
      xc = xc.add(g.mul(a / 2)).add(noiseOf(opts, xc, i * T + k, 'annealedLangevin').mul(Math.sqrt(a)));
    }
    if (i === grid.length - 2 && (opts.denoiseFinal ?? true)) {
      const { denoised } = score(denoise, xc, s, opts.cond);
      return { x: denoised, denoised, nfe: T + 1 };
    }
    return { x: xc, denoised: den, nfe: T };
  });
}

/**
 * The probability-flow ODE dx/dσ = (x − D(x; σ))/σ (Karras et al. 2022, eq. 3 with σ(t) = t)
 * solved adaptively by Dormand–Prince from σ_max = sigmas[0] to σ_min (the last positive σ), then
 * one denoising step to σ = 0. Reports a single step with the solver's NFE.
 */
export function* odeAdaptiveSteps(denoise: Denoiser, x: Tensor, sigmas: readonly number[], opts: SamplerOptions & { rtol?: number; atol?: number } = {}): StepGenerator {
  const pos = sigmas.filter((s) => s > 0);
  const sMax = pos[0]!, sMin = pos[pos.length - 1]!;
  let nfe = 0;
  return yield* loop('odeAdaptive', x, [sMax, 0], opts, (xi) => {
    const r = odeintDopri5((s, [y]) => [toD(y!, sig(y!, s), denoise(y!, sig(y!, s), opts.cond))], [xi], sMax, sMin, { rtol: opts.rtol ?? 1e-5, atol: opts.atol ?? 1e-5, signal: opts.signal });
    const denoised = denoise(r.y[0]!, sig(r.y[0]!, sMin), opts.cond);
    nfe = r.nfe + 1;
    return { x: denoised, denoised, nfe };
  });
}

// ---------------------------------------------------------------------------------------------
// The plain forms and the registry of samplers
// ---------------------------------------------------------------------------------------------

export const euler = (d: Denoiser, x: Tensor, s: readonly number[], o?: SamplerOptions & ChurnOptions) => run(eulerSteps(d, x, s, o));
export const heun = (d: Denoiser, x: Tensor, s: readonly number[], o?: SamplerOptions & ChurnOptions) => run(heunSteps(d, x, s, o));
export const eulerAncestral = (d: Denoiser, x: Tensor, s: readonly number[], o?: SamplerOptions & { eta?: number; sNoise?: number }) => run(eulerAncestralSteps(d, x, s, o));
export const dpmpp2m = (d: Denoiser, x: Tensor, s: readonly number[], o?: SamplerOptions) => run(dpmpp2mSteps(d, x, s, o));
export const ddim = (d: Denoiser, x: Tensor, s: readonly number[], o?: SamplerOptions & { eta?: number }) => run(ddimSteps(d, x, s, o));
export const ddpm = (d: Denoiser, x: Tensor, s: readonly number[], o?: DdpmOptions) => run(ddpmSteps(d, x, s, o));
export const reverseSde = (d: Denoiser, x: Tensor, s: readonly number[], o?: ReverseSdeOptions) => run(reverseSdeSteps(d, x, s, o));
export const predictorCorrector = (d: Denoiser, x: Tensor, s: readonly number[], o?: ReverseSdeOptions & { snr?: number; correctorSteps?: number }) => run(predictorCorrectorSteps(d, x, s, o));
export const annealedLangevin = (d: Denoiser, x: Tensor, s: readonly number[], o?: AnnealedLangevinOptions) => run(annealedLangevinSteps(d, x, s, o));
export const odeAdaptive = (d: Denoiser, x: Tensor, s: readonly number[], o?: SamplerOptions & { rtol?: number; atol?: number }) => run(odeAdaptiveSteps(d, x, s, o));

/** Every sampler by name, as step generators, with one line each for `genlab list samplers`. */
export const SAMPLERS: Record<string, { steps: (d: Denoiser, x: Tensor, s: readonly number[], o?: SamplerOptions & Record<string, unknown>) => StepGenerator; description: string; stochastic: boolean; nfePerStep: number }> = {
  euler: { steps: eulerSteps, description: 'Euler on the probability-flow ODE (1 NFE/step)', stochastic: false, nfePerStep: 1 },
  heun: { steps: heunSteps, description: 'Heun 2nd order, Algorithm 2 of Karras et al. 2022 (2 NFE/step, 1 for the last)', stochastic: false, nfePerStep: 2 },
  eulerAncestral: { steps: eulerAncestralSteps, description: 'Euler ancestral (η = 1): Euler down, fresh noise up', stochastic: true, nfePerStep: 1 },
  dpmpp2m: { steps: dpmpp2mSteps, description: 'DPM-Solver++(2M), Lu et al. 2022 (1 NFE/step)', stochastic: false, nfePerStep: 1 },
  ddim: { steps: ddimSteps, description: 'DDIM, Song et al. 2021 (η = 0 deterministic)', stochastic: false, nfePerStep: 1 },
  ddpm: { steps: ddpmSteps as never, description: 'DDPM ancestral sampling, Ho et al. 2020', stochastic: true, nfePerStep: 1 },
  reverseSde: { steps: reverseSdeSteps as never, description: 'Euler–Maruyama on the reverse SDE (VE or VP), Song et al. 2021', stochastic: true, nfePerStep: 1 },
  pc: { steps: predictorCorrectorSteps as never, description: 'predictor–corrector with a Langevin corrector (snr), Song et al. 2021', stochastic: true, nfePerStep: 2 },
  annealedLangevin: { steps: annealedLangevinSteps as never, description: 'annealed Langevin dynamics (NCSN), Song & Ermon 2019', stochastic: true, nfePerStep: 100 },
  ode: { steps: odeAdaptiveSteps as never, description: 'probability-flow ODE, adaptive Dormand–Prince RK5(4)', stochastic: false, nfePerStep: NaN },
};

export { sigmaView };
export type { DiscreteSchedule };
