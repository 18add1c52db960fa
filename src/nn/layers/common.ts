/** Shared option types for the layers. */
import type { Tensor, Generator } from '../../core/index.ts';
import type { Module } from '../module.ts';

/** Options of a layer with randomly initialised weights. */
export interface InitLayerOptions {
  /** Draws the initial weights (randomness is a parameter). */
  rng: Generator;
  /** Parameter dtype; float32 unless given (float64 for gradient checks). */
  dtype?: 'float32' | 'float64';
}

/** A module whose forward maps one tensor to one tensor: what Sequential chains. */
export type TensorModule = Module & { forward(x: Tensor): Tensor };

export type Pair = number | readonly [number, number];
export const pair = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : [v[0], v[1]]);
