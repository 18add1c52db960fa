/**
 * Exact log-likelihood through the probability-flow ODE (Song et al. 2021, §4.3 and App. D.2):
 * with f(x, σ) = dx/dσ = (x − D(x; σ))/σ, log p_{σmin}(x) = log p_{σmax}(x(σmax)) + ∫ ∇·f dσ,
 * integrating [x, ∫∇·f] from σmin (the data) to σmax with Dormand–Prince. The divergence is exact
 * (one vector-Jacobian product per dimension) for low dimension, else the Hutchinson–Skilling
 * estimator εᵀ(∂f/∂x)ε with one ε fixed along the trajectory (Grathwohl et al. 2019).
 */
import { type Tensor, type Generator, full, randnLike, rand, enableGrad, autogradGrad, noGrad, tensor } from '../../core/index.ts';
import { type Denoiser, type Cond, toD } from './denoiser.ts';
import { odeintDopri5 } from '../ode.ts';
import { bitsPerDim } from '../../metrics/likelihood.ts';

export interface OdeLikelihoodOptions {
  sigmaMin: number;
  sigmaMax: number;
  cond?: Cond;
  /** Exact divergence (default when the per-example dimension ≤ 16), or Hutchinson with this probe. */
  divergence?: 'exact' | 'rademacher' | 'gaussian';
  /** Needed for the Hutchinson probes. */
  rng?: Generator;
  rtol?: number;
  atol?: number;
  /** log p_{σmax}(x); default N(0, (σmax² + priorDataVariance)·I). */
  prior?: (x: Tensor) => Tensor;
  /** Data variance folded into the default prior (0 by default: the VE convention of N(0, σmax²I)). */
  priorDataVariance?: number;
}

/** Divergence of f at (x, σ): exact by D vjps, or εᵀJε. Returns [N]. */
function divergence(f: (x: Tensor) => Tensor, x: Tensor, probe: Tensor | null): { fx: Tensor; div: Tensor } {
  return enableGrad(() => {
    const xi = x.detach().requiresGrad_();
    const fx = f(xi);
    const n = x.shape[0]!, D = x.size / n;
    if (probe) {
      const vjp = autogradGrad(fx, [xi], { gradOutputs: [probe] })[0]!;
      return { fx: fx.detach(), div: vjp.mul(probe).reshape([n, -1]).sum(1) };
    }
    let div: Tensor = full([n], 0, { backend: x.backend, dtype: x.dtype });
    for (let j = 0; j < D; j++) {
      const e = full([D], 0, { backend: x.backend, dtype: x.dtype });
      const onehot = e.add(tensor(Array.from({ length: D }, (_, k) => (k === j ? 1 : 0)), { backend: x.backend, dtype: x.dtype })).reshape([1, ...x.shape.slice(1)]).expand(x.shape);
      const g = autogradGrad(fx, [xi], { gradOutputs: [onehot], retainGraph: j < D - 1 })[0]!;
      div = div.add(g.reshape([n, D]).index(null, [j, j + 1]).reshape([n]));
    }
    return { fx: fx.detach(), div };
  });
}

/** Per-example log p(x) in nats (at σmin) and the solver's NFE. */
export function odeLogLikelihood(denoise: Denoiser, x: Tensor, opts: OdeLikelihoodOptions): { logLik: Tensor; nfe: number } {
  const n = x.shape[0]!, D = x.size / n;
  const mode = opts.divergence ?? (D <= 16 ? 'exact' : 'rademacher');
  let probe: Tensor | null = null;
  if (mode !== 'exact') {
    if (!opts.rng) throw new Error('odeLogLikelihood: the Hutchinson estimator needs { rng }');
    probe = mode === 'gaussian' ? randnLike(x, { rng: opts.rng }) : rand(x.shape, { rng: opts.rng, backend: x.backend }).lt(0.5).cast(x.dtype).mul(2).sub(1);
  }
  const sig = (s: number) => full([n], s, { backend: x.backend, dtype: x.dtype });
  const fOf = (s: number) => (xi: Tensor) => toD(xi, sig(s), denoise(xi, sig(s), opts.cond));
  const r = odeintDopri5((s, [xs]) => {
    const { fx, div } = divergence(fOf(s), xs!, probe);
    return [fx, div];
  }, [x, full([n], 0, { backend: x.backend, dtype: x.dtype })], opts.sigmaMin, opts.sigmaMax, { rtol: opts.rtol ?? 1e-5, atol: opts.atol ?? 1e-5 });
  const [xT, delta] = r.y as [Tensor, Tensor];
  const logPrior = noGrad(() => {
    if (opts.prior) return opts.prior(xT);
    const v = opts.sigmaMax ** 2 + (opts.priorDataVariance ?? 0);
    return xT.square().reshape([n, -1]).sum(1).mul(-0.5 / v).sub(0.5 * D * Math.log(2 * Math.PI * v));
  });
  return { logLik: logPrior.add(delta), nfe: r.nfe };
}

/**
 * Bits per dimension of 8-bit data scaled to [−1, 1] from a continuous log-density of the
 * (uniformly dequantised) data: bpd = (−log p(x)/D + log 128)/ln 2 — the canonical
 * `metrics.bitsPerDim` with the [−1, 1] range.
 */
export function bitsPerDimFromLogLik(logLik: Tensor, dimsPerExample: number): Tensor {
  return bitsPerDim(logLik, dimsPerExample, { range: [-1, 1] });
}
