/**
 * The one contract of the diffusion framework (Karras et al. 2022, "EDM"): a denoiser
 * D(x; σ) ≈ E[x₀ | x] for x = x₀ + σ·ε. Every parameterisation (VP/DDPM, VE/SMLD, EDM, v-prediction,
 * flow matching) is a preconditioning wrapper producing one; every sampler drives one and never
 * knows which. σ is a tensor of shape [N] (one per example) or a number.
 */
import type { Tensor } from '../../core/index.ts';

/** Conditioning passed through to the network: class labels, and room for more. */
export interface Cond {
  /** int32 class labels [N]; -1 (or the model's null class) means unconditional. */
  classes?: Tensor;
}

export type Denoiser = (x: Tensor, sigma: Tensor, cond?: Cond) => Tensor;

/** The network inside a preconditioning wrapper: F(c_in·x, c_noise, cond). */
export type NoiseNet = (x: Tensor, cNoise: Tensor, cond?: Cond) => Tensor;

/** σ as a per-example tensor broadcastable against x ([N, 1, …, 1]). */
export function sigmaView(sigma: Tensor, x: Tensor): Tensor {
  if (sigma.ndim === 0) return sigma.reshape(x.shape.map(() => 1));
  if (sigma.ndim !== 1 || sigma.shape[0] !== x.shape[0]) {
    throw new Error(`denoiser: sigma of shape [${sigma.shape.join(', ')}] does not match a batch of ${x.shape[0]} (expected [N] or a scalar)`);
  }
  return sigma.reshape([x.shape[0]!, ...x.shape.slice(1).map(() => 1)]);
}

/** The ODE derivative dx/dσ = (x − D(x; σ))/σ of the probability-flow ODE (k-diffusion's `to_d`). */
export function toD(x: Tensor, sigma: Tensor, denoised: Tensor): Tensor {
  return x.sub(denoised).div(sigmaView(sigma, x));
}
