/**
 * Adam (Kingma & Ba 2015, "Adam: A method for stochastic optimization", Algorithm 1) and AdamW
 * (Loshchilov & Hutter 2019, "Decoupled weight decay regularization"), exactly as torch.optim's
 * single-tensor implementations. With g the gradient (negated when maximizing) and t the step:
 *
 *   Adam:  g ← g + weightDecay·p          AdamW:  p ← p − lr·weightDecay·p
 *   m ← β₁·m + (1 − β₁)·g
 *   v ← β₂·v + (1 − β₂)·g²
 *   v̂max ← max(v̂max, v)   (AMSGrad, Reddi et al. 2018; used in place of v below)
 *   p ← p − lr/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + eps)
 *
 * State names are torch's: `exp_avg`, `exp_avg_sq`, `max_exp_avg_sq`.
 */
import { type Tensor, zerosLike } from '../../core/index.ts';
import { fusedAdamStep } from '../../core/tensor.ts';
import { Optimizer, type ParamGroup, type ParamsArg, type ParamState, checkHyper } from './optimizer.ts';

export type AdamHyper = {
  /** learning rate */
  lr: number;
  /** decay rates of the first and second moment estimates */
  betas: readonly [number, number];
  /** added to the denominator for numerical stability */
  eps: number;
  /** Adam: L2 penalty added to the gradient; AdamW: decoupled decay rate of the weights */
  weightDecay: number;
  /** use the running maximum of the second moment (AMSGrad) */
  amsgrad: boolean;
  /** maximize the objective instead of minimizing it */
  maximize: boolean;
};

export type AdamOptions = Partial<AdamHyper>;

export class Adam extends Optimizer<AdamHyper> {
  /** AdamW's decoupled weight decay instead of Adam's L2 penalty. */
  protected readonly decoupled: boolean = false;

  constructor(params: ParamsArg<AdamHyper>, opts: AdamOptions = {}) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, maximize: false, ...opts });
  }

  protected validate(h: AdamHyper): void {
    const cls = this.constructor.name;
    checkHyper(cls, 'learning rate', h.lr, h.lr >= 0);
    checkHyper(cls, 'epsilon value', h.eps, h.eps >= 0);
    if (!Array.isArray(h.betas) || h.betas.length !== 2) throw new Error(`${cls}: betas must be a pair [beta1, beta2]`);
    checkHyper(cls, 'beta parameter at index 0', h.betas[0], h.betas[0] >= 0 && h.betas[0] < 1);
    checkHyper(cls, 'beta parameter at index 1', h.betas[1], h.betas[1] >= 0 && h.betas[1] < 1);
    checkHyper(cls, 'weightDecay value', h.weightDecay, h.weightDecay >= 0);
  }

  protected update(p: Tensor, grad: Tensor, group: ParamGroup<AdamHyper>, state: ParamState): void {
    const { lr, betas: [beta1, beta2], eps, weightDecay, amsgrad, maximize } = group;
    const t = ++state.step;
    const m0 = state.get('exp_avg') ?? state.set('exp_avg', zerosLike(p));
    const v0 = state.get('exp_avg_sq') ?? state.set('exp_avg_sq', zerosLike(p));
    const biasCorrection1 = 1 - beta1 ** t;
    const biasCorrection2Sqrt = Math.sqrt(1 - beta2 ** t);
    const stepSize = lr / biasCorrection1;

    // One pass where the backend has the fused kernel (the same update, in the same order)
    if (!amsgrad) {
      const fused = fusedAdamStep(p, grad, m0, v0, { beta1, beta2, eps, weightDecay, decoupled: this.decoupled, maximize, lr, stepSize, biasCorrection2Sqrt });
      if (fused) {
        p.assign(fused[0]);
        state.set('exp_avg', fused[1]);
        state.set('exp_avg_sq', fused[2]);
        return;
      }
    }

    let g = maximize ? grad.neg() : grad;
    if (this.decoupled) {
      // Decoupled weight decay
      if (weightDecay !== 0) p.assign(p.mul(1 - lr * weightDecay));
    } else if (weightDecay !== 0) g = g.add(p.mul(weightDecay));

    // Moment estimates
    const m = state.set('exp_avg', m0.mul(beta1).add(g.mul(1 - beta1)));
    let v = state.set('exp_avg_sq', v0.mul(beta2).add(g.mul(g).mul(1 - beta2)));
    if (amsgrad) {
      const vmax = state.get('max_exp_avg_sq') ?? state.set('max_exp_avg_sq', zerosLike(p));
      v = state.set('max_exp_avg_sq', vmax.maximum(v));
    }

    // Bias-corrected step
    const denom = v.sqrt().div(biasCorrection2Sqrt).add(eps);
    p.assign(p.add(m.div(denom).mul(-stepSize)));
  }
}

/** AdamW: Adam with decoupled weight decay (default weightDecay 1e-2, as torch). */
export class AdamW extends Adam {
  protected override readonly decoupled: boolean = true;

  constructor(params: ParamsArg<AdamHyper>, opts: AdamOptions = {}) {
    super(params, { weightDecay: 1e-2, ...opts });
  }
}
