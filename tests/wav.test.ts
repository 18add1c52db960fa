/** WAV encode/decode (src/data/wav.ts): layout, exact round trips, clear errors, and resampling. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeWav, decodeWav, resample } from '../src/data/wav.ts';

/** A WAV header + chunks built by hand, to feed the decoder formats it must refuse or skip. */
function wavBytes(opts: { format?: number; channels?: number; bits?: number; rate?: number; extra?: Uint8Array; data?: Uint8Array; dataSize?: number }): Uint8Array {
  const data = opts.data ?? new Uint8Array([1, 0, 255, 127]);
  const extra = opts.extra ?? new Uint8Array(0);
  const out = new Uint8Array(12 + 24 + extra.length + 8 + data.length);
  const v = new DataView(out.buffer);
  const put = (at: number, s: string) => { for (let i = 0; i < 4; i++) out[at + i] = s.charCodeAt(i); };
  put(0, 'RIFF'); v.setUint32(4, out.length - 8, true); put(8, 'WAVE');
  put(12, 'fmt '); v.setUint32(16, 16, true);
  const ch = opts.channels ?? 1, bits = opts.bits ?? 16, rate = opts.rate ?? 8000;
  v.setUint16(20, opts.format ?? 1, true); v.setUint16(22, ch, true); v.setUint32(24, rate, true);
  v.setUint32(28, (rate * ch * bits) / 8, true); v.setUint16(32, (ch * bits) / 8, true); v.setUint16(34, bits, true);
  out.set(extra, 36);
  const d = 36 + extra.length;
  put(d, 'data'); v.setUint32(d + 4, opts.dataSize ?? data.length, true);
  out.set(data, d + 8);
  return out;
}

test('encodeWav writes a 44-byte PCM16 mono header and little-endian samples', () => {
  const b = encodeWav([0, 0.5, -1, 1], 16000);
  assert.equal(b.length, 44 + 8);
  const v = new DataView(b.buffer);
  assert.equal(String.fromCharCode(...b.subarray(0, 4)), 'RIFF');
  assert.equal(v.getUint32(4, true), 36 + 8);
  assert.equal(String.fromCharCode(...b.subarray(8, 16)), 'WAVEfmt ');
  assert.equal(v.getUint16(20, true), 1); // PCM
  assert.equal(v.getUint16(22, true), 1); // mono
  assert.equal(v.getUint32(24, true), 16000);
  assert.equal(v.getUint32(28, true), 32000);
  assert.equal(v.getUint16(34, true), 16);
  assert.deepEqual([0, 1, 2, 3].map((i) => v.getInt16(44 + 2 * i, true)), [0, 16384, -32768, 32767]); // +1 clips to 32767
});

test('decodeWav(encodeWav(x)) ≈ x within 1/32768, and re-encoding a decoded file gives its bytes back', () => {
  const n = 1000;
  const x = Float32Array.from({ length: n }, (_, i) => 0.9 * Math.sin(i / 7) * Math.cos(i / 50));
  const bytes = encodeWav(x, 8000);
  const { sampleRate, samples } = decodeWav(bytes);
  assert.equal(sampleRate, 8000);
  assert.equal(samples.length, n);
  for (let i = 0; i < n; i++) assert.ok(Math.abs(samples[i]! - x[i]!) <= 0.5 / 32768 + 1e-9);
  assert.deepEqual(encodeWav(samples, sampleRate), bytes);
  assert.equal(decodeWav(encodeWav([], 8000)).samples.length, 0);
});

test('decodeWav skips unknown chunks (with odd-length padding) and reads WAVE_FORMAT_EXTENSIBLE PCM', () => {
  // a 3-byte LIST chunk padded to 4 before 'data' needs a 'fmt ' first, so put it between fmt and data
  const extra = new Uint8Array(12);
  extra.set([76, 73, 83, 84], 0); // 'LIST'
  new DataView(extra.buffer).setUint32(4, 3, true);
  const b = wavBytes({ extra });
  assert.deepEqual([...decodeWav(b).samples], [1 / 32768, 32767 / 32768]);
  // extensible: format 0xFFFE, 40-byte fmt with the PCM sub-format
  const ext = encodeWav([0.25], 8000);
  const big = new Uint8Array(ext.length + 24);
  big.set(ext.subarray(0, 36));
  const v = new DataView(big.buffer);
  v.setUint32(16, 40, true);
  v.setUint16(20, 0xfffe, true);
  v.setUint16(36, 22, true); // cbSize
  v.setUint16(44, 1, true); // sub-format GUID starts with 0x0001 (PCM)
  big.set(ext.subarray(36), 60);
  v.setUint32(4, big.length - 8, true);
  assert.deepEqual([...decodeWav(big).samples], [0.25]);
});

test('decodeWav refuses what it cannot read, saying what it found', () => {
  assert.throws(() => decodeWav(new Uint8Array(20)), /not a WAV file/);
  assert.throws(() => decodeWav(wavBytes({ channels: 2 })), /2 channels \(only mono/);
  assert.throws(() => decodeWav(wavBytes({ bits: 8 })), /8-bit samples \(only 16-bit PCM/);
  assert.throws(() => decodeWav(wavBytes({ bits: 24 })), /24-bit/);
  assert.throws(() => decodeWav(wavBytes({ format: 3, bits: 32 })), /format tag 3 .*IEEE floats/);
  assert.throws(() => decodeWav(wavBytes({ format: 6 })), /unsupported format tag 6/);
  assert.throws(() => decodeWav(wavBytes({ dataSize: 100 })), /claims 100 bytes but only 4 remain/);
  assert.throws(() => decodeWav(wavBytes({ data: new Uint8Array(3) })), /not a whole number of 16-bit samples/);
  const noData = encodeWav([0], 8000).subarray(0, 36);
  assert.throws(() => decodeWav(noData), /no 'data' chunk/);
  assert.throws(() => encodeWav([0], 0), /sampleRate must be a positive integer/);
});

test('resample keeps an in-band tone and removes one above the new Nyquist frequency', () => {
  const from = 22050, to = 8000, n = 22050;
  const tone = (f: number) => Float32Array.from({ length: n }, (_, i) => 0.5 * Math.sin((2 * Math.PI * f * i) / from));
  const y = resample(tone(440), from, to);
  assert.equal(y.length, 8000);
  let err = 0;
  for (let j = 200; j < y.length - 200; j++) err = Math.max(err, Math.abs(y[j]! - 0.5 * Math.sin((2 * Math.PI * 440 * j) / to)));
  assert.ok(err < 5e-3, `440 Hz tone: max error ${err}`);
  const z = resample(tone(6000), from, to); // above 4 kHz: must be filtered, not aliased to 2 kHz
  let rms = 0;
  for (let j = 200; j < z.length - 200; j++) rms += z[j]! * z[j]!;
  rms = Math.sqrt(rms / (z.length - 400));
  assert.ok(rms < 0.01, `6 kHz tone leaks with rms ${rms}`);
  assert.deepEqual([...resample([1, 2, 3], 8000, 8000)], [1, 2, 3]);
});
