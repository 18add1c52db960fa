/** `genlab list` and `genlab info`: what is available, and what a run holds. */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { families } from '../models/index.ts';
import { SAMPLERS } from '../models/diffusion/samplers.ts';
import { formatDuration, formatNumber } from '../train/progress.ts';
import { parse } from './args.ts';
import { UsageError, displayPath } from './errors.ts';
import { datasetList } from './data.ts';
import { presetNames, readPreset, loadRun } from './run.ts';
import { METRICS, LIST_HELP, INFO_HELP } from './help.ts';

const SECTIONS = ['models', 'presets', 'samplers', 'datasets', 'metrics'] as const;

/** One-line descriptions of the samplers that are not diffusion samplers. */
const OTHER_SAMPLERS: Record<string, string> = {
  inverse: 'exact inverse pass from the base distribution (one network evaluation per layer)',
  dopri5: 'adaptive Dormand–Prince RK5(4) solve of the flow ODE',
  rk4: 'fixed-step classic Runge–Kutta 4 solve of the flow ODE (--steps)',
  ancestral: 'ancestral sampling: each variable from its conditional given those drawn before (pixel by pixel; for a VAE z ~ p(z), then x ~ p(x|z))',
  fast: 'WaveNet generation with cached activations, one queue per layer (Paine et al. 2016): O(layers) per sample',
  naive: 'WaveNet generation that reruns the whole receptive field for every sample (the reference for fast)',
  generator: 'one pass of the generator on z ~ N(0, I)',
  ula: 'unadjusted Langevin dynamics on −E(x), chains started from the replay buffer',
  mala: 'Metropolis-adjusted Langevin on −E(x), chains started from the replay buffer',
  'gaussian-codes': 'decode codes drawn from a Gaussian fitted to the training codes',
  mean: 'z ~ p(z), then the decoder mean (no pixel noise)',
  prior: 'codes from the PixelCNN prior over the code map, then the decoder',
};

function table(rows: [string, string][]): string {
  const w = Math.max(...rows.map((r) => r[0].length));
  return rows.map(([a, b]) => `  ${a.padEnd(w)}  ${b}`).join('\n');
}

export async function listCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse('list', argv, {}, { positionals: [0, 1] });
  if (values.help) {
    console.log(LIST_HELP);
    return 0;
  }
  const what = positionals[0];
  if (what !== undefined && !(SECTIONS as readonly string[]).includes(what)) throw new UsageError(`unknown list '${what}' (valid: ${SECTIONS.join(', ')})`, 'list');
  const show = (s: string) => what === undefined || what === s;
  const blocks: string[] = [];
  if (show('models')) blocks.push(`models (model families):\n${table(Object.values(families).map((f) => [f.name, f.description]))}`);
  if (show('presets')) {
    const rows: [string, string][] = [];
    for (const name of await presetNames()) {
      const { preset } = await readPreset(name);
      const data = typeof preset.data === 'string' ? preset.data : preset.data?.name;
      rows.push([name, `${preset.description ?? preset.family}${data ? ` [${preset.family} on ${data}]` : ''}`]);
    }
    blocks.push(`presets (genlab train <preset>; files in presets/):\n${rows.length ? table(rows) : '  (none)'}`);
  }
  if (show('samplers')) {
    const rows: [string, string][] = [];
    for (const f of Object.values(families)) {
      for (const s of f.samplers) {
        if (rows.some((r) => r[0] === s)) continue;
        const users = Object.values(families).filter((g) => g.samplers.includes(s)).map((g) => g.name);
        rows.push([s, `${SAMPLERS[s]?.description ?? OTHER_SAMPLERS[s] ?? ''} [${users.join(', ')}]`]);
      }
    }
    blocks.push(`samplers (genlab sample <run> --sampler <name>; first = the family's default):\n${table(rows)}`);
  }
  if (show('datasets')) blocks.push(`datasets (genlab train … --data <name|path>):\n${table(datasetList().map((d) => [d.name, d.description]))}`);
  if (show('metrics')) blocks.push(`metrics (genlab eval <run> --metrics a,b):\n${table(METRICS.map((m) => [m.name, m.description]))}`);
  console.log(blocks.join('\n\n'));
  return 0;
}

export async function infoCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse('info', argv, {}, { positionals: [1, 1] });
  if (values.help) {
    console.log(INFO_HELP);
    return 0;
  }
  const run = await loadRun(positionals[0]!);
  const c = run.config;
  const lines: string[] = [];
  lines.push(`run        ${displayPath(run.dir)}`);
  lines.push(`model      ${c.family}${c.preset ? ` (preset ${c.preset})` : ''}, ${run.model.net.numParameters().toLocaleString('en-US')} parameters${c.description ? ` — ${c.description}` : ''}`);
  lines.push(`data       ${c.data.name}: ${c.dataSpec.kind} of shape [${c.dataSpec.shape.join(', ')}]${c.dataSpec.numClasses ? `, ${c.dataSpec.numClasses} classes` : ''}`);
  lines.push(`training   step ${run.step} of ${c.train.steps}, batch ${c.train.batchSize}, ${c.train.optimizer} lr ${c.train.lr} (${c.train.schedule}), EMA ${c.train.ema || 'off'}, seed ${c.train.seed}`);
  lines.push(`samplers   ${run.family.samplers.join(', ')}${typeof c.model.sampler === 'string' ? ` (default ${c.model.sampler}, ${String(c.model.steps)} steps)` : ''}`);
  try {
    const log = (await readFile(join(run.dir, 'metrics.jsonl'), 'utf8')).trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    const last = [...log].reverse().find((r) => typeof r.loss === 'number');
    if (last) lines.push(`last log   step ${String(last.step)}: loss ${formatNumber(last.loss as number)}, ${formatNumber(last.stepsPerSec as number)} steps/s, ${formatDuration(last.elapsedSec as number)} of training`);
    const diverged = log.find((r) => r.event === 'diverged');
    if (diverged) lines.push(`diverged   at step ${String(diverged.step)} (${String(diverged.what)} ${String(diverged.value)})`);
  } catch {
    // no metrics log
  }
  try {
    const ev = JSON.parse(await readFile(join(run.dir, 'eval.json'), 'utf8')) as Record<string, unknown>;
    const nums = Object.entries(ev).filter(([k, v]) => typeof v === 'number' && !['step', 'n', 'seed'].includes(k));
    if (nums.length) lines.push(`eval       ${nums.map(([k, v]) => `${k} ${formatNumber(v as number)}`).join(', ')} (step ${String(ev.step)})`);
  } catch {
    // not evaluated
  }
  const files = (await readdir(run.dir)).sort();
  lines.push(`files      ${files.join(', ')}`);
  console.log(lines.join('\n'));
  return 0;
}
