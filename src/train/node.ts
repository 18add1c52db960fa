/**
 * Node-only: training checkpoints on disk, and the metrics log. A checkpoint is a directory
 * written atomically (built beside, then swapped in; see writeDirAtomic), in the layout of
 * `saveCheckpoint` (src/nn/io/node.ts), so `loadCheckpoint` reads it too, plus the EMA weights and
 * the trainer's state:
 *
 *   model.safetensors       the training weights (PyTorch's state-dict keys)
 *   ema.safetensors         the EMA weights, same keys (what sampling uses; absent without EMA)
 *   optimizer.safetensors   optimizer state tensors (torch's names: `0.exp_avg`, …)
 *   optimizer.json          optimizer hyper-parameters and step counts
 *   config.json             the resolved run config (family, model config, data, training options)
 *   trainer.json            step, Generator and data-loader state, scheduler, EMA count (TrainerState)
 *   meta.json               { step, genlabVersion, time, files, extra: { family } }
 */
import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Tensor } from '../core/index.ts';
import { stateDictFromBytes, stateDictToBytes } from '../nn/io/index.ts';
import { loadCheckpoint } from '../nn/io/node.ts';
import { writeDirAtomic } from '../nn/io/files.ts';
import type { TrainerSnapshot, TrainerState } from './trainer.ts';

export const CHECKPOINT_FILES = {
  model: 'model.safetensors',
  ema: 'ema.safetensors',
  optimizer: 'optimizer.safetensors',
  optimizerHyper: 'optimizer.json',
  config: 'config.json',
  trainer: 'trainer.json',
  meta: 'meta.json',
} as const;

let version: string | undefined;
async function genlabVersion(): Promise<string> {
  if (version === undefined) {
    try {
      const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
      version = typeof pkg.version === 'string' ? pkg.version : 'unknown';
    } catch {
      version = 'unknown';
    }
  }
  return version;
}

const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;

/** Write a training checkpoint directory `dir` atomically (its parent must exist). */
export async function saveTrainingCheckpoint(dir: string, snap: TrainerSnapshot, runConfig: { family: string } & Record<string, unknown>): Promise<void> {
  const F = CHECKPOINT_FILES;
  const files: Record<string, Uint8Array | string> = {};
  files[F.model] = await stateDictToBytes(snap.model, { format: 'pt' });
  if (snap.ema) files[F.ema] = await stateDictToBytes(snap.ema, { format: 'pt' });
  files[F.optimizer] = await stateDictToBytes(snap.optimizer.state, { format: 'pt' });
  files[F.optimizerHyper] = json(snap.optimizer.hyper);
  files[F.config] = json(runConfig);
  files[F.trainer] = json(snap.state);
  const names = [...Object.keys(files), F.meta];
  files[F.meta] = json({ step: snap.step, genlabVersion: await genlabVersion(), time: new Date().toISOString(), files: names, extra: { family: runConfig.family } });
  await writeDirAtomic(dir, files);
}

export interface LoadedTrainingCheckpoint<C> {
  step: number;
  config: C;
  model: Record<string, Tensor>;
  ema: Record<string, Tensor> | null;
  snapshot: TrainerSnapshot;
}

/**
 * Read a training checkpoint. Every problem (a missing or truncated file, bad JSON, a corrupt
 * safetensors header) is an Error naming the checkpoint and the file.
 */
export async function loadTrainingCheckpoint<C = Record<string, unknown>>(dir: string): Promise<LoadedTrainingCheckpoint<C>> {
  const ck = await loadCheckpoint<C>(dir);
  const F = CHECKPOINT_FILES;
  const where = `loadCheckpoint("${dir}")`;
  const files = new Set(Array.isArray(ck.meta.files) ? ck.meta.files : []);
  let ema: Record<string, Tensor> | null = null;
  if (files.has(F.ema)) {
    try {
      ema = stateDictFromBytes(new Uint8Array(await readFile(join(dir, F.ema))));
    } catch (err) {
      throw new Error(`${where}: invalid ${F.ema}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }
  let state: TrainerState;
  try {
    state = JSON.parse(await readFile(join(dir, F.trainer), 'utf8')) as TrainerState;
  } catch (err) {
    throw new Error(`${where}: cannot read ${F.trainer}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  if (!ck.optimizer) throw new Error(`${where}: missing ${F.optimizer}`);
  if (typeof state?.step !== 'number' || state.step !== ck.meta.step) {
    throw new Error(`${where}: ${F.trainer} (step ${String(state?.step)}) does not match ${F.meta} (step ${String(ck.meta.step)})`);
  }
  return {
    step: state.step,
    config: ck.config,
    model: ck.state,
    ema,
    snapshot: { step: state.step, model: ck.state, ema, optimizer: ck.optimizer, state },
  };
}

/** Append one JSON line to `file` (the file and its directory must be writable). */
export async function appendJsonLine(file: string, record: unknown): Promise<void> {
  await appendFile(file, `${JSON.stringify(record)}\n`);
}
