// Helpers of the command-line tests: run `genlab` as a user would (a spawned `node bin/genlab.mjs`)
// in a scratch directory, and small presets that train in a second or two.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const BIN = join(ROOT, 'bin', 'genlab.mjs');

export interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Start `genlab ...args` in `cwd`; `onStdout` sees the output as it comes. */
export function start(args: string[], cwd: string, onStdout?: (text: string, child: ChildProcess) => void): { child: ChildProcess; done: Promise<Result> } {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '', stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    onStdout?.(stdout, child);
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const done = new Promise<Result>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, done };
}

/** Run `genlab ...args` in `cwd` to the end. */
export function genlab(args: string[], cwd: string): Promise<Result> {
  return start(args, cwd).done;
}

export function scratch(): string {
  return mkdtempSync(join(tmpdir(), 'genlab-cli-'));
}

/** A diffusion model on moons small enough to train a step in a few milliseconds. */
export const TINY = {
  description: 'tiny EDM MLP on moons (tests)',
  family: 'diffusion',
  data: { name: 'moons', size: 512, heldOut: 256 },
  model: { parameterization: 'edm', net: { kind: 'mlp', hidden: 16, depth: 2 }, sampler: 'heun', steps: 4 },
  train: {
    steps: 40, batchSize: 64, lr: 0.005, schedule: 'constant', warmupSteps: 5, ema: 0.9,
    logEvery: 10, evalEvery: 20, checkpointEvery: 20, evalSamples: 200,
  },
};

/** Write a preset (TINY with changes merged at the top level of each section) into `dir`; returns its path. */
export function writePreset(dir: string, name: string, changes: { model?: object; train?: object; data?: object; family?: string } = {}): string {
  const p = {
    ...TINY,
    ...(changes.family ? { family: changes.family } : {}),
    data: { ...TINY.data, ...changes.data },
    model: changes.family && changes.family !== 'diffusion' ? (changes.model ?? {}) : { ...TINY.model, ...changes.model },
    train: { ...TINY.train, ...changes.train },
  };
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(p, null, 2));
  return file;
}
