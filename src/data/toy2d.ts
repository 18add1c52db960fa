// The 2-D toy distributions used to test and illustrate flows, GANs and diffusion models.
//
// Every sampler has the shape `(n, rng, opts?) => Float32Array`: n points, row-major n×2
// ([x0, y0, x1, y1, ...]). All randomness comes from `rng`; the same seed gives the same points.
// Pure and browser-safe.
//
// Sources of the definitions (constants are those of the source unless an option changes them):
// - FFJORD, Grathwohl, Chen et al., ICLR 2019, lib/toy_data.py
//   (https://github.com/rtqichen/ffjord/blob/master/lib/toy_data.py): "8gaussians", "checkerboard",
//   "pinwheel", "swissroll" (and its "circles" call of make_circles(factor=.5, noise=0.08)).
// - scikit-learn's make_moons / make_circles (sklearn/datasets/_samples_generator.py).
// - The 8-Gaussian ring of Metz et al., "Unrolled Generative Adversarial Networks" (ICLR 2017),
//   also used by VEEGAN (Srivastava et al., NeurIPS 2017): radius 2, std 0.02.
// - The 5×5 grid of Gaussians of VEEGAN / PacGAN (Lin et al., NeurIPS 2018): means (-4+2i, -4+2j),
//   i, j = 0..4, std 0.05.

import type { Generator } from '../core/random.ts';

/** The part of `Generator` the samplers use. */
export type ToyRng = Pick<Generator, 'uniform' | 'normal' | 'randint' | 'permutation'>;

export type ToySampler = (n: number, rng: ToyRng) => Float32Array;

function checkN(n: number, name: string): void {
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name}: n must be a non-negative integer, got ${n}`);
}

function checkNonNeg(v: number, what: string, name: string): void {
  if (!(Number.isFinite(v) && v >= 0)) throw new Error(`${name}: ${what} must be a finite number >= 0, got ${v}`);
}

/** numpy.linspace(start, stop, num, endpoint). */
function linspace(start: number, stop: number, num: number, endpoint: boolean): Float64Array {
  const out = new Float64Array(num);
  const div = endpoint ? num - 1 : num;
  const step = div > 0 ? (stop - start) / div : 0;
  for (let i = 0; i < num; i++) out[i] = start + i * step;
  return out;
}

/** Reorders the rows of an n×2 array with rng.permutation(n). */
function shuffleRows(xy: Float64Array, rng: ToyRng): Float64Array {
  const n = xy.length / 2;
  const perm = rng.permutation(n);
  const out = new Float64Array(xy.length);
  for (let i = 0; i < n; i++) {
    const j = perm[i]!;
    out[2 * i] = xy[2 * j]!;
    out[2 * i + 1] = xy[2 * j + 1]!;
  }
  return out;
}

/** Adds N(0, std²) noise to every coordinate (draws nothing when std is 0). */
function addNoise(xy: Float64Array, std: number, rng: ToyRng): void {
  if (std === 0 || xy.length === 0) return;
  const eps = rng.normal(xy.length, 0, std);
  for (let i = 0; i < xy.length; i++) xy[i] = xy[i]! + eps[i]!;
}

/** Samples from an equal-weight mixture of isotropic Gaussians with the given k×2 centres. */
function mixture(n: number, rng: ToyRng, centres: Float32Array, std: number): Float32Array {
  const k = centres.length / 2;
  const out = new Float32Array(2 * n);
  if (n === 0) return out;
  const idx = rng.randint(n, 0, k);
  const eps = std > 0 ? rng.normal(2 * n, 0, std) : new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    const c = idx[i]!;
    out[2 * i] = centres[2 * c]! + eps[2 * i]!;
    out[2 * i + 1] = centres[2 * c + 1]! + eps[2 * i + 1]!;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// scikit-learn shapes

export interface MoonsOptions {
  /** Std of the Gaussian noise added to every coordinate. Default 0.1 (sklearn's default is none: pass 0). */
  noise?: number;
  /** Shuffle the rows (sklearn's default). Default true. */
  shuffle?: boolean;
}

/**
 * Two interleaving half circles, as sklearn.datasets.make_moons: floor(n/2) points on the upper
 * unit half circle (cos t, sin t), t = linspace(0, π), the rest on (1 - cos t, 0.5 - sin t).
 * Without noise x ∈ [-1, 2], y ∈ [-0.5, 1].
 * FFJORD's "moons" is make_moons(noise=0.1) mapped by p ↦ 2p + (-1, -0.2).
 */
export function twoMoons(n: number, rng: ToyRng, opts: MoonsOptions = {}): Float32Array {
  checkN(n, 'twoMoons');
  const noise = opts.noise ?? 0.1;
  checkNonNeg(noise, 'noise', 'twoMoons');
  const nOut = Math.floor(n / 2);
  const nIn = n - nOut;
  let xy: Float64Array = new Float64Array(2 * n);
  const tOut = linspace(0, Math.PI, nOut, true);
  const tIn = linspace(0, Math.PI, nIn, true);
  for (let i = 0; i < nOut; i++) {
    xy[2 * i] = Math.cos(tOut[i]!);
    xy[2 * i + 1] = Math.sin(tOut[i]!);
  }
  for (let i = 0; i < nIn; i++) {
    xy[2 * (nOut + i)] = 1 - Math.cos(tIn[i]!);
    xy[2 * (nOut + i) + 1] = 1 - Math.sin(tIn[i]!) - 0.5;
  }
  if (opts.shuffle ?? true) xy = shuffleRows(xy, rng);
  addNoise(xy, noise, rng);
  return Float32Array.from(xy);
}

export interface CirclesOptions {
  /** Radius of the inner circle relative to the outer (unit) one, in (0, 1). Default 0.5 (FFJORD; sklearn's default is 0.8). */
  factor?: number;
  /** Std of the Gaussian noise added to every coordinate. Default 0.08 (FFJORD). */
  noise?: number;
  /** Multiplies the result (FFJORD's "circles" uses 3). Default 1. */
  scale?: number;
  /** Shuffle the rows. Default true. */
  shuffle?: boolean;
}

/**
 * Two concentric circles, as sklearn.datasets.make_circles: floor(n/2) points evenly spaced on
 * the unit circle, the rest on a circle of radius `factor`, then noise, then `scale`.
 */
export function circles(n: number, rng: ToyRng, opts: CirclesOptions = {}): Float32Array {
  checkN(n, 'circles');
  const factor = opts.factor ?? 0.5;
  const noise = opts.noise ?? 0.08;
  const scale = opts.scale ?? 1;
  if (!(factor > 0 && factor < 1)) throw new Error(`circles: factor must be in (0, 1), got ${factor}`);
  checkNonNeg(noise, 'noise', 'circles');
  const nOut = Math.floor(n / 2);
  const nIn = n - nOut;
  let xy: Float64Array = new Float64Array(2 * n);
  const tOut = linspace(0, 2 * Math.PI, nOut, false);
  const tIn = linspace(0, 2 * Math.PI, nIn, false);
  for (let i = 0; i < nOut; i++) {
    xy[2 * i] = Math.cos(tOut[i]!);
    xy[2 * i + 1] = Math.sin(tOut[i]!);
  }
  for (let i = 0; i < nIn; i++) {
    xy[2 * (nOut + i)] = factor * Math.cos(tIn[i]!);
    xy[2 * (nOut + i) + 1] = factor * Math.sin(tIn[i]!);
  }
  if (opts.shuffle ?? true) xy = shuffleRows(xy, rng);
  addNoise(xy, noise, rng);
  const out = new Float32Array(2 * n);
  for (let i = 0; i < xy.length; i++) out[i] = xy[i]! * scale;
  return out;
}

// ---------------------------------------------------------------------------------------------
// FFJORD shapes

/** FFJORD's "8gaussians" constants: centres at radius 4 with std 0.5, all divided by 1.414. */
export const EIGHT_GAUSSIANS_RADIUS = 4 / 1.414;
export const EIGHT_GAUSSIANS_STD = 0.5 / 1.414;

export interface EightGaussiansOptions {
  /** Radius of the circle of centres. Default 4 / 1.414 ≈ 2.8289 (FFJORD). */
  radius?: number;
  /** Std of each component. Default 0.5 / 1.414 ≈ 0.3536 (FFJORD). */
  std?: number;
}

/**
 * The 8 centres, k×2, in FFJORD's order: (1,0), (-1,0), (0,1), (0,-1), (s,s), (s,-s), (-s,s), (-s,-s),
 * s = 1/√2, times `radius`.
 */
export function eightGaussiansModes(radius = EIGHT_GAUSSIANS_RADIUS): Float32Array {
  const s = 1 / Math.sqrt(2);
  const unit = [1, 0, -1, 0, 0, 1, 0, -1, s, s, s, -s, -s, s, -s, -s];
  return Float32Array.from(unit, (v) => v * radius);
}

/**
 * FFJORD's "8gaussians": an equal mixture of 8 isotropic Gaussians on a circle. FFJORD draws
 * randn(2)*0.5 + 4*(unit centre) and divides by 1.414, i.e. centres at radius 4/1.414 and std
 * 0.5/1.414, the defaults here.
 */
export function eightGaussians(n: number, rng: ToyRng, opts: EightGaussiansOptions = {}): Float32Array {
  checkN(n, 'eightGaussians');
  const radius = opts.radius ?? EIGHT_GAUSSIANS_RADIUS;
  const std = opts.std ?? EIGHT_GAUSSIANS_STD;
  checkNonNeg(std, 'std', 'eightGaussians');
  return mixture(n, rng, eightGaussiansModes(radius), std);
}

/**
 * FFJORD's "checkerboard": uniform on the 8 dark squares of a 4×4 board of side-2 squares
 * covering [-4, 4]². x1 ~ U(-2, 2); x2 ~ U(0, 1) - 2·Bernoulli(½) + (floor(x1) mod 2); both × 2.
 */
export function checkerboard(n: number, rng: ToyRng): Float32Array {
  checkN(n, 'checkerboard');
  const out = new Float32Array(2 * n);
  if (n === 0) return out;
  const x1 = rng.uniform(n, -2, 2);
  const u = rng.uniform(n, 0, 1);
  const b = rng.randint(n, 0, 2);
  for (let i = 0; i < n; i++) {
    const a = x1[i]!;
    const parity = ((Math.floor(a) % 2) + 2) % 2; // Python's %, never negative
    out[2 * i] = 2 * a;
    out[2 * i + 1] = 2 * (u[i]! - 2 * b[i]! + parity);
  }
  return out;
}

export interface PinwheelOptions {
  /** Number of arms. Default 5. */
  arms?: number;
  /** Default 0.3. */
  radialStd?: number;
  /** Default 0.1. */
  tangentialStd?: number;
  /** How fast the arms curl. Default 0.25. */
  rate?: number;
}

/**
 * FFJORD's "pinwheel" (after Johnson et al.'s SVAE): point r = (1 + radialStd·ε₁, tangentialStd·ε₂),
 * rotated by angle 2πk/arms + rate·exp(r₀), times 2, rows shuffled. FFJORD gives each arm
 * floor(n/5) points (so up to 4 fewer than asked); here arm k gets the points i with
 * floor(i·arms/n) = k, exactly n in all.
 */
export function pinwheel(n: number, rng: ToyRng, opts: PinwheelOptions = {}): Float32Array {
  checkN(n, 'pinwheel');
  const arms = opts.arms ?? 5;
  const radialStd = opts.radialStd ?? 0.3;
  const tangentialStd = opts.tangentialStd ?? 0.1;
  const rate = opts.rate ?? 0.25;
  if (!Number.isInteger(arms) || arms < 1) throw new Error(`pinwheel: arms must be a positive integer, got ${arms}`);
  checkNonNeg(radialStd, 'radialStd', 'pinwheel');
  checkNonNeg(tangentialStd, 'tangentialStd', 'pinwheel');
  if (n === 0) return new Float32Array(0);
  const eps = rng.normal(2 * n, 0, 1);
  const xy = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    const k = Math.floor((i * arms) / n);
    const f0 = eps[2 * i]! * radialStd + 1;
    const f1 = eps[2 * i + 1]! * tangentialStd;
    const angle = (2 * Math.PI * k) / arms + rate * Math.exp(f0);
    const c = Math.cos(angle);
    const s = Math.sin(angle);
    // FFJORD: einsum("ti,tij->tj", f, [[c, -s], [s, c]])
    xy[2 * i] = 2 * (f0 * c + f1 * s);
    xy[2 * i + 1] = 2 * (-f0 * s + f1 * c);
  }
  return Float32Array.from(shuffleRows(xy, rng));
}

export interface SwissRollOptions {
  /** Std of the noise added to each coordinate before scaling. Default 1.0 (FFJORD). */
  noise?: number;
  /** Multiplies the result. Default 1/5 (FFJORD). */
  scale?: number;
}

/**
 * FFJORD's "swissroll": sklearn.datasets.make_swiss_roll(noise=1.0) projected on its (x, z)
 * coordinates and divided by 5. t = 1.5π(1 + 2u), u ~ U(0, 1); point (t cos t, t sin t) + noise.
 */
export function swissRoll(n: number, rng: ToyRng, opts: SwissRollOptions = {}): Float32Array {
  checkN(n, 'swissRoll');
  const noise = opts.noise ?? 1.0;
  const scale = opts.scale ?? 1 / 5;
  checkNonNeg(noise, 'noise', 'swissRoll');
  const out = new Float32Array(2 * n);
  if (n === 0) return out;
  const u = rng.uniform(n, 0, 1);
  const eps = noise > 0 ? rng.normal(2 * n, 0, noise) : new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    const t = 1.5 * Math.PI * (1 + 2 * u[i]!);
    out[2 * i] = (t * Math.cos(t) + eps[2 * i]!) * scale;
    out[2 * i + 1] = (t * Math.sin(t) + eps[2 * i + 1]!) * scale;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// GAN mode-collapse benchmarks

export interface GridOptions {
  /** Grid is size×size. Default 5. */
  size?: number;
  /** Distance between neighbouring centres. Default 2 (centres -4, -2, 0, 2, 4). */
  spacing?: number;
  /** Std of each component. Default 0.05. */
  std?: number;
}

/** Centres of the grid, row-major k×2: ((i - (size-1)/2)·spacing, (j - (size-1)/2)·spacing). */
export function gaussianGridModes(size = 5, spacing = 2): Float32Array {
  if (!Number.isInteger(size) || size < 1) throw new Error(`gaussianGrid: size must be a positive integer, got ${size}`);
  const out = new Float32Array(2 * size * size);
  const h = (size - 1) / 2;
  for (let i = 0; i < size; i++) {
    for (let j = 0; j < size; j++) {
      out[2 * (i * size + j)] = (i - h) * spacing;
      out[2 * (i * size + j) + 1] = (j - h) * spacing;
    }
  }
  return out;
}

/** The 5×5 grid of Gaussians (VEEGAN, PacGAN): means (-4+2i, -4+2j), std 0.05, equal weights. */
export function gaussianGrid(n: number, rng: ToyRng, opts: GridOptions = {}): Float32Array {
  checkN(n, 'gaussianGrid');
  const std = opts.std ?? 0.05;
  checkNonNeg(std, 'std', 'gaussianGrid');
  return mixture(n, rng, gaussianGridModes(opts.size ?? 5, opts.spacing ?? 2), std);
}

export interface RingOptions {
  /** Number of components. Default 8. */
  modes?: number;
  /** Default 2. */
  radius?: number;
  /** Default 0.02. */
  std?: number;
}

/** Centres k×2 at angles 2πk/modes, k = 0..modes-1, on a circle of the given radius. */
export function ringModes(modes = 8, radius = 2): Float32Array {
  if (!Number.isInteger(modes) || modes < 1) throw new Error(`ring: modes must be a positive integer, got ${modes}`);
  const out = new Float32Array(2 * modes);
  for (let k = 0; k < modes; k++) {
    const a = (2 * Math.PI * k) / modes;
    out[2 * k] = radius * Math.cos(a);
    out[2 * k + 1] = radius * Math.sin(a);
  }
  return out;
}

/** The ring of 8 Gaussians (unrolled GAN, VEEGAN): radius 2, std 0.02, equal weights. */
export function ring(n: number, rng: ToyRng, opts: RingOptions = {}): Float32Array {
  checkN(n, 'ring');
  const std = opts.std ?? 0.02;
  checkNonNeg(std, 'std', 'ring');
  return mixture(n, rng, ringModes(opts.modes ?? 8, opts.radius ?? 2), std);
}

// ---------------------------------------------------------------------------------------------

export interface Toy2dEntry {
  description: string;
  /** Samples with the default options. */
  sample: ToySampler;
  /** For the Gaussian mixtures: the component centres, k×2 row-major. */
  modes?: Float32Array;
  /** For the Gaussian mixtures: the std of every component. */
  modeStd?: number;
}

/** Every toy set with its default options, by name. */
export const toy2d: Record<string, Toy2dEntry> = {
  twoMoons: {
    description: 'Two interleaving half circles (sklearn make_moons), noise 0.1',
    sample: (n, rng) => twoMoons(n, rng),
  },
  circles: {
    description: 'Two concentric circles, radii 1 and 0.5 (sklearn make_circles, factor 0.5), noise 0.08',
    sample: (n, rng) => circles(n, rng),
  },
  eightGaussians: {
    description: "FFJORD's 8gaussians: 8 Gaussians on a circle of radius 4/1.414, std 0.5/1.414",
    sample: (n, rng) => eightGaussians(n, rng),
    modes: eightGaussiansModes(),
    modeStd: EIGHT_GAUSSIANS_STD,
  },
  checkerboard: {
    description: "FFJORD's checkerboard: uniform on 8 squares of a 4×4 board on [-4, 4]²",
    sample: (n, rng) => checkerboard(n, rng),
  },
  pinwheel: {
    description: "FFJORD's pinwheel: 5 curled arms",
    sample: (n, rng) => pinwheel(n, rng),
  },
  swissRoll: {
    description: "FFJORD's swissroll: sklearn make_swiss_roll(noise=1) on (x, z), divided by 5",
    sample: (n, rng) => swissRoll(n, rng),
  },
  gaussianGrid: {
    description: '5×5 grid of Gaussians at (-4+2i, -4+2j), std 0.05 (VEEGAN, PacGAN)',
    sample: (n, rng) => gaussianGrid(n, rng),
    modes: gaussianGridModes(),
    modeStd: 0.05,
  },
  ring: {
    description: 'Ring of 8 Gaussians, radius 2, std 0.02 (unrolled GAN, VEEGAN)',
    sample: (n, rng) => ring(n, rng),
    modes: ringModes(),
    modeStd: 0.02,
  },
};
