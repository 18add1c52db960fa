/**
 * The shared training loop (browser-safe): `Trainer`, training options, progress text.
 * Node-only checkpoint files live in ./node.ts (exported through `genlab/node`).
 */
export { Trainer, TrainingDivergedError, makeSchedule, moduleGenerators, type TrainerInit, type TrainerSnapshot, type TrainerState, type LogRecord, type StepProgress, type EvalContext, type TrainResult } from './trainer.ts';
export { TRAIN_DEFAULTS, resolveTrainOptions, deepMerge, parseValue, setPath, applySets, type TrainOptions } from './config.ts';
export { progressBar, logLine, formatDuration, formatNumber } from './progress.ts';
