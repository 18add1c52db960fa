/**
 * Train a small MLP on the 8×8 digits that ship with genlab and print its test accuracy.
 * Usage: `npm run example:digits [-- --steps 600 --seed 0]`.
 */
import { parseArgs } from 'node:util';
import { Generator } from '../src/index.ts';
import { trainDigitsMlp } from './digits-mlp-lib.ts';

const { values } = parseArgs({ options: { steps: { type: 'string', default: '600' }, seed: { type: 'string', default: '0' } } });
const steps = Number(values.steps), seed = Number(values.seed);
if (!Number.isInteger(steps) || steps <= 0) throw new Error(`--steps must be a positive integer, got ${values.steps}`);

const t0 = performance.now();
const r = await trainDigitsMlp({ steps, rng: new Generator(seed), log: (s) => console.log(s) });
console.log(`digits MLP 64→128→10: ${steps} steps, batch 64, AdamW; test accuracy ${(100 * r.testAccuracy).toFixed(2)}% on ${r.testSize} held-out images (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
