/**
 * Binarised MNIST, as the autoregressive and VAE literature uses it.
 *
 * Two conventions exist and they give different NLLs, so every result names the one it used:
 * - `stochastic`: each pixel is an independent Bernoulli draw with its grey level as the
 *   probability (Salakhutdinov & Murray 2008). Training sets are usually re-binarised every epoch
 *   ("dynamic binarisation"); the test set is binarised once with a fixed seed.
 * - `threshold`: pixel > 0.5 (deterministic; easier, NLLs are not comparable with the above).
 *
 * ```ts
 * const test = await loadMnistLike('mnist', 'test');
 * const xb = binarize(test.images, { mode: 'stochastic', rng: new Generator(0) });  // 0/1 floats
 * ```
 */
import type { Generator } from '../core/random.ts';

export type BinarizeMode = 'stochastic' | 'threshold';

export interface BinarizeOptions {
  mode?: BinarizeMode;
  /** Required for `stochastic`. */
  rng?: Generator;
}

/** Binarises grey levels in [0, 1] into 0/1 floats (a new array). */
export function binarize(images: Float32Array, opts: BinarizeOptions = {}): Float32Array {
  const mode = opts.mode ?? 'stochastic';
  const out = new Float32Array(images.length);
  if (mode === 'threshold') {
    for (let i = 0; i < images.length; i++) out[i] = images[i]! > 0.5 ? 1 : 0;
    return out;
  }
  if (mode !== 'stochastic') throw new Error(`binarize: unknown mode ${JSON.stringify(mode)}: expected 'stochastic' or 'threshold'`);
  if (!opts.rng) throw new Error('binarize: stochastic binarisation needs a Generator (opts.rng)');
  const u = opts.rng.uniform(images.length);
  for (let i = 0; i < images.length; i++) {
    const p = images[i]!;
    if (!(p >= 0 && p <= 1)) throw new Error(`binarize: pixel ${i} is ${p}, expected a grey level in [0, 1]`);
    out[i] = u[i]! < p ? 1 : 0;
  }
  return out;
}
