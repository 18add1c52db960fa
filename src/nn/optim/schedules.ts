/**
 * Learning-rate schedules as plain functions: a `Schedule` maps the step count t (0 before the
 * first scheduler step, as torch's `last_epoch`) and a parameter group's base lr to that group's
 * lr. They hold no state, so resuming at step t needs nothing but t. `LRScheduler` is the thin
 * stateful adapter that writes them into an optimizer's groups, like torch.optim.lr_scheduler.
 *
 *   const sched = new LRScheduler(opt, warmupCosine({ warmupSteps: 500, totalSteps: 10_000 }));
 *   for (...) { loss.backward(); opt.step(); opt.zeroGrad(); sched.step(); }
 */

/** The lr at step t for a group whose base lr is `baseLr`. */
export type Schedule = (t: number, baseLr: number) => number;

/** lr = baseLr · factor(t) (torch's LambdaLR). */
export function lambdaLR(factor: (t: number) => number): Schedule {
  return (t, baseLr) => baseLr * factor(t);
}

/**
 * Linear warm-up: baseLr · min(1, t / warmupSteps), so lr rises from 0 at t = 0 to baseLr at
 * t = warmupSteps and stays there (transformers/diffusers' constant schedule with warm-up).
 */
export function linearWarmup(warmupSteps: number): Schedule {
  checkSteps('linearWarmup', 'warmupSteps', warmupSteps, true);
  return (t, baseLr) => (warmupSteps === 0 ? baseLr : baseLr * Math.min(1, t / warmupSteps));
}

/**
 * Cosine annealing (Loshchilov & Hutter 2017, "SGDR"), the closed form of torch's
 * CosineAnnealingLR: etaMin + (baseLr − etaMin)·(1 + cos(π·t/tMax))/2. Like torch's it is
 * periodic: past tMax the lr climbs back to baseLr at 2·tMax.
 */
export function cosineAnnealing(opts: { tMax: number; etaMin?: number }): Schedule {
  const { tMax, etaMin = 0 } = opts;
  checkSteps('cosineAnnealing', 'tMax', tMax, false);
  return (t, baseLr) => etaMin + ((baseLr - etaMin) * (1 + Math.cos((Math.PI * t) / tMax))) / 2;
}

/** lr = baseLr · gamma^⌊t / stepSize⌋ (torch's StepLR). */
export function stepLR(opts: { stepSize: number; gamma?: number }): Schedule {
  const { stepSize, gamma = 0.1 } = opts;
  checkSteps('stepLR', 'stepSize', stepSize, false);
  return (t, baseLr) => baseLr * gamma ** Math.floor(t / stepSize);
}

/** lr = baseLr · gamma^t (torch's ExponentialLR). */
export function exponentialLR(gamma: number): Schedule {
  return (t, baseLr) => baseLr * gamma ** t;
}

/** `warmupSteps` of linear warm-up (linearWarmup), then `after` with its step count restarted at 0. */
export function withWarmup(warmupSteps: number, after: Schedule): Schedule {
  const warm = linearWarmup(warmupSteps);
  return (t, baseLr) => (t < warmupSteps ? warm(t, baseLr) : after(t - warmupSteps, baseLr));
}

/**
 * Linear warm-up to baseLr over `warmupSteps`, then cosine decay to `etaMin` at `totalSteps`,
 * held there afterwards. With etaMin = 0 this is transformers' get_cosine_schedule_with_warmup.
 */
export function warmupCosine(opts: { warmupSteps: number; totalSteps: number; etaMin?: number }): Schedule {
  const { warmupSteps, totalSteps, etaMin = 0 } = opts;
  checkSteps('warmupCosine', 'warmupSteps', warmupSteps, true);
  if (!(totalSteps > warmupSteps)) throw new Error(`warmupCosine: totalSteps (${totalSteps}) must exceed warmupSteps (${warmupSteps})`);
  const decay = cosineAnnealing({ tMax: totalSteps - warmupSteps, etaMin });
  return withWarmup(warmupSteps, (t, baseLr) => (t >= totalSteps - warmupSteps ? etaMin : decay(t, baseLr)));
}

function checkSteps(fn: string, name: string, v: number, zeroOk: boolean): void {
  if (!Number.isFinite(v) || v < 0 || (!zeroOk && v === 0)) throw new Error(`${fn}: ${name} must be a ${zeroOk ? 'non-negative' : 'positive'} number, got ${v}`);
}

/** What an LRScheduler drives: anything with parameter groups that have an `lr`. */
export interface HasParamGroups {
  readonly paramGroups: readonly { lr: number }[];
}

/** The state an LRScheduler needs to resume: JSON. */
export interface LRSchedulerState {
  lastStep: number;
  baseLrs: number[];
}

/**
 * Sets each optimizer group's lr to `schedule(t, baseLr)`, where baseLr is the group's lr when
 * the scheduler was made and t counts step() calls. Like torch, construction applies t = 0.
 * One schedule for every group, or one per group.
 */
export class LRScheduler {
  /** Each group's lr at construction (torch's `initial_lr`). */
  readonly baseLrs: number[];
  /** Number of step() calls so far (torch's `last_epoch`). */
  lastStep = 0;
  private readonly schedules: readonly Schedule[];

  constructor(readonly optimizer: HasParamGroups, schedule: Schedule | readonly Schedule[]) {
    const n = optimizer.paramGroups.length;
    this.schedules = typeof schedule === 'function' ? Array.from({ length: n }, () => schedule) : [...schedule];
    if (this.schedules.length !== n) throw new Error(`LRScheduler: ${this.schedules.length} schedules for ${n} parameter groups`);
    this.baseLrs = optimizer.paramGroups.map((g) => g.lr);
    this.apply();
  }

  /** Advance one step and set the groups' lr. */
  step(): void {
    this.lastStep++;
    this.apply();
  }

  /** The lr of each group as last set. */
  getLastLr(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }

  stateDict(): LRSchedulerState {
    return { lastStep: this.lastStep, baseLrs: [...this.baseLrs] };
  }

  /** Restore the step count and base lrs, and set the groups' lr accordingly. */
  loadStateDict(sd: LRSchedulerState): void {
    if (sd.baseLrs.length !== this.baseLrs.length) throw new Error(`LRScheduler.loadStateDict: ${sd.baseLrs.length} base lrs for ${this.baseLrs.length} parameter groups`);
    this.lastStep = sd.lastStep;
    this.baseLrs.splice(0, this.baseLrs.length, ...sd.baseLrs);
    this.apply();
  }

  private apply(): void {
    this.optimizer.paramGroups.forEach((g, i) => {
      g.lr = this.schedules[i]!(this.lastStep, this.baseLrs[i]!);
    });
  }
}
