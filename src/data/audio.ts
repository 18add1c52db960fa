/**
 * Audio data for the `audio` DataSpec (clips of T samples in [−1, 1]), browser-safe: synthetic
 * sinusoids, and cutting longer recordings into clips.
 */
import type { Generator } from '../core/random.ts';

/** Options of {@link sineClips}. */
export interface SineClipsOptions {
  /** Sample rate in Hz (8000: the rate of the WaveNet experiments in docs/wavenet). */
  sampleRate?: number;
  /** Sinusoids summed in each clip (1: the docs' single tones). */
  components?: number;
  /** Frequency range in Hz, drawn uniformly per sinusoid. */
  minFreq?: number;
  maxFreq?: number;
}

/**
 * `n` clips of `T` samples, each a sum of `components` sinusoids A·sin(2πft/rate + φ) with
 * f ~ U(minFreq, maxFreq) (default 50–1000 Hz), A ~ U(0.1, 0.9)/components, φ ~ U(0, 2π): the
 * synthetic signals of docs/wavenet (there with one component). Returns the clips back to back, [n·T].
 */
export function sineClips(n: number, T: number, rng: Generator, opts: SineClipsOptions = {}): Float32Array {
  const rate = opts.sampleRate ?? 8000, K = opts.components ?? 1, lo = opts.minFreq ?? 50, hi = opts.maxFreq ?? 1000;
  if (!Number.isInteger(K) || K < 1) throw new Error(`sineClips: components must be a positive integer, got ${JSON.stringify(opts.components)}`);
  if (!(lo > 0 && hi >= lo && hi <= rate / 2)) throw new Error(`sineClips: need 0 < minFreq ≤ maxFreq ≤ sampleRate/2 (${rate / 2} Hz), got ${lo}–${hi} Hz`);
  const f = rng.uniform(n * K, lo, hi), a = rng.uniform(n * K, 0.1, 0.9), ph = rng.uniform(n * K, 0, 2 * Math.PI);
  const out = new Float32Array(n * T);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < K; k++) {
      const j = i * K + k, w = (2 * Math.PI * f[j]!) / rate, amp = a[j]! / K;
      for (let t = 0; t < T; t++) out[i * T + t] += amp * Math.sin(w * t + ph[j]!);
    }
  }
  return out;
}

/**
 * Cut each signal into non-overlapping clips of `T` samples (a tail shorter than `T` is dropped).
 * Returns the clips back to back, [count·T], and how many came from each signal.
 */
export function cutClips(signals: readonly Float32Array[], T: number): { data: Float32Array; count: number; perSignal: number[] } {
  if (!Number.isInteger(T) || T < 1) throw new Error(`cutClips: the clip length must be a positive integer, got ${T}`);
  const perSignal = signals.map((s) => Math.floor(s.length / T));
  const count = perSignal.reduce((a, b) => a + b, 0);
  const data = new Float32Array(count * T);
  let at = 0;
  for (const [i, s] of signals.entries()) {
    data.set(s.subarray(0, perSignal[i]! * T), at);
    at += perSignal[i]! * T;
  }
  return { data, count, perSignal };
}
