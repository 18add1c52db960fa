/**
 * f-divergences for f-GAN (Nowozin, Cseke & Tomioka 2016, "f-GAN: Training Generative Neural
 * Samplers using Variational Divergence Minimization"), as ONE table — Table 2 of the paper
 * (with the generator f, the conjugate f*, the output activation g_f and the domain of f*).
 *
 * For a convex f with f(1) = 0, D_f(P‖Q) = ∫ q(x) f(p(x)/q(x)) dx, and by Fenchel duality
 * (Eq. 4 of the paper, Nguyen et al. 2010)
 *
 *   D_f(P‖Q) ≥ sup_T  E_P[T(x)] − E_Q[f*(T(x))],   f*(t) = sup_u { u·t − f(u) },
 *
 * with equality at T*(x) = f'(p(x)/q(x)). The critic outputs an unconstrained V(x) and
 * T = g_f(V) maps it into the domain of f* (Eq. 6): the saddle objective is
 *
 *   F(θ, ω) = E_P[g_f(V_ω(x))] + E_Q[−f*(g_f(V_ω(x)))].
 *
 * `conjugateOfActivation(v)` = f*(g_f(v)) is written out in a numerically stable form
 * (e.g. softplus(v) − log 2 for Jensen–Shannon) rather than composed.
 */
import type { Tensor } from '../../core/index.ts';

export type DivergenceName = 'kl' | 'reverse-kl' | 'jensen-shannon' | 'pearson' | 'squared-hellinger' | 'total-variation' | 'gan';

/** One row of Table 2 of Nowozin et al. (2016). */
export interface FDivergence {
  readonly name: DivergenceName;
  /** The convex generator f(u), u > 0, with f(1) = 0 (scalars: for checks and numeric integration). */
  f(u: number): number;
  /** Its derivative f'(u): the optimal critic is T*(x) = f'(p(x)/q(x)). */
  fPrime(u: number): number;
  /** The Fenchel conjugate f*(t) on its domain (NaN outside it). */
  conjugate(t: Tensor): Tensor;
  /** Output activation g_f: ℝ → dom f*. */
  activation(v: Tensor): Tensor;
  /** f*(g_f(v)), stable. */
  conjugateOfActivation(v: Tensor): Tensor;
  /** dom f* as an interval (open ends are excluded): [low, high]. */
  readonly domain: readonly [number, number];
  /** The paper's formula strings, for tables and error messages. */
  readonly formula: { f: string; conjugate: string; activation: string };
}

const LOG2 = Math.log(2);

/** Table 2 of Nowozin et al. (2016): f, f*, g_f and dom f* for each divergence. */
export const F_DIVERGENCES: Readonly<Record<DivergenceName, FDivergence>> = Object.freeze({
  'kl': {
    name: 'kl',
    f: (u) => u * Math.log(u),
    fPrime: (u) => 1 + Math.log(u),
    conjugate: (t) => t.sub(1).exp(),
    activation: (v) => v,
    conjugateOfActivation: (v) => v.sub(1).exp(),
    domain: [-Infinity, Infinity],
    formula: { f: 'u log u', conjugate: 'exp(t − 1)', activation: 'v' },
  },
  'reverse-kl': {
    name: 'reverse-kl',
    f: (u) => -Math.log(u),
    fPrime: (u) => -1 / u,
    conjugate: (t) => t.neg().log().neg().sub(1),
    activation: (v) => v.neg().exp().neg(),
    // g_f(v) = −e^{−v}: f*(g_f(v)) = −1 − log e^{−v} = v − 1
    conjugateOfActivation: (v) => v.sub(1),
    domain: [-Infinity, 0],
    formula: { f: '−log u', conjugate: '−1 − log(−t)', activation: '−exp(−v)' },
  },
  'jensen-shannon': {
    name: 'jensen-shannon',
    f: (u) => -(u + 1) * Math.log((1 + u) / 2) + u * Math.log(u),
    fPrime: (u) => Math.log(2 * u / (1 + u)),
    conjugate: (t) => t.exp().neg().add(2).log().neg(),
    activation: (v) => v.neg().softplus().neg().add(LOG2),
    // 2 − exp(g_f(v)) = 2σ(−v): f*(g_f(v)) = softplus(v) − log 2
    conjugateOfActivation: (v) => v.softplus().sub(LOG2),
    domain: [-Infinity, LOG2],
    formula: { f: '−(u + 1) log((1 + u)/2) + u log u', conjugate: '−log(2 − exp(t))', activation: 'log 2 − log(1 + exp(−v))' },
  },
  'pearson': {
    name: 'pearson',
    f: (u) => (u - 1) ** 2,
    fPrime: (u) => 2 * (u - 1),
    conjugate: (t) => t.square().mul(0.25).add(t),
    activation: (v) => v,
    conjugateOfActivation: (v) => v.square().mul(0.25).add(v),
    domain: [-Infinity, Infinity],
    formula: { f: '(u − 1)²', conjugate: 't²/4 + t', activation: 'v' },
  },
  'squared-hellinger': {
    name: 'squared-hellinger',
    f: (u) => (Math.sqrt(u) - 1) ** 2,
    fPrime: (u) => 1 - 1 / Math.sqrt(u),
    conjugate: (t) => t.div(t.neg().add(1)),
    activation: (v) => v.neg().exp().neg().add(1),
    // 1 − g_f(v) = e^{−v}: f*(g_f(v)) = e^{v} − 1
    conjugateOfActivation: (v) => v.exp().sub(1),
    domain: [-Infinity, 1],
    formula: { f: '(√u − 1)²', conjugate: 't/(1 − t)', activation: '1 − exp(−v)' },
  },
  'total-variation': {
    name: 'total-variation',
    f: (u) => 0.5 * Math.abs(u - 1),
    fPrime: (u) => 0.5 * Math.sign(u - 1),
    conjugate: (t) => t,
    activation: (v) => v.tanh().mul(0.5),
    conjugateOfActivation: (v) => v.tanh().mul(0.5),
    domain: [-0.5, 0.5],
    formula: { f: '½|u − 1|', conjugate: 't', activation: '½ tanh(v)' },
  },
  'gan': {
    name: 'gan',
    f: (u) => u * Math.log(u) - (u + 1) * Math.log(u + 1),
    fPrime: (u) => Math.log(u / (u + 1)),
    conjugate: (t) => t.exp().neg().add(1).log().neg(),
    activation: (v) => v.neg().softplus().neg(),
    // 1 − exp(g_f(v)) = σ(−v): f*(g_f(v)) = softplus(v)
    conjugateOfActivation: (v) => v.softplus(),
    domain: [-Infinity, 0],
    formula: { f: 'u log u − (u + 1) log(u + 1)', conjugate: '−log(1 − exp(t))', activation: '−log(1 + exp(−v))' },
  },
});

/** The row of Table 2 called `name`; an unknown name is an error listing the valid ones. */
export function fDivergence(name: string): FDivergence {
  const d = Object.hasOwn(F_DIVERGENCES, name) ? F_DIVERGENCES[name as DivergenceName] : undefined;
  if (!d) throw new Error(`unknown f-divergence '${name}' (expected one of: ${Object.keys(F_DIVERGENCES).join(', ')})`);
  return d;
}

/**
 * The variational lower bound of Eq. 4 estimated on samples: mean g_f(V(x_P)) − mean f*(g_f(V(x_Q))),
 * from the critic's raw outputs on samples of P (`vP`) and of Q (`vQ`). The critic maximises it.
 */
export function variationalBound(div: FDivergence, vP: Tensor, vQ: Tensor): Tensor {
  return div.activation(vP).mean().sub(div.conjugateOfActivation(vQ).mean());
}
