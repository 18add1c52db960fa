/**
 * Node-only file helpers: crash-safe writes and safetensors files on disk.
 *
 * Import this module only from Node code (it uses node:fs); the format itself lives in the
 * browser-safe ./safetensors.ts.
 *
 * Crash safety: every file is written to a temporary name in the same directory, flushed with
 * fsync and then renamed over the destination, so a reader sees either the old file or the new
 * one, never a partial one. Directories are built under a temporary name and swapped in with two
 * renames (see writeDirAtomic).
 */
import { lstat, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import process from 'node:process';
import { parseSafetensors, serializeSafetensors, SafetensorsError } from './safetensors.ts';
import type { RawTensor } from './safetensors.ts';

let counter = 0;

/** A fresh suffix for temporary names: unique within this process and across live processes. */
function uniqueSuffix(): string {
  counter += 1;
  return `${process.pid}-${counter}`;
}

function errCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Human reason for a failed file-system call on `path`. */
function reason(err: unknown, path: string): string {
  switch (errCode(err)) {
    case 'ENOENT': return `directory "${dirname(path)}" does not exist`;
    case 'ENOTDIR': return `a component of "${dirname(path)}" is not a directory`;
    case 'EACCES':
    case 'EPERM': return 'permission denied';
    case 'ENOSPC': return 'disk full (ENOSPC)';
    case 'EDQUOT': return 'disk quota exceeded (EDQUOT)';
    case 'EROFS': return 'read-only file system';
    case 'EISDIR': return `"${path}" is a directory`;
    case 'EEXIST': return `"${path}" already exists`;
    case 'EMFILE':
    case 'ENFILE': return 'too many open files';
    default: return err instanceof Error ? err.message : String(err);
  }
}

/** Errors made by fsError, so that outer handlers pass them on instead of wrapping them twice. */
const described = new WeakSet<object>();

/** An Error naming what failed and why, keeping the original as `cause` and its `code`. */
function fsError(what: string, path: string, err: unknown, why = reason(err, path)): Error {
  const e = new Error(`${what} "${path}": ${why}`, err === undefined ? undefined : { cause: err });
  const code = errCode(err);
  if (code !== undefined) Object.assign(e, { code });
  described.add(e);
  return e;
}

function isDescribed(err: unknown): err is Error {
  return typeof err === 'object' && err !== null && described.has(err);
}

/** fsync a directory so a rename inside it is durable. Best effort: not possible everywhere (Windows). */
async function syncDir(dir: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch {
    // ignored: directory fsync is an extra guarantee, not a requirement
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

/** Creates `file` (which must not exist), writes `data`, fsyncs and closes it. */
async function writeNewFile(file: string, data: Uint8Array | string): Promise<void> {
  const fh = await open(file, 'wx');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Writes `data` to `path` atomically: into `${path}.tmp-<pid>-<n>` in the same directory, fsync,
 * then rename over `path`. On failure the temporary file is removed and an Error naming `path`
 * and the cause (e.g. 'directory "…" does not exist', 'disk full') is thrown.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  let tmp = '';
  try {
    // A leftover temp file of a crashed process with the same pid is never overwritten: pick another name.
    for (let attempt = 0; ; attempt++) {
      tmp = `${path}.tmp-${uniqueSuffix()}`;
      try {
        await writeNewFile(tmp, data);
        break;
      } catch (err) {
        if (errCode(err) !== 'EEXIST' || attempt >= 100) throw err;
        tmp = '';
      }
    }
    await rename(tmp, path);
  } catch (err) {
    if (tmp) await rm(tmp, { force: true }).catch(() => undefined);
    throw fsError('cannot write', path, err);
  }
  await syncDir(dirname(resolve(path)));
}

/** Serializes `tensors` (see serializeSafetensors) and writes them to `path` atomically. */
export async function saveSafetensorsFile(
  path: string,
  tensors: Record<string, RawTensor>,
  metadata?: Record<string, string>,
): Promise<void> {
  let bytes: Uint8Array;
  try {
    bytes = serializeSafetensors(tensors, metadata);
  } catch (err) {
    if (err instanceof SafetensorsError) throw new SafetensorsError(`cannot save "${path}": ${err.message}`, { cause: err });
    throw err;
  }
  await writeFileAtomic(path, bytes);
}

/**
 * Reads and parses a safetensors file. Errors name the path: a SafetensorsError for a malformed
 * file, an Error (with `code`) when the file cannot be read.
 */
export async function loadSafetensorsFile(path: string): Promise<ReturnType<typeof parseSafetensors>> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const why = errCode(err) === 'ENOENT' ? 'no such file' : reason(err, path);
    throw fsError('cannot read', path, err, why);
  }
  try {
    return parseSafetensors(bytes);
  } catch (err) {
    if (err instanceof SafetensorsError) {
      throw new SafetensorsError(`invalid safetensors file "${path}": ${err.message}`, { cause: err });
    }
    throw err;
  }
}

/** Checks a relative file name for writeDirAtomic and returns its path segments. */
function fileSegments(dir: string, name: string): string[] {
  const segs = name.split(/[\\/]/);
  if (name === '' || name.startsWith('/') || /^[A-Za-z]:/.test(name) || segs.some((s) => s === '' || s === '.' || s === '..')) {
    throw new Error(
      `writeDirAtomic("${dir}"): invalid file name ${JSON.stringify(name)}: use a relative path without "", ".", ".." segments`,
    );
  }
  return segs;
}

/**
 * Writes a whole directory atomically: every file of `files` (name relative to `dir`, may contain
 * "/" for subdirectories) goes into `${dir}.tmp-<pid>-<n>`, fsynced; then an existing `dir` is
 * renamed to `${dir}.old-<pid>-<n>`, the temporary directory is renamed to `dir`, and the old one
 * is removed. The result replaces `dir`'s contents completely.
 *
 * A crash never leaves a half-written `dir`: before the swap `dir` is untouched; in the instant
 * between the two renames `dir` is absent while the complete old (`.old-…`) and new (`.tmp-…`)
 * versions both exist beside it. The parent directory must exist.
 */
export async function writeDirAtomic(dir: string, files: Record<string, Uint8Array | string>): Promise<void> {
  const target = resolve(dir); // also strips a trailing separator, so the temp names are siblings
  const parent = dirname(target);
  const what = 'cannot write directory';
  const names = Object.keys(files);
  const segments = names.map((n) => fileSegments(dir, n));

  try {
    const st = await stat(parent);
    if (!st.isDirectory()) throw fsError(what, target, undefined, `parent "${parent}" is not a directory`);
  } catch (err) {
    if (isDescribed(err)) throw err;
    const why = errCode(err) === 'ENOENT' ? `parent directory "${parent}" does not exist` : reason(err, target);
    throw fsError(what, target, err, why);
  }

  let existing = false;
  try {
    const st = await lstat(target);
    if (!st.isDirectory() && !st.isSymbolicLink()) {
      throw fsError(what, target, undefined, 'it exists and is not a directory');
    }
    existing = true;
  } catch (err) {
    if (isDescribed(err)) throw err;
    if (errCode(err) !== 'ENOENT') throw fsError(what, target, err);
  }

  let tmp = '';
  let old = '';
  // Pick names not already taken (a crashed process with the same pid may have left some behind).
  for (let attempt = 0; ; attempt++) {
    const suffix = uniqueSuffix();
    tmp = `${target}.tmp-${suffix}`;
    old = `${target}.old-${suffix}`;
    try {
      if (attempt < 100 && (await lstat(old).then(() => true, () => false))) continue;
      await mkdir(tmp);
      break;
    } catch (err) {
      if (errCode(err) !== 'EEXIST' || attempt >= 100) throw fsError(what, target, err, reason(err, tmp));
    }
  }

  // 1. Build the new version under the temporary name.
  try {
    const subdirs = new Set<string>();
    for (let i = 0; i < names.length; i++) {
      const segs = segments[i]!;
      if (segs.length > 1) {
        const sub = join(tmp, ...segs.slice(0, -1));
        await mkdir(sub, { recursive: true });
        subdirs.add(sub);
      }
      try {
        await writeNewFile(join(tmp, ...segs), files[names[i]!]!);
      } catch (err) {
        throw fsError(`${what} "${target}": cannot write file`, names[i]!, err, reason(err, join(target, ...segs)));
      }
    }
    for (const sub of subdirs) await syncDir(sub);
    await syncDir(tmp);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    if (isDescribed(err)) throw err;
    throw fsError(what, target, err, reason(err, tmp));
  }

  // 2. Swap it in.
  if (existing) {
    try {
      await rename(target, old);
    } catch (err) {
      await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
      throw fsError(what, target, err, `cannot move the existing directory aside: ${reason(err, target)}`);
    }
  }
  try {
    await rename(tmp, target);
  } catch (err) {
    if (existing) await rename(old, target).catch(() => undefined); // put the old version back
    await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    throw fsError(what, target, err, reason(err, target));
  }
  await syncDir(parent);

  // 3. The new version is in place; removing the old one is cleanup (a failure leaves only litter).
  if (existing) await rm(old, { recursive: true, force: true }).catch(() => undefined);
}
