/**
 * The shared training loop: every family in the model registry trains through it, from the CLI
 * and from the browser studio alike. Pure and browser-safe: files, terminals and signals are the
 * caller's (see src/train/node.ts and src/cli/), reached through the hooks of `TrainerInit`.
 *
 * One step, inside memory scopes that free every intermediate:
 *   batch ← loader.next();  loss ← family.loss(model, batch, rng);  loss.backward()
 *   stop if loss (or the gradient norm) is NaN/Inf — before the weights are touched
 *   clip the global gradient norm;  optimizer step;  learning-rate schedule step;  EMA update
 *
 * A family with `phases` (GANs) trains them instead: one optimizer parameter group per phase (its
 * own lr and betas), and each step runs every phase `repeat` times on fresh batches, updating only
 * that phase's parameters (see `phaseStep`); the schedule and the EMA advance once per step.
 *
 * Exact resumption: a snapshot holds the weights, the EMA weights, the optimizer state and, as
 * JSON, the step, the noise Generator, the loader's position and order, the scheduler, the EMA
 * update count and the state of every Generator a module holds (dropout), so N steps straight and
 * k + resume + (N − k) steps give bit-identical weights. Evaluation and sampling draw from their
 * own fixed-seed Generators and never disturb the training streams.
 *
 * ```ts
 * const model = family.create(config, spec, initRng);
 * const trainer = new Trainer({ family, model, loader, options, rng: noiseRng, onLog: (r) => console.log(r) });
 * const result = await trainer.run();
 * ```
 */
import { type Tensor, Generator, type GeneratorState, scope } from '../core/index.ts';
import type { Module } from '../nn/module.ts';
import { Adam, AdamW, SGD, type Optimizer, type OptimizerStateDict } from '../nn/optim/index.ts';
import { LRScheduler, type LRSchedulerState, type Schedule, linearWarmup, warmupCosine, withWarmup } from '../nn/optim/schedules.ts';
import { EMA } from '../nn/optim/ema.ts';
import { clipGradNormAsync } from '../nn/optim/clip.ts';
import type { DataLoader, LoaderState } from '../data/loader.ts';
import type { Family, Model, Batch, TrainingPhase } from '../models/registry.ts';
import type { TrainOptions } from './config.ts';

/** What a checkpoint holds besides tensors: JSON. */
export interface TrainerState {
  step: number;
  rng: GeneratorState;
  loader: LoaderState;
  scheduler: LRSchedulerState;
  ema: { numUpdates: number; decay: number; warmup: boolean } | null;
  /** State of each Generator held by a module of the network (e.g. `down.0.res.0.dropout.rng`). */
  moduleRngs: Record<string, GeneratorState>;
  /** Training time so far, in seconds (for throughput and ETA across resumes). */
  elapsedSec: number;
}

/** Everything needed to continue training exactly: tensors are the live ones (serialise before stepping on). */
export interface TrainerSnapshot {
  step: number;
  model: Record<string, Tensor>;
  /** The EMA weights under the model's parameter names (null without EMA). */
  ema: Record<string, Tensor> | null;
  optimizer: OptimizerStateDict;
  state: TrainerState;
}

/** One line of metrics.jsonl. */
export interface LogRecord {
  step: number;
  /** Mean loss over the steps since the previous record. */
  loss: number;
  lr: number;
  /** Global gradient norm before clipping at this step (when clipping is on). */
  gradNorm?: number;
  /** Throughput over the steps since the previous record. */
  stepsPerSec: number;
  examplesPerSec: number;
  elapsedSec: number;
  /** Evaluation results, on evaluation steps. */
  eval?: Record<string, number>;
  /** Families with training phases (GANs): each phase's mean loss over the window (`loss` is the last phase's). */
  phases?: Record<string, number>;
  time: string;
}

/** Cheap per-step progress, for bars. */
export interface StepProgress {
  step: number;
  total: number;
  /** Exponentially smoothed loss. */
  loss: number;
  lr: number;
  /** Smoothed steps per second. */
  stepsPerSec: number;
  /** Estimated seconds left. */
  etaSec: number;
  elapsedSec: number;
}

/** What an evaluation hook gets: the EMA weights in a separate model, and a way to sample them. */
export interface EvalContext {
  step: number;
  /** A copy of the model holding the EMA weights (the training weights without EMA). */
  model: Model;
  family: Family;
  /** Whether this is the final evaluation of the run. */
  final: boolean;
}

export interface TrainResult {
  /** 'paused': stopped at `stopAt` with a checkpoint, to be resumed later. */
  status: 'done' | 'interrupted' | 'paused';
  step: number;
  /** Mean loss of the last logging window. */
  loss: number;
  /** The last evaluation's results. */
  eval?: Record<string, number>;
  elapsedSec: number;
}

/** A NaN or ±Inf loss (or gradient norm): the run stops before the weights are updated. */
export class TrainingDivergedError extends Error {
  constructor(readonly step: number, readonly what: 'loss' | 'gradient norm', readonly value: number) {
    super(`training diverged at step ${step}: the ${what} is ${value} (try a lower train.lr or gradient clipping with train.gradClip); the last checkpoint was not overwritten`);
    this.name = 'TrainingDivergedError';
  }
}

export interface TrainerInit {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  family: Family<any>;
  model: Model;
  /** Yields batches as records with `x` (and `y` for labelled data). */
  loader: DataLoader;
  options: TrainOptions;
  /** The stream of training noise (the family's loss draws from it). */
  rng: Generator;
  /** Periodic evaluation (every `evalEvery` steps and at the end); the numbers go into the log record. */
  evaluate?: (ctx: EvalContext) => Promise<Record<string, number> | void> | Record<string, number> | void;
  /** Persist a snapshot (every `checkpointEvery` steps, at the end, and when stopped by `signal`). */
  saveCheckpoint?: (snap: TrainerSnapshot) => Promise<void>;
  onLog?: (rec: LogRecord) => void | Promise<void>;
  onStep?: (p: StepProgress) => void;
  /** Aborting stops the run after the current step, with a checkpoint. */
  signal?: AbortSignal;
  /** Stop (with a checkpoint) after this step, before `options.steps`: training in parts, resumed exactly. */
  stopAt?: number;
  /** Wall clock in ms (performance.now by default; tests may pass their own). */
  now?: () => number;
}

/** Every Generator held directly by a module of `net`, by dotted name (`<module path>.<field>`). */
export function moduleGenerators(net: Module): [string, Generator][] {
  const out: [string, Generator][] = [];
  for (const [path, m] of net.namedModules()) {
    for (const [field, v] of Object.entries(m)) if (v instanceof Generator) out.push([path ? `${path}.${field}` : field, v]);
  }
  return out;
}

/** Continue a Generator in place from a saved state (so modules holding it see the restored stream). */
function restoreGenerator(g: Generator, s: GeneratorState): void {
  Object.assign(g, Generator.fromState(s));
}

function makeOptimizer(o: TrainOptions, params: Tensor[] | { params: Tensor[]; lr: number; betas?: [number, number] }[]): Optimizer {
  switch (o.optimizer) {
    case 'adam': return new Adam(params, { lr: o.lr, betas: o.betas, weightDecay: o.weightDecay });
    case 'adamw': return new AdamW(params, { lr: o.lr, betas: o.betas, weightDecay: o.weightDecay });
    case 'sgd': return new SGD(params, { lr: o.lr, momentum: o.momentum, weightDecay: o.weightDecay });
  }
}

/** One parameter group per training phase, with the phase's lr and (Adam) betas. */
function phaseGroups(o: TrainOptions, phases: readonly TrainingPhase[]): { params: Tensor[]; lr: number; betas?: [number, number] }[] {
  return phases.map((ph) => {
    if (!Number.isInteger(ph.repeat) || ph.repeat < 1) throw new Error(`training phase '${ph.name}': repeat must be a positive integer, got ${ph.repeat}`);
    const g: { params: Tensor[]; lr: number; betas?: [number, number] } = { params: [...ph.params], lr: ph.lr ?? o.lr };
    if (ph.betas && o.optimizer !== 'sgd') g.betas = [ph.betas[0], ph.betas[1]];
    return g;
  });
}

/** The learning-rate schedule of the options: linear warm-up, then constant, cosine or linear decay to minLr at `steps`. */
export function makeSchedule(o: TrainOptions): Schedule {
  const warm = Math.min(o.warmupSteps, o.steps - 1);
  if (o.schedule === 'constant') return linearWarmup(warm);
  if (o.schedule === 'cosine') return warmupCosine({ warmupSteps: warm, totalSteps: o.steps, etaMin: o.minLr });
  const span = o.steps - warm;
  return withWarmup(warm, (t, base) => (t >= span ? o.minLr : base + ((o.minLr - base) * t) / span));
}

export class Trainer {
  readonly family: Family;
  readonly model: Model;
  readonly options: TrainOptions;
  readonly optimizer: Optimizer;
  readonly scheduler: LRScheduler;
  readonly ema: EMA | null;
  step = 0;
  private rng: Generator;
  private readonly loader: DataLoader;
  private readonly init: TrainerInit;
  private elapsedBefore = 0;
  private evalModel: Model | null = null;
  private readonly now: () => number;
  /** The family's training phases (GANs), or null for a single loss. */
  private readonly phases: readonly TrainingPhase[] | null;
  /** The learning rate of each parameter group before the schedule (one per phase). */
  private readonly baseLrs: number[];

  constructor(init: TrainerInit) {
    this.init = init;
    this.family = init.family as Family;
    this.model = init.model;
    this.options = init.options;
    this.rng = init.rng;
    this.loader = init.loader;
    this.now = init.now ?? (() => performance.now());
    const params = this.model.net.parameters();
    this.phases = this.family.phases?.(this.model) ?? null;
    // with phases: one parameter group per phase (its own lr and betas; Adam's state is per parameter)
    const groups = this.phases ? phaseGroups(this.options, this.phases) : null;
    this.optimizer = makeOptimizer(this.options, groups ?? params);
    this.baseLrs = groups ? groups.map((g) => g.lr) : [this.options.lr];
    this.scheduler = new LRScheduler(this.optimizer, makeSchedule(this.options));
    this.ema = this.options.ema > 0 ? new EMA(this.model.net, { decay: this.options.ema, warmup: this.options.emaWarmup }) : null;
  }

  /** The state to save (tensors are live: serialise them before the next step). */
  snapshot(): TrainerSnapshot {
    return {
      step: this.step,
      model: this.model.net.stateDict(),
      ema: this.ema ? Object.fromEntries(this.ema.shadow) : null,
      optimizer: this.optimizer.stateDict(),
      state: {
        step: this.step,
        rng: this.rng.state(),
        loader: this.loader.state(),
        scheduler: this.scheduler.stateDict(),
        ema: this.ema ? { numUpdates: this.ema.numUpdates, decay: this.ema.decay, warmup: this.ema.warmup } : null,
        moduleRngs: Object.fromEntries(moduleGenerators(this.model.net).map(([k, g]) => [k, g.state()])),
        elapsedSec: this.elapsedSec(),
      },
    };
  }

  /** Continue from a snapshot (weights, optimizer, EMA, data order, noise streams, step). */
  restore(snap: Omit<TrainerSnapshot, 'state'> & { state: TrainerState }): void {
    const { missingKeys, unexpectedKeys } = this.model.net.loadStateDict(snap.model, { strict: false });
    if (missingKeys.length || unexpectedKeys.length) {
      throw new Error(`the checkpoint does not fit this model: missing weights [${missingKeys.join(', ')}], unexpected weights [${unexpectedKeys.join(', ')}]`);
    }
    this.optimizer.loadStateDict(snap.optimizer);
    const s = snap.state;
    // the schedule is rebuilt from the current options (a resume may extend `steps`), at the saved step
    this.scheduler.loadStateDict({ lastStep: s.scheduler.lastStep, baseLrs: [...this.baseLrs] });
    if (this.ema) {
      if (snap.ema && s.ema) this.ema.loadStateDict({ state: snap.ema, hyper: s.ema });
      else this.ema.loadStateDict({ state: Object.fromEntries(this.model.net.namedParameters()), hyper: { decay: this.ema.decay, warmup: this.ema.warmup, numUpdates: 0 } });
    }
    const n = this.loader.dataset.length;
    if (s.loader.order && s.loader.order.length !== n) {
      throw new Error(`the data changed since the checkpoint: its data order covers ${s.loader.order.length} items, the data set now has ${n}`);
    }
    this.loader.loadState(s.loader);
    this.rng = Generator.fromState(s.rng);
    const gens = new Map(moduleGenerators(this.model.net));
    for (const [k, st] of Object.entries(s.moduleRngs ?? {})) {
      const g = gens.get(k);
      if (g) restoreGenerator(g, st);
    }
    this.step = s.step;
    this.elapsedBefore = s.elapsedSec ?? 0;
    this.runStart = this.now();
  }

  private runStart = 0;
  private elapsedSec(): number {
    return this.elapsedBefore + (this.now() - this.runStart) / 1000;
  }

  /** A separate model holding the EMA weights (the training weights and buffers, then the averages). */
  emaModel(): Model {
    if (!this.evalModel) this.evalModel = this.family.create(this.model.config, this.model.data, new Generator(0));
    const net = this.evalModel.net;
    net.eval();
    net.loadStateDict(this.model.net.stateDict());
    this.ema?.copyTo(net);
    return this.evalModel;
  }

  private async evaluate(final: boolean): Promise<Record<string, number> | undefined> {
    if (!this.init.evaluate) return undefined;
    const r = await this.init.evaluate({ step: this.step, model: this.emaModel(), family: this.family, final });
    return r ?? undefined;
  }

  private async checkpoint(): Promise<void> {
    if (this.init.saveCheckpoint) await this.init.saveCheckpoint(this.snapshot());
  }

  /**
   * Train until `options.steps` (or until `signal` aborts). Throws TrainingDivergedError on a
   * non-finite loss or gradient norm, leaving the weights of the last good step in memory and the
   * last checkpoint on disk untouched.
   */
  async run(): Promise<TrainResult> {
    const o = this.options, total = o.steps;
    const params = this.model.net.parameters();
    this.runStart = this.now();
    this.model.net.train();
    let windowLoss = 0, windowSteps = 0, windowStart = this.now();
    let smoothLoss = NaN, smoothRate = NaN, lastStepAt = this.now();
    let lastLoss = NaN, lastEval: Record<string, number> | undefined;
    let savedAt = this.step;
    let gradNorm: number | undefined;
    let windowPhases: Record<string, number> = {};
    const stopAt = Math.min(total, this.init.stopAt ?? total);
    while (this.step < stopAt) {
      if (this.init.signal?.aborted) {
        if (savedAt !== this.step) await this.checkpoint();
        return { status: 'interrupted', step: this.step, loss: lastLoss, eval: lastEval, elapsedSec: this.elapsedSec() };
      }
      const stepNo = this.step + 1;
      let value: number, lr: number;
      if (this.phases) {
        lr = this.optimizer.lr;
        const r = await this.phaseStep(stepNo, this.phases, params);
        value = r.value;
        gradNorm = r.gradNorm;
        for (const [k, v] of Object.entries(r.losses)) windowPhases[k] = (windowPhases[k] ?? 0) + v;
      } else {
        value = await this.forwardBackward(stepNo, (batch) => this.family.loss(this.model, batch, this.rng));
        if (o.gradClip > 0) {
          gradNorm = await clipGradNormAsync(params, o.gradClip);
          if (!Number.isFinite(gradNorm)) {
            this.optimizer.zeroGrad();
            throw new TrainingDivergedError(stepNo, 'gradient norm', gradNorm);
          }
        }
        lr = this.optimizer.lr;
        scope(() => {
          this.optimizer.step();
          this.optimizer.zeroGrad();
          this.scheduler.step();
          this.ema?.update(this.model.net);
        });
      }
      this.step = stepNo;

      // progress
      const t = this.now();
      const dt = Math.max(1e-6, (t - lastStepAt) / 1000);
      lastStepAt = t;
      smoothLoss = Number.isNaN(smoothLoss) ? value : 0.95 * smoothLoss + 0.05 * value;
      smoothRate = Number.isNaN(smoothRate) ? 1 / dt : 0.9 * smoothRate + 0.1 / dt;
      windowLoss += value;
      windowSteps++;
      lastLoss = value;
      this.init.onStep?.({ step: this.step, total, loss: smoothLoss, lr, stepsPerSec: smoothRate, etaSec: (total - this.step) / smoothRate, elapsedSec: this.elapsedSec() });

      const last = this.step === total;
      const evalNow = last || (o.evalEvery > 0 && this.step % o.evalEvery === 0);
      if (last || evalNow || this.step % o.logEvery === 0) {
        const evalResult = evalNow ? await this.evaluate(last) : undefined;
        if (evalResult) lastEval = evalResult;
        const secs = Math.max(1e-9, (this.now() - windowStart) / 1000);
        lastLoss = windowLoss / windowSteps;
        const rec: LogRecord = {
          step: this.step, loss: lastLoss, lr, ...(gradNorm !== undefined ? { gradNorm } : {}),
          stepsPerSec: windowSteps / secs, examplesPerSec: (windowSteps * o.batchSize) / secs,
          elapsedSec: this.elapsedSec(), ...(evalResult ? { eval: evalResult } : {}),
          ...(this.phases ? { phases: Object.fromEntries(Object.entries(windowPhases).map(([k, v]) => [k, v / windowSteps])) } : {}),
          time: new Date().toISOString(),
        };
        windowPhases = {};
        await this.init.onLog?.(rec);
        windowLoss = 0;
        windowSteps = 0;
        windowStart = this.now();
      }
      if (last || (o.checkpointEvery > 0 && this.step % o.checkpointEvery === 0)) {
        await this.checkpoint();
        savedAt = this.step;
      }
      lastStepAt = this.now(); // evaluation and checkpoints do not count against the step rate
    }
    if (this.step < total) {
      if (savedAt !== this.step) await this.checkpoint();
      return { status: 'paused', step: this.step, loss: lastLoss, eval: lastEval, elapsedSec: this.elapsedSec() };
    }
    return { status: 'done', step: this.step, loss: lastLoss, eval: lastEval, elapsedSec: this.elapsedSec() };
  }

  /**
   * Forward and backward on the next batch, in a scope that frees the batch and every
   * intermediate; the loss's value, or TrainingDivergedError (gradients dropped) if it is not finite.
   */
  private async forwardBackward(stepNo: number, lossOf: (batch: Batch) => Tensor): Promise<number> {
    const lossT = scope(() => {
      const b = this.loader.next();
      const batch: Batch = b.y ? { x: b.x!, y: b.y } : { x: b.x! };
      this.optimizer.zeroGrad();
      const loss = lossOf(batch);
      loss.backward();
      return loss.detach();
    });
    let value: number;
    try {
      value = await lossT.item();
    } finally {
      lossT.dispose();
    }
    if (!Number.isFinite(value)) {
      this.optimizer.zeroGrad();
      throw new TrainingDivergedError(stepNo, 'loss', value);
    }
    return value;
  }

  /**
   * One training step of a family with phases: each phase in order, `repeat` times, each time on a
   * fresh batch — forward, backward, NaN guard, clipping of the phase's gradients, an optimizer step
   * of the phase's parameters only (the others' gradients are dropped), `afterStep` — then the
   * schedule and the EMA once. Returns the last phase's last loss and each phase's mean loss.
   */
  private async phaseStep(stepNo: number, phases: readonly TrainingPhase[], params: Tensor[]): Promise<{ value: number; gradNorm?: number; losses: Record<string, number> }> {
    const o = this.options;
    let value = NaN, gradNorm: number | undefined;
    const losses: Record<string, number> = {};
    for (const ph of phases) {
      const mine = new Set(ph.params);
      let sum = 0;
      for (let r = 0; r < ph.repeat; r++) {
        value = await this.forwardBackward(stepNo, (batch) => ph.loss(this.model, batch, this.rng));
        // only this phase's parameters are updated
        for (const p of params) {
          if (!mine.has(p) && p.grad) {
            p.grad.dispose();
            p.grad = null;
          }
        }
        if (o.gradClip > 0) {
          gradNorm = await clipGradNormAsync([...ph.params], o.gradClip);
          if (!Number.isFinite(gradNorm)) {
            this.optimizer.zeroGrad();
            throw new TrainingDivergedError(stepNo, 'gradient norm', gradNorm);
          }
        }
        scope(() => {
          this.optimizer.step();
          this.optimizer.zeroGrad();
        });
        ph.afterStep?.(this.model);
        sum += value;
      }
      losses[ph.name] = sum / ph.repeat;
    }
    scope(() => {
      this.scheduler.step();
      this.ema?.update(this.model.net);
    });
    return { value, gradNorm, losses };
  }

  /** Free the optimizer state, the EMA and the evaluation copy (the model stays the caller's). */
  dispose(): void {
    this.ema?.dispose();
    this.evalModel?.net.dispose();
  }
}
