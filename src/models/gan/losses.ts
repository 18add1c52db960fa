/**
 * Adversarial objectives, each as a pair (discriminator loss, generator loss) on the critic's raw
 * outputs for real data (`real`) and generated data (`fake`), both [N] or [N, 1]; every loss is a
 * mean over the batch, to be minimised.
 *
 *   minimax   Goodfellow et al. (2014), Eq. 1: D maximises log D(x) + log(1 − D(G(z))), D = σ(v);
 *             G minimises log(1 − D(G(z))) = −softplus(v_fake)
 *   ns        the same D; G maximises log D(G(z)) instead (§3, "non-saturating"): softplus(−v_fake)
 *   wgan      Arjovsky, Chintala & Bottou (2017): D (the critic) maximises E[v_real] − E[v_fake]
 *             under a Lipschitz constraint — weight clipping (`clipWeights`) — G minimises −E[v_fake]
 *   wgan-gp   Gulrajani et al. (2017), Algorithm 1: the WGAN losses + λ·E[(‖∇_x̂ D(x̂)‖₂ − 1)²] on
 *             random interpolates x̂ = εx + (1 − ε)x̃ (`gradientPenalty`)
 *   hinge     Lim & Ye (2017); Miyato et al. (2018): D: E[relu(1 − v_real)] + E[relu(1 + v_fake)], G: −E[v_fake]
 *   lsgan     Mao et al. (2017), Eq. 9 with a = 0, b = c = 1: D: ½E[(v_real − 1)²] + ½E[v_fake²], G: ½E[(v_fake − 1)²]
 *   f-gan     Nowozin et al. (2016), Eq. 6: D maximises E_P[g_f(v_real)] − E_Q[f*(g_f(v_fake))];
 *             G maximises E_Q[g_f(v_fake)] (the paper's §3.2 alternative), see divergences.ts
 */
import { type Tensor, type Generator, autogradGrad, enableGrad, isGradEnabled, rand, noGrad, scope } from '../../core/index.ts';
import { type FDivergence, variationalBound } from './divergences.ts';

export type GanLossName = 'minimax' | 'ns' | 'wgan' | 'wgan-gp' | 'hinge' | 'lsgan' | 'f-gan';
export const GAN_LOSSES: readonly GanLossName[] = ['ns', 'minimax', 'wgan', 'wgan-gp', 'hinge', 'lsgan', 'f-gan'];

const flat = (v: Tensor) => (v.ndim === 1 ? v : v.reshape([v.shape[0]!]));

/** The discriminator's (critic's) loss, to be minimised. `div` is needed for 'f-gan'. */
export function discriminatorLoss(kind: GanLossName, real: Tensor, fake: Tensor, div?: FDivergence): Tensor {
  const r = flat(real), f = flat(fake);
  switch (kind) {
    case 'minimax':
    case 'ns':
      // −log σ(v_real) − log(1 − σ(v_fake))
      return r.neg().softplus().mean().add(f.softplus().mean());
    case 'wgan':
    case 'wgan-gp':
      return f.mean().sub(r.mean());
    case 'hinge':
      return r.neg().add(1).relu().mean().add(f.add(1).relu().mean());
    case 'lsgan':
      return r.sub(1).square().mean().mul(0.5).add(f.square().mean().mul(0.5));
    case 'f-gan':
      if (!div) throw new Error("discriminatorLoss: loss 'f-gan' needs a divergence");
      return variationalBound(div, r, f).neg();
  }
}

/** The generator's loss, to be minimised, from the critic's outputs on generated data. */
export function generatorLoss(kind: GanLossName, fake: Tensor, div?: FDivergence): Tensor {
  const f = flat(fake);
  switch (kind) {
    case 'minimax':
      return f.softplus().neg().mean();
    case 'ns':
      return f.neg().softplus().mean();
    case 'wgan':
    case 'wgan-gp':
    case 'hinge':
      return f.mean().neg();
    case 'lsgan':
      return f.sub(1).square().mean().mul(0.5);
    case 'f-gan':
      if (!div) throw new Error("generatorLoss: loss 'f-gan' needs a divergence");
      return div.activation(f).mean().neg();
  }
}

/**
 * The gradient penalty of WGAN-GP (Gulrajani et al. 2017, Eq. 3): λ·E[(‖∇_x̂ D(x̂)‖₂ − 1)²] with
 * x̂ = εx + (1 − ε)x̃, ε ~ U[0, 1] per example (or the given `eps`, shape [N]). The gradient is
 * taken with createGraph, so the penalty trains D through it (double backward).
 */
export function gradientPenalty(critic: (x: Tensor) => Tensor, real: Tensor, fake: Tensor, opts: { rng?: Generator; eps?: Tensor; weight?: number } = {}): Tensor {
  const n = real.shape[0]!;
  const isGradEnabledOutside = isGradEnabled();
  const bshape = [n, ...real.shape.slice(1).map(() => 1)];
  let eps: Tensor;
  if (opts.eps) eps = opts.eps.reshape(bshape);
  else if (opts.rng) eps = rand(bshape, { rng: opts.rng, dtype: real.dtype, backend: real.backend });
  else throw new Error('gradientPenalty: pass rng (to draw ε) or eps');
  const xHat = real.detach().mul(eps).add(fake.detach().mul(eps.neg().add(1))).detach();
  xHat.requiresGrad = true;
  // the gradient at x̂ needs a graph even when the caller evaluates under noGrad
  const [g] = enableGrad(() => autogradGrad(critic(xHat).sum(), [xHat], { createGraph: isGradEnabledOutside }));
  const norm = g!.reshape([n, -1]).square().sum(1).add(1e-12).sqrt();
  return norm.sub(1).square().mean().mul(opts.weight ?? 10);
}

/** WGAN's weight clipping (Arjovsky et al. 2017, Algorithm 1): clamp every parameter to [−c, c] in place. */
export function clipWeights(params: readonly Tensor[], c: number): void {
  scope(() => noGrad(() => {
    for (const p of params) p.assign(p.clamp(-c, c));
  }));
}
