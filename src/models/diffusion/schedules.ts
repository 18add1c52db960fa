/**
 * Noise schedules: plain functions returning σ grids (decreasing, ending in 0, as k-diffusion's),
 * and the discrete VP schedules of DDPM with their σ_t = √((1 − ᾱ_t)/ᾱ_t).
 */

/** Karras et al. (2022), eq. 5: σ_i = (σ_max^{1/ρ} + i/(n−1)·(σ_min^{1/ρ} − σ_max^{1/ρ}))^ρ, then 0. */
export function karrasSigmas(n: number, sigmaMin: number, sigmaMax: number, rho = 7): number[] {
  checkGrid(n, sigmaMin, sigmaMax, 'karrasSigmas');
  const a = Math.pow(sigmaMax, 1 / rho), b = Math.pow(sigmaMin, 1 / rho);
  const s = Array.from({ length: n }, (_, i) => Math.pow(a + (n === 1 ? 0 : i / (n - 1)) * (b - a), rho));
  return [...s, 0];
}

/** Log-linear σ from σ_max to σ_min (k-diffusion's get_sigmas_exponential), then 0. */
export function exponentialSigmas(n: number, sigmaMin: number, sigmaMax: number): number[] {
  checkGrid(n, sigmaMin, sigmaMax, 'exponentialSigmas');
  const lo = Math.log(sigmaMin), hi = Math.log(sigmaMax);
  return [...Array.from({ length: n }, (_, i) => Math.exp(hi + (n === 1 ? 0 : i / (n - 1)) * (lo - hi))), 0];
}

/**
 * The VP-SDE of Song et al. (2021) with linear β(t) = β_min + t(β_max − β_min), t ∈ [ε, 1], in
 * EDM's σ terms (Karras et al. 2022, Table 1): σ(t) = √(exp(½β_d t² + β_min t) − 1) with
 * β_d = β_max − β_min. Steps uniform in t from 1 to ε_s ("linear in t"), then 0.
 */
export function vpSigmas(n: number, opts: { betaMin?: number; betaMax?: number; epsS?: number } = {}): number[] {
  const betaMin = opts.betaMin ?? 0.1, betaD = (opts.betaMax ?? 20) - betaMin, epsS = opts.epsS ?? 1e-3;
  if (!Number.isInteger(n) || n < 1) throw new Error(`vpSigmas: n must be a positive integer, got ${n}`);
  const sigma = (t: number) => Math.sqrt(Math.expm1(0.5 * betaD * t * t + betaMin * t));
  return [...Array.from({ length: n }, (_, i) => sigma(1 + (n === 1 ? 0 : i / (n - 1)) * (epsS - 1))), 0];
}

/** σ linear from σ_max to σ_min, then 0. */
export function linearSigmas(n: number, sigmaMin: number, sigmaMax: number): number[] {
  checkGrid(n, sigmaMin, sigmaMax, 'linearSigmas');
  return [...Array.from({ length: n }, (_, i) => sigmaMax + (n === 1 ? 0 : i / (n - 1)) * (sigmaMin - sigmaMax)), 0];
}

function checkGrid(n: number, lo: number, hi: number, op: string): void {
  if (!Number.isInteger(n) || n < 1) throw new Error(`${op}: n must be a positive integer, got ${n}`);
  if (!(lo > 0 && hi > lo)) throw new Error(`${op}: need 0 < sigmaMin < sigmaMax, got ${lo} and ${hi}`);
}

// ---------------------------------------------------------------------------------------------
// Discrete DDPM schedules
// ---------------------------------------------------------------------------------------------

/** A discrete VP schedule: β_t, ᾱ_t = ∏(1 − β_s) and σ_t = √((1 − ᾱ_t)/ᾱ_t), for t = 0 … T−1. */
export interface DiscreteSchedule {
  readonly betas: Float64Array;
  readonly alphasCumprod: Float64Array;
  readonly sigmas: Float64Array;
}

function fromBetas(betas: Float64Array): DiscreteSchedule {
  const T = betas.length;
  const alphasCumprod = new Float64Array(T), sigmas = new Float64Array(T);
  let prod = 1;
  for (let t = 0; t < T; t++) {
    prod *= 1 - betas[t]!;
    alphasCumprod[t] = prod;
    sigmas[t] = Math.sqrt((1 - prod) / prod);
  }
  return { betas, alphasCumprod, sigmas };
}

/** Ho et al. (2020): β linear from 1e-4 to 0.02 over T = 1000 steps. */
export function linearBetaSchedule(T = 1000, betaStart = 1e-4, betaEnd = 0.02): DiscreteSchedule {
  return fromBetas(Float64Array.from({ length: T }, (_, t) => betaStart + (T === 1 ? 0 : t / (T - 1)) * (betaEnd - betaStart)));
}

/**
 * Nichol & Dhariwal (2021), eq. 17: ᾱ(t) = f(t)/f(0), f(t) = cos²(((t/T) + s)/(1 + s)·π/2), s = 0.008,
 * with β_t = 1 − ᾱ(t+1)/ᾱ(t) clipped at 0.999.
 */
export function cosineBetaSchedule(T = 1000, s = 0.008): DiscreteSchedule {
  const f = (t: number) => Math.cos((((t / T) + s) / (1 + s)) * (Math.PI / 2)) ** 2;
  return fromBetas(Float64Array.from({ length: T }, (_, t) => Math.min(0.999, 1 - f(t + 1) / f(t))));
}

/**
 * The σ grid of DDPM/DDIM sampling with `steps` of the schedule's T timesteps, evenly spaced
 * ("trailing" spacing, which includes t = T−1), from noisiest to cleanest, then 0.
 * Returns σ values and the matching integer timesteps.
 */
export function ddpmSigmas(schedule: DiscreteSchedule, steps = schedule.sigmas.length): { sigmas: number[]; timesteps: number[] } {
  const T = schedule.sigmas.length;
  if (!Number.isInteger(steps) || steps < 1 || steps > T) throw new Error(`ddpmSigmas: steps must be an integer in [1, ${T}], got ${steps}`);
  const timesteps = Array.from({ length: steps }, (_, i) => Math.round(T - 1 - (i * T) / steps));
  return { sigmas: [...timesteps.map((t) => schedule.sigmas[t]!), 0], timesteps };
}

/** Continuous timestep of σ on a discrete schedule: interpolation of log σ (k-diffusion's sigma_to_t). */
export function sigmaToT(schedule: DiscreteSchedule, sigma: number): number {
  const ls = Math.log(sigma), s = schedule.sigmas;
  if (ls <= Math.log(s[0]!)) return 0;
  for (let t = 1; t < s.length; t++) {
    const hi = Math.log(s[t]!);
    if (ls <= hi) {
      const lo = Math.log(s[t - 1]!);
      return t - 1 + (ls - lo) / (hi - lo);
    }
  }
  return s.length - 1;
}
