/**
 * The page of tests/browser.test.ts (bundled by esbuild, run in Chromium): the wasm backend as a
 * browser gets it: kernels fetched and compiled by initWasm, threads from Web Workers on shared
 * memory where the page is cross-origin isolated (else one thread), the caller spinning rather
 * than blocking on the main thread. It computes a GEMM, a convolution with both gradients, a
 * softmax and a few training steps on the wasm backend with its default threads, on one thread,
 * and on the reference cpu backend, and leaves a summary in `window.genlabResult`.
 */
import { type Tensor, Generator, createWasmBackend, initWasm, nn, optim, registerBackend, scope, setBackend, tensor } from '../../src/index.ts';
import { type Backend, getBackendByName } from '../../src/core/backend.ts';

export interface PageResult {
  crossOriginIsolated: boolean;
  hardwareConcurrency: number;
  threads: number;
  /** Threads running once the workers have started (the caller included). */
  active: number;
  relaxed: boolean;
  /** Per computation: max |wasm − cpu| over max |cpu|. */
  relErr: Record<string, number>;
  /** Per computation: whether the default-thread and one-thread wasm results are bit-identical. */
  sameBits: Record<string, boolean>;
  losses: number[];
  error?: string;
}

function values(rng: Generator, n: number): Float32Array {
  return Float32Array.from(rng.normal(n));
}

/** Everything computed on one backend, as plain arrays. */
function compute(be: Backend): Record<string, Float32Array> {
  const rng = new Generator(5);
  const a = values(rng, 300 * 500), b = values(rng, 500 * 260), x = values(rng, 6 * 8 * 15 * 15), w = values(rng, 12 * 8 * 9), g = values(rng, 6 * 12 * 7 * 7);
  return scope(() => {
    const A = tensor(a, { shape: [300, 500], backend: be }), B = tensor(b, { shape: [500, 260], backend: be });
    const X = tensor(x, { shape: [6, 8, 15, 15], backend: be }).requiresGrad_(), W = tensor(w, { shape: [12, 8, 3, 3], backend: be }).requiresGrad_();
    const y = nn.F.conv2d(X, W, null, { stride: 2 });
    y.mul(tensor(g, { shape: [6, 12, 7, 7], backend: be })).sum().backward();
    const out: Record<string, Tensor> = { matmul: A.matmul(B), matmulT: A.mT.mT.matmul(B.mT.contiguous().mT), conv: y, convGradX: X.grad!, convGradW: W.grad!, softmax: A.softmax(-1) };
    return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, t.dataSync() as Float32Array]));
  });
}

/** Adam on a small MLP fitting y = sin(3x), on the current backend: the losses of the first and the last step. */
async function train(): Promise<number[]> {
  const rng = new Generator(0);
  const xs = Float32Array.from({ length: 256 }, (_, i) => -1 + (2 * i) / 255);
  const x = tensor(xs, { shape: [256, 1] }), y = tensor(xs.map((v) => Math.sin(3 * v)), { shape: [256, 1] });
  const net = new nn.Sequential(new nn.Linear(1, 64, { rng }), new nn.SiLU(), new nn.Linear(64, 64, { rng }), new nn.SiLU(), new nn.Linear(64, 1, { rng }));
  const opt = new optim.Adam(net.parameters(), { lr: 1e-2 });
  const losses: number[] = [];
  for (let i = 0; i < 200; i++) {
    const l = scope(() => {
      opt.zeroGrad();
      const v = nn.F.mseLoss(net.forward(x), y);
      v.backward();
      opt.step();
      return v.detach();
    });
    if (i === 0 || i === 199) losses.push((await l.data())[0]!);
    l.dispose();
  }
  return losses;
}

async function main(): Promise<PageResult> {
  await initWasm();
  await initWasm({ threads: 1 });
  const wasm = createWasmBackend({ name: 'wasm-page' });
  const one = createWasmBackend({ threads: 1, name: 'wasm-page-1t' });
  const active = await wasm.ready();
  const ref = compute(getBackendByName('cpu')), many = compute(wasm), single = compute(one);
  const relErr: Record<string, number> = {}, sameBits: Record<string, boolean> = {};
  for (const k of Object.keys(ref)) {
    let err = 0, mag = 0;
    ref[k]!.forEach((v, i) => {
      err = Math.max(err, Math.abs(many[k]![i]! - v));
      mag = Math.max(mag, Math.abs(v));
    });
    relErr[k] = err / mag;
    sameBits[k] = many[k]!.length === single[k]!.length && many[k]!.every((v, i) => Object.is(v, single[k]![i]));
  }
  registerBackend('wasm-page', () => wasm);
  setBackend('wasm-page');
  const losses = await train();
  return { crossOriginIsolated: globalThis.crossOriginIsolated === true, hardwareConcurrency: navigator.hardwareConcurrency, threads: wasm.threads, active, relaxed: wasm.relaxed, relErr, sameBits, losses };
}

(globalThis as { genlabResult?: Promise<PageResult> }).genlabResult = main().catch((e: unknown) => ({ error: String((e as Error)?.stack ?? e) }) as PageResult);
