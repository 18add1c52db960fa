/**
 * jax-js (`@jax-js/jax` from npm) on its `wasm` device:
 * `node --import tsx bench/peer_jaxjs.ts --spec <json>`. Prints one PeerResult.
 *
 * jax-js runs its wasm kernels on Web Workers when `Worker` and SharedArrayBuffer exist; Node 20
 * has no global `Worker`, so here it runs on one thread. Each training step is one `jit`-compiled
 * function (value, gradient and Adam update, as a JAX user would write it); `@jax-js/optax` is not
 * on npm, so Adam is written out (PyTorch's form). jax-js arrays are reference-counted: every call
 * consumes its arguments, and `.ref` keeps one alive.
 */
import { type Array as JArray, blockUntilReady, init, jit, lax, nn, numpy as np, tree, valueAndGrad } from '@jax-js/jax';
import {
  type BenchSpec, type NamedArray, type PeerResult, CONV_NET, SEED, convData, convParams, emit, errorMessage, gemmProbeIndices,
  gemmResult, hashUniform, measure, measureSteps, mlpData, mlpParams, peerArgs, wants,
} from './common.ts';

const { spec } = peerArgs();
const out: PeerResult = { id: 'jax-js', label: 'jax-js wasm (1 thread)', info: { package: '@jax-js/jax', device: 'wasm' } };

const arr = (data: Float32Array, shape: number[]) => np.array(data, { shape });

async function gemm(s: BenchSpec): Promise<void> {
  out.gemm = {};
  const mm = jit((x: JArray, y: JArray) => np.matmul(x, y));
  for (const n of s.gemm.sizes) {
    try {
      const a = arr(hashUniform(n * n, SEED.gemmA), [n, n]);
      const b = arr(hashUniform(n * n, SEED.gemmB), [n, n]);
      const t = await measure(async () => {
        const c = mm(a.ref, b.ref);
        await c.slice(n - 1, n - 1).data(); // consumes c
      }, s.timing);
      const all = await mm(a, b).data();
      out.gemm[n] = gemmResult(n, t, gemmProbeIndices(n).map((i) => all[i]!));
    } catch (e) {
      out.gemm[n] = { error: errorMessage(e) };
    }
  }
  mm.dispose();
}

type Params = JArray[];
type LossFn = (p: Params, x: JArray, y: JArray) => JArray;

const refs = (p: Params) => tree.map((a: JArray) => a.ref, p) as Params;

/**
 * A jit-compiled training step: loss, gradients and PyTorch's Adam update
 * p ← p − a·m / (√v · c + eps), with a = lr / (1 − β₁ᵗ) and c = 1 / √(1 − β₂ᵗ) passed in as scalars.
 */
function adamTrainer(loss: LossFn, params: Params, lr: number) {
  const [b1, b2, eps] = [0.9, 0.999, 1e-8];
  const step = jit((p: Params, m: Params, v: Params, x: JArray, y: JArray, a: JArray, c: JArray) => {
    const [l, g] = valueAndGrad(loss)(refs(p), x, y) as [JArray, Params];
    const m2 = p.map((_, i) => m[i]!.mul(b1).add(g[i]!.ref.mul(1 - b1)));
    const v2 = p.map((_, i) => v[i]!.mul(b2).add(np.square(g[i]!).mul(1 - b2)));
    const p2 = p.map((pi, i) => pi.sub(m2[i]!.ref.mul(a.ref).div(np.sqrt(v2[i]!.ref).mul(c.ref).add(eps))));
    a.dispose();
    c.dispose();
    return [l, p2, m2, v2] as [JArray, Params, Params, Params];
  });
  let p = params;
  let m = params.map((q) => np.zerosLike(q.ref));
  let v = params.map((q) => np.zerosLike(q.ref));
  let t = 0;
  return {
    async run(x: JArray, y: JArray): Promise<number> {
      t++;
      const a = np.array([lr / (1 - b1 ** t)]).reshape([]);
      const c = np.array([1 / Math.sqrt(1 - b2 ** t)]).reshape([]);
      let l: JArray;
      [l, p, m, v] = step(p, m, v, x.ref, y.ref, a, c);
      const value = (await l.data())[0]!;
      await blockUntilReady([p, m, v]);
      return value;
    },
    dispose() {
      tree.dispose([p, m, v]);
      step.dispose();
    },
  };
}

const byName = (ps: NamedArray[]) => new Map(ps.map((q) => [q.name, q]));
/** A PyTorch [out, in] weight as an [in, out] array. */
const linearWeight = (q: NamedArray) => np.transpose(arr(q.data, q.shape));

async function mlp(s: BenchSpec): Promise<void> {
  try {
    const { batch, widths, lr } = s.mlp;
    const q = byName(mlpParams(widths));
    const nLayers = widths.length - 1;
    const params: Params = [];
    for (let i = 0; i < nLayers; i++) params.push(linearWeight(q.get(`${2 * i}.weight`)!), arr(q.get(`${2 * i}.bias`)!.data, [widths[i + 1]!]));
    const loss: LossFn = (p, x, y) => {
      let h = x;
      for (let i = 0; i < nLayers; i++) {
        h = np.matmul(h, p[2 * i]!).add(p[2 * i + 1]!);
        if (i + 1 < nLayers) h = nn.silu(h);
      }
      return np.square(h.sub(y)).mean();
    };
    const d = mlpData(s);
    const x = arr(d.x, [batch, widths[0]!]);
    const y = arr(d.y, [batch, widths[nLayers]!]);
    const trainer = adamTrainer(loss, params, lr);
    out.mlp = await measureSteps(() => trainer.run(x, y), s.timing);
    trainer.dispose();
    tree.dispose([x, y]);
  } catch (e) {
    out.mlp = { error: errorMessage(e) };
  }
}

async function conv(s: BenchSpec): Promise<void> {
  try {
    const q = byName(convParams());
    const params: Params = [];
    for (const c of CONV_NET.convs) params.push(arr(q.get(`${c.name}.weight`)!.data, [c.cout, c.cin, 3, 3]), arr(q.get(`${c.name}.bias`)!.data, [c.cout, 1, 1]));
    params.push(linearWeight(q.get(`${CONV_NET.linear.name}.weight`)!), arr(q.get(`${CONV_NET.linear.name}.bias`)!.data, [CONV_NET.linear.out]));
    const n = s.conv.batch;
    const loss: LossFn = (p, x, onehot) => {
      let h = x;
      CONV_NET.convs.forEach((c, i) => {
        const pad: [number, number][] = [[c.padding, c.padding], [c.padding, c.padding]];
        h = nn.relu(lax.convGeneralDilated(h, p[2 * i]!, [c.stride, c.stride], pad).add(p[2 * i + 1]!));
      });
      const k = 2 * CONV_NET.convs.length;
      const logits = np.matmul(h.reshape([n, CONV_NET.linear.in]), p[k]!).add(p[k + 1]!);
      return nn.logSoftmax(logits).mul(onehot).sum().mul(-1 / n);
    };
    const d = convData(s);
    const x = arr(d.x, [n, 1, 28, 28]);
    const onehot = nn.oneHot(np.array(d.labels, { shape: [n], dtype: np.int32 }), CONV_NET.classes).astype(np.float32);
    const trainer = adamTrainer(loss, params, s.conv.lr);
    out.conv = await measureSteps(() => trainer.run(x, onehot), s.timing);
    trainer.dispose();
    tree.dispose([x, onehot]);
  } catch (e) {
    out.conv = { error: errorMessage(e) };
  }
}

try {
  const devices = await init('wasm');
  if (!devices.includes('wasm')) throw new Error(`jax-js: the wasm device did not start (got ${devices.join(', ')})`);
  out.info.workers = typeof (globalThis as { Worker?: unknown }).Worker !== 'undefined' && typeof SharedArrayBuffer !== 'undefined';
  if (out.info.workers) out.label = 'jax-js wasm (workers)';
  if (wants(spec, 'gemm')) await gemm(spec);
  if (wants(spec, 'mlp')) await mlp(spec);
  if (wants(spec, 'conv')) await conv(spec);
} catch (e) {
  out.error = errorMessage(e);
}
emit(out);
