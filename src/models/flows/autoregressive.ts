/**
 * Autoregressive flows on vectors [N, D], built on MADE (src/nn/made.ts):
 *
 * MAF (Papamakarios, Pavlakou & Murray 2017, Sec. 3.1): x_i = u_i·exp(α_i) + μ_i with
 * (μ_i, α_i) = f(x_{<i}). Density (data → latent) is one MADE pass,
 *   u = (x − μ(x)) ⊙ exp(−α(x)),   log|det ∂u/∂x| = −Σ α_i   (eq. 5);
 * sampling (latent → data) takes D sequential passes.
 *
 * IAF (Kingma, Salimans, Jozefowicz, Chen, Sutskever & Welling 2016, Sec. 4, eq. 10–14) conditions
 * on the latent side instead: x = σ ⊙ z + (1 − σ) ⊙ m with [m, s] = MADE(z), σ = sigmoid(s + b₀)
 * (the gated update, with a forget-gate bias b₀ = 2 so that σ starts near 1). Sampling is one pass
 * and density takes D passes — the trade-off MAF and IAF make in opposite directions (Papamakarios
 * et al. Sec. 3.3).
 */
import type { Tensor, Generator } from '../../core/index.ts';
import { shapeStr } from '../../core/shape.ts';
import { MADE, type MADEOptions } from '../../nn/made.ts';
import { Bijector, type ForwardResult, type InverseResult } from './bijector.ts';

export interface AutoregressiveOptions {
  hidden: readonly number[];
  ordering?: MADEOptions['ordering'];
  hiddenDegrees?: MADEOptions['hiddenDegrees'];
  contextFeatures?: number;
  activation?: MADEOptions['activation'];
  rng: Generator;
  dtype?: 'float32' | 'float64';
}

function checkVec(x: Tensor, D: number, who: string): void {
  if (x.ndim !== 2 || x.shape[1] !== D) throw new Error(`${who}: expected [N, ${D}], got ${shapeStr(x.shape)}`);
}

/** One MAF layer: a MADE with 2 outputs per variable (μ, α), the output layer starting at zero. */
export class MaskedAffineAutoregressive extends Bijector {
  readonly made: MADE;
  constructor(readonly features: number, opts: AutoregressiveOptions) {
    super();
    this.made = new MADE({ ...opts, inFeatures: features, outMultiplier: 2, zeroInitOutput: true });
  }
  private params(x: Tensor, ctx?: Tensor | null): { mu: Tensor; alpha: Tensor } {
    const [mu, alpha] = this.made.forward(x, ctx).reshape([x.shape[0]!, 2, this.features]).unbind(1) as [Tensor, Tensor];
    return { mu, alpha };
  }
  forward(x: Tensor, ctx?: Tensor | null): ForwardResult {
    checkVec(x, this.features, 'MAF');
    const { mu, alpha } = this.params(x, ctx);
    return { y: x.sub(mu).mul(alpha.neg().exp()), logDet: alpha.sum(1).neg() };
  }
  /** D passes: after pass k the first k variables in the ordering are final (Papamakarios et al. Sec. 3.1). */
  inverse(u: Tensor, ctx?: Tensor | null): InverseResult {
    checkVec(u, this.features, 'MAF');
    let x = u;
    let alpha: Tensor = u;
    for (let k = 0; k < this.features; k++) {
      const p = this.params(x, ctx);
      alpha = p.alpha;
      x = u.mul(p.alpha.exp()).add(p.mu);
    }
    return { x, logDet: alpha.sum(1) };
  }
}

/** Kingma et al.'s forget-gate bias: σ = sigmoid(s + 2) ≈ 0.88 at initialisation. */
const IAF_GATE_BIAS = 2;

/** One IAF layer with Kingma et al.'s gated update (see the module comment). */
export class InverseAutoregressive extends Bijector {
  readonly made: MADE;
  constructor(readonly features: number, opts: AutoregressiveOptions) {
    super();
    this.made = new MADE({ ...opts, inFeatures: features, outMultiplier: 2, zeroInitOutput: true });
  }
  private params(z: Tensor, ctx?: Tensor | null): { m: Tensor; logSigma: Tensor } {
    const [m, s] = this.made.forward(z, ctx).reshape([z.shape[0]!, 2, this.features]).unbind(1) as [Tensor, Tensor];
    return { m, logSigma: s.add(IAF_GATE_BIAS).logSigmoid() };
  }
  /** Latent → data in one pass: x = σ ⊙ z + (1 − σ) ⊙ m, log|det ∂x/∂z| = Σ log σ. */
  inverse(z: Tensor, ctx?: Tensor | null): InverseResult {
    checkVec(z, this.features, 'IAF');
    const { m, logSigma } = this.params(z, ctx);
    const sigma = logSigma.exp();
    return { x: sigma.mul(z).add(sigma.rsub(1).mul(m)), logDet: logSigma.sum(1) };
  }
  /** Data → latent in D passes: z = (x − (1 − σ) ⊙ m) / σ, with σ, m from the z found so far. */
  forward(x: Tensor, ctx?: Tensor | null): ForwardResult {
    checkVec(x, this.features, 'IAF');
    let z = x;
    let logSigma: Tensor = x;
    for (let k = 0; k < this.features; k++) {
      const p = this.params(z, ctx);
      logSigma = p.logSigma;
      const sigma = p.logSigma.exp();
      z = x.sub(sigma.rsub(1).mul(p.m)).div(sigma);
    }
    return { y: z, logDet: logSigma.sum(1).neg() };
  }
}
