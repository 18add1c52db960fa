/**
 * Langevin Monte Carlo on any differentiable log-density `logProb: x ↦ [N]` (per-sample log
 * densities, up to a constant, of a batch x [N, ...] of independent chains).
 *
 *   ULA   (unadjusted Langevin algorithm; Roberts & Tweedie 1996, Eq. 1.2 with h = 2ε):
 *           x' = x + ε ∇log π(x) + √(2ε) ξ,   ξ ~ N(0, I)
 *         an Euler–Maruyama step of the Langevin diffusion dX = ∇log π dt + √2 dW: biased by O(ε).
 *   MALA  (Metropolis-adjusted; Roberts & Tweedie 1996, §1.4.2; Besag 1994): the ULA move as a
 *         proposal q(x' | x) = N(x + ε∇log π(x), 2ε I), accepted with probability
 *           α = min(1, π(x') q(x | x') / (π(x) q(x' | x))),
 *         so π is exactly invariant. On a d-dimensional product target the optimal proposal variance
 *         2ε = ℓ²·d^(−1/3) gives acceptance ≈ 0.574 (Roberts & Rosenthal 1998).
 *
 * Every step runs in a memory scope; the chains are independent, so the gradient of Σ log π(xᵢ)
 * with respect to the batch is each chain's own ∇log π.
 */
import { type Tensor, type Generator, autogradGrad, enableGrad, keep, noGrad, randn, rand, scope, where } from '../core/index.ts';

/** Per-sample log density (up to a constant) of a batch: x [N, ...] → [N]. */
export type LogDensity = (x: Tensor) => Tensor;

export interface LangevinOptions {
  /** ε: the drift step; the noise has variance 2ε. */
  stepSize: number;
  /** Number of steps. */
  steps: number;
  rng: Generator;
  /** Keep the chains inside [low, high] after each ULA step (e.g. images in [−1, 1]); none by default. */
  clamp?: readonly [number, number];
  /** Called after each step with the current states (valid during the call only). */
  onStep?: (info: { step: number; total: number; x: Tensor }) => void;
}

export interface LangevinResult {
  /** The chains' final states, [N, ...]. */
  samples: Tensor;
  /** Mean acceptance probability over chains and steps (1 for ULA). */
  acceptanceRate: number;
}

function checkOptions(o: LangevinOptions, who: string): void {
  if (!(o.stepSize > 0 && Number.isFinite(o.stepSize))) throw new Error(`${who}: stepSize must be a positive number, got ${o.stepSize}`);
  if (!Number.isInteger(o.steps) || o.steps < 0) throw new Error(`${who}: steps must be a non-negative integer, got ${o.steps}`);
}

/** log π(x) and ∇log π(x), both detached. */
export function logProbAndGrad(logProb: LogDensity, x: Tensor): { logp: Tensor; grad: Tensor } {
  return enableGrad(() => {
    const xl = x.detach();
    xl.requiresGrad = true;
    const lp = logProb(xl);
    if (lp.ndim !== 1 || lp.shape[0] !== x.shape[0]) throw new Error(`langevin: logProb must return one log density per sample, shape [${x.shape[0]}], got [${lp.shape.join(', ')}]`);
    const [g] = autogradGrad(lp.sum(), [xl]);
    return { logp: lp.detach(), grad: g!.detach() };
  });
}

/** The unadjusted Langevin algorithm: `steps` Euler–Maruyama steps from x0 (chains in the batch). */
export function ula(logProb: LogDensity, x0: Tensor, o: LangevinOptions): LangevinResult {
  checkOptions(o, 'ula');
  let x = keep(x0.detach().clone());
  const noise = Math.sqrt(2 * o.stepSize);
  for (let t = 0; t < o.steps; t++) {
    const next = scope(() => {
      const { grad } = logProbAndGrad(logProb, x);
      // Euler–Maruyama step of dX = ∇log π dt + √2 dW
      let y = noGrad(() => x.add(grad.mul(o.stepSize)).add(randn(x.shape, { rng: o.rng, dtype: x.dtype, backend: x.backend }).mul(noise)));
      if (o.clamp) y = y.clamp(o.clamp[0], o.clamp[1]);
      return keep(y);
    });
    x.dispose();
    x = next;
    o.onStep?.({ step: t + 1, total: o.steps, x });
  }
  return { samples: release(x), acceptanceRate: 1 };
}

/** A kept loop state as a tensor owned by the caller's scope (the chain loop keeps its state out of step scopes). */
function release(x: Tensor): Tensor {
  const out = x.detach();
  x.dispose();
  return out;
}

/** Σ over all but the first axis. */
const sumRest = (t: Tensor) => (t.ndim === 1 ? t : t.reshape([t.shape[0]!, -1]).sum(1));

/** The Metropolis-adjusted Langevin algorithm: ULA proposals with a Metropolis–Hastings correction. */
export function mala(logProb: LogDensity, x0: Tensor, o: LangevinOptions): LangevinResult {
  checkOptions(o, 'mala');
  const eps = o.stepSize, noise = Math.sqrt(2 * eps);
  let x = keep(x0.detach().clone());
  let cur = scope(() => {
    const r = logProbAndGrad(logProb, x);
    return { logp: keep(r.logp), grad: keep(r.grad) };
  });
  let accepted = 0;
  const n = x.shape[0]!;
  // log q(b | a) = −‖b − a − ε∇log π(a)‖² / (4ε) + const
  const logQ = (b: Tensor, a: Tensor, gradA: Tensor) => sumRest(b.sub(a).sub(gradA.mul(eps)).square()).mul(-1 / (4 * eps));
  for (let t = 0; t < o.steps; t++) {
    const step = scope(() => {
      // proposal: one ULA move
      const y = noGrad(() => x.add(cur.grad.mul(eps)).add(randn(x.shape, { rng: o.rng, dtype: x.dtype, backend: x.backend }).mul(noise)));
      const prop = logProbAndGrad(logProb, y);
      return noGrad(() => {
        // Metropolis–Hastings ratio
        const logAlpha = prop.logp.sub(cur.logp).add(logQ(x, y, prop.grad)).sub(logQ(y, x, cur.grad)).clamp(null, 0);
        const alpha = logAlpha.exp();
        const u = rand([n], { rng: o.rng, dtype: 'float32', backend: x.backend });
        const acc = u.lt(alpha.float());
        const accB = acc.reshape([n, ...x.shape.slice(1).map(() => 1)]);
        return {
          x: keep(where(accB, y, x)),
          logp: keep(where(acc, prop.logp, cur.logp)),
          grad: keep(where(accB, prop.grad, cur.grad)),
          alphaSum: alpha.sum().itemSync(),
        };
      });
    });
    accepted += step.alphaSum;
    x.dispose();
    cur.logp.dispose();
    cur.grad.dispose();
    x = step.x;
    cur = { logp: step.logp, grad: step.grad };
    o.onStep?.({ step: t + 1, total: o.steps, x });
  }
  cur.logp.dispose();
  cur.grad.dispose();
  return { samples: release(x), acceptanceRate: o.steps > 0 ? accepted / (o.steps * n) : 1 };
}
