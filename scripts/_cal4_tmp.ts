import { setBackend, registerBackend, createWasmBackend } from '../src/index.ts';
import { trainFlow2d } from './flows-2d-lib.ts';
registerBackend('wasm-1t', () => createWasmBackend({ threads: 1, name: 'wasm-1t' }));
setBackend(process.argv[2]!);
const t = performance.now();
const r = trainFlow2d({ family: 'realnvp', dataset: 'eightGaussians', steps: 30, batchSize: 32, lr: 1e-2, seed: 0, testSize: 256, config: { couplings: 32, hidden: [8] } });
console.log(process.argv[2], 'sec', ((performance.now() - t) / 1000).toFixed(1), r.testNll);
