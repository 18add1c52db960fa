/**
 * Training options and run configs as plain JSON: defaults, validation (unknown keys are errors
 * that list the valid ones), dotted `key=value` overrides (the CLI's `--set`) and deep merging.
 * Pure and browser-safe.
 */

/** How the shared training loop trains: every field is JSON and is saved with the run. */
export interface TrainOptions {
  /** Total number of optimizer steps (the learning-rate schedule's horizon). */
  steps: number;
  batchSize: number;
  /** 'adam', 'adamw' (decoupled weight decay) or 'sgd' (with momentum). */
  optimizer: 'adam' | 'adamw' | 'sgd';
  /** Peak learning rate (after warm-up). */
  lr: number;
  /** Adam/AdamW: decay rates of the moment estimates. */
  betas: [number, number];
  /** L2 penalty (adam, sgd) or decoupled decay rate (adamw). */
  weightDecay: number;
  /** SGD momentum. */
  momentum: number;
  /** 'constant', 'cosine' (to minLr at `steps`) or 'linear' (to minLr at `steps`), each after a linear warm-up. */
  schedule: 'constant' | 'cosine' | 'linear';
  warmupSteps: number;
  /** Learning rate at the end of a cosine or linear decay. */
  minLr: number;
  /** Clip the global gradient norm to this value; 0 = no clipping. */
  gradClip: number;
  /** Decay of the exponential moving average of the weights (sampling uses the average); 0 = no EMA. */
  ema: number;
  /** Use min(ema, (1 + n)/(10 + n)) at update n, so the average forgets the initialisation quickly. */
  emaWarmup: boolean;
  /** Seed of the weights' initialisation, the data order and the training noise. */
  seed: number;
  /** Write a metrics line (and a progress line when not on a terminal) every this many steps. */
  logEvery: number;
  /** Evaluate and draw samples every this many steps (and at the end); 0 = only at the end. */
  evalEvery: number;
  /** Save a checkpoint every this many steps (and at the end); 0 = only at the end. */
  checkpointEvery: number;
  /** Number of samples drawn at each evaluation. */
  evalSamples: number;
}

export const TRAIN_DEFAULTS: Readonly<TrainOptions> = Object.freeze({
  steps: 2000,
  batchSize: 128,
  optimizer: 'adam',
  lr: 1e-3,
  betas: [0.9, 0.999],
  weightDecay: 0,
  momentum: 0.9,
  schedule: 'cosine',
  warmupSteps: 100,
  minLr: 0,
  gradClip: 1,
  ema: 0.999,
  emaWarmup: true,
  seed: 0,
  logEvery: 50,
  evalEvery: 0,
  checkpointEvery: 500,
  evalSamples: 1000,
}) as TrainOptions;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `over` merged into `base`: objects merge key by key, everything else (arrays included) replaces. */
export function deepMerge<T>(base: T, over: unknown): T {
  if (!isObject(base) || !isObject(over)) return (over === undefined ? base : over) as T;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = k in out ? deepMerge(out[k], v) : v;
  return out as T;
}

/**
 * The value of a `--set key=value`: JSON when it parses (numbers, true/false, null, arrays,
 * objects, quoted strings), otherwise the text itself.
 */
export function parseValue(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** Set `obj[a][b][c] = value` for the path 'a.b.c', creating objects on the way. Returns obj. */
export function setPath(obj: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const keys = path.split('.');
  if (keys.some((k) => k === '' || k === '__proto__' || k === 'constructor' || k === 'prototype')) throw new Error(`bad key '${path}'`);
  let o = obj;
  for (const k of keys.slice(0, -1)) {
    if (!isObject(o[k])) o[k] = {};
    o = o[k] as Record<string, unknown>;
  }
  o[keys[keys.length - 1]!] = value;
  return obj;
}

/** Apply `key=value` assignments (dotted keys) to a copy of `obj`. */
export function applySets<T extends Record<string, unknown>>(obj: T, sets: readonly string[]): T {
  const out = structuredClone(obj);
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new Error(`--set expects key=value (a dotted key such as train.lr=3e-4), got '${s}'`);
    setPath(out, s.slice(0, eq).trim(), parseValue(s.slice(eq + 1).trim()));
  }
  return out;
}

/** Checks one option's type; `what` names it in the message. */
function check(ok: boolean, what: string, expected: string, got: unknown): void {
  if (!ok) throw new Error(`${what} must be ${expected}, got ${JSON.stringify(got)}`);
}

/** Fill in the defaults and check every training option; unknown keys are errors listing the valid ones. */
export function resolveTrainOptions(partial: Partial<TrainOptions> | Record<string, unknown> = {}, base: Partial<TrainOptions> = {}): TrainOptions {
  const known = Object.keys(TRAIN_DEFAULTS);
  for (const k of [...Object.keys(base), ...Object.keys(partial)]) {
    if (!known.includes(k)) throw new Error(`unknown training option 'train.${k}' (valid: ${known.join(', ')})`);
  }
  const o = { ...TRAIN_DEFAULTS, ...base, ...partial } as TrainOptions;
  const int = (k: keyof TrainOptions, min: number) => check(Number.isSafeInteger(o[k]) && (o[k] as number) >= min, `train.${k}`, `an integer ≥ ${min}`, o[k]);
  const num = (k: keyof TrainOptions, min: number) => check(typeof o[k] === 'number' && Number.isFinite(o[k]) && (o[k] as number) >= min, `train.${k}`, `a number ≥ ${min}`, o[k]);
  int('steps', 1);
  int('batchSize', 1);
  check(['adam', 'adamw', 'sgd'].includes(o.optimizer), 'train.optimizer', "'adam', 'adamw' or 'sgd'", o.optimizer);
  check(typeof o.lr === 'number' && o.lr > 0 && Number.isFinite(o.lr), 'train.lr', 'a positive number', o.lr);
  check(Array.isArray(o.betas) && o.betas.length === 2 && o.betas.every((b) => typeof b === 'number' && b >= 0 && b < 1), 'train.betas', 'two numbers in [0, 1)', o.betas);
  num('weightDecay', 0);
  num('momentum', 0);
  check(['constant', 'cosine', 'linear'].includes(o.schedule), 'train.schedule', "'constant', 'cosine' or 'linear'", o.schedule);
  int('warmupSteps', 0);
  num('minLr', 0);
  num('gradClip', 0);
  check(typeof o.ema === 'number' && o.ema >= 0 && o.ema < 1, 'train.ema', 'a decay in [0, 1) (0 = off)', o.ema);
  check(typeof o.emaWarmup === 'boolean', 'train.emaWarmup', 'true or false', o.emaWarmup);
  int('seed', 0);
  int('logEvery', 1);
  int('evalEvery', 0);
  int('checkpointEvery', 0);
  int('evalSamples', 1);
  return o;
}
