// Test-runner preload (`node scripts/run-tests.mjs --backend wasm`): new tensors go to the wasm backend.
import { setBackend } from '../../src/index.ts';

setBackend('wasm');
