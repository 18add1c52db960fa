/** Autoencoders: AE (plain, denoising, sparse), VAE / β-VAE / IWAE, VQ-VAE and VQ-VAE-2, latent tools, registry families. */
export { VAE, mlp, gaussianKL, diagGaussianLogProb, standardNormalLogProb, betaVaeLoss, capacityAt, type VAEOptions, type ElboTerms, type CapacitySchedule, type Activation, type Likelihood } from './vae.ts';
export { Autoencoder, sparsityPenalty, corrupt, type AEOptions, type AELoss, type Corruption } from './ae.ts';
export { VectorQuantizer, VQVAE, VQVAE2, ResBlock, statsOf, type QuantizerOptions, type QuantizerOutput, type VQVAEOptions, type VQVAEOutput } from './vqvae.ts';
export { lerp, slerp, interpolate, type LatentCodec } from './latent.ts';
export { ae, vae, vqvae, vaeFamilies, VQVAEWithPrior, type AEConfig, type VAEConfig, type VAEModel, type VQVAEConfig } from './family.ts';
