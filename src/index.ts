/**
 * genlab: deep generative models in TypeScript. Importing this module registers the reference
 * `cpu` backend (the default).
 */
import './backends/cpu/index.ts';
export * from './core/index.ts';
export * as nn from './nn/index.ts';
export * as optim from './nn/optim/index.ts';
export * as io from './nn/io/index.ts';
export * as data from './data/index.ts';
