/**
 * TensorFlow.js (tfjs-core + the `cpu` or `wasm` backend, all from npm; no tfjs-node):
 * `node --import tsx bench/peer_tfjs.ts --backend wasm|cpu --spec <json>`. Prints one PeerResult.
 *
 * The networks are written with tfjs-core ops (tfjs-layers is not needed), NHWC as tfjs prefers:
 * the conv weights of common.ts are transposed to [kh, kw, in, out] and the linear layer's
 * columns permuted from PyTorch's (c, h, w) flattening order to NHWC's (h, w, c), so the network
 * computes exactly what the other peers compute.
 */
import * as tf from '@tensorflow/tfjs-core';
import './tfjs_gradients.ts';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import {
  type BenchSpec, type NamedArray, type PeerResult, CONV_NET, SEED, convData, convParams, emit, errorMessage, gemmProbeIndices,
  gemmResult, hashUniform, measure, measureSteps, mlpData, mlpParams, peerArgs, wants,
} from './common.ts';

const { spec, args } = peerArgs();
const backend = args.backend ?? 'wasm';
const out: PeerResult = { id: `tfjs-${backend}`, label: `tfjs ${backend}`, info: { version: tf.version_core, backend } };

async function gemm(s: BenchSpec): Promise<void> {
  out.gemm = {};
  for (const n of s.gemm.sizes) {
    try {
      const a = tf.tensor2d(hashUniform(n * n, SEED.gemmA), [n, n]);
      const b = tf.tensor2d(hashUniform(n * n, SEED.gemmB), [n, n]);
      const t = await measure(async () => {
        const c = tf.matMul(a, b);
        const last = tf.slice(tf.reshape(c, [-1]), n * n - 1, 1);
        await last.data();
        tf.dispose([c, last]);
      }, s.timing);
      const c = tf.matMul(a, b);
      const all = await c.data();
      out.gemm[n] = gemmResult(n, t, gemmProbeIndices(n).map((i) => all[i]!));
      tf.dispose([a, b, c]);
    } catch (e) {
      out.gemm[n] = { error: errorMessage(e) };
    }
  }
}

const byName = (ps: NamedArray[]) => new Map(ps.map((p) => [p.name, p]));

/** A [out, in] PyTorch weight as a tfjs [in, out] variable. */
const linearWeight = (p: NamedArray) => tf.variable(tf.tidy(() => tf.transpose(tf.tensor2d(p.data, p.shape as [number, number]))));
const biasVar = (p: NamedArray) => tf.variable(tf.tensor1d(p.data));

/** One Adam step on `vars`; resolves to the loss read back. */
async function adamStep(opt: tf.Optimizer, loss: () => tf.Scalar, vars: tf.Variable[]): Promise<number> {
  const cost = opt.minimize(loss, true, vars)!;
  const v = (await cost.data())[0]!;
  cost.dispose();
  return v;
}

async function mlp(s: BenchSpec): Promise<void> {
  try {
    const { batch, widths, lr } = s.mlp;
    const p = byName(mlpParams(widths));
    const layers = widths.slice(1).map((_, i) => ({ w: linearWeight(p.get(`${2 * i}.weight`)!), b: biasVar(p.get(`${2 * i}.bias`)!) }));
    const d = mlpData(s);
    const x = tf.tensor2d(d.x, [batch, widths[0]!]);
    const y = tf.tensor2d(d.y, [batch, widths[widths.length - 1]!]);
    const opt = tf.train.adam(lr, 0.9, 0.999, 1e-8);
    const loss = () => {
      let h: tf.Tensor = x;
      layers.forEach((l, i) => {
        h = tf.add(tf.matMul(h, l.w), l.b);
        if (i + 1 < layers.length) h = tf.mul(h, tf.sigmoid(h)); // SiLU
      });
      return tf.mean(tf.square(tf.sub(h, y))) as tf.Scalar;
    };
    const vars = layers.flatMap((l) => [l.w, l.b]);
    out.mlp = await measureSteps(() => adamStep(opt, loss, vars), s.timing);
    tf.dispose([x, y, ...vars]);
    opt.dispose();
  } catch (e) {
    out.mlp = { error: errorMessage(e) };
  }
}

async function conv(s: BenchSpec): Promise<void> {
  try {
    const p = byName(convParams());
    const convs = CONV_NET.convs.map((c) => {
      const w = p.get(`${c.name}.weight`)!;
      // [out, in, kh, kw] → [kh, kw, in, out]
      const filter = tf.variable(tf.tidy(() => tf.transpose(tf.tensor4d(w.data, w.shape as [number, number, number, number]), [2, 3, 1, 0])));
      return { filter, bias: biasVar(p.get(`${c.name}.bias`)!), stride: c.stride, pad: c.padding === 0 ? ('valid' as const) : c.padding };
    });
    const { side } = CONV_NET;
    const lw = p.get(`${CONV_NET.linear.name}.weight`)!;
    // Linear [out, c·h·w] → [h·w·c, out], matching NHWC's flattening.
    const linW = tf.variable(tf.tidy(() => tf.reshape(tf.transpose(tf.tensor4d(lw.data, [CONV_NET.linear.out, 64, side, side]), [2, 3, 1, 0]), [CONV_NET.linear.in, CONV_NET.linear.out])));
    const linB = biasVar(p.get(`${CONV_NET.linear.name}.bias`)!);
    const d = convData(s);
    const n = s.conv.batch;
    const x = tf.tensor4d(d.x, [n, 28, 28, 1]); // NCHW with C = 1 is NHWC
    const onehot = tf.oneHot(tf.tensor1d(d.labels, 'int32'), CONV_NET.classes);
    const opt = tf.train.adam(s.conv.lr, 0.9, 0.999, 1e-8);
    const loss = () => {
      let h: tf.Tensor4D = x;
      for (const c of convs) h = tf.relu(tf.add(tf.conv2d(h, c.filter as tf.Tensor4D, c.stride, c.pad), c.bias)) as tf.Tensor4D;
      const logits = tf.add(tf.matMul(tf.reshape(h, [n, CONV_NET.linear.in]), linW), linB);
      return tf.losses.softmaxCrossEntropy(onehot, logits) as tf.Scalar;
    };
    const vars = [...convs.flatMap((c) => [c.filter, c.bias]), linW, linB];
    out.conv = await measureSteps(() => adamStep(opt, loss, vars), s.timing);
    tf.dispose([x, onehot, ...vars]);
    opt.dispose();
  } catch (e) {
    out.conv = { error: errorMessage(e) };
  }
}

// Production mode: no debug checks, and no console banner suggesting tfjs-node.
tf.enableProdMode();
try {
  if (!(await tf.setBackend(backend))) throw new Error(`tf.setBackend('${backend}') returned false`);
  await tf.ready();
  if (backend === 'wasm') {
    out.info.simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    out.info.multithread = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
    // Node has no Web Workers, so tfjs picks its single-threaded wasm binary there.
    out.info.threads = out.info.multithread ? 'pool' : 1;
    out.label = `tfjs wasm (${out.info.simd ? 'SIMD' : 'no SIMD'}, ${out.info.multithread ? 'threads' : '1 thread'})`;
  } else {
    out.label = 'tfjs cpu (plain JS)';
  }
  out.label += ` ${tf.version_core}`;
  if (wants(spec, 'gemm')) await gemm(spec);
  if (wants(spec, 'mlp')) await mlp(spec);
  if (wants(spec, 'conv')) await conv(spec);
} catch (e) {
  out.error = errorMessage(e);
}
emit(out);
