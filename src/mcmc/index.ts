/** Markov chain Monte Carlo on differentiable log-densities: Langevin (ULA, MALA). */
export { ula, mala, logProbAndGrad, type LogDensity, type LangevinOptions, type LangevinResult } from './langevin.ts';
