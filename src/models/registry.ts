/**
 * The model registry: every generative family exposes the same verbs, so the trainer, the CLI,
 * the metrics and the studio treat them alike. A family is a plain object registered by name in
 * an explicit registry (no side-effect magic: `families` lists what is there).
 */
import type { Tensor, Generator } from '../core/index.ts';
import type { Module } from '../nn/module.ts';

/** What the data look like: 2-D points or images, and how many classes (if labelled). */
export interface DataSpec {
  kind: 'points' | 'images' | 'audio';
  /** Shape of one item: [2] for points, [C, H, W] for images, [T] for an audio clip. */
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

/**
 * One player of an alternating objective (a GAN's discriminator and generator): the parameters it
 * updates, its optimizer settings and its loss. The trainer gives each phase its own parameter
 * group (lr, betas), runs the phases in order `repeat` times each per training step (n_critic),
 * on a fresh batch each time, and steps only that phase's parameters.
 */
export interface TrainingPhase<C = unknown> {
  readonly name: string;
  readonly params: readonly Tensor[];
  /** Updates per training step (the discriminator's n_critic). */
  readonly repeat: number;
  /** Learning rate of this phase (TTUR); the run's lr when absent. */
  readonly lr?: number;
  /** Adam betas of this phase; the run's when absent. */
  readonly betas?: readonly [number, number];
  loss(model: Model<C>, batch: Batch, rng: Generator): Tensor;
  /** Called after each of this phase's updates (e.g. WGAN's weight clipping). */
  afterStep?(model: Model<C>): void;
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
  /**
   * Optional alternating training (adversarial families): when present, the trainer runs these
   * phases each step instead of minimising `loss` (which then only reports, e.g. the generator's loss).
   */
  phases?(model: Model<C>): readonly TrainingPhase<C>[];
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
