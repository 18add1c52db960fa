/**
 * Node-only: safetensors files and checkpoints on disk. Import through `genlab/node`
 * (src/node.ts); browser code uses the byte-level functions of ./index.ts instead.
 *
 * Every write is crash-safe: a file is written to a temporary name, fsynced and renamed over the
 * destination (writeFileAtomic), and a checkpoint directory is built under a temporary name and
 * swapped in whole (writeDirAtomic), so a crash leaves either the previous checkpoint or the new
 * one, never a mix.
 *
 * A checkpoint is a directory:
 *
 *   model.safetensors       the model's state dict (keys as PyTorch's; loads into the PyTorch twin)
 *   config.json             the model's constructor options, pretty-printed: weights + config, never code
 *   optimizer.safetensors   the optimizer's tensor state (only when an optimizer was given)
 *   optimizer.json          the optimizer's hyper-parameters and step counts (idem)
 *   meta.json               { step, genlabVersion, time, files, extra }
 *
 * ```ts
 * await saveCheckpoint('runs/mnist/ckpt', { model: net, config: opts, optimizer: opt, step: 1000 });
 * const ckpt = await loadCheckpoint('runs/mnist/ckpt');
 * const net2 = new ConvNet(ckpt.config);
 * net2.loadStateDict(ckpt.state);
 * ```
 */
import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Tensor } from '../../core/tensor.ts';
import { Module } from '../module.ts';
import type { OptimizerStateDict } from '../optim/optimizer.ts';
import { fromRaw, stateDictFromBytes, stateDictToBytes, type LoadOptions } from './index.ts';
import { loadSafetensorsFile, writeDirAtomic, writeFileAtomic } from './files.ts';
import { SafetensorsError } from './safetensors.ts';

// ---------------------------------------------------------------------------------------------
// Safetensors files
// ---------------------------------------------------------------------------------------------

/** Writes a state dict (e.g. `module.stateDict()`) to `path` as safetensors, atomically. */
export async function saveSafetensors(path: string, sd: Readonly<Record<string, Tensor>>, metadata?: Record<string, string>): Promise<void> {
  let bytes: Uint8Array;
  try {
    bytes = await stateDictToBytes(sd, metadata);
  } catch (err) {
    const message = `cannot save "${path}": ${err instanceof Error ? err.message : String(err)}`;
    throw err instanceof SafetensorsError ? new SafetensorsError(message, { cause: err }) : new Error(message, { cause: err });
  }
  await writeFileAtomic(path, bytes);
}

/** Reads a safetensors file into a state dict of fresh tensors (errors name the path). */
export async function loadSafetensors(path: string, opts: LoadOptions = {}): Promise<Record<string, Tensor>> {
  const { tensors } = await loadSafetensorsFile(path);
  const sd: Record<string, Tensor> = {};
  try {
    for (const [key, raw] of Object.entries(tensors)) {
      Object.defineProperty(sd, key, { value: fromRaw(raw, opts), enumerable: true, writable: true, configurable: true });
    }
  } catch (err) {
    for (const t of Object.values(sd)) t.dispose();
    throw new Error(`cannot load "${path}": ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return sd;
}

// ---------------------------------------------------------------------------------------------
// Checkpoints
// ---------------------------------------------------------------------------------------------

/** What saveCheckpoint needs of an optimizer (every genlab optimizer has it). */
export interface OptimizerLike {
  stateDict(): { state: Record<string, Tensor>; hyper: unknown };
}

export interface SaveCheckpointOptions {
  /** The model, or its state dict. */
  model: Module | Readonly<Record<string, Tensor>>;
  /** The model's constructor options (plain JSON data: no Generator, no tensors). */
  config: unknown;
  /** Saved as optimizer.safetensors + optimizer.json when given. */
  optimizer?: OptimizerLike;
  /** Training step the checkpoint was taken at. */
  step?: number;
  /** Any further plain JSON data to keep in meta.json (e.g. the data set's name, an EMA decay). */
  extra?: unknown;
}

export interface CheckpointMeta {
  /** Training step, or null when none was given. */
  step: number | null;
  /** genlab's package version that wrote the checkpoint. */
  genlabVersion: string;
  /** When it was written (ISO 8601, UTC). */
  time: string;
  /** The files of the checkpoint (meta.json included). */
  files: string[];
  extra?: unknown;
}

export interface Checkpoint<C = Record<string, unknown>> {
  /** The model's state dict: pass it to `model.loadStateDict`. */
  state: Record<string, Tensor>;
  config: C;
  /**
   * The optimizer's state dict as saved, when the checkpoint has one: pass it to
   * `optimizer.loadStateDict` (which checks it against the optimizer's parameters).
   */
  optimizer?: OptimizerStateDict;
  meta: CheckpointMeta;
}

const MODEL_FILE = 'model.safetensors';
const CONFIG_FILE = 'config.json';
const OPT_FILE = 'optimizer.safetensors';
const OPT_HYPER_FILE = 'optimizer.json';
const META_FILE = 'meta.json';

let versionCache: string | undefined;

/** genlab's version, from its package.json ('unknown' if that cannot be read). */
async function genlabVersion(): Promise<string> {
  if (versionCache === undefined) {
    try {
      const pkg = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as { name?: unknown; version?: unknown };
      versionCache = pkg.name === 'genlab' && typeof pkg.version === 'string' ? pkg.version : 'unknown';
    } catch {
      versionCache = 'unknown';
    }
  }
  return versionCache;
}

/**
 * Pretty JSON text of `value`, which must be plain data: null, booleans, finite numbers, strings,
 * arrays and plain objects (undefined object fields are left out, as JSON.stringify does). Anything
 * else (a Generator, a Tensor, NaN, a function) is an error naming where it sits, instead of being
 * silently mangled by JSON.stringify.
 */
function jsonText(value: unknown, where: string): string {
  const seen = new Set<object>();
  const check = (v: unknown, path: string): void => {
    if (v === null || typeof v === 'string' || typeof v === 'boolean') return;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new Error(`${path} is ${v}, which JSON cannot hold`);
      return;
    }
    if (typeof v !== 'object') throw new Error(`${path} is a ${typeof v}, which is not JSON data`);
    if (seen.has(v)) throw new Error(`${path} refers back to itself (a cycle)`);
    seen.add(v);
    if (Array.isArray(v)) {
      v.forEach((x, i) => {
        if (x === undefined) throw new Error(`${path}[${i}] is undefined, which JSON cannot hold`);
        check(x, `${path}[${i}]`);
      });
    } else {
      const proto = Object.getPrototypeOf(v) as unknown;
      if (proto !== Object.prototype && proto !== null) {
        const name = (v as { constructor?: { name?: string } }).constructor?.name ?? 'object';
        throw new Error(`${path} is a ${name}, not plain JSON data (save only numbers, strings, booleans, arrays and plain objects)`);
      }
      for (const [k, x] of Object.entries(v)) if (x !== undefined) check(x, `${path}.${k}`);
    }
    seen.delete(v);
  };
  check(value, where);
  return `${JSON.stringify(value, null, 2)}\n`;
}

/**
 * Writes a checkpoint directory `dir` (see the module comment), replacing any previous one
 * atomically: until the new version is complete on disk, `dir` keeps the old one. The parent
 * directory must exist.
 */
export async function saveCheckpoint(dir: string, opts: SaveCheckpointOptions): Promise<void> {
  const fail = (message: string, cause?: unknown): never => {
    throw new Error(`saveCheckpoint("${dir}"): ${message}`, cause === undefined ? undefined : { cause });
  };
  const { model, config, optimizer, step, extra } = opts;
  if (step !== undefined && !(Number.isSafeInteger(step) && step >= 0)) fail(`step must be a non-negative integer, got ${step}`);
  if (typeof config !== 'object' || config === null || Array.isArray(config)) fail('config must be an object (the model\'s constructor options)');

  const files: Record<string, Uint8Array | string> = {};
  const encode = async (file: string, sd: Readonly<Record<string, Tensor>>): Promise<Uint8Array> => {
    try {
      return await stateDictToBytes(sd, { format: 'pt' });
    } catch (err) {
      return fail(`cannot serialize ${file}: ${err instanceof Error ? err.message : String(err)}`, err);
    }
  };
  const json = (file: string, value: unknown, what: string): string => {
    try {
      return jsonText(value, what);
    } catch (err) {
      return fail(`cannot write ${file}: ${(err as Error).message}`, err);
    }
  };

  files[MODEL_FILE] = await encode(MODEL_FILE, model instanceof Module ? model.stateDict() : model);
  files[CONFIG_FILE] = json(CONFIG_FILE, config, 'config');
  if (optimizer) {
    const { state, hyper } = optimizer.stateDict();
    files[OPT_FILE] = await encode(OPT_FILE, state);
    files[OPT_HYPER_FILE] = json(OPT_HYPER_FILE, hyper, 'optimizer hyper');
  }
  const meta: CheckpointMeta = {
    step: step ?? null,
    genlabVersion: await genlabVersion(),
    time: new Date().toISOString(),
    files: [...Object.keys(files), META_FILE],
    ...(extra === undefined ? {} : { extra }),
  };
  files[META_FILE] = json(META_FILE, meta, 'meta');
  await writeDirAtomic(dir, files);
}

function errCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Reads a checkpoint written by saveCheckpoint. Errors name the checkpoint and the file at fault
 * (`loadCheckpoint("runs/x"): missing model.safetensors`). Tensors are created on `opts.backend`.
 */
export async function loadCheckpoint<C = Record<string, unknown>>(dir: string, opts: LoadOptions = {}): Promise<Checkpoint<C>> {
  const where = `loadCheckpoint("${dir}")`;
  const fail = (message: string, cause?: unknown): never => {
    throw new Error(`${where}: ${message}`, cause === undefined ? undefined : { cause });
  };

  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if (errCode(err) === 'ENOENT') {
      // A crash in the instant between writeDirAtomic's two renames leaves only `<dir>.old-*` / `<dir>.tmp-*`.
      const target = resolve(dir);
      const leftovers = await readdir(dirname(target)).then(
        (all) => all.filter((n) => n.startsWith(`${basename(target)}.old-`) || n.startsWith(`${basename(target)}.tmp-`)),
        () => [] as string[],
      );
      const hint = leftovers.length
        ? ` (found ${leftovers.map((n) => `"${n}"`).join(', ')} beside it: an interrupted write; "*.old-*" is the previous complete checkpoint, "*.tmp-*" the new one if it holds ${META_FILE})`
        : '';
      return fail(`the checkpoint directory does not exist${hint}`, err);
    }
    return fail(`cannot read the checkpoint directory: ${err instanceof Error ? err.message : String(err)}`, err);
  }
  const present = new Set(names);
  const readText = async (file: string): Promise<unknown> => {
    if (!present.has(file)) fail(`missing ${file}`);
    let text: string;
    try {
      text = await readFile(join(dir, file), 'utf8');
    } catch (err) {
      return fail(`cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`, err);
    }
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      return fail(`${file} is not valid JSON: ${(err as Error).message}`, err);
    }
  };
  const loaded: Tensor[] = [];
  const readTensors = async (file: string): Promise<Record<string, Tensor>> => {
    if (!present.has(file)) fail(`missing ${file}`);
    let bytes: Uint8Array;
    try {
      bytes = await readFile(join(dir, file));
    } catch (err) {
      return fail(`cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`, err);
    }
    try {
      const sd = stateDictFromBytes(bytes, opts);
      loaded.push(...Object.values(sd));
      return sd;
    } catch (err) {
      return fail(`invalid ${file}: ${err instanceof Error ? err.message : String(err)}`, err);
    }
  };

  try {
    for (const file of [MODEL_FILE, CONFIG_FILE, META_FILE]) if (!present.has(file)) fail(`missing ${file}`);
    const meta = (await readText(META_FILE)) as CheckpointMeta;
    if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) fail(`${META_FILE} must hold an object`);
    for (const file of Array.isArray(meta.files) ? meta.files : []) {
      if (typeof file === 'string' && !present.has(file)) fail(`missing ${file} (listed in ${META_FILE})`);
    }
    const hasOpt = present.has(OPT_FILE) || present.has(OPT_HYPER_FILE);
    if (hasOpt && !present.has(OPT_FILE)) fail(`missing ${OPT_FILE} (${OPT_HYPER_FILE} is there)`);
    if (hasOpt && !present.has(OPT_HYPER_FILE)) fail(`missing ${OPT_HYPER_FILE} (${OPT_FILE} is there)`);

    const config = (await readText(CONFIG_FILE)) as C;
    const state = await readTensors(MODEL_FILE);
    const ckpt: Checkpoint<C> = { state, config, meta };
    if (hasOpt) ckpt.optimizer = { state: await readTensors(OPT_FILE), hyper: (await readText(OPT_HYPER_FILE)) as OptimizerStateDict['hyper'] };
    return ckpt;
  } catch (err) {
    for (const t of loaded) t.dispose();
    throw err;
  }
}
