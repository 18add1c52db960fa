/** Multi-head attention (Vaswani et al. 2017) with PyTorch's parameter layout. */
import { type Tensor, type Generator, arange, where, zeros } from '../../core/index.ts';
import { shapeStr } from '../../core/shape.ts';
import { Module, parameter } from '../module.ts';
import * as F from '../functional.ts';
import * as init from '../init.ts';
import type { InitLayerOptions } from './common.ts';
import { Linear } from './linear.ts';

export interface MultiheadAttentionOptions extends InitLayerOptions {
  /** Dropout probability on the attention weights in training (default 0). */
  dropout?: number;
  /** Biases on the input and output projections (default true). */
  bias?: boolean;
  /** Feature size of keys and values (default embedDim); when different, q/k/v get separate weights. */
  kdim?: number;
  vdim?: number;
  /** Inputs and outputs are [N, L, E] (true) or [L, N, E] (false, PyTorch's default). */
  batchFirst?: boolean;
}

export interface AttentionCallOptions {
  /**
   * [N, S] (or [S] unbatched): true marks a key to ignore (padding), as PyTorch's
   * key_padding_mask; a float mask is added to the scores.
   */
  keyPaddingMask?: Tensor | null;
  /** [L, S] or [N·numHeads, L, S]: true marks a pair that may NOT attend (PyTorch's convention); a float mask is added. */
  attnMask?: Tensor | null;
  /** Query i attends only to keys j ≤ i. */
  causal?: boolean;
  /** Also return the attention weights (default true, as PyTorch). */
  needWeights?: boolean;
  /** Average the returned weights over heads (default true) or return [N, numHeads, L, S]. */
  averageAttnWeights?: boolean;
  /** Generator for attention dropout (overrides the one split off at construction). */
  rng?: Generator;
}

/**
 * torch.nn.MultiheadAttention: out = concat(head₁…head_h)·W_Oᵀ + b_O with
 * head_i = softmax(Q_i K_iᵀ / √d)·V_i. Parameters and state-dict keys are PyTorch's:
 * `in_proj_weight` [3E, E] (Q, K, V stacked; or `q_proj_weight`, `k_proj_weight`,
 * `v_proj_weight` when kdim/vdim differ from E), `in_proj_bias` [3E], `out_proj.weight`,
 * `out_proj.bias`. Initialised as PyTorch: xavierUniform on the input projections, zero biases,
 * out_proj.weight as a Linear's.
 */
export class MultiheadAttention extends Module {
  readonly in_proj_weight: Tensor | null;
  readonly q_proj_weight: Tensor | null;
  readonly k_proj_weight: Tensor | null;
  readonly v_proj_weight: Tensor | null;
  readonly in_proj_bias: Tensor | null;
  readonly out_proj: Linear;
  readonly embedDim: number;
  readonly numHeads: number;
  readonly headDim: number;
  readonly kdim: number;
  readonly vdim: number;
  readonly dropout: number;
  readonly batchFirst: boolean;
  private readonly dropoutRng: Generator | undefined;

  constructor(embedDim: number, numHeads: number, opts: MultiheadAttentionOptions) {
    super();
    if (!Number.isInteger(numHeads) || numHeads < 1 || embedDim % numHeads !== 0) throw new Error(`MultiheadAttention: embedDim ${embedDim} must be divisible by numHeads ${numHeads}`);
    const kdim = opts.kdim ?? embedDim, vdim = opts.vdim ?? embedDim;
    const packed = kdim === embedDim && vdim === embedDim;
    const dtype = opts.dtype ?? 'float32';
    const xavier = (shape: number[]) => parameter(init.xavierUniform(shape, { rng: opts.rng, dtype }));
    this.in_proj_weight = packed ? xavier([3 * embedDim, embedDim]) : null;
    this.q_proj_weight = packed ? null : xavier([embedDim, embedDim]);
    this.k_proj_weight = packed ? null : xavier([embedDim, kdim]);
    this.v_proj_weight = packed ? null : xavier([embedDim, vdim]);
    const bias = opts.bias ?? true;
    this.in_proj_bias = bias ? parameter(zeros([3 * embedDim], { dtype })) : null;
    this.out_proj = new Linear(embedDim, embedDim, { rng: opts.rng, dtype, bias });
    if (this.out_proj.bias) init.zeros(this.out_proj.bias);
    this.embedDim = embedDim;
    this.numHeads = numHeads;
    this.headDim = embedDim / numHeads;
    this.kdim = kdim;
    this.vdim = vdim;
    this.dropout = opts.dropout ?? 0;
    if (!(this.dropout >= 0 && this.dropout < 1)) throw new Error(`MultiheadAttention: dropout must be in [0, 1), got ${this.dropout}`);
    this.batchFirst = opts.batchFirst ?? false;
    this.dropoutRng = this.dropout > 0 ? opts.rng.split() : undefined;
  }

  /** Returns [output (query's layout), attention weights or null]. */
  forward(query: Tensor, key: Tensor, value: Tensor, opts: AttentionCallOptions = {}): [Tensor, Tensor | null] {
    const E = this.embedDim, H = this.numHeads, hd = this.headDim;
    const unbatched = query.ndim === 2;
    if (!unbatched && query.ndim !== 3) throw new Error(`MultiheadAttention: expected query [L, E] or ${this.batchFirst ? '[N, L, E]' : '[L, N, E]'}, got ${shapeStr(query.shape)}`);
    for (const [t, n, d] of [[query, 'query', E], [key, 'key', this.kdim], [value, 'value', this.vdim]] as const) {
      if (t.ndim !== query.ndim || t.shape[t.ndim - 1] !== d) throw new Error(`MultiheadAttention: ${n} ${shapeStr(t.shape)} does not match query ${shapeStr(query.shape)} with feature size ${d}`);
    }
    const toNLE = (t: Tensor) => (unbatched ? t.unsqueeze(0) : this.batchFirst ? t : t.transpose(0, 1));
    const q0 = toNLE(query), k0 = toNLE(key), v0 = toNLE(value);
    const N = q0.shape[0]!, L = q0.shape[1]!, S = k0.shape[1]!;
    if (k0.shape[0] !== N || v0.shape[0] !== N || v0.shape[1] !== S) throw new Error(`MultiheadAttention: key ${shapeStr(key.shape)} and value ${shapeStr(value.shape)} do not match query ${shapeStr(query.shape)}`);

    // input projections
    const b = this.in_proj_bias ? this.in_proj_bias.chunk(3) : [null, null, null];
    let q: Tensor, k: Tensor, v: Tensor;
    if (this.in_proj_weight && query === key && key === value) {
      [q, k, v] = F.linear(q0, this.in_proj_weight, this.in_proj_bias).chunk(3, -1) as [Tensor, Tensor, Tensor];
    } else {
      const [wq, wk, wv] = this.in_proj_weight ? this.in_proj_weight.chunk(3) : [this.q_proj_weight!, this.k_proj_weight!, this.v_proj_weight!];
      q = F.linear(q0, wq!, b[0]);
      k = F.linear(k0, wk!, b[1]);
      v = F.linear(v0, wv!, b[2]);
    }
    const heads = (t: Tensor, len: number) => t.reshape([N, len, H, hd]).transpose(1, 2); // [N, H, len, hd]
    let scores = heads(q, L).mul(1 / Math.sqrt(hd)).matmul(heads(k, S).mT); // [N, H, L, S]

    // masks: bool entries block (true = may not attend), float entries add
    const apply = (m: Tensor) => (m.dtype === 'bool' ? where(m, -Infinity, scores) : scores.add(m));
    if (opts.attnMask) {
      const m = opts.attnMask;
      if (m.ndim === 2 && m.shape[0] === L && m.shape[1] === S) scores = apply(m);
      else if (m.ndim === 3 && m.shape[0] === N * H && m.shape[1] === L && m.shape[2] === S) scores = apply(m.reshape([N, H, L, S]));
      else throw new Error(`MultiheadAttention: attnMask must be [${L}, ${S}] or [${N * H}, ${L}, ${S}], got ${shapeStr(m.shape)}`);
    }
    if (opts.keyPaddingMask) {
      const m = opts.keyPaddingMask;
      const ok = unbatched ? m.ndim === 1 && m.shape[0] === S : m.ndim === 2 && m.shape[0] === N && m.shape[1] === S;
      if (!ok) throw new Error(`MultiheadAttention: keyPaddingMask must be ${unbatched ? `[${S}]` : `[${N}, ${S}]`}, got ${shapeStr(m.shape)}`);
      scores = apply(m.reshape([N, 1, 1, S]));
    }
    if (opts.causal) {
      const future = arange(S, undefined, 1, { backend: scores.backend }).reshape([1, S]).gt(arange(L, undefined, 1, { backend: scores.backend }).reshape([L, 1]));
      scores = where(future, -Infinity, scores);
    }

    let attn = scores.softmax(-1);
    if (this.training && this.dropout > 0) attn = F.dropout(attn, this.dropout, true, opts.rng ?? this.dropoutRng);
    const ctx = attn.matmul(heads(v, S)).transpose(1, 2).reshape([N, L, E]);
    let out = this.out_proj.forward(ctx);
    out = unbatched ? out.squeeze(0) : this.batchFirst ? out : out.transpose(0, 1);

    if (!(opts.needWeights ?? true)) return [out, null];
    let w = (opts.averageAttnWeights ?? true) ? attn.mean(1) : attn;
    if (unbatched) w = w.squeeze(0);
    return [out, w];
  }
}
