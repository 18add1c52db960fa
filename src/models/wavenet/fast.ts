/**
 * Sampling from a WaveNet, two ways that draw the same samples from the same Generator:
 *
 *   naive  recompute the network over the last `receptiveField` samples for every new sample:
 *          O(receptive field × layers) per sample;
 *   fast   Fast WaveNet (Paine et al. 2016, "Fast Wavenet Generation Algorithm"): each dilated
 *          layer keeps a queue of its last d inputs (d = its dilation). To make sample t, layer k
 *          pops its input from time t − d (the first tap of its kernel-2 convolution), pushes
 *          its input at time t, and does one step of work: O(layers) per sample.
 *
 * Both turn the step's logits into a level with `drawLevels` (softmax at a temperature, one
 * inverse-CDF draw per sequence from the Generator), so with the same rng the two give the
 * same sequence — the property tests/wavenet.test.ts checks.
 */
import { type Tensor, type Generator, tensor, zeros, scope, keep, noGrad } from '../../core/index.ts';
import type { WaveNet } from './wavenet.ts';
import { ResidualLayer } from './wavenet.ts';

export interface GenerateOptions {
  /** Softmax temperature: logits/temperature; 0 takes the most likely level (no draws). Default 1. */
  temperature?: number;
  /** Called after each generated sample (t counts from 1). */
  onStep?: (t: number, total: number) => void;
  signal?: AbortSignal;
}

function checkArgs(n: number, length: number, temperature: number, where: string): void {
  if (!Number.isInteger(n) || n < 1) throw new Error(`${where}: n must be a positive integer, got ${n}`);
  if (!Number.isInteger(length) || length < 1) throw new Error(`${where}: length must be a positive integer, got ${length}`);
  if (!(temperature >= 0) || !Number.isFinite(temperature)) throw new Error(`${where}: temperature must be a finite number ≥ 0, got ${temperature}`);
}

/**
 * One level per row of `logits` (rows × Q, row-major): softmax(logits/temperature) and one
 * categorical draw per row from `rng` (argmax, drawing nothing, at temperature 0).
 */
export function drawLevels(logits: ArrayLike<number>, rows: number, Q: number, temperature: number, rng: Generator): Int32Array {
  if (temperature === 0) {
    const out = new Int32Array(rows);
    for (let r = 0; r < rows; r++) {
      let best = 0;
      for (let k = 1; k < Q; k++) if (logits[r * Q + k]! > logits[r * Q + best]!) best = k;
      out[r] = best;
    }
    return out;
  }
  const probs = new Float64Array(rows * Q);
  for (let r = 0; r < rows; r++) {
    let m = -Infinity;
    for (let k = 0; k < Q; k++) m = Math.max(m, logits[r * Q + k]!);
    for (let k = 0; k < Q; k++) probs[r * Q + k] = Math.exp((logits[r * Q + k]! - m) / temperature);
  }
  return rng.categorical(probs, rows, 1);
}

/** Naive generation: the full network over the last receptiveField + 1 levels, for each new one. Levels [n, length] (int32). */
export function naiveGenerate(net: WaveNet, n: number, length: number, rng: Generator, opts: GenerateOptions = {}): Tensor {
  const temperature = opts.temperature ?? 1;
  checkArgs(n, length, temperature, 'naiveGenerate');
  const Q = net.config.quantization, rf = net.receptiveField;
  const out = new Int32Array(n * length);
  noGrad(() => {
    for (let t = 0; t < length; t++) {
      opts.signal?.throwIfAborted();
      const s = Math.max(0, t - rf), w = t - s + 1;
      const window = new Int32Array(n * w); // the level at t is a placeholder: output t never sees it
      for (let i = 0; i < n; i++) window.set(out.subarray(i * length + s, i * length + t), i * w);
      const last = scope(() => net.logits(tensor(window, { shape: [n, w] })).slice(2, w - 1, w).reshape([n, Q]).dataSync());
      const lv = drawLevels(last, n, Q, temperature, rng);
      for (let i = 0; i < n; i++) out[i * length + t] = lv[i]!;
      opts.onStep?.(t + 1, length);
    }
  });
  return tensor(out, { shape: [n, length] });
}

/** Fast generation with per-layer activation queues (Paine et al. 2016). Levels [n, length] (int32). */
export function fastGenerate(net: WaveNet, n: number, length: number, rng: Generator, opts: GenerateOptions = {}): Tensor {
  const temperature = opts.temperature ?? 1;
  checkArgs(n, length, temperature, 'fastGenerate');
  const { quantization: Q, residualChannels: R } = net.config;
  const out = new Int32Array(n * length);
  // The network as matrices acting on row vectors [n, ·]
  const mats = scope(() => noGrad(() => {
    const m = (w: Tensor) => keep(w.reshape([w.shape[0]!, w.shape[1]!]).mT.contiguous()); // [out, in, 1] → [in, out]
    const row = (b: Tensor | null) => keep(b!.reshape([1, b!.shape[0]!]));
    return {
      table: keep(net.input.weight.reshape([R, Q]).mT.contiguous()), inputBias: row(net.input.bias),
      layers: [...net.layers].map((l) => ({
        dilation: l.dilation,
        w0: keep(l.dilated.conv.weight.slice(2, 0, 1).squeeze(2).mT.contiguous()), // tap at t − d: [R, 2G]
        w1: keep(l.dilated.conv.weight.slice(2, 1, 2).squeeze(2).mT.contiguous()), // tap at t
        b: row(l.dilated.conv.bias), wr: m(l.res.weight), br: row(l.res.bias), ws: m(l.skip.weight), bs: row(l.skip.bias),
      })),
      o1: m(net.out1.weight), b1: row(net.out1.bias), o2: m(net.out2.weight), b2: row(net.out2.bias),
    };
  }));
  // queues[k][t mod d] holds layer k's input at time t − d (null: before the start, i.e. zeros)
  const queues: (Tensor | null)[][] = mats.layers.map((l) => new Array<Tensor | null>(l.dilation).fill(null));
  const zero = keep(zeros([n, R]));
  try {
    noGrad(() => {
      let prev: Int32Array | null = null;
      for (let t = 0; t < length; t++) {
        opts.signal?.throwIfAborted();
        const logits = scope(() => {
          let h = prev ? mats.table.indexSelect(0, tensor(prev)).add(mats.inputBias) : zero.add(mats.inputBias); // a new tensor: queues own (and later free) what they hold
          let skips: Tensor | null = null;
          mats.layers.forEach((l, k) => {
            const slot = t % l.dilation;
            const past = queues[k]![slot] ?? zero;
            const z = ResidualLayer.gate(past.matmul(l.w0).add(h.matmul(l.w1)).add(l.b));
            queues[k]![slot] = keep(h);
            if (past !== zero) past.dispose();
            const skip = z.matmul(l.ws).add(l.bs);
            skips = skips ? skips.add(skip) : skip;
            h = h.add(z.matmul(l.wr)).add(l.br);
          });
          return skips!.relu().matmul(mats.o1).add(mats.b1).relu().matmul(mats.o2).add(mats.b2).dataSync();
        });
        const lv = drawLevels(logits, n, Q, temperature, rng);
        for (let i = 0; i < n; i++) out[i * length + t] = lv[i]!;
        prev = lv;
        opts.onStep?.(t + 1, length);
      }
    });
  } finally {
    for (const q of queues) for (const e of q) e?.dispose();
    zero.dispose();
    const all = [mats.table, mats.inputBias, mats.o1, mats.b1, mats.o2, mats.b2, ...mats.layers.flatMap((l) => [l.w0, l.w1, l.b, l.wr, l.br, l.ws, l.bs])];
    for (const x of all) x.dispose();
  }
  return tensor(out, { shape: [n, length] });
}
