/**
 * genlab/diffusion: one framework for diffusion and score models around the Denoiser contract
 * D(x; σ) ≈ E[x₀ | x] (Karras et al. 2022): preconditionings, σ schedules, samplers as pure
 * loops, losses, guidance wrappers, the probability-flow likelihood, the networks, and the
 * `diffusion` family of the model registry.
 */
export * from './denoiser.ts';
export * from './precond.ts';
export * from './schedules.ts';
export * from './samplers.ts';
export * from './losses.ts';
export * from './guidance.ts';
export * from './classifier.ts';
export * from './likelihood.ts';
export * from './family.ts';
export * from './nets/index.ts';
