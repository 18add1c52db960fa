/**
 * Guidance as Denoiser → Denoiser wrappers (never sampler flags).
 */
import { type Tensor, concat, full, enableGrad, autogradGrad } from '../../core/index.ts';
import { type Denoiser, sigmaView } from './denoiser.ts';

/**
 * Classifier-free guidance (Ho & Salimans 2022): D̃ = D(x; σ, ∅) + s·(D(x; σ, c) − D(x; σ, ∅)).
 * `scale` s = 1 is the conditional model, s = 1 + w in the paper's ε̃ = (1 + w)ε_c − wε_∅.
 * Both branches go through the network as one batch. Without labels, the plain denoiser runs.
 */
export function classifierFree(denoise: Denoiser, scale: number, nullClass = -1): Denoiser {
  return (x, sigma, cond) => {
    if (!cond?.classes || scale === 1) return denoise(x, sigma, cond);
    const n = x.shape[0]!;
    const nulls = full([n], nullClass, { dtype: 'int32', backend: x.backend });
    const both = denoise(concat([x, x]), concat([sigma, sigma]), { ...cond, classes: concat([cond.classes, nulls]) });
    const c = both.slice(0, 0, n), u = both.slice(0, n, 2 * n);
    return u.add(c.sub(u).mul(scale));
  };
}

/**
 * Classifier guidance (Dhariwal & Nichol 2021): the score gains s·∇ₓ log p_φ(y | x, σ) from a
 * noise-conditional classifier, i.e. D̃ = D + s·σ²·∇ₓ log p_φ(y | x, σ). `classifier(x, σ)` returns
 * logits [N, K]; the gradient is taken even inside a sampler's noGrad.
 */
export function classifierGuidance(denoise: Denoiser, classifier: (x: Tensor, sigma: Tensor) => Tensor, scale: number): Denoiser {
  return (x, sigma, cond) => {
    const d = denoise(x, sigma, cond);
    if (!cond?.classes || scale === 0) return d;
    const g = enableGrad(() => {
      const xi = x.detach().requiresGrad_();
      const logp = classifier(xi, sigma).logSoftmax(-1).gather(1, cond.classes!.unsqueeze(1)).sum();
      return autogradGrad(logp, [xi])[0]!;
    });
    return d.add(g.mul(sigmaView(sigma, x).square()).mul(scale));
  };
}
