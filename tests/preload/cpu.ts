// Test-runner preload (`node scripts/run-tests.mjs --backend cpu`): new tensors go to the reference backend.
import { setBackend } from '../../src/index.ts';

setBackend('cpu');
