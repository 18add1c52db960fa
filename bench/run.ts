/**
 * `npm run bench [-- --quick] [--only gemm,mlp,conv,unet] [--peers torch,tfjs-wasm,…] [--threads N] [--rounds R] [--relaxed-simd] [--latest]`
 *
 * Runs genlab's backends and the peers that are installed side by side, one process each and one
 * after the other, prints the tables with ratios, and writes everything as JSON to
 * bench/results/<date>-<host>.json (and bench/results/latest.json with --latest). See bench/README.md.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, cpus, hostname, loadavg, platform, arch, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  type BenchSpec, type GemmResult, type PeerResult, type SampleResult, type StepResult, type Timing, type Workload,
  type Failure, type UnetResult, RESULT_MARK, SEED, UNFINISHED, WORKLOADS, gemmProbeIndices, hashUniform, isFailure, makeSpec,
} from './common.ts';
import type { PeakFigures, PeakResult } from './simd_peak.ts';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    peers: { type: 'string' },
    'relaxed-simd': { type: 'boolean', default: false },
    threads: { type: 'string' },
    rounds: { type: 'string', default: '1' },
    latest: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (opts.help) {
  process.stdout.write(readFileSync(join(here, 'README.md'), 'utf8'));
  process.exit(0);
}
const only = (opts.only ? opts.only.split(',').map((s) => s.trim()) : [...WORKLOADS]) as Workload[];
for (const w of only) if (!WORKLOADS.includes(w)) throw new Error(`--only: unknown workload '${w}' (choose from ${WORKLOADS.join(', ')})`);
const cores = availableParallelism();
const threads = opts.threads ? Number(opts.threads) : cores;
if (!(Number.isInteger(threads) && threads >= 1)) throw new Error(`--threads: expected a positive integer, got '${opts.threads}'`);
const spec: BenchSpec = makeSpec({ quick: opts.quick, only, threads });
const rounds = Number(opts.rounds);
if (!(Number.isInteger(rounds) && rounds >= 1)) throw new Error(`--rounds: expected a positive integer, got '${opts.rounds}'`);

const log = (s: string) => process.stderr.write(`${s}\n`);

// ----- the machine ---------------------------------------------------------------------------

const cpuinfo = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
const avx512f = /\bavx512f\b/.test(cpuinfo);
const nodeMajor = Number(process.versions.node.split('.')[0]);
/** Node < 22 has relaxed SIMD only behind a flag. */
const relaxedFlag = nodeMajor < 22 ? ['--experimental-wasm-relaxed-simd'] : [];
const nodeFlags = opts['relaxed-simd'] ? relaxedFlag : [];

function gitCommit(): string | undefined {
  try {
    const head = readFileSync(join(root, '.git', 'HEAD'), 'utf8').trim();
    if (!head.startsWith('ref: ')) return head;
    const ref = head.slice(5);
    const loose = join(root, '.git', ref);
    if (existsSync(loose)) return readFileSync(loose, 'utf8').trim();
    const packed = readFileSync(join(root, '.git', 'packed-refs'), 'utf8').split('\n').find((l) => l.endsWith(` ${ref}`));
    return packed?.split(' ')[0];
  } catch {
    return undefined;
  }
}

const round2 = (xs: number[]) => xs.map((x) => Math.round(x * 100) / 100);
const started = new Date();
const machine = {
  host: hostname(),
  cpu: cpus()[0]?.model ?? 'unknown',
  cores,
  avx512f,
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  platform: `${platform()}-${arch()}`,
  node: process.versions.node,
  v8: process.versions.v8,
  /** 1, 5 and 15-minute load averages when the run began: other work on the machine skews every figure. */
  loadavgStart: round2(loadavg()),
  loadavgEnd: [] as number[],
};

// ----- running a peer ------------------------------------------------------------------------

interface PeerDef {
  id: string;
  /** Why it cannot run here, or null. */
  missing: () => string | null;
  command: string;
  args: string[];
  env?: Record<string, string>;
  /** The workloads it implements, when not all of them. */
  workloads?: readonly Workload[];
}

const require = createRequire(import.meta.url);
const resolvable = (pkg: string) => {
  try {
    require.resolve(pkg);
    return null;
  } catch {
    return `${pkg} is not installed (npm install)`;
  }
};
const tsNode = (file: string, extra: string[] = []) => ({ command: process.execPath, args: [...nodeFlags, '--import', 'tsx', join(here, file), ...extra] });
/** A peer that has not answered within this time is stopped, and the workload is n/a. */
const workloadTimeoutMs = (spec.quick ? 5 : 10) * 60_000;

interface RunOutput { code: number | null; stdout: string; stderr: string; timedOut: boolean }

function run(command: string, args: string[], env: Record<string, string> = {}, timeoutMs = 30 * 60_000): Promise<RunOutput> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: -1, stdout, stderr: stderr + String(e), timedOut });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
  });
}

/**
 * Run a peer once per workload, each in a fresh process (no state carried from one workload to
 * the next, and a workload that hangs or crashes costs only itself), and merge the results.
 */
async function runPeer(p: PeerDef): Promise<PeerResult> {
  const why = p.missing();
  if (why) return { id: p.id, label: p.id, info: {}, error: `not run: ${why}` };
  const merged: PeerResult = { id: p.id, label: p.id, info: { loadavgAtStart: {}, wallSeconds: {} } };
  for (const w of only) {
    if (p.workloads && !p.workloads.includes(w)) {
      if (w !== 'gemm') merged[w] = { error: `not implemented for ${p.id}` };
      continue;
    }
    const load = round2(loadavg());
    const t0 = performance.now();
    log(`bench: ${p.id} ${w} … (load average ${load.join(' ')})`);
    const r = await run(p.command, [...p.args, '--spec', JSON.stringify({ ...spec, only: [w] })], p.env, workloadTimeoutMs);
    const seconds = (performance.now() - t0) / 1000;
    (merged.info.loadavgAtStart as Record<string, number[]>)[w] = load;
    (merged.info.wallSeconds as Record<string, number>)[w] = Math.round(seconds * 10) / 10;
    const line = r.stdout.split('\n').reverse().find((l) => l.startsWith(RESULT_MARK));
    const tail = (r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ');
    if (!line) {
      const error = r.timedOut ? `stopped after ${workloadTimeoutMs / 1000} s without a result` : `no result (exit ${r.code}): ${tail.slice(0, 400)}`;
      if (w === 'gemm') merged.gemm = Object.fromEntries(spec.gemm.sizes.map((n) => [n, { error }]));
      else merged[w] = { error };
      continue;
    }
    const res = JSON.parse(line.slice(RESULT_MARK.length)) as PeerResult;
    Object.assign(merged, { label: res.label, info: { ...res.info, ...merged.info } });
    if (res.error) {
      merged.error = res.error; // the peer cannot run at all: no point in the other workloads
      break;
    }
    if (w === 'gemm') merged.gemm = res.gemm;
    else if (w === 'unet') merged.unet = res.unet;
    else merged[w] = res[w];
    if (w === 'unet' && res.unet && !isFailure(res.unet)) {
      // A partial result (printed after training): say why the rest is missing.
      for (const k of ['train', 'sample'] as const) {
        const x = res.unet[k];
        if (isFailure(x) && x.error === UNFINISHED) x.error = r.timedOut ? `stopped after ${workloadTimeoutMs / 1000} s (the workload's time limit)` : `the process ended first (exit ${r.code}): ${tail.slice(0, 300)}`;
      }
    }
  }
  log(`bench: ${p.id} done`);
  return merged;
}

// ----- the peers -----------------------------------------------------------------------------

const PYTHON = '/usr/bin/python3';
const OPENBLAS_OPENMP = '/usr/lib/x86_64-linux-gnu/openblas-openmp';

function torchEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  if (existsSync(OPENBLAS_OPENMP)) env.LD_LIBRARY_PATH = [OPENBLAS_OPENMP, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  if (avx512f && !process.env.OPENBLAS_CORETYPE) env.OPENBLAS_CORETYPE = 'SkylakeX';
  return env;
}

async function genlabBackends(): Promise<{ names: string[]; importErrors: Record<string, string> }> {
  const r = await run(process.execPath, [...nodeFlags, '--import', 'tsx', join(here, 'peer_genlab.ts'), '--list'], {}, 120_000);
  try {
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { backends: string[]; importErrors: Record<string, string> };
    return { names: out.backends, importErrors: out.importErrors };
  } catch {
    return { names: ['cpu'], importErrors: { list: `could not list genlab's backends: ${r.stderr.trim().split('\n').pop()}` } };
  }
}

const genlab = await genlabBackends();
// cpu first (the reference), then the others in registration order; broken imports still get a row.
const genlabNames = [...new Set(['cpu', ...genlab.names, ...Object.keys(genlab.importErrors).filter((k) => k !== 'list')])];
/** What the tfjs and jax-js peers implement: no U-Net (it would need its own twin in each library). */
const BASIC: readonly Workload[] = ['gemm', 'mlp', 'conv'];
const allPeers: PeerDef[] = [
  { id: 'torch', missing: () => (existsSync(PYTHON) ? null : `${PYTHON} not found`), command: PYTHON, args: [join(here, 'peer_torch.py')], env: torchEnv() },
  { id: 'tfjs-wasm', missing: () => resolvable('@tensorflow/tfjs-backend-wasm'), ...tsNode('peer_tfjs.ts', ['--backend', 'wasm']), workloads: BASIC },
  { id: 'tfjs-cpu', missing: () => resolvable('@tensorflow/tfjs-backend-cpu'), ...tsNode('peer_tfjs.ts', ['--backend', 'cpu']), workloads: BASIC },
  { id: 'jax-js', missing: () => resolvable('@jax-js/jax'), ...tsNode('peer_jaxjs.ts'), workloads: BASIC },
  ...genlabNames.map((name) => ({ id: `genlab-${name}`, missing: () => null, ...tsNode('peer_genlab.ts', ['--backend', name]) })),
];
const wanted = opts.peers ? opts.peers.split(',').map((s) => s.trim()) : null;
const peers = wanted ? allPeers.filter((p) => wanted.includes(p.id)) : allPeers;
if (wanted) for (const w of wanted) if (!allPeers.some((p) => p.id === w)) throw new Error(`--peers: unknown peer '${w}' (known: ${allPeers.map((p) => p.id).join(', ')})`);

// ----- run -----------------------------------------------------------------------------------

log(`bench: ${spec.quick ? 'quick' : 'full'} run of ${only.join(', ')} on ${machine.cpu} (${cores} cores), load average ${machine.loadavgStart.join(' ')}`);
if (machine.loadavgStart[0]! > 0.5 * cores) log(`bench: warning: the machine is busy (load average ${machine.loadavgStart[0]} on ${cores} cores); figures will be low and noisy`);

/** The SIMD128 limit (simd_peak.ts), in its own process: TurboFan code from the start (--no-liftoff), relaxed SIMD enabled on Node 20. */
async function measurePeak(short: boolean): Promise<PeakResult | { error: string }> {
  const r = await run(process.execPath, ['--no-liftoff', ...relaxedFlag, '--import', 'tsx', join(here, 'simd_peak.ts'), ...(short ? ['--seconds', '0.2', '--rounds', '2'] : [])], {}, 300_000);
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as PeakResult;
  } catch {
    return { error: `simd_peak failed: ${r.stderr.trim().split('\n').pop()}` };
  }
}

/** The limit a peak measurement gives: the fused multiply-add where the CPU runs it, else mul+add. */
const limitOf = (p: PeakResult | { error: string }): number | undefined =>
  isFailure(p) ? undefined : Math.max(p.mulAdd.all, isFailure(p.relaxedMadd) ? 0 : p.relaxedMadd.all);

log('bench: SIMD128 limit …');
const peak = await measurePeak(spec.quick);

// With --rounds R, every peer runs R times, the peers interleaved (A B C, A B C, …), so that a slow
// spell of a shared machine falls on all of them; each figure is then the median over the rounds.
// On a shared machine the speed a core delivers drifts by a quarter from one minute to the next, so
// the wasm backend's GEMM is also timed in alternation with the FMA loop inside its own process
// (peer_genlab.ts `pairedFraction`): its fraction of the limit under the same load.
const byRound: PeerResult[][] = [];
for (let r = 0; r < rounds; r++) {
  if (rounds > 1) log(`bench: round ${r + 1} of ${rounds}`);
  const row: PeerResult[] = [];
  for (const p of peers) row.push(await runPeer(p));
  byRound.push(row);
}
/** genlab-wasm's SGEMM at the largest size, paired with the limit: every repetition of every round. */
const pairs = byRound.flatMap((row) => {
  const g = row.find((x) => x.id === 'genlab-wasm')?.gemm?.[Math.max(...spec.gemm.sizes)];
  return g && !isFailure(g) && g.limitPairs ? [g.limitPairs] : [];
});
const pairedFractions = pairs.flatMap((p) => p.fractions);
const pairedLimits = pairs.flatMap((p) => p.limits);
const results: PeerResult[] = peers.map((_, i) => medianOfRounds(byRound.map((row) => row[i]!)));
machine.loadavgEnd = round2(loadavg());

/**
 * One peer's result from its rounds: per workload (and per GEMM size, and for the U-Net's training
 * and sampling separately) the round with the median figure, the lower one of the middle two
 * when the count is even. `perRound` keeps every round's figure for the JSON and the summary line.
 */
function medianOfRounds(rs: PeerResult[]): PeerResult {
  if (rs.length === 1) return rs[0]!;
  const base = rs.find((r) => !r.error);
  if (!base) return rs[0]!;
  const pick = <T extends Timing>(xs: (T | Failure | undefined)[], value: (t: T) => number): T | Failure | undefined => {
    const good = xs.filter((x): x is T => x !== undefined && !isFailure(x)).sort((a, b) => value(a) - value(b));
    if (!good.length) return xs.find((x) => x !== undefined);
    return { ...good[(good.length - 1) >> 1]!, perRound: good.map(value) };
  };
  const out: PeerResult = { ...base, info: { ...base.info, rounds: rs.length } };
  if (base.gemm) out.gemm = Object.fromEntries(Object.keys(base.gemm).map((n) => [n, pick(rs.map((r) => r.gemm?.[n]), (t: Ok<GemmResult>) => t.gflops)!]));
  for (const w of ['mlp', 'conv'] as const) if (base[w]) out[w] = pick(rs.map((r) => r[w]), (t: Ok<StepResult>) => t.stepsPerSec);
  if (base.unet && !isFailure(base.unet)) {
    const us = rs.map((r) => r.unet).filter((u): u is Ok<UnetResult> => u !== undefined && !isFailure(u));
    out.unet = { ...base.unet, train: pick(us.map((u) => u.train), (t: Ok<StepResult>) => t.stepsPerSec) as StepResult, sample: pick(us.map((u) => u.sample), (t: Ok<SampleResult>) => t.imagesPerSec) as SampleResult };
  }
  return out;
}

// ----- checks --------------------------------------------------------------------------------

/** Float64 reference for the probed entries of C = A·B. */
function gemmReference(n: number): number[] {
  const a = hashUniform(n * n, SEED.gemmA);
  const b = hashUniform(n * n, SEED.gemmB);
  return gemmProbeIndices(n).map((idx) => {
    const i = Math.floor(idx / n);
    const j = idx % n;
    let s = 0;
    for (let k = 0; k < n; k++) s += a[i * n + k]! * b[k * n + j]!;
    return s;
  });
}

const problems: string[] = [];
for (const n of only.includes('gemm') ? spec.gemm.sizes : []) {
  const ref = gemmReference(n);
  for (const r of results) {
    const g = r.gemm?.[n];
    if (!g || isFailure(g)) continue;
    const tol = 1e-4 * Math.sqrt(n) * 4;
    const bad = g.probe.findIndex((v, k) => !(Math.abs(v - ref[k]!) <= tol));
    if (bad >= 0) {
      (g as GemmResult & { check?: string }).check = 'mismatch';
      problems.push(`${r.id}: SGEMM N=${n} gives C[${gemmProbeIndices(n)[bad]}] = ${g.probe[bad]}, expected ${ref[bad]!.toFixed(6)}`);
    }
  }
}
/** Values that every peer must share (to a relative 1e-3, or exactly): each one far from the median is a problem. */
function agree(values: (readonly [string, number])[], what: string, rel = 1e-3): void {
  if (values.length < 2) return;
  const sorted = values.map(([, v]) => v).sort((a, b) => a - b);
  const mid = sorted[sorted.length >> 1]!;
  for (const [id, v] of values) {
    if (!(Math.abs(v - mid) <= rel * Math.abs(mid))) problems.push(`${id}: ${what} ${v} differs from the others' ${mid} (not the same network?)`);
  }
}
type Ok<T> = Exclude<T, { error: string }>;
const ok = <T,>(x: T | undefined): x is Ok<T> & T => x !== undefined && !isFailure(x);
for (const w of ['mlp', 'conv'] as const) agree(results.flatMap((r) => (ok(r[w]) ? [[r.id, r[w].loss0] as const] : [])), `${w} initial loss`);
const unets = results.flatMap((r) => (ok(r.unet) ? [[r.id, r.unet] as const] : []));
agree(unets.map(([id, u]) => [id, u.parameters]), 'U-Net parameter count', 0);
agree(unets.map(([id, u]) => [id, u.tensors]), 'U-Net state-dict size', 0);
agree(unets.flatMap(([id, u]) => (ok(u.train) ? [[id, u.train.loss0] as const] : [])), 'U-Net initial loss');
agree(unets.flatMap(([id, u]) => (ok(u.sample) ? [[id, u.sample.probe] as const] : [])), 'U-Net denoiser output, mean of D²,');

// ----- tables --------------------------------------------------------------------------------

const peakAll = isFailure(peak) ? undefined : peak;
/** The SIMD128 limit the GEMM fractions of the table refer to. */
const limit = limitOf(peak);
const medianOf = (xs: number[]) => [...xs].sort((a, b) => a - b)[(xs.length - 1) >> 1]!;

const notes: string[] = [];
const note = (text: string) => {
  let i = notes.indexOf(text);
  if (i < 0) i = notes.push(text) - 1;
  return `[${i + 1}]`;
};
const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x >= 1 ? x.toFixed(2) : x.toPrecision(2));
const approxNote = (t: Timing) => (t.approx ? ` ${note('~: one call only (too slow to repeat), first-call costs included: a lower bound on speed')}` : '');
const reason = (id: string, e: string) => note(`${id}: ${e}`);

/** The row the ratios compare to: genlab's wasm backend when it ran, else the reference. */
const refId = results.find((r) => r.id === 'genlab-wasm' && !r.error) ? 'genlab-wasm' : 'genlab-cpu';
const ref = results.find((r) => r.id === refId);

function cell(r: PeerResult, x: GemmResult | StepResult | SampleResult | undefined, value: (t: Timing) => number, extra = ''): string {
  if (r.error) return 'n/a';
  if (!x) return '—';
  if (isFailure(x)) return `n/a ${reason(r.id, x.error)}`;
  const flag = (x as { check?: string }).check ? ` ${note('result does not match the float64 reference (see checks)')}` : '';
  return `${x.approx ? '~' : ''}${fmt(value(x))}${extra}${approxNote(x)}${flag}`;
}

function ratio(num: number | undefined, den: number | undefined): string {
  return num !== undefined && den !== undefined && den > 0 ? `${(num / den).toFixed(num / den >= 10 ? 0 : 2)}×` : '';
}
const gflops = (r: PeerResult | undefined, n: number) => {
  const g = r?.gemm?.[n];
  return g && !isFailure(g) ? g.gflops : undefined;
};
const steps = (r: PeerResult | undefined, w: 'mlp' | 'conv') => {
  const s = r?.[w];
  return s && !isFailure(s) ? s.stepsPerSec : undefined;
};
const unetOf = (r: PeerResult | undefined) => (ok(r?.unet) ? r.unet : undefined);
const unetSteps = (r: PeerResult | undefined) => {
  const t = unetOf(r)?.train;
  return ok(t) ? t.stepsPerSec : undefined;
};
const unetImages = (r: PeerResult | undefined) => {
  const t = unetOf(r)?.sample;
  return ok(t) ? t.imagesPerSec : undefined;
};

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const label = (r: PeerResult) => (r.error ? `${r.label} ${reason(r.id, r.error)}` : r.label);
const out: string[] = [];
out.push(`genlab bench ${started.toISOString()} — ${machine.cpu}, ${cores} cores${avx512f ? ' (AVX-512)' : ''}, Node ${machine.node}, load average ${machine.loadavgStart.join(' ')} at start, ${machine.loadavgEnd.join(' ')} at end${spec.quick ? ' — QUICK (smaller sizes, fewer repetitions)' : ''}`);
if (machine.loadavgStart[0]! > 0.5 * cores) {
  out.push(`BUSY MACHINE: load average ${machine.loadavgStart[0]} on ${cores} cores. Every figure is low and noisy, multi-threaded peers most; compare within this run only.`);
}
if (peakAll) {
  const fig = (f: PeakFigures) => `${fmt(f.all)} (1 thread ${fmt(f.one)}; ${fmt(f.perCore)} per core-second)`;
  const rm = isFailure(peakAll.relaxedMadd) ? `relaxed_madd n/a (${peakAll.relaxedMadd.error})` : `relaxed_madd ${fig(peakAll.relaxedMadd)}`;
  out.push(`SIMD128 limit, f32x4 loop on ${peakAll.threads} threads, GFLOP/s: mul+add ${fig(peakAll.mulAdd)}, ${rm}.`);
  out.push(`GEMM % below are of ${fmt(limit!)}, measured under the same load; an idle machine would give about ${fmt(Math.max(peakAll.mulAdd.perCore, isFailure(peakAll.relaxedMadd) ? 0 : peakAll.relaxedMadd.perCore) * peakAll.threads)}.`);
} else out.push(`SIMD128 limit: n/a (${isFailure(peak) ? peak.error : ''})`);
if (pairedFractions.length) {
  const sorted = [...pairedFractions].sort((a, b) => a - b);
  out.push(`genlab-wasm's SGEMM N=${Math.max(...spec.gemm.sizes)} timed in turn with the ${pairs[0]!.variant} loop on ${pairs[0]!.threads} threads, in its own process (${pairedFractions.length} repetitions, each between two bursts of the loop): median ${medianOf(pairedFractions).toFixed(2)} of the limit (range ${sorted[0]!.toFixed(2)}–${sorted[sorted.length - 1]!.toFixed(2)}); the limit meanwhile: median ${fmt(medianOf(pairedLimits))} GFLOP/s (range ${fmt(Math.min(...pairedLimits))}–${fmt(Math.max(...pairedLimits))}).`);
}
{
  const gw = results.find((r) => r.id === 'genlab-wasm');
  const rel = gw?.info.relaxed;
  const how = nodeMajor >= 22 ? 'on by default from Node 22' : nodeFlags.length ? '--relaxed-simd given' : 'on Node 20 the backend turns on V8\'s flag itself; GENLAB_WASM_RELAXED=0 keeps it off';
  if (typeof rel === 'boolean') out.push(`genlab's wasm runs ${rel ? 'with' : 'without'} relaxed SIMD (${how}). --relaxed-simd also passes the flag to the other JS peers.`);
}
out.push('');

if (only.includes('gemm')) {
  const big = Math.max(...spec.gemm.sizes);
  const rows = results.map((r) => [
    label(r),
    ...spec.gemm.sizes.map((n) => cell(r, r.gemm?.[n], (t) => (t as { gflops: number } & Timing).gflops, limit && gflops(r, n) !== undefined ? ` (${Math.round((100 * gflops(r, n)!) / limit)}%)` : '')),
    ratio(gflops(ref, big), gflops(r, big)),
  ]);
  out.push(table([`SGEMM, GFLOP/s (% of SIMD128 limit)`, ...spec.gemm.sizes.map((n) => `N=${n}`), `${refId} ÷ row, N=${big}`], rows));
  out.push('');
}
const trainCols = (['mlp', 'conv'] as const).filter((w) => only.includes(w));
if (trainCols.length) {
  const title = { mlp: `MLP step, batch ${spec.mlp.batch}`, conv: `conv-net step, batch ${spec.conv.batch}` };
  const rows = results.map((r) => [label(r), ...trainCols.flatMap((w) => [cell(r, r[w], (t) => 1 / t.seconds), ratio(steps(ref, w), steps(r, w))])]);
  out.push(table(['Training, steps/s', ...trainCols.flatMap((w) => [title[w], `${refId} ÷ row`])], rows));
  out.push('');
}

if (only.includes('unet')) {
  const u = spec.unet;
  const implemented = results.filter((r) => peers.find((p) => p.id === r.id)?.workloads?.includes('unet') ?? true);
  const skipped = results.filter((r) => !implemented.includes(r)).map((r) => r.id);
  const unetCell = (r: PeerResult, k: 'train' | 'sample', value: (t: Timing) => number) => {
    const x = r.unet;
    return x && isFailure(x) ? cell(r, x, value) : cell(r, x?.[k], value);
  };
  const rows = implemented.map((r) => [
    label(r),
    unetCell(r, 'train', (t) => 1 / t.seconds), ratio(unetSteps(ref), unetSteps(r)),
    unetCell(r, 'sample', (t) => u.sampleBatch / t.seconds), ratio(unetImages(ref), unetImages(r)),
    unetOf(r) ? String(unetOf(r)!.parameters) : '',
  ]);
  const n = u.net;
  out.push(`U-Net of ${u.preset}${spec.quick ? ' (QUICK: smaller)' : ''}: ${n.inChannels}×${n.resolution}×${n.resolution}, ${n.numClasses} classes, channels ${n.channels}×[${n.channelMult.join(', ')}], ${n.numResBlocks} res-block(s) per stage, attention at ${n.attnResolutions.join(', ')} px and in the middle${n.midAttention ? '' : ' (off)'}, ${n.numHeads} heads, EDM preconditioning, dropout 0`);
  out.push(table([
    'U-Net', `train step (EDM loss, Adam), batch ${u.batch}, steps/s`, `${refId} ÷ row`,
    `denoiser, no grad, batch ${u.sampleBatch}, images·NFE/s`, `${refId} ÷ row`, 'parameters',
  ], rows));
  if (skipped.length) out.push(`(no U-Net in ${skipped.join(', ')})`);
  out.push('');
}

// Targets of issue 3 (full-size runs with genlab's wasm backend only).
const targets: { what: string; value: number | undefined; goal: number; ok: boolean | undefined }[] = [];
if (!spec.quick && refId === 'genlab-wasm') {
  const byId = (id: string) => results.find((r) => r.id === id);
  const add = (what: string, value: number | undefined, goal: number) => targets.push({ what, value, goal, ok: value === undefined ? undefined : value >= goal });
  const g = gflops(ref, 1024);
  if (only.includes('gemm')) {
    add('SGEMM N=1024, GFLOP/s', g, 100);
    add('SGEMM N=1024, fraction of SIMD128 limit', g !== undefined && limit ? g / limit : undefined, 0.7);
    if (pairedFractions.length) add('  the same, paired with the limit in-process (median)', medianOf(pairedFractions), 0.7);
    add('SGEMM N=1024, × tfjs-wasm', g !== undefined && gflops(byId('tfjs-wasm'), 1024) ? g / gflops(byId('tfjs-wasm'), 1024)! : undefined, 2.5);
  }
  const rel = (w: 'mlp' | 'conv', id: string) => (steps(ref, w) !== undefined && steps(byId(id), w) ? steps(ref, w)! / steps(byId(id), w)! : undefined);
  if (only.includes('mlp')) {
    add('MLP step, × tfjs-wasm', rel('mlp', 'tfjs-wasm'), 20);
    add('MLP step, × PyTorch', rel('mlp', 'torch'), 0.4);
  }
  if (only.includes('conv')) add('conv-net step, × PyTorch', rel('conv', 'torch'), 0.25);
  const busy = machine.loadavgStart[0]! > 0.5 * cores;
  if (targets.length) out.push(table([`Targets (issue 3)${busy ? ', NOT MEANINGFUL on this busy machine' : ''}`, 'measured', 'goal', ''], targets.map((t) => [t.what, t.value === undefined ? 'n/a' : fmt(t.value), `≥ ${t.goal}`, t.ok === undefined ? '' : t.ok ? 'met' : 'NOT met'])), '');
}

// The cores each peer really got while timed: the load's effect, peer by peer.
const shares = results.filter((r) => !r.error).map((r) => {
  const ts = [...Object.values(r.gemm ?? {}), r.mlp, r.conv, unetOf(r)?.train, unetOf(r)?.sample].filter((x): x is Ok<GemmResult | StepResult | SampleResult> => ok(x));
  const mean = ts.reduce((a, t) => a + t.cpuPerWall, 0) / ts.length;
  return ts.length ? `${r.id} ${mean.toFixed(2)}` : '';
}).filter(Boolean);
if (shares.length) out.push(`Cores in use while timed (process CPU time ÷ wall time, mean over the workloads; 1-thread peers can reach 1, ${cores}-thread peers ${cores}): ${shares.join(', ')}`);
if (rounds > 1) {
  // every round's figure, so the spread behind each median is in view
  const spread = (what: string, get: (r: PeerResult) => Timing | Failure | undefined) => {
    const parts = results.flatMap((r) => {
      const t = get(r);
      return ok(t) && t.perRound ? [`${r.id} ${t.perRound.map(fmt).join('/')}`] : [];
    });
    return parts.length ? `${what}: ${parts.join(', ')}` : '';
  };
  const big = Math.max(...spec.gemm.sizes);
  const lines = [
    only.includes('gemm') ? spread(`SGEMM N=${big}, GFLOP/s`, (r) => r.gemm?.[big]) : '',
    ...trainCols.map((w) => spread(`${w} steps/s`, (r) => r[w])),
    only.includes('unet') ? spread('U-Net train steps/s', (r) => unetOf(r)?.train) : '',
    only.includes('unet') ? spread('U-Net images·NFE/s', (r) => unetOf(r)?.sample) : '',
  ].filter(Boolean);
  out.push(`Each figure is the median of ${rounds} rounds, the peers interleaved; every round's figure, ascending:`, ...lines.map((l) => `  ${l}`));
}
const checked = [
  only.includes('gemm') ? 'every SGEMM result matches the float64 reference' : '',
  trainCols.length ? 'every peer starts training from the same loss (same network, same weights)' : '',
  only.includes('unet') ? 'the U-Nets have the same parameter count, initial loss and denoiser output' : '',
].filter(Boolean);
out.push(`Checks: ${problems.length ? '' : `${checked.join('; ')}.`}`);
for (const p of problems) out.push(`  ! ${p}`);
notes.forEach((n, i) => out.push(`[${i + 1}] ${n}`));
process.stdout.write(`${out.join('\n')}\n`);

// ----- JSON ----------------------------------------------------------------------------------

const record = {
  schema: 2,
  date: started.toISOString(),
  commit: gitCommit(),
  machine,
  options: { quick: spec.quick, only, peers: peers.map((p) => p.id), relaxedSimd: nodeFlags.length > 0, torchThreads: threads },
  spec,
  simdPeak: peak,
  simdLimitGflops: limit,
  gemmLimitPairs: pairs,
  ratiosRelativeTo: refId,
  peers: results,
  checks: problems,
  targets,
  notes,
};
const dir = join(here, 'results');
mkdirSync(dir, { recursive: true });
const stamp = started.toISOString().replace(/:/g, '-').replace(/\.\d+Z$/, 'Z');
const file = join(dir, `${stamp}-${machine.host.replace(/[^A-Za-z0-9_.-]/g, '_')}.json`);
writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
log(`bench: wrote ${relative(root, file)}`);
if (opts.latest) {
  writeFileSync(join(dir, 'latest.json'), `${JSON.stringify(record, null, 2)}\n`);
  log('bench: wrote bench/results/latest.json');
}
