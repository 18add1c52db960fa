/**
 * genlab: deep generative models in TypeScript. Importing this module registers the reference
 * `cpu` backend and the `wasm` backend (the default where it starts synchronously, as in Node;
 * browsers `await initWasm()` and then `setBackend('wasm')`).
 */
import './backends/cpu/index.ts';
export { initWasm, createWasmBackend, type WasmBackendOptions } from './backends/wasm/index.ts';
export * from './core/index.ts';
export * as nn from './nn/index.ts';
export * as optim from './nn/optim/index.ts';
export * as io from './nn/io/index.ts';
export * as data from './data/index.ts';
export * as metrics from './metrics/index.ts';
