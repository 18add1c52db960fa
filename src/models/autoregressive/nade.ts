/**
 * NADE: the Neural Autoregressive Distribution Estimator (Larochelle & Murray 2011). Every
 * conditional is a one-hidden-layer network, and the hidden layers share their weights:
 *
 *   h_d = σ(a_d),   a_d = c + W[:, <d] x_<d,   p(x_d = 1 | x_<d) = σ(b_d + V_d · h_d)     (eqs. 6–7)
 *
 * so a_{d+1} = a_d + W[:, d] x_d (eq. 9): all D conditionals cost O(DH), not O(D²H). `logProb`
 * computes the recursion for a whole batch as an exclusive cumulative sum over d of x_d W[:, d];
 * `sample` runs it one variable at a time. Published: 88.86 nats on binarised MNIST (H = 500;
 * Larochelle & Murray 2011, Table 2 gives 88.33 after fine-tuning).
 *
 * ```ts
 * const m = new NADE({ features: 784, hidden: 500, rng: new Generator(0) });
 * const nll = m.logProb(x01).neg().mean();
 * ```
 */
import { type Tensor, type Generator, tensor, zeros } from '../../core/index.ts';
import { Module, parameter } from '../../nn/module.ts';
import * as init from '../../nn/init.ts';
import { binaryLogProb, checkBinaryBatch } from './fvsbn.ts';

export interface NADEOptions {
  /** D, the number of binary variables. */
  features: number;
  /** H, hidden units shared by every conditional (the paper: 500). */
  hidden: number;
  rng: Generator;
  dtype?: 'float32' | 'float64';
}

export class NADE extends Module {
  /** W [H, D]: column d is what x_d adds to the hidden pre-activation of every later conditional. */
  readonly W: Tensor;
  /** c [H], the hidden bias (a_1 = c). */
  readonly c: Tensor;
  /** V [D, H], the output weights of each conditional. */
  readonly V: Tensor;
  /** b [D], the output biases. */
  readonly b: Tensor;
  readonly features: number;
  readonly hidden: number;

  constructor(opts: NADEOptions) {
    super();
    const D = opts.features, H = opts.hidden;
    if (!(Number.isInteger(D) && D >= 1)) throw new Error(`NADE: features must be a positive integer, got ${D}`);
    if (!(Number.isInteger(H) && H >= 1)) throw new Error(`NADE: hidden must be a positive integer, got ${H}`);
    const dtype = opts.dtype ?? 'float32';
    const s = 1 / Math.sqrt(D);
    this.W = parameter(init.uniform([H, D], { low: -s, high: s, rng: opts.rng, dtype }));
    this.c = parameter(zeros([H], { dtype }));
    const t = 1 / Math.sqrt(H);
    this.V = parameter(init.uniform([D, H], { low: -t, high: t, rng: opts.rng, dtype }));
    this.b = parameter(zeros([D], { dtype }));
    this.features = D;
    this.hidden = H;
  }

  /** The logits of every conditional p(x_d = 1 | x_<d), [N, D]: eq. 9's recursion as an exclusive cumsum. */
  forward(x: Tensor): Tensor {
    checkBinaryBatch(x, this.features, 'NADE');
    const contrib = x.unsqueeze(2).mul(this.W.mT.unsqueeze(0)); // [N, D, H]: x_d W[:, d]
    const a = contrib.cumsum(1).sub(contrib).add(this.c); //          a_d = c + Σ_{j<d} x_j W[:, j]
    return a.sigmoid().mul(this.V.unsqueeze(0)).sum(2).add(this.b); // b_d + V_d · σ(a_d)
  }

  /** Exact log p(x) in nats, [N]. */
  logProb(x: Tensor): Tensor {
    return binaryLogProb(this.forward(x), x);
  }

  /** Ancestral sampling with the O(DH) recursion a ← a + W[:, d] x_d (logits / temperature), [n, D] of 0/1. */
  sample(n: number, rng: Generator, opts: { temperature?: number } = {}): Tensor {
    const D = this.features, H = this.hidden;
    const T = opts.temperature ?? 1;
    const W = this.W.dataSync(), c = this.c.dataSync(), V = this.V.dataSync(), b = this.b.dataSync();
    const x = new Float64Array(n * D);
    for (let i = 0; i < n; i++) {
      const a = Float64Array.from(c);
      const u = rng.uniform(D);
      for (let d = 0; d < D; d++) {
        let l = b[d]!;
        for (let k = 0; k < H; k++) l += V[d * H + k]! / (1 + Math.exp(-a[k]!));
        const xd = u[d]! < 1 / (1 + Math.exp(-l / T)) ? 1 : 0;
        x[i * D + d] = xd;
        if (xd) for (let k = 0; k < H; k++) a[k]! += W[k * D + d]!;
      }
    }
    return tensor(x, { shape: [n, D], dtype: this.W.dtype });
  }
}
