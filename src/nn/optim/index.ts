/** Optimizers (SGD, Adam, AdamW), gradient clipping, learning-rate schedules and weight EMA. */
export { Optimizer, ParamState, type ParamGroup, type ParamsArg, type HyperValue, type OptimizerStateDict } from './optimizer.ts';
export { SGD, type SGDHyper, type SGDOptions } from './sgd.ts';
export { Adam, AdamW, type AdamHyper, type AdamOptions } from './adam.ts';
export { clipGradNorm, clipGradNormAsync, clipGradValue, type ClipGradNormOptions } from './clip.ts';
export {
  type Schedule, lambdaLR, linearWarmup, cosineAnnealing, stepLR, exponentialLR, withWarmup, warmupCosine,
  LRScheduler, type HasParamGroups, type LRSchedulerState,
} from './schedules.ts';
export { EMA, type EMAOptions, type EMASource, type EMAStateDict } from './ema.ts';
