/**
 * The model registry: every generative family exposes the same verbs, so the trainer, the CLI,
 * the metrics and the studio treat them alike. A family is a plain object registered by name in
 * an explicit registry (no side-effect magic: `families` lists what is there).
 */
import type { Tensor, Generator } from '../core/index.ts';
import type { Module } from '../nn/module.ts';

/** What the data look like: 2-D points or images, and how many classes (if labelled). */
export interface DataSpec {
  kind: 'points' | 'images';
  /** Shape of one item: [2] for points, [C, H, W] for images. */
  shape: readonly number[];
  numClasses?: number;
}

/** A training batch: data in the model's space (images in [-1, 1]), optional int32 labels. */
export interface Batch {
  x: Tensor;
  y?: Tensor;
}

export interface SampleOptions {
  /** Sampler name, from the family's `samplers`. */
  sampler?: string;
  steps?: number;
  /** Class labels [n] (int32) for conditional models. */
  classes?: Tensor;
  /** Guidance weight (classifier-free), where the family supports it. */
  guidance?: number;
  /** Temperature of the base distribution (flows). */
  temperature?: number;
  /** Called after each sampler step (for progress bars and step-by-step displays). */
  onStep?: (info: { step: number; total: number; x: Tensor }) => void;
  signal?: AbortSignal;
}

/** A trained instance: its network and the config it was built from (saved as config.json). */
export interface Model<C = unknown> {
  readonly family: string;
  readonly config: C;
  readonly data: DataSpec;
  readonly net: Module;
}

export interface Family<C = unknown> {
  readonly name: string;
  /** One line for `genlab list models`. */
  readonly description: string;
  /** Default configuration for this kind of data (every field documented in the family's module). */
  defaults(data: DataSpec): C;
  create(config: C, data: DataSpec, rng: Generator): Model<C>;
  /** Scalar training loss for a batch (mean over the batch). */
  loss(model: Model<C>, batch: Batch, rng: Generator): Tensor;
  sample(model: Model<C>, n: number, rng: Generator, opts?: SampleOptions): Tensor;
  /** Names of the samplers `sample` accepts (first = default). */
  readonly samplers: readonly string[];
  /** Per-example log-likelihood in nats, or a lower bound on it (`bound: true`), where the family has one. */
  logLikelihood?(model: Model<C>, batch: Batch, rng: Generator): { logLik: Tensor; bound: boolean };
}

const families = new Map<string, Family<never>>();

export function registerFamily<C>(f: Family<C>): void {
  families.set(f.name, f as unknown as Family<never>);
}

export function getFamily<C = unknown>(name: string): Family<C> {
  const f = families.get(name);
  if (!f) throw new Error(`unknown model family '${name}' (available: ${[...families.keys()].sort().join(', ') || 'none'})`);
  return f as unknown as Family<C>;
}

export function familyNames(): string[] {
  return [...families.keys()].sort();
}
