/**
 * Latent-space tools for the autoencoder families: encode, decode, and interpolate between two
 * inputs — linearly, or along the great circle (slerp; White 2016, "Sampling generative
 * networks"), which keeps Gaussian latents at a typical norm where the straight line passes
 * through the low-norm centre that a N(0, I) prior rarely produces.
 *
 * ```ts
 * const frames = interpolate(latentCodec(vae), x0, x1, { steps: 8, method: 'slerp' });  // [8, D]
 * ```
 */
import { type Tensor, linspace, noGrad, stack, tensor } from '../../core/index.ts';

/** What an autoencoder offers to the latent tools. */
export interface LatentCodec {
  /** x [N, …] → a deterministic code z [N, …] (a VAE's posterior mean). */
  encode(x: Tensor): Tensor;
  /** z [N, …] → the reconstruction in data space [N, …]. */
  decode(z: Tensor): Tensor;
}

/** (1 − t)·z0 + t·z1 for `steps` values of t from 0 to 1: [steps, ...z0.shape]. */
export function lerp(z0: Tensor, z1: Tensor, steps: number): Tensor {
  const ts = linspace(0, 1, steps).dataSync();
  return stack(Array.from(ts, (t) => z0.mul(1 - t).add(z1.mul(t))), 0);
}

/**
 * Spherical interpolation sin((1 − t)Ω)/sin Ω · z0 + sin(tΩ)/sin Ω · z1, Ω the angle between the
 * two codes (per row of a batch, over the last axis); the linear path where they are parallel.
 */
export function slerp(z0: Tensor, z1: Tensor, steps: number): Tensor {
  const ts = Array.from(linspace(0, 1, steps).dataSync());
  const cos = z0.mul(z1).sum(-1, true).div(z0.square().sum(-1, true).mul(z1.square().sum(-1, true)).sqrt().clamp(1e-12)).clamp(-1, 1);
  const omega = Array.from(cos.dataSync(), Math.acos);
  const weights = (f: (t: number, o: number) => number, t: number) =>
    tensor(omega.map((o) => f(t, o)), { shape: cos.shape, dtype: z0.dtype, backend: z0.backend });
  const w0 = (t: number, o: number) => (Math.sin(o) < 1e-6 ? 1 - t : Math.sin((1 - t) * o) / Math.sin(o));
  const w1 = (t: number, o: number) => (Math.sin(o) < 1e-6 ? t : Math.sin(t * o) / Math.sin(o));
  return stack(ts.map((t) => z0.mul(weights(w0, t)).add(z1.mul(weights(w1, t)))), 0);
}

/**
 * Decoded interpolation between two inputs: encode both, interpolate the codes (`lerp` or
 * `slerp`), decode every step. x0, x1 are single inputs [1, …]; the result is [steps, …].
 */
export function interpolate(codec: LatentCodec, x0: Tensor, x1: Tensor, opts: { steps?: number; method?: 'linear' | 'slerp' } = {}): Tensor {
  const steps = opts.steps ?? 8;
  if (!Number.isInteger(steps) || steps < 2) throw new Error(`interpolate: steps must be an integer ≥ 2, got ${steps}`);
  const method = opts.method ?? 'linear';
  if (method !== 'linear' && method !== 'slerp') throw new Error(`interpolate: method must be 'linear' or 'slerp', got '${String(method)}'`);
  return noGrad(() => {
    const z0 = codec.encode(x0), z1 = codec.encode(x1);
    const zs = (method === 'slerp' ? slerp : lerp)(z0, z1, steps); // [steps, 1, …]
    return codec.decode(zs.reshape([steps * z0.shape[0]!, ...z0.shape.slice(1)]));
  });
}
