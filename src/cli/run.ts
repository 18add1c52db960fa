/**
 * Runs on disk (Node-only): the resolved config of a run, its presets, and loading a trained model
 * back from a run directory.
 *
 *   <run>/config.json          the resolved run config (RunConfig)
 *   <run>/checkpoint/          the latest checkpoint (src/train/node.ts): weights, EMA weights, optimizer, trainer state
 *   <run>/metrics.jsonl        one JSON line per logging step
 *   <run>/samples.png, density.png, samples/step-*.png   pictures
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Generator } from '../core/index.ts';
import { families, familyByName, type AnyFamily } from '../models/index.ts';
import type { DataSpec, Model } from '../models/registry.ts';
import type { TrainOptions } from '../train/config.ts';
import { loadTrainingCheckpoint } from '../train/node.ts';
import type { DataConfig } from './data.ts';
import { CliError, UsageError } from './errors.ts';

/** Everything a run was made from: saved as config.json beside the weights. */
export interface RunConfig {
  family: string;
  /** The preset it started from, if any. */
  preset?: string;
  description?: string;
  data: DataConfig;
  /** What the data look like (so that sampling needs no data). */
  dataSpec: DataSpec;
  /** The family's config (family.defaults(dataSpec) with the preset's and --set's changes). */
  model: Record<string, unknown>;
  train: TrainOptions;
}

/** A preset file: a family, data, and the parts of the model config and training options that differ from the defaults. */
export interface Preset {
  description?: string;
  family: string;
  data?: DataConfig | string;
  model?: Record<string, unknown>;
  train?: Partial<TrainOptions>;
}

export const PRESETS_DIR = fileURLToPath(new URL('../../presets/', import.meta.url));
export const CHECKPOINT_DIR = 'checkpoint';

export async function presetNames(): Promise<string[]> {
  try {
    return (await readdir(PRESETS_DIR)).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
  } catch {
    return [];
  }
}

async function isFile(p: string): Promise<boolean> {
  return stat(p).then((s) => s.isFile(), () => false);
}
async function isDir(p: string): Promise<boolean> {
  return stat(p).then((s) => s.isDirectory(), () => false);
}

/** A preset by name (presets/<name>.json) or by path to a .json file. */
export async function readPreset(nameOrPath: string): Promise<{ name: string; preset: Preset }> {
  const file = nameOrPath.endsWith('.json') ? resolve(nameOrPath) : join(PRESETS_DIR, `${nameOrPath}.json`);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new UsageError(`no preset file ${file}`);
  }
  let preset: Preset;
  try {
    preset = JSON.parse(text) as Preset;
  } catch (err) {
    throw new CliError(`${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof preset !== 'object' || preset === null || typeof preset.family !== 'string') throw new CliError(`${file}: a preset needs a "family" (one of ${Object.keys(families).join(', ')})`);
  familyByName(preset.family);
  return { name: basename(file, '.json'), preset };
}

/** What `genlab train <name>` means: a preset, a preset file, or a bare family (its defaults). */
export async function resolveModelArg(name: string): Promise<{ name: string; preset: Preset }> {
  if (name.endsWith('.json') || (await isFile(join(PRESETS_DIR, `${name}.json`)))) return readPreset(name);
  if (Object.hasOwn(families, name)) return { name, preset: { family: name } };
  throw new UsageError(`unknown model or preset '${name}' (models: ${Object.keys(families).join(', ')}; presets: ${(await presetNames()).join(', ')})`);
}

/** The run directory `arg` names: a run (holding checkpoint/) or a checkpoint directory itself. */
export async function runDir(arg: string): Promise<{ dir: string; checkpoint: string }> {
  const p = resolve(arg);
  if (await isDir(join(p, CHECKPOINT_DIR))) return { dir: p, checkpoint: join(p, CHECKPOINT_DIR) };
  if (await isFile(join(p, 'trainer.json')) || await isFile(join(p, 'meta.json'))) return { dir: resolve(p, '..'), checkpoint: p };
  if (!(await isDir(p))) throw new CliError(`no run at ${arg}: no such directory`);
  throw new CliError(`no run at ${arg}: it holds no ${CHECKPOINT_DIR}/ (train one with 'genlab train <model> --data <set> --out ${arg}')`);
}

export interface LoadedRun {
  dir: string;
  config: RunConfig;
  family: AnyFamily;
  model: Model;
  step: number;
  /** Whether the weights are the EMA weights. */
  ema: boolean;
}

/** Rebuild a run's model from its checkpoint, with the EMA weights (or the training weights with `weights: 'train'`). */
export async function loadRun(arg: string, opts: { weights?: 'ema' | 'train' } = {}): Promise<LoadedRun> {
  const { dir, checkpoint } = await runDir(arg);
  let ck;
  try {
    ck = await loadTrainingCheckpoint<RunConfig>(checkpoint);
  } catch (err) {
    throw new CliError(`cannot load the run in ${arg}: ${err instanceof Error ? err.message : String(err)}\n(the checkpoint is damaged or incomplete; a new 'genlab train ... --out ${arg}' starts over)`, { cause: err });
  }
  const config = ck.config;
  if (!config || typeof config.family !== 'string' || !config.dataSpec) throw new CliError(`${checkpoint}/config.json is not a genlab run config (no family or dataSpec)`);
  const family = familyByName(config.family);
  const model = family.create(config.model, config.dataSpec, new Generator(0));
  const useEma = (opts.weights ?? 'ema') === 'ema' && ck.ema !== null;
  const sd = { ...ck.model, ...(useEma ? ck.ema : {}) };
  const { missingKeys, unexpectedKeys } = model.net.loadStateDict(sd, { strict: false });
  if (missingKeys.length || unexpectedKeys.length) throw new CliError(`${checkpoint}: the weights do not fit the model its config describes (missing [${missingKeys.join(', ')}], unexpected [${unexpectedKeys.join(', ')}])`);
  for (const t of Object.values(ck.model)) t.dispose();
  for (const t of Object.values(ck.ema ?? {})) t.dispose();
  for (const t of Object.values(ck.snapshot.optimizer.state)) t.dispose();
  model.net.eval();
  return { dir, config, family, model, step: ck.step, ema: useEma };
}

/**
 * The model config with its network's options resolved: a config whose `net` names a network
 * (`{ kind, … }`) gets every option the built network reports in `net.config`, so that the run
 * rebuilds the same network even after a default changes in a later genlab.
 */
export function frozenModelConfig(config: Record<string, unknown>, model: Model): Record<string, unknown> {
  const net = config.net as Record<string, unknown> | undefined;
  const resolved = (model.net as unknown as { config?: unknown }).config;
  if (!net || typeof net !== 'object' || typeof net.kind !== 'string' || !resolved || typeof resolved !== 'object') return config;
  return { ...config, net: { kind: net.kind, ...(resolved as Record<string, unknown>) } };
}

