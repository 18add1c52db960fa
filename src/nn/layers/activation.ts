/** Elementwise activations and dropout, as modules (torch.nn.ReLU, …, torch.nn.Dropout). */
import type { Tensor, Generator } from '../../core/index.ts';
import { Module } from '../module.ts';
import * as F from '../functional.ts';

export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return x.relu();
  }
}

/** max(x, 0) + negativeSlope·min(x, 0) (default slope 0.01). */
export class LeakyReLU extends Module {
  readonly negativeSlope: number;
  constructor(opts: { negativeSlope?: number } = {}) {
    super();
    this.negativeSlope = opts.negativeSlope ?? 0.01;
  }
  forward(x: Tensor): Tensor {
    return x.leakyRelu(this.negativeSlope);
  }
}

/** x for x > 0, alpha·(eˣ − 1) otherwise (Clevert et al. 2016; default alpha 1). */
export class ELU extends Module {
  readonly alpha: number;
  constructor(opts: { alpha?: number } = {}) {
    super();
    this.alpha = opts.alpha ?? 1;
  }
  forward(x: Tensor): Tensor {
    return x.elu(this.alpha);
  }
}

/** x·Φ(x) (Hendrycks & Gimpel 2016), exact or with the tanh approximation. */
export class GELU extends Module {
  readonly approximate: 'none' | 'tanh';
  constructor(opts: { approximate?: 'none' | 'tanh' } = {}) {
    super();
    this.approximate = opts.approximate ?? 'none';
  }
  forward(x: Tensor): Tensor {
    return x.gelu(this.approximate);
  }
}

/** x·σ(x), a.k.a. swish (Elfwing et al. 2018; Ramachandran et al. 2017). */
export class SiLU extends Module {
  forward(x: Tensor): Tensor {
    return x.silu();
  }
}

export class Sigmoid extends Module {
  forward(x: Tensor): Tensor {
    return x.sigmoid();
  }
}

export class Tanh extends Module {
  forward(x: Tensor): Tensor {
    return x.tanh();
  }
}

/** log(1 + e^{βx}) / β, linear where βx > threshold (defaults β = 1, threshold = 20). */
export class Softplus extends Module {
  readonly beta: number;
  readonly threshold: number;
  constructor(opts: { beta?: number; threshold?: number } = {}) {
    super();
    this.beta = opts.beta ?? 1;
    this.threshold = opts.threshold ?? 20;
  }
  forward(x: Tensor): Tensor {
    return x.softplus(this.beta, this.threshold);
  }
}

/** softmax along `dim` (default −1). */
export class Softmax extends Module {
  readonly dim: number;
  constructor(opts: { dim?: number } = {}) {
    super();
    this.dim = opts.dim ?? -1;
  }
  forward(x: Tensor): Tensor {
    return x.softmax(this.dim);
  }
}

/** log-softmax along `dim` (default −1). */
export class LogSoftmax extends Module {
  readonly dim: number;
  constructor(opts: { dim?: number } = {}) {
    super();
    this.dim = opts.dim ?? -1;
  }
  forward(x: Tensor): Tensor {
    return x.logSoftmax(this.dim);
  }
}

/**
 * Inverted dropout (Srivastava et al. 2014): in training, zeroes each element with probability
 * `p` and scales the rest by 1/(1 − p); the identity in evaluation. The Generator is given at
 * construction or to forward (which wins).
 */
export class Dropout extends Module {
  readonly p: number;
  private readonly rng: Generator | undefined;
  constructor(p = 0.5, opts: { rng?: Generator } = {}) {
    super();
    if (!(p >= 0 && p <= 1)) throw new Error(`Dropout: p must be in [0, 1], got ${p}`);
    this.p = p;
    this.rng = opts.rng;
  }
  forward(x: Tensor, opts: { rng?: Generator } = {}): Tensor {
    if (this.training && this.p === 1) return x.mul(0);
    return F.dropout(x, this.p, this.training, opts.rng ?? this.rng);
  }
}
