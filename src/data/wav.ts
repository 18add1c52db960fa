/**
 * WAV files (RIFF/WAVE, PCM 16-bit mono): encode and decode, browser-safe (bytes in, bytes out),
 * plus a windowed-sinc resampler to bring speech to the rate a model is trained at.
 *
 * Samples are floats in [−1, 1): int16 v ↔ v/32768, so decoding and re-encoding a file gives
 * back its bytes exactly. Anything else (float or 8/24/32-bit PCM, compressed formats, and more
 * than one channel unless the caller asks to mix down) is refused with an error that says what was found.
 */

export interface WavAudio {
  sampleRate: number;
  /** Mono samples in [−1, 1). */
  samples: Float32Array;
}

const ascii = (b: Uint8Array, at: number) => String.fromCharCode(b[at]!, b[at + 1]!, b[at + 2]!, b[at + 3]!);

/** Encode mono samples (clipped to [−1, 1]) as a 16-bit PCM WAV file. */
export function encodeWav(samples: ArrayLike<number>, sampleRate: number): Uint8Array {
  if (!Number.isInteger(sampleRate) || sampleRate <= 0) throw new Error(`encodeWav: sampleRate must be a positive integer, got ${sampleRate}`);
  const n = samples.length;
  const bytes = new Uint8Array(44 + 2 * n);
  const v = new DataView(bytes.buffer);
  const put = (at: number, s: string) => { for (let i = 0; i < 4; i++) bytes[at + i] = s.charCodeAt(i); };
  put(0, 'RIFF');
  v.setUint32(4, 36 + 2 * n, true);
  put(8, 'WAVE');
  put(12, 'fmt ');
  v.setUint32(16, 16, true);
  v.setUint16(20, 1, true); // PCM
  v.setUint16(22, 1, true); // mono
  v.setUint32(24, sampleRate, true);
  v.setUint32(28, sampleRate * 2, true); // byte rate
  v.setUint16(32, 2, true); // block align
  v.setUint16(34, 16, true); // bits per sample
  put(36, 'data');
  v.setUint32(40, 2 * n, true);
  for (let i = 0; i < n; i++) {
    const x = samples[i]!;
    if (Number.isNaN(x)) throw new Error(`encodeWav: sample ${i} is NaN`);
    v.setInt16(44 + 2 * i, Math.max(-32768, Math.min(32767, Math.round(x * 32768))), true);
  }
  return bytes;
}

/** Options of {@link decodeWav}. */
export interface DecodeWavOptions {
  /** Accept more than one channel and average them to mono (default false: only mono files are accepted). */
  mixDown?: boolean;
}

/**
 * Decode a 16-bit PCM WAV file: mono, or any number of channels averaged to mono with
 * `mixDown: true`. Unknown chunks (LIST, fact, …) are skipped.
 */
export function decodeWav(bytes: Uint8Array, opts: DecodeWavOptions = {}): WavAudio {
  if (bytes.length < 12 || ascii(bytes, 0) !== 'RIFF' || ascii(bytes, 8) !== 'WAVE') {
    throw new Error('decodeWav: not a WAV file (expected a RIFF header with format WAVE)');
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let fmt: { format: number; channels: number; sampleRate: number; bits: number } | null = null;
  let pos = 12;
  while (pos + 8 <= bytes.length) {
    const id = ascii(bytes, pos);
    const size = v.getUint32(pos + 4, true);
    const body = pos + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + size > bytes.length) throw new Error(`decodeWav: truncated 'fmt ' chunk (${size} bytes)`);
      let format = v.getUint16(body, true);
      const channels = v.getUint16(body + 2, true);
      const sampleRate = v.getUint32(body + 4, true);
      const bits = v.getUint16(body + 14, true);
      // WAVE_FORMAT_EXTENSIBLE: the real format is the first two bytes of the sub-format GUID
      if (format === 0xfffe && size >= 40) format = v.getUint16(body + 24, true);
      if (format !== 1) throw new Error(`decodeWav: unsupported format tag ${format} (only PCM, tag 1, is supported${format === 3 ? '; this file holds IEEE floats' : ''})`);
      if (bits !== 16) throw new Error(`decodeWav: unsupported ${bits}-bit samples (only 16-bit PCM is supported)`);
      if (channels < 1) throw new Error('decodeWav: invalid channel count 0');
      if (channels !== 1 && !opts.mixDown) throw new Error(`decodeWav: unsupported ${channels} channels (only mono is supported; mix down first)`);
      if (sampleRate <= 0) throw new Error(`decodeWav: invalid sample rate ${sampleRate}`);
      fmt = { format, channels, sampleRate, bits };
    } else if (id === 'data') {
      if (!fmt) throw new Error("decodeWav: 'data' chunk before the 'fmt ' chunk");
      if (body + size > bytes.length) throw new Error(`decodeWav: the data chunk claims ${size} bytes but only ${bytes.length - body} remain (truncated file?)`);
      const C = fmt.channels, frame = 2 * C;
      if (size % frame !== 0) throw new Error(`decodeWav: the data chunk holds ${size} bytes, not a whole number of ${C === 1 ? '16-bit samples' : `${C}-channel 16-bit frames`}`);
      const n = size / frame;
      const samples = new Float32Array(n);
      if (C === 1) for (let i = 0; i < n; i++) samples[i] = v.getInt16(body + 2 * i, true) / 32768;
      else {
        // the mean of the channels of each frame
        for (let i = 0; i < n; i++) {
          let acc = 0;
          for (let c = 0; c < C; c++) acc += v.getInt16(body + frame * i + 2 * c, true);
          samples[i] = acc / (C * 32768);
        }
      }
      return { sampleRate: fmt.sampleRate, samples };
    }
    pos = body + size + (size % 2); // chunks are padded to an even length
  }
  throw new Error(fmt ? "decodeWav: no 'data' chunk" : "decodeWav: no 'fmt ' chunk");
}

/**
 * Resample by band-limited (windowed-sinc) interpolation: each output sample is the input
 * convolved with a Hann-windowed sinc low-pass at 0.95 × the lower Nyquist frequency,
 * `halfWidth` zero crossings on each side (Smith, "Digital Audio Resampling").
 */
export function resample(samples: ArrayLike<number>, fromRate: number, toRate: number, halfWidth = 16): Float32Array {
  if (!(fromRate > 0) || !(toRate > 0)) throw new Error(`resample: rates must be positive, got ${fromRate} → ${toRate}`);
  const nOut = Math.floor((samples.length * toRate) / fromRate);
  const out = new Float32Array(nOut);
  if (fromRate === toRate) {
    for (let i = 0; i < nOut; i++) out[i] = samples[i]!;
    return out;
  }
  const cutoff = 0.95 * Math.min(1, toRate / fromRate); // in cycles per input sample × 2 (1 = input Nyquist)
  const reach = halfWidth / cutoff; // support in input samples
  for (let j = 0; j < nOut; j++) {
    const t = (j * fromRate) / toRate; // position in input samples
    const lo = Math.max(0, Math.ceil(t - reach)), hi = Math.min(samples.length - 1, Math.floor(t + reach));
    let acc = 0;
    for (let i = lo; i <= hi; i++) {
      const d = i - t;
      const x = d * cutoff;
      const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
      const w = 0.5 + 0.5 * Math.cos((Math.PI * d) / reach);
      acc += samples[i]! * cutoff * sinc * w;
    }
    out[j] = acc;
  }
  return out;
}
