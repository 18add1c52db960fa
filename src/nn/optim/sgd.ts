/**
 * Stochastic gradient descent with momentum, dampening, Nesterov momentum and L2 weight decay,
 * exactly as torch.optim.SGD: with g the gradient (negated when maximizing),
 *
 *   g ← g + weightDecay·p
 *   buf ← g                              on the first step,
 *   buf ← momentum·buf + (1 − dampening)·g   afterwards
 *   g ← g + momentum·buf  (Nesterov)   or   g ← buf
 *   p ← p − lr·g
 *
 * Nesterov momentum follows Sutskever et al. (2013), "On the importance of initialization and
 * momentum in deep learning".
 */
import type { Tensor } from '../../core/index.ts';
import { Optimizer, type ParamGroup, type ParamsArg, type ParamState, checkHyper } from './optimizer.ts';

export type SGDHyper = {
  /** learning rate (required, as in torch) */
  lr: number;
  /** momentum factor μ; 0 = plain SGD */
  momentum: number;
  /** dampening of the gradient in the momentum buffer */
  dampening: number;
  /** L2 penalty added to the gradient: g + weightDecay·p */
  weightDecay: number;
  /** Nesterov momentum (needs momentum > 0 and dampening = 0) */
  nesterov: boolean;
  /** maximize the objective instead of minimizing it */
  maximize: boolean;
};

export type SGDOptions = Partial<SGDHyper> & { lr: number };

export class SGD extends Optimizer<SGDHyper> {
  constructor(params: ParamsArg<SGDHyper>, opts: SGDOptions) {
    super(params, { momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false, ...opts });
  }

  protected validate(h: SGDHyper): void {
    checkHyper('SGD', 'learning rate', h.lr, h.lr >= 0);
    checkHyper('SGD', 'momentum value', h.momentum, h.momentum >= 0);
    checkHyper('SGD', 'dampening value', h.dampening, true);
    checkHyper('SGD', 'weightDecay value', h.weightDecay, h.weightDecay >= 0);
    if (h.nesterov && (h.momentum <= 0 || h.dampening !== 0)) throw new Error('SGD: Nesterov momentum requires a momentum and zero dampening');
  }

  protected update(p: Tensor, grad: Tensor, group: ParamGroup<SGDHyper>, state: ParamState): void {
    const { lr, momentum, dampening, weightDecay, nesterov, maximize } = group;
    state.step++;
    let d = maximize ? grad.neg() : grad;
    if (weightDecay !== 0) d = d.add(p.mul(weightDecay));
    if (momentum !== 0) {
      const prev = state.get('momentum_buffer');
      const buf = state.set('momentum_buffer', prev ? prev.mul(momentum).add(d.mul(1 - dampening)) : d.clone());
      d = nesterov ? d.add(buf.mul(momentum)) : buf;
    }
    p.assign(p.add(d.mul(-lr)));
  }
}
