/**
 * FVSBN: the fully visible sigmoid belief network (Neal 1992; Frey 1998), the autoregressive model
 * of binary vectors in which every conditional is a logistic regression on the previous variables:
 *
 *   p(x) = ∏_d p(x_d | x_<d),   p(x_d = 1 | x_<d) = σ(b_d + Σ_{j<d} W_{dj} x_j),
 *
 * i.e. logits = (W ⊙ M) x + b with M strictly lower triangular (Larochelle & Murray 2011, eq. 2;
 * their binarised-MNIST baseline, 97.45 nats). D(D−1)/2 + D parameters.
 *
 * ```ts
 * const m = new FVSBN({ features: 784 });
 * const nll = m.logProb(x01).neg().mean();       // x01: 0/1 floats [N, 784]
 * const s = m.sample(16, new Generator(0));      // [16, 784]
 * ```
 */
import { type Tensor, type Generator, tensor, zeros } from '../../core/index.ts';
import { shapeStr } from '../../core/shape.ts';
import { Module, parameter, buffer } from '../../nn/module.ts';
import * as F from '../../nn/functional.ts';
import { bernoulliLogProb } from '../likelihoods.ts';

export interface FVSBNOptions {
  /** D, the number of binary variables. */
  features: number;
  dtype?: 'float32' | 'float64';
}

/** log p(x) = Σ_d x_d l_d − softplus(l_d) of the conditionals with logits l, summed over the last axis. */
export function binaryLogProb(logits: Tensor, x: Tensor): Tensor {
  return bernoulliLogProb(logits, x).sum(-1);
}

/** Check a batch of binary vectors [N, D]. */
export function checkBinaryBatch(x: Tensor, D: number, who: string): void {
  if (x.ndim !== 2 || x.shape[1] !== D) throw new Error(`${who}: expected binary vectors [N, ${D}], got ${shapeStr(x.shape)}`);
}

export class FVSBN extends Module {
  /** W [D, D]; only the strictly lower triangle is used. Starts at zero (p = ½ everywhere). */
  readonly weight: Tensor;
  readonly bias: Tensor;
  readonly mask: Tensor;
  readonly features: number;

  constructor(opts: FVSBNOptions) {
    super();
    const D = opts.features;
    if (!(Number.isInteger(D) && D >= 1)) throw new Error(`FVSBN: features must be a positive integer, got ${D}`);
    const dtype = opts.dtype ?? 'float32';
    this.weight = parameter(zeros([D, D], { dtype }));
    this.bias = parameter(zeros([D], { dtype }));
    this.mask = buffer(tensor(Float64Array.from({ length: D * D }, (_, i) => (i % D < Math.floor(i / D) ? 1 : 0)), { shape: [D, D], dtype }), { persistent: false });
    this.features = D;
  }

  /** The logits of every conditional p(x_d = 1 | x_<d), [N, D], in one pass. */
  forward(x: Tensor): Tensor {
    checkBinaryBatch(x, this.features, 'FVSBN');
    return F.linear(x, this.weight.mul(this.mask), this.bias);
  }

  /** Exact log p(x) in nats, [N]. */
  logProb(x: Tensor): Tensor {
    return binaryLogProb(this.forward(x), x);
  }

  /** Ancestral sampling x_1, x_2, … (logits / temperature), [n, D] of 0/1. */
  sample(n: number, rng: Generator, opts: { temperature?: number } = {}): Tensor {
    const D = this.features;
    const T = opts.temperature ?? 1;
    const W = this.weight.dataSync(), b = this.bias.dataSync();
    const x = new Float64Array(n * D);
    for (let d = 0; d < D; d++) {
      const u = rng.uniform(n);
      for (let i = 0; i < n; i++) {
        let a = b[d]!;
        for (let j = 0; j < d; j++) a += W[d * D + j]! * x[i * D + j]!;
        x[i * D + d] = u[i]! < 1 / (1 + Math.exp(-a / T)) ? 1 : 0;
      }
    }
    return tensor(x, { shape: [n, D], dtype: this.weight.dtype });
  }
}
