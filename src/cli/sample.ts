/** `genlab sample`: draw samples from a trained run, as a picture, a CSV of points, an animation, or WAV files (audio). */
import { dirname, basename, extname, join, resolve } from 'node:path';
import { Generator, full, type Tensor } from '../core/index.ts';
import { writeFileAtomic } from '../nn/io/files.ts';
import type { SampleOptions } from '../models/registry.ts';
import { pointsRange, type PlotRange } from '../viz/plot.ts';
import { progressBar } from '../train/progress.ts';
import { SAMPLE_HELP } from './help.ts';
import { parse, intOption, numOption } from './args.ts';
import { UsageError, CliError, describeFsError, displayPath } from './errors.ts';
import { loadRun } from './run.ts';
import { loadData } from './data.ts';
import { drawSamples, referencePoints } from './metrics.ts';
import { pointsFigure, imagesFigure, frameFigure, writePng, writeAnimation } from './pictures.ts';
import { Reporter } from './term.ts';
import { selectBackend } from './backend.ts';
import type { PngImage } from '../data/png.ts';
import { encodeWav } from '../data/wav.ts';

export async function sampleCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse('sample', argv, {
    sampler: { type: 'string' },
    steps: { type: 'string' },
    guidance: { type: 'string' },
    class: { type: 'string' },
    temperature: { type: 'string' },
    n: { type: 'string' },
    seed: { type: 'string' },
    out: { type: 'string' },
    animate: { type: 'string' },
    weights: { type: 'string' },
    backend: { type: 'string' },
    quiet: { type: 'boolean' },
  }, { positionals: [1, 1] });
  if (values.help) {
    console.log(SAMPLE_HELP);
    return 0;
  }
  selectBackend('sample', values.backend);
  if (values.weights !== undefined && values.weights !== 'ema' && values.weights !== 'train') throw new UsageError(`--weights must be 'ema' or 'train', got '${values.weights}'`, 'sample');
  const run = await loadRun(positionals[0]!, { weights: (values.weights as 'ema' | 'train' | undefined) ?? 'ema' });
  const { family, model, config } = run;
  const spec = config.dataSpec;
  const points = spec.kind === 'points';
  const audio = spec.kind === 'audio';

  const sampler = values.sampler;
  if (sampler !== undefined && !family.samplers.includes(sampler)) {
    throw new UsageError(`unknown sampler '${sampler}' for the '${family.name}' family (available: ${family.samplers.join(', ')})`, 'sample');
  }
  const n = intOption('sample', 'n', values.n) ?? (points ? 2000 : audio ? 1 : 64);
  const seed = intOption('sample', 'seed', values.seed, 0) ?? 0;
  const opts: SampleOptions = {};
  if (sampler) opts.sampler = sampler;
  const steps = intOption('sample', 'steps', values.steps);
  if (steps !== undefined) opts.steps = steps;
  const guidance = numOption('sample', 'guidance', values.guidance);
  const cls = intOption('sample', 'class', values.class, 0);
  if ((guidance !== undefined || cls !== undefined) && !spec.numClasses) {
    throw new UsageError(`--class and --guidance need a class-conditional model; this one was trained on unlabelled data (${config.data.name})`, 'sample');
  }
  if (cls !== undefined && cls >= spec.numClasses!) throw new UsageError(`--class must be in 0…${spec.numClasses! - 1}, got ${cls}`, 'sample');
  if (guidance !== undefined) opts.guidance = guidance;
  let classes: Tensor | undefined;
  if (cls !== undefined) opts.classes = classes = full([n], cls, { dtype: 'int32' });
  const temperature = numOption('sample', 'temperature', values.temperature);
  if (temperature !== undefined) opts.temperature = temperature;

  const out = resolve(values.out ?? join(run.dir, audio ? 'sample.wav' : 'sample.png'));
  const ext = extname(out).toLowerCase();
  if (audio) {
    if (ext !== '.wav') throw new UsageError(`--out must end in .wav for an audio model, got '${values.out}'`, 'sample');
    if (values.animate) throw new UsageError('--animate draws a sampling trajectory of points or images; an audio model has none', 'sample');
  } else if (ext !== '.png' && !(ext === '.csv' && points)) throw new UsageError(`--out must end in .png${points ? ' or .csv' : ''}, got '${values.out}'`, 'sample');
  if (values.animate && !/\.(gif|png|apng)$/i.test(values.animate)) throw new UsageError(`--animate must end in .gif or .png (APNG), got '${values.animate}'`, 'sample');

  // a window that holds the data (for points), shared by the picture and every animation frame
  let ref: Float32Array | null = null;
  if (points) {
    try {
      ref = referencePoints((await loadData(config.data)).heldOut);
    } catch {
      ref = null; // the data are not at hand: plot the samples alone
    }
  }
  const rep = new Reporter(!!process.stderr.isTTY, !!values.quiet);
  const frames: { values: Float32Array; step: number; total: number }[] = [];
  const t0 = performance.now();
  opts.onStep = ({ step, total, x }) => {
    if (values.animate) frames.push({ values: Float32Array.from(x.dataSync()), step, total });
    const el = (performance.now() - t0) / 1000;
    rep.bar(progressBar({ step, total, loss: NaN, lr: NaN, stepsPerSec: step / el, etaSec: ((total - step) * el) / step, elapsedSec: el }, rep.columns - 1).replace(/ loss NaN · lr NaN ·/, ''));
  };
  let samples: Float32Array;
  try {
    samples = await drawSamples(family, model, n, new Generator(seed), opts);
  } finally {
    classes?.dispose();
    rep.endBar();
  }
  const secs = (performance.now() - t0) / 1000;

  const rel = displayPath;
  const what = `${n} ${points ? 'points' : audio ? `clip${n === 1 ? '' : 's'} of ${spec.shape[0]} samples` : 'images'} from ${family.name} (step ${run.step}, ${run.ema ? 'EMA' : 'training'} weights${sampler ? `, ${sampler}` : ''}${steps ? `, ${steps} steps` : ''}) in ${secs.toFixed(1)} s`;
  const nonFinite = samples.reduce((c, v) => c + (Number.isFinite(v) ? 0 : 1), 0);
  if (nonFinite) rep.warn(`warning: ${nonFinite} sample values are NaN or infinite`);
  // audio: one WAV per clip, <out> itself for one, <stem>-1.wav … <stem>-n.wav for more
  const wavs = audio ? (n === 1 ? [out] : Array.from({ length: n }, (_, i) => join(dirname(out), `${basename(out, extname(out))}-${i + 1}.wav`))) : [];
  try {
    if (audio) {
      const T = spec.shape[0]!, rate = Number((config.model as { sampleRate?: unknown }).sampleRate ?? config.data.sampleRate ?? 8000);
      for (const [i, f] of wavs.entries()) {
        try {
          await writeFileAtomic(f, encodeWav(samples.subarray(i * T, (i + 1) * T).map((v) => (Number.isFinite(v) ? v : 0)), rate));
        } catch (err) {
          throw new CliError(describeFsError(err, 'write', f), { cause: err });
        }
      }
    } else if (ext === '.csv') {
      const d = spec.shape[0]!;
      const lines = [Array.from({ length: d }, (_, j) => `x${j}`).join(',')];
      for (let i = 0; i < n; i++) lines.push(Array.from(samples.subarray(i * d, (i + 1) * d)).join(','));
      await writeFileAtomic(out, `${lines.join('\n')}\n`);
    } else if (points) {
      await writePng(out, pointsFigure(samples, ref ?? samples, { title: `${sampler ?? 'samples'}${steps ? `, ${steps} steps` : ''}`, range: pointsRange([ref ?? samples]) }));
    } else {
      await writePng(out, imagesFigure(samples, spec, n));
    }
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(describeFsError(err, 'write', out), { cause: err });
  }
  rep.info(`${what} → ${audio && n > 1 ? `${rel(wavs[0]!)} … ${basename(wavs[n - 1]!)}` : rel(out)}`);

  if (values.animate) {
    if (frames.length === 0) throw new CliError(`the '${family.name}' family samples in one pass: there is no trajectory to animate`);
    const file = resolve(values.animate);
    // points: each frame's window holds that frame (and the data), so the early, wide noise zooms in onto the data
    const dataRange = points ? pointsRange([ref ?? frames[frames.length - 1]!.values]) : null;
    const keep = frames.length > 60 ? frames.filter((_, i) => i % Math.ceil(frames.length / 60) === 0 || i === frames.length - 1) : frames;
    const imgs: PngImage[] = keep.map((f) => {
      const range = points ? widest(dataRange!, pointsRange([f.values], { quantile: 0.02 })) : null;
      return frameFigure(f.values, spec, n, range, `step ${f.step}/${f.total}`, ref?.subarray(0, 1000));
    });
    try {
      await writeAnimation(file, imgs);
    } catch (err) {
      throw new CliError(describeFsError(err, 'write', file), { cause: err });
    }
    rep.info(`trajectory: ${imgs.length} frames → ${rel(file)}`);
  }
  return 0;
}

/** The smallest square window holding both. */
function widest(a: PlotRange, b: PlotRange): PlotRange {
  const x0 = Math.min(a.x[0], b.x[0]), x1 = Math.max(a.x[1], b.x[1]), y0 = Math.min(a.y[0], b.y[0]), y1 = Math.max(a.y[1], b.y[1]);
  const side = Math.max(x1 - x0, y1 - y0), cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
  return { x: [cx - side / 2, cx + side / 2], y: [cy - side / 2, cy + side / 2] };
}
