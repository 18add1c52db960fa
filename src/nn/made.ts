/**
 * MADE: Masked Autoencoder for Distribution Estimation (Germain, Gregor, Murray & Larochelle 2015).
 * A fully connected network whose weight matrices are multiplied by binary masks so that output d
 * depends only on the inputs that come before d in a chosen ordering — one pass gives every
 * conditional of an autoregressive model. Used by MAF/IAF (src/models/flows) and by autoregressive
 * models of discrete data (an output multiplier of K gives K logits per dimension).
 *
 * Degrees (Germain et al. Sec. 4): input d has degree m⁰(d) ∈ {1…D}, its position in the ordering;
 * hidden unit k of layer l has a degree mˡ(k) ∈ {1…D−1} ({0…D−1} with a context). The masks are
 *   hidden:  Mˡ[k, k′] = 1[mˡ(k) ≥ mˡ⁻¹(k′)]   (eq. 12),
 *   output:  Mᴼ[d, k]  = 1[m⁰(d) > mᴸ(k)]     (eq. 13),
 * so output d sees exactly the inputs of smaller degree. A context (conditioning vector) feeds
 * every first-layer hidden unit without a mask (conditional MADE, as in MAF Sec. 3.4); it counts
 * as inputs of degree 0, so hidden units of degree 0 (which see only the context) carry it to
 * every output, the first in the ordering included.
 *
 * Output layout: [N, K·D] in K blocks of D, i.e. `reshape([N, K, D])` gives out[:, j, d], the j-th
 * output for dimension d (Karpathy's pytorch-made layout).
 *
 * ```ts
 * const made = new MADE({ inFeatures: 3, hidden: [16, 16], outMultiplier: 2, rng: new Generator(0) });
 * const [mu, logScale] = made.forward(x).reshape([-1, 2, 3]).unbind(1); // each depends on x_<d only
 * ```
 */
import { type Tensor, type Generator, tensor, noGrad } from '../core/index.ts';
import { shapeStr } from '../core/shape.ts';
import { Module, buffer } from './module.ts';
import { Linear } from './layers/linear.ts';
import { ModuleList } from './layers/container.ts';
import * as F from './functional.ts';
import * as init from './init.ts';

/** A Linear layer whose weight is multiplied by a fixed binary mask [out, in] (a persistent buffer). */
export class MaskedLinear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly mask: Tensor;
  constructor(inFeatures: number, outFeatures: number, mask: Tensor, opts: { rng: Generator; dtype?: 'float32' | 'float64'; bias?: boolean }) {
    super();
    if (mask.ndim !== 2 || mask.shape[0] !== outFeatures || mask.shape[1] !== inFeatures) throw new Error(`MaskedLinear: mask ${shapeStr(mask.shape)} does not fit [${outFeatures}, ${inFeatures}]`);
    const lin = new Linear(inFeatures, outFeatures, { rng: opts.rng, dtype: opts.dtype, bias: opts.bias });
    this.weight = lin.weight;
    this.bias = lin.bias;
    this.mask = buffer(mask.cast(this.weight.dtype));
  }
  forward(x: Tensor): Tensor {
    return F.linear(x, this.weight.mul(this.mask), this.bias);
  }
}

export type MadeActivation = 'relu' | 'tanh' | 'elu' | 'silu';

export interface MADEOptions {
  /** D, the number of variables. */
  inFeatures: number;
  /** Hidden layer sizes (each ≥ D − 1 so that every conditional can be expressed). */
  hidden: readonly number[];
  /** K outputs per variable (default 1): 2 for an affine MAF (μ, log σ), K logits for a categorical. */
  outMultiplier?: number;
  /**
   * The order in which variables are generated: 'natural' (0, 1, …), 'reverse', 'random' (drawn from
   * rng), or an explicit list of variable indices in generation order (default 'natural').
   */
  ordering?: 'natural' | 'reverse' | 'random' | readonly number[];
  /**
   * Hidden degrees: 'sequential' cycles 1…D−1 (deterministic, every degree present when the layer has
   * ≥ D − 1 units), 'random' draws mˡ(k) uniformly from {min mˡ⁻¹, …, D−1} (Germain et al. Sec. 4).
   */
  hiddenDegrees?: 'sequential' | 'random';
  /** Features of a conditioning context fed to the first hidden layer (default 0). */
  contextFeatures?: number;
  activation?: MadeActivation;
  /** Initialise the output layer to zeros (the flow starts as the identity). Default false. */
  zeroInitOutput?: boolean;
  rng: Generator;
  dtype?: 'float32' | 'float64';
}

/** Generation order → degree of each input (1-based positions), checking it is a permutation. */
function inputDegrees(D: number, ordering: MADEOptions['ordering'], rng: Generator): Int32Array {
  let order: ArrayLike<number>;
  if (ordering === undefined || ordering === 'natural') order = Int32Array.from({ length: D }, (_, i) => i);
  else if (ordering === 'reverse') order = Int32Array.from({ length: D }, (_, i) => D - 1 - i);
  else if (ordering === 'random') order = rng.permutation(D);
  else order = ordering;
  if (order.length !== D || new Set(Array.from(order)).size !== D || Array.from(order).some((v) => !Number.isInteger(v) || v < 0 || v >= D)) {
    throw new Error(`MADE: ordering [${Array.from(order).join(', ')}] is not a permutation of 0…${D - 1}`);
  }
  const deg = new Int32Array(D);
  for (let k = 0; k < D; k++) deg[order[k]!] = k + 1;
  return deg;
}

/**
 * The degrees and masks of a MADE (Germain et al. eqs. 12–13): m0 (input degrees) and one mask
 * per layer ([out, in], the output layer's last), drawing from rng in the order: ordering, then
 * each hidden layer's degrees.
 */
function madeMasks(D: number, K: number, hidden: readonly number[], c: number, ordering: MADEOptions['ordering'], hiddenDegrees: MADEOptions['hiddenDegrees'], rng: Generator, dtype: 'float32' | 'float64'): { m0: Int32Array; masks: Tensor[] } {
  const m0 = inputDegrees(D, ordering, rng);
  const degrees: Int32Array[] = [m0];
  // A context acts as inputs of degree 0: hidden units of degree 0 see only the context, so it
  // reaches every output, the first in the ordering included.
  const minDeg = c > 0 ? 0 : Math.min(1, D - 1);
  const maxDeg = Math.max(minDeg, D - 1);
  for (const [l, h] of hidden.entries()) {
    const prev = degrees[degrees.length - 1]!;
    // the previous layer's smallest degree (the context's 0 for the first hidden layer)
    const lo = l === 0 && c > 0 ? 0 : Math.max(minDeg, Math.min(maxDeg, Math.min(...prev)));
    const d = hiddenDegrees === 'random'
      ? rng.randint(h, lo, maxDeg + 1)
      : Int32Array.from({ length: h }, (_, k) => (k % (maxDeg - minDeg + 1)) + minDeg);
    degrees.push(d);
  }
  const mask = (rows: number, cols: number, ok: (r: number, c: number) => boolean) =>
    tensor(Float64Array.from({ length: rows * cols }, (_, i) => (ok(Math.floor(i / cols), i % cols) ? 1 : 0)), { shape: [rows, cols], dtype });
  const masks: Tensor[] = [];
  for (let l = 1; l < degrees.length; l++) {
    const cur = degrees[l]!, prev = degrees[l - 1]!;
    masks.push(mask(cur.length, prev.length, (r, cc) => cur[r]! >= prev[cc]!));
  }
  const last = degrees[degrees.length - 1]!;
  masks.push(mask(K * D, last.length, (r, cc) => m0[r % D]! > last[cc]!));
  return { m0, masks };
}

export class MADE extends Module {
  readonly layers: ModuleList<MaskedLinear>;
  /** Linear map of the context into the first hidden layer (no mask), or null. */
  readonly context: Linear | null;
  /** m⁰: the degree (1…D, position in the ordering) of each input, a persistent int32 buffer. */
  readonly degrees: Tensor;
  readonly inFeatures: number;
  readonly outMultiplier: number;
  readonly activation: MadeActivation;
  /** Hidden layer sizes. */
  readonly hidden: readonly number[];
  readonly contextFeatures: number;

  constructor(opts: MADEOptions) {
    super();
    const D = opts.inFeatures;
    const K = opts.outMultiplier ?? 1;
    if (!(Number.isInteger(D) && D >= 1)) throw new Error(`MADE: inFeatures must be a positive integer, got ${D}`);
    if (!(Number.isInteger(K) && K >= 1)) throw new Error(`MADE: outMultiplier must be a positive integer, got ${K}`);
    const dtype = opts.dtype ?? 'float32';
    const c = opts.contextFeatures ?? 0;
    const { m0, masks } = madeMasks(D, K, opts.hidden, c, opts.ordering, opts.hiddenDegrees, opts.rng, dtype);
    const layers: MaskedLinear[] = [];
    for (let l = 0; l < opts.hidden.length; l++) {
      layers.push(new MaskedLinear(masks[l]!.shape[1]!, masks[l]!.shape[0]!, masks[l]!, { rng: opts.rng, dtype }));
    }
    const last = opts.hidden.length ? opts.hidden[opts.hidden.length - 1]! : D;
    const out = new MaskedLinear(last, K * D, masks[masks.length - 1]!, { rng: opts.rng, dtype });
    if (opts.zeroInitOutput) {
      init.zeros(out.weight);
      if (out.bias) init.zeros(out.bias);
    }
    layers.push(out);
    this.layers = new ModuleList(layers);
    this.context = c > 0 && opts.hidden.length > 0 ? new Linear(c, opts.hidden[0]!, { rng: opts.rng, dtype, bias: false }) : null;
    if (c > 0 && opts.hidden.length === 0) throw new Error('MADE: a context needs at least one hidden layer');
    this.degrees = buffer(tensor(m0));
    this.inFeatures = D;
    this.outMultiplier = K;
    this.activation = opts.activation ?? 'relu';
    this.hidden = [...opts.hidden];
    this.contextFeatures = c;
  }

  /**
   * Draw new masks in place, the weights kept: a new ordering and/or new hidden degrees. This is
   * order-agnostic and connectivity-agnostic training (Germain et al. 2015, Sec. 4.2): cycling
   * through masks during training makes the one network an ensemble of autoregressive models.
   */
  resampleMasks(opts: { ordering?: MADEOptions['ordering']; hiddenDegrees?: MADEOptions['hiddenDegrees']; rng: Generator }): void {
    const { m0, masks } = madeMasks(this.inFeatures, this.outMultiplier, this.hidden, this.contextFeatures, opts.ordering, opts.hiddenDegrees, opts.rng, this.layers.at(0).mask.dtype as 'float32' | 'float64');
    noGrad(() => {
      masks.forEach((m, l) => {
        this.layers.at(l).mask.assign(m);
        m.dispose();
      });
      const d = tensor(m0);
      this.degrees.assign(d);
      d.dispose();
    });
  }

  /** x [N, D] (+ context [N, c]) → [N, K·D]; see the module comment for the layout. */
  forward(x: Tensor, ctx?: Tensor | null): Tensor {
    if (x.ndim !== 2 || x.shape[1] !== this.inFeatures) throw new Error(`MADE: expected input [N, ${this.inFeatures}], got ${shapeStr(x.shape)}`);
    if (ctx && !this.context) throw new Error('MADE: a context was given but the network was built without contextFeatures');
    if (!ctx && this.context) throw new Error('MADE: this network is conditional; pass the context');
    let h = x;
    const n = this.layers.length;
    for (let i = 0; i < n; i++) {
      h = this.layers.at(i).forward(h);
      if (i === 0 && this.context && ctx) h = h.add(this.context.forward(ctx.cast(h.dtype)));
      if (i < n - 1) h = activate(h, this.activation);
    }
    return h;
  }
}

function activate(x: Tensor, a: MadeActivation): Tensor {
  switch (a) {
    case 'relu': return x.relu();
    case 'tanh': return x.tanh();
    case 'elu': return x.elu();
    case 'silu': return x.silu();
  }
}
