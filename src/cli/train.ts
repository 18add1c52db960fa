/** `genlab train`: train a model (a preset or a family's defaults) on a data set, or resume a run. */
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Generator } from '../core/index.ts';
import { DataLoader } from '../data/loader.ts';
import { familyByName } from '../models/index.ts';
import { deepMerge, applySets, resolveTrainOptions } from '../train/config.ts';
import { Trainer, TrainingDivergedError, type EvalContext, type LogRecord } from '../train/trainer.ts';
import { progressBar, logLine, formatDuration, formatNumber } from '../train/progress.ts';
import { saveTrainingCheckpoint, loadTrainingCheckpoint, appendJsonLine } from '../train/node.ts';
import { writeFileAtomic } from '../nn/io/files.ts';
import { TRAIN_HELP } from './help.ts';
import { parse, intOption } from './args.ts';
import { UsageError, CliError, EXIT_INTERRUPTED, describeFsError, displayPath } from './errors.ts';
import { loadData, allX, type LoadedData } from './data.ts';
import { resolveModelArg, runDir, frozenModelConfig, CHECKPOINT_DIR, type RunConfig, type Preset } from './run.ts';
import { drawSamples, pointMetrics, likelihoodMetrics, audioLikelihoodMetrics, referencePoints } from './metrics.ts';
import { encodeWav } from '../data/wav.ts';
import { pointsFigure, imagesFigure, writePng } from './pictures.ts';
import { pointsRange } from '../viz/plot.ts';
import { Reporter } from './term.ts';
import { selectBackend } from './backend.ts';

async function exists(p: string): Promise<boolean> {
  return stat(p).then(() => true, () => false);
}

/** A fresh run directory name under runs/: runs/<base>, runs/<base>-2, … */
async function freshRunDir(base: string): Promise<string> {
  for (let i = 1; ; i++) {
    const dir = resolve('runs', i === 1 ? base : `${base}-${i}`);
    if (!(await exists(dir))) return dir;
  }
}

async function makeDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    throw new CliError(describeFsError(err, 'create the output directory', dir), { cause: err });
  }
}

/** Keep only the metrics lines up to `step` (a resumed run rewrites what came after its checkpoint). */
async function truncateMetrics(file: string, step: number): Promise<void> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return;
  }
  const kept = text.split('\n').filter((l) => {
    if (!l.trim()) return false;
    try {
      return (JSON.parse(l) as { step?: number }).step! <= step;
    } catch {
      return false;
    }
  });
  await writeFileAtomic(file, kept.map((l) => `${l}\n`).join(''));
}

function describeModel(cfg: RunConfig, params: number): string {
  const m = cfg.model as Record<string, unknown> & { net?: Record<string, unknown> };
  const bits: string[] = [];
  if (typeof m.parameterization === 'string') bits.push(m.parameterization + (m.prediction ? `/${String(m.prediction)}` : ''));
  if (m.net?.kind === 'mlp') bits.push(`MLP ${m.net.depth ?? 3}×${m.net.hidden ?? 256}`);
  if (m.net?.kind === 'unet') bits.push(`U-Net ${m.net.channels ?? ''}ch`);
  bits.push(`${params.toLocaleString('en-US')} parameters`);
  return `${cfg.family} (${bits.join(', ')})`;
}

/** The default batch size (clips) on audio data, where train.batchSize is not given. */
const AUDIO_BATCH = 8;

/** Build the run config of a fresh run from the command line. */
async function freshConfig(modelArg: string, values: Record<string, unknown>): Promise<{ config: RunConfig; name: string; data: LoadedData }> {
  const { name, preset: base } = await resolveModelArg(modelArg);
  let preset: Preset = structuredClone(base);
  if (typeof values.config === 'string') {
    let extra: unknown;
    try {
      extra = JSON.parse(await readFile(values.config, 'utf8'));
    } catch (err) {
      throw new CliError(`cannot read --config ${values.config}: ${err instanceof Error ? err.message : String(err)}`);
    }
    preset = deepMerge(preset, extra);
  }
  const raw: Record<string, unknown> = {
    family: preset.family,
    preset: name !== preset.family ? name : undefined,
    description: preset.description,
    data: typeof preset.data === 'string' ? { name: preset.data } : (preset.data ?? {}),
    model: preset.model ?? {},
    train: preset.train ?? {},
  };
  if (typeof values.data === 'string') raw.data = { name: values.data };
  if (typeof values['data-path'] === 'string') (raw.data as Record<string, unknown>).path = values['data-path'];
  const clip = intOption('train', 'clip', values.clip as string | undefined, 2);
  if (clip !== undefined) raw.data = { ...(raw.data as Record<string, unknown>), clip };
  const withSets = applySets(raw, (values.set as string[] | undefined) ?? []);
  const steps = intOption('train', 'steps', values.steps as string | undefined);
  const seed = intOption('train', 'seed', values.seed as string | undefined, 0);
  const train = { ...(withSets.train as Record<string, unknown>) };
  if (steps !== undefined) train.steps = steps;
  if (seed !== undefined) train.seed = seed;
  for (const k of Object.keys(withSets)) {
    if (!['family', 'preset', 'description', 'data', 'model', 'train'].includes(k)) throw new UsageError(`unknown config section '${k}' (valid: family, data, model, train)`, 'train');
  }
  const dataCfg = withSets.data as RunConfig['data'];
  if (!dataCfg || typeof dataCfg.name !== 'string') {
    throw new UsageError(`no data: pass --data <set|path> (built-in sets: see 'genlab list datasets')`, 'train');
  }
  const family = familyByName(String(withSets.family));
  const data = await loadData(dataCfg);
  // audio: a clip holds thousands of samples, so a batch holds few clips (8 × 4000 samples = 32,000 positions)
  if (data.spec.kind === 'audio' && train.batchSize === undefined) train.batchSize = AUDIO_BATCH;
  // audio: the model writes WAVs at the data's sample rate (as image sizes, it comes from the data)
  const defaults = { ...family.defaults(data.spec), ...(data.sampleRate !== undefined ? { sampleRate: data.sampleRate } : {}) };
  const model = deepMerge(defaults, withSets.model) as Record<string, unknown>;
  if (data.sampleRate !== undefined && model.sampleRate !== data.sampleRate) {
    throw new UsageError(`model.sampleRate ${JSON.stringify(model.sampleRate)} differs from the data's ${data.sampleRate} Hz; to train at another rate, resample the data with --set data.sampleRate=${JSON.stringify(model.sampleRate)}`, 'train');
  }
  let trainOpts;
  try {
    trainOpts = resolveTrainOptions(train);
  } catch (err) {
    throw new UsageError((err as Error).message, 'train');
  }
  const config: RunConfig = {
    family: family.name,
    ...(withSets.preset ? { preset: String(withSets.preset) } : {}),
    ...(withSets.description ? { description: String(withSets.description) } : {}),
    data: dataCfg,
    dataSpec: data.spec,
    model,
    train: trainOpts,
  };
  return { config, name, data };
}

export async function trainCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse('train', argv, {
    data: { type: 'string' },
    'data-path': { type: 'string' },
    clip: { type: 'string' },
    config: { type: 'string' },
    set: { type: 'string', multiple: true },
    steps: { type: 'string' },
    until: { type: 'string' },
    seed: { type: 'string' },
    out: { type: 'string' },
    resume: { type: 'boolean' },
    backend: { type: 'string' },
    quiet: { type: 'boolean' },
  }, { positionals: [0, 1] });
  if (values.help) {
    console.log(TRAIN_HELP);
    return 0;
  }
  selectBackend('train', values.backend);
  const rep = new Reporter(!!process.stderr.isTTY, !!values.quiet);

  // ---- the run: fresh or resumed --------------------------------------------------------------
  let config: RunConfig;
  let out: string;
  let data: LoadedData;
  let resumeFrom: Awaited<ReturnType<typeof loadTrainingCheckpoint<RunConfig>>> | null = null;
  if (values.resume) {
    const where = positionals[0] ?? values.out;
    if (!where) throw new UsageError('--resume needs the run to continue: genlab train --resume <run dir>', 'train');
    const found = await runDir(where).catch((err: Error) => {
      throw new CliError(`cannot resume: ${err.message}`);
    });
    out = found.dir;
    try {
      resumeFrom = await loadTrainingCheckpoint<RunConfig>(found.checkpoint);
    } catch (err) {
      throw new CliError(`cannot resume ${where}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    config = resumeFrom.config;
    const sets = (values.set ?? []);
    const bad = sets.filter((s) => !s.startsWith('train.'));
    if (bad.length) throw new UsageError(`a resumed run keeps its model and data; only train.* can change (got ${bad.join(', ')})`, 'train');
    if (values.data || values.config || values.seed || values.clip) throw new UsageError('a resumed run keeps its data, config and seed (drop --data, --clip, --config, --seed)', 'train');
    const changed = applySets({ train: config.train as unknown as Record<string, unknown> }, sets).train;
    const steps = intOption('train', 'steps', values.steps);
    try {
      config = { ...config, train: resolveTrainOptions({ ...changed, ...(steps !== undefined ? { steps } : {}) }) };
    } catch (err) {
      throw new UsageError((err as Error).message, 'train');
    }
    if (resumeFrom.step >= config.train.steps) {
      rep.info(`${displayPath(out)} is already at step ${resumeFrom.step} of ${config.train.steps}; pass --steps N (more than ${resumeFrom.step}) to train further`);
      return 0;
    }
    data = await loadData(config.data);
  } else {
    if (!positionals[0]) throw new UsageError("missing the model or preset to train (e.g. 'genlab train edm-moons'; see 'genlab list')", 'train');
    const r = await freshConfig(positionals[0], values);
    config = r.config;
    data = r.data;
    if (values.out) {
      out = resolve(values.out);
      if (await exists(join(out, CHECKPOINT_DIR))) {
        throw new UsageError(`${values.out} already holds a run: pass --resume to continue it, or choose another --out`, 'train');
      }
    } else {
      out = await freshRunDir(r.name === config.family ? `${config.family}-${data.name}`.replace(/[^\w.-]+/g, '_') : r.name);
    }
  }
  await makeDir(out);
  await makeDir(join(out, 'samples'));
  const metricsFile = join(out, 'metrics.jsonl');
  const writeOrFail = async (what: string, path: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (err) {
      if ((err as { code?: unknown }).code === undefined && err instanceof Error && /^cannot /.test(err.message)) throw new CliError(err.message, { cause: err });
      throw new CliError(describeFsError(err, what, path), { cause: err });
    }
  };

  // ---- model, data order, trainer -------------------------------------------------------------
  const family = familyByName(config.family);
  const o = config.train;
  const [initRng, dataRng, noiseRng] = new Generator(o.seed).split(3);
  const model = family.create(config.model, data.spec, initRng);
  if (!resumeFrom) config = { ...config, model: frozenModelConfig(config.model, model) };
  await writeOrFail('write', join(out, 'config.json'), () => writeFileAtomic(join(out, 'config.json'), `${JSON.stringify(config, null, 2)}\n`));
  if (resumeFrom) await writeOrFail('rewrite', metricsFile, () => truncateMetrics(metricsFile, resumeFrom!.step));
  else await writeOrFail('write', metricsFile, () => writeFile(metricsFile, ''));
  const loader = new DataLoader(data.train, { batchSize: o.batchSize, shuffle: true, rng: dataRng, dropLast: data.train.length >= o.batchSize });
  const points = data.spec.kind === 'points';
  const audio = data.spec.kind === 'audio';
  const ref = points ? referencePoints(data.heldOut) : null;
  const range = points ? pointsRange([ref!]) : null;
  const d = data.spec.shape.reduce((a, b) => a * b, 1);
  // audio: one clip to listen to (generation is sequential, one sample at a time)
  const evalN = points ? o.evalSamples : audio ? 1 : Math.min(64, o.evalSamples);
  const picture = audio ? 'samples.wav' : 'samples.png';
  const pictures: string[] = [];

  const evaluate = async (ctx: EvalContext): Promise<Record<string, number>> => {
    const samples = await drawSamples(family, ctx.model, evalN, new Generator(o.seed + 1_000_003));
    const name = ctx.final ? picture : join('samples', `step-${String(ctx.step).padStart(6, '0')}${audio ? '.wav' : '.png'}`);
    const file = join(out, name);
    let metrics: Record<string, number> = {};
    if (points) {
      metrics = pointMetrics(['swd', 'modes'], samples, ref!, d, data.name);
      if (d === 2) await writeOrFail('write', file, () => writePng(file, pointsFigure(samples, ref!, { title: `samples, step ${ctx.step}`, range: range! })));
    } else if (audio) {
      await writeOrFail('write', file, () => writeFileAtomic(file, encodeWav(samples, data.sampleRate ?? Number(config.model.sampleRate))));
    } else {
      await writeOrFail('write', file, () => writePng(file, imagesFigure(samples, data.spec, evalN)));
    }
    if (audio && family.logLikelihood) {
      Object.assign(metrics, await audioLikelihoodMetrics(family, ctx.model, data.heldOut, 32, 8));
    } else if (family.logLikelihood && family.name !== 'diffusion') {
      // flows: exact (points) or bounded (images) likelihood on held-out data is cheap
      Object.assign(metrics, await likelihoodMetrics(family, ctx.model, data.heldOut, points ? 2000 : 256, 256, !points));
    }
    if (!pictures.includes(name)) pictures.push(name);
    return metrics;
  };

  const rel = displayPath(out);
  // Ctrl-C: finish the step, save a checkpoint, exit 130 (a second Ctrl-C quits at once)
  const ac = new AbortController();
  const onSigint = () => {
    if (ac.signal.aborted) process.exit(EXIT_INTERRUPTED);
    ac.abort();
    rep.warn('\ninterrupted: saving a checkpoint after this step (Ctrl-C again to quit without saving)');
  };
  const until = intOption('train', 'until', values.until);
  if (until !== undefined && until >= o.steps) throw new UsageError(`--until must be less than the run's ${o.steps} steps, got ${until}`, 'train');
  const trainer = new Trainer({
    signal: ac.signal,
    stopAt: until,
    family, model, loader, options: o, rng: noiseRng, evaluate,
    saveCheckpoint: (snap) => writeOrFail('write a checkpoint in', join(out, CHECKPOINT_DIR), () => saveTrainingCheckpoint(join(out, CHECKPOINT_DIR), snap, config as unknown as RunConfig & Record<string, unknown>)),
    onLog: async (rec: LogRecord) => {
      await writeOrFail('append to', metricsFile, () => appendJsonLine(metricsFile, rec));
      if (!rep.quiet && (!rep.tty || Object.keys(rec.eval ?? {}).length)) rep.info(logLine(rec, o.steps));
    },
    onStep: (p) => rep.bar(progressBar(p, rep.columns - 1), p.step === p.total),
  });
  if (resumeFrom) {
    trainer.restore(resumeFrom.snapshot);
    for (const t of [...Object.values(resumeFrom.model), ...Object.values(resumeFrom.ema ?? {}), ...Object.values(resumeFrom.snapshot.optimizer.state)]) t.dispose();
  }

  process.on('SIGINT', onSigint);

  const nParams = model.net.numParameters();
  if (!rep.quiet) {
    const dataLine = `${data.name} (${data.train.length.toLocaleString('en-US')} ${points ? 'points' : audio ? `clips of ${d} samples at ${data.sampleRate} Hz` : 'images'}${data.heldOut !== data.train ? `, ${data.heldOut.length.toLocaleString('en-US')} held out` : ''})`;
    rep.info(`${resumeFrom ? `resuming at step ${resumeFrom.step}: ` : ''}${describeModel(config, nParams)} on ${dataLine}`);
    rep.info(`${o.steps} steps · batch ${o.batchSize} · ${o.optimizer} lr ${o.lr} ${o.schedule}${o.ema ? ` · EMA ${o.ema}` : ''} · seed ${o.seed} → ${rel}/`);
  }

  let result;
  try {
    result = await trainer.run();
  } catch (err) {
    rep.endBar();
    if (err instanceof TrainingDivergedError) {
      await appendJsonLine(metricsFile, { step: err.step, event: 'diverged', what: err.what, value: String(err.value), time: new Date().toISOString() }).catch(() => undefined);
      const ck = await exists(join(out, CHECKPOINT_DIR, 'meta.json'));
      throw new CliError(`${err.message}${ck ? ` (${rel}/${CHECKPOINT_DIR} holds the last good one)` : ' (no checkpoint had been written yet)'}`, { cause: err });
    }
    throw err;
  } finally {
    process.off('SIGINT', onSigint);
  }
  rep.endBar();
  if (result.status === 'paused') {
    rep.info(`paused at step ${result.step} of ${o.steps}; checkpoint saved in ${rel}/${CHECKPOINT_DIR}`);
    rep.info(`continue with: genlab train --resume ${rel}`);
    return 0;
  }
  if (result.status === 'interrupted') {
    if (await exists(join(out, CHECKPOINT_DIR, 'meta.json'))) {
      rep.info(`stopped at step ${result.step} of ${o.steps}; checkpoint saved in ${rel}/${CHECKPOINT_DIR}`);
      rep.info(`continue with: genlab train --resume ${rel}`);
    } else {
      rep.info('stopped before the first step: nothing to save');
    }
    return EXIT_INTERRUPTED;
  }

  // ---- summary --------------------------------------------------------------------------------
  const ev = result.eval ?? {};
  const parts = [`trained ${result.step} steps in ${formatDuration(result.elapsedSec)} (loss ${formatNumber(result.loss)})`];
  if (ev.swd !== undefined && ref) {
    // the noise floor: the same distance between two independent data samples of these sizes
    const base = pointMetrics(['swd'], allX(data.train, evalN).data, ref, d, data.name).swd!;
    ev.swdData = base;
    parts.push(`sliced Wasserstein-2 to held-out data ${formatNumber(ev.swd)} (between two data samples: ${formatNumber(base)})`);
  }
  if (ev.modes !== undefined) parts.push(`modes captured ${ev.modes}, high-quality samples ${(100 * ev.highQuality!).toFixed(1)}%`);
  if (ev.nll !== undefined && audio) parts.push(`held-out NLL ${formatNumber(ev.nll)} nats/sample (${formatNumber(ev.bitsPerSample!)} bits/sample)`);
  else if (ev.nll !== undefined) parts.push(`held-out NLL ${formatNumber(ev.nll)} nats${ev.bpd !== undefined ? ` (${formatNumber(ev.bpd)} bits/dim)` : ''}`);
  await writeOrFail('write', join(out, 'eval.json'), () => writeFileAtomic(join(out, 'eval.json'), `${JSON.stringify({ step: result.step, ...ev }, null, 2)}\n`));
  for (const p of parts) rep.info(p);
  rep.info(`wrote ${rel}/: config.json, ${CHECKPOINT_DIR}/, metrics.jsonl, eval.json${pictures.includes(picture) ? `, ${picture}` : ''}`);
  rep.info(audio ? `next: genlab sample ${rel} --n 4   ·   genlab eval ${rel}   ·   genlab info ${rel}` : `next: genlab sample ${rel} --animate ${rel}/trajectory.gif   ·   genlab info ${rel}`);
  trainer.dispose();
  return 0;
}
