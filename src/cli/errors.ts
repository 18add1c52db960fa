/** Errors the command line reports without a stack trace, and their exit codes. */
import { isAbsolute, relative } from 'node:path';

/** A mistake in how the command was called (unknown option, missing argument, unknown name): exit code 2. */
export class UsageError extends Error {
  readonly exitCode = 2;
  constructor(message: string, readonly verb?: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A failure the user can act on (missing data, corrupt checkpoint, diverged training): exit code 1. */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, opts: { exitCode?: number; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'CliError';
    this.exitCode = opts.exitCode ?? 1;
  }
}

/** Exit code of a run stopped by Ctrl-C (128 + SIGINT), as shells report it. */
export const EXIT_INTERRUPTED = 130;

/** A file-system error as one readable sentence: what failed, on which path, and why. */
export function describeFsError(err: unknown, what: string, path: string): string {
  const code = (err as { code?: unknown } | null)?.code;
  const why: Record<string, string> = {
    ENOENT: 'no such file or directory',
    ENOTDIR: 'a part of the path is not a directory',
    EACCES: 'permission denied',
    EPERM: 'permission denied',
    ENOSPC: 'no space left on the device (disk full)',
    EDQUOT: 'disk quota exceeded',
    EROFS: 'read-only file system',
    EISDIR: 'it is a directory',
    EEXIST: 'it already exists',
  };
  const reason = typeof code === 'string' && why[code] ? why[code] : err instanceof Error ? err.message : String(err);
  return `cannot ${what} ${path}: ${reason}`;
}

/** A path as the user would type it: relative to the working directory when inside it, else absolute. */
export function displayPath(p: string): string {
  const rel = relative(process.cwd(), p);
  return rel === '' ? '.' : rel.startsWith('..') || isAbsolute(rel) ? p : rel;
}
