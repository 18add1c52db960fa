/**
 * The `wasm` backend: WebAssembly SIMD kernels on all cores, the default on CPU.
 *
 * In Node (≥ 20.16) the kernels compile synchronously from the .wasm files beside this module, so
 * importing genlab registers `wasm` as the default backend. In browsers, compilation is
 * asynchronous: `await initWasm()` first, then `setBackend('wasm')`.
 *
 * ```ts
 * import { setBackend, registerBackend, initWasm, createWasmBackend } from 'genlab';
 * await initWasm();                                      // needed in browsers, harmless in Node
 * setBackend('wasm');                                    // one thread per core (SharedArrayBuffer permitting)
 * registerBackend('wasm-1t', () => createWasmBackend({ threads: 1, name: 'wasm-1t' }));
 * setBackend('wasm-1t');                                 // the same kernels on the calling thread only
 * ```
 *
 * Threads need SharedArrayBuffer (in browsers, a cross-origin-isolated page); without it the
 * backend runs on the calling thread. Relaxed SIMD (fused multiply-add) is used where the runtime
 * validates it (Node 22+, Chrome 114+; Node 20 with --experimental-wasm-relaxed-simd).
 */
import { registerBackend } from '../../core/backend.ts';
import '../cpu/index.ts'; // the reference registers first, so that `wasm` takes the default after it
import { WasmBackend } from './backend.ts';
import { type Variant, createMemory, defaultThreads, hasRelaxedSimd, nodeBuiltin, threadsAvailable, variantFor, wasmUrl, MAX_THREADS } from './runtime.ts';

export { WasmBackend } from './backend.ts';
export { hasRelaxedSimd } from './runtime.ts';

export interface WasmBackendOptions {
  /**
   * Threads that run kernels, the calling thread included (default: the number of cores). 1 runs
   * everything on the calling thread; more than 1 needs SharedArrayBuffer, else it falls back to 1.
   */
  threads?: number;
  /** Use relaxed SIMD where the runtime supports it (default true); false forces plain SIMD128. */
  relaxed?: boolean;
  /** The backend's name (tensor errors mention it); default 'wasm'. */
  name?: string;
}

const modules = new Map<Variant, WebAssembly.Module>();

interface NodeFs { readFileSync(u: URL): Uint8Array; existsSync(u: URL): boolean }

function plan(opts: WasmBackendOptions): { variant: Variant; threads: number; relaxed: boolean } {
  const want = opts.threads ?? defaultThreads();
  if (!Number.isInteger(want) || want < 1) throw new Error(`createWasmBackend: threads must be a positive integer, got ${want}`);
  const threads = want > 1 && threadsAvailable() ? Math.min(want, MAX_THREADS) : 1;
  const relaxed = (opts.relaxed ?? true) && hasRelaxedSimd;
  return { variant: variantFor(relaxed, threads > 1), threads, relaxed };
}

/** The compiled module, compiling it synchronously from disk where that is possible (Node). */
function moduleSync(v: Variant): WebAssembly.Module | undefined {
  const have = modules.get(v);
  if (have) return have;
  const fs = nodeBuiltin<NodeFs>('fs');
  const url = wasmUrl(v);
  if (!fs || url.protocol !== 'file:') return undefined;
  if (!fs.existsSync(url)) throw new Error(`wasm backend: ${url.pathname} is missing; build the kernels with 'npm run build:wasm'`);
  const m = new WebAssembly.Module(fs.readFileSync(url) as BufferSource);
  modules.set(v, m);
  return m;
}

/**
 * Fetch and compile the kernels for the given options (asynchronously). Browsers must await this
 * before `setBackend('wasm')` or `createWasmBackend()`; in Node it is optional.
 */
export async function initWasm(opts: WasmBackendOptions = {}): Promise<void> {
  const { variant } = plan(opts);
  if (modules.has(variant) || moduleSync(variant)) return;
  const res = await fetch(wasmUrl(variant));
  if (!res.ok) throw new Error(`initWasm: could not fetch ${wasmUrl(variant).href} (HTTP ${res.status})`);
  modules.set(variant, await WebAssembly.compile(await res.arrayBuffer()));
}

/** A new wasm backend (its own memory and threads). Register it under a name to select it. */
export function createWasmBackend(opts: WasmBackendOptions = {}): WasmBackend {
  const { variant, threads, relaxed } = plan(opts);
  const module = moduleSync(variant);
  if (!module) {
    throw new Error("wasm backend: the WebAssembly kernels are not loaded yet; call 'await initWasm()' before setBackend('wasm') (browsers compile WebAssembly asynchronously)");
  }
  return new WasmBackend({ memory: createMemory(threads > 1), module, workers: threads - 1, relaxed, name: opts.name ?? 'wasm' });
}

/** Node with the built kernels present: the backend can start synchronously, so it is the default. */
const startsSync = (() => {
  const fs = nodeBuiltin<NodeFs>('fs');
  const url = wasmUrl('simd');
  return !!fs && url.protocol === 'file:' && fs.existsSync(url);
})();

registerBackend('wasm', () => createWasmBackend(), { default: startsSync });
