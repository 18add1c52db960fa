// Audio through the command line: a WaveNet trains on a folder of WAV files and on the built-in
// sines, resumes exactly, samples to WAV files that parse back, and is evaluated by its held-out
// NLL; audio sources that cannot be used are refused with messages naming the file and the fault.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { genlab, scratch } from './cli_util.ts';
import '../src/index.ts';
import { Generator } from '../src/core/random.ts';
import { encodeWav, decodeWav } from '../src/data/wav.ts';
import { sineClips, cutClips } from '../src/data/audio.ts';
import { loadData } from '../src/cli/data.ts';

const dir = scratch();

/** A 16-bit PCM WAV with `channels` interleaved channels (encodeWav writes mono only). */
function pcmWav(frames: number[][], rate: number, opts: { format?: number; bits?: number } = {}): Uint8Array {
  const C = frames[0]!.length, bits = opts.bits ?? 16, bytesPer = bits / 8, size = frames.length * C * bytesPer;
  const b = new Uint8Array(44 + size), v = new DataView(b.buffer);
  const put = (at: number, s: string) => [...s].forEach((c, i) => (b[at + i] = c.charCodeAt(0)));
  put(0, 'RIFF'); v.setUint32(4, 36 + size, true); put(8, 'WAVE'); put(12, 'fmt '); v.setUint32(16, 16, true);
  v.setUint16(20, opts.format ?? 1, true); v.setUint16(22, C, true); v.setUint32(24, rate, true);
  v.setUint32(28, rate * C * bytesPer, true); v.setUint16(32, C * bytesPer, true); v.setUint16(34, bits, true);
  put(36, 'data'); v.setUint32(40, size, true);
  frames.forEach((f, i) => f.forEach((x, c) => (bits === 16 ? v.setInt16(44 + 2 * (i * C + c), x, true) : v.setFloat32(44 + 4 * (i * C + c), x, true))));
  return b;
}

// three recordings of 600 samples at 8 kHz: 4 clips of 128 each, 12 in all (the last one held out)
const tones = sineClips(3, 600, new Generator(5));
mkdirSync(join(dir, 'wavs'));
for (let i = 0; i < 3; i++) writeFileSync(join(dir, 'wavs', `tone-${i}.wav`), encodeWav(tones.subarray(i * 600, (i + 1) * 600), 8000));
writeFileSync(join(dir, 'wavs', 'notes.txt'), 'not audio'); // other files in the folder are ignored

const preset = join(dir, 'tiny-wavenet.json');
writeFileSync(preset, JSON.stringify({
  family: 'wavenet',
  data: { name: 'wavs', clip: 128 },
  model: { stacks: 1, layersPerStack: 3, residualChannels: 6, gateChannels: 6, skipChannels: 8 },
  train: { steps: 6, batchSize: 4, lr: 0.003, schedule: 'cosine', warmupSteps: 1, ema: 0.9, logEvery: 2, evalEvery: 6, checkpointEvery: 2 },
}));
const straight = genlab(['train', preset, '--out', 'a'], dir);
const paused = genlab(['train', preset, '--out', 'b', '--until', '4'], dir);
const small = ['--set', 'model.stacks=1', '--set', 'model.layersPerStack=2', '--set', 'model.residualChannels=4', '--set', 'model.gateChannels=4', '--set', 'model.skipChannels=4'];
const sines = genlab(['train', 'wavenet', '--data', 'sines', '--clip', '64', '--steps', '3', '--out', 'sines', ...small,
  '--set', 'data.size=8', '--set', 'data.heldOut=3', '--set', 'train.batchSize=4', '--set', 'train.logEvery=1', '--set', 'train.evalEvery=3'], dir);

const log = (run: string) => readFileSync(join(dir, run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
const wav = (f: string) => decodeWav(readFileSync(join(dir, f)));

test('a folder of WAV files trains a WaveNet on clips of --clip samples, and the run resumes exactly', async () => {
  const [a, b] = await Promise.all([straight, paused]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(b.code, 0, b.stderr);
  assert.match(a.stdout, /wavenet \([\d,]+ parameters\) on wavs \(11 clips of 128 samples at 8000 Hz, 1 held out\)/);
  assert.match(a.stdout, /held-out NLL \d\.\d+ nats\/sample \(\d\.\d+ bits\/sample\)/);
  const config = JSON.parse(readFileSync(join(dir, 'a', 'config.json'), 'utf8'));
  assert.deepEqual(config.dataSpec, { kind: 'audio', shape: [128] });
  assert.equal(config.model.sampleRate, 8000); // from the files, as image sizes come from the images
  const s = wav('a/samples.wav');
  assert.equal(s.sampleRate, 8000);
  assert.equal(s.samples.length, 128);
  // 4 + resume + 2 steps: the same losses as 6 straight, and the same weights
  const resumed = await genlab(['train', '--resume', 'b'], dir);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stdout, /^resuming at step 4: wavenet/);
  assert.deepEqual(log('b').map((l) => [l.step, l.loss]), log('a').map((l) => [l.step, l.loss]));
  assert.deepEqual(log('a').map((l) => l.step), [2, 4, 6]);
  for (const f of ['model.safetensors', 'ema.safetensors']) {
    assert.ok(readFileSync(join(dir, 'a', 'checkpoint', f)).equals(readFileSync(join(dir, 'b', 'checkpoint', f))), f);
  }
  const ev = log('a')[2]!.eval as unknown as { nll: number; bitsPerSample: number };
  assert.ok(ev.nll > 0 && ev.nll < Math.log(256) + 0.5, JSON.stringify(ev));
});

test('train on the built-in sines; sample writes WAV files; eval reports the held-out NLL per sample', async () => {
  const r = await sines;
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /on sines \(8 clips of 64 samples at 8000 Hz, 3 held out\)/);
  const [one, many, ev, bad] = await Promise.all([
    genlab(['sample', 'sines', '--seed', '3'], dir),
    genlab(['sample', 'sines', '--n', '2', '--temperature', '0.7', '--sampler', 'naive', '--out', 'tone.wav'], dir),
    genlab(['eval', 'sines'], dir),
    genlab(['sample', 'sines', '--out', 'x.png'], dir),
  ]);
  assert.equal(one.code, 0, one.stderr);
  assert.match(one.stdout, /1 clip of 64 samples from wavenet \(step 3, EMA weights\)/);
  for (const f of ['sines/sample.wav', 'tone-1.wav', 'tone-2.wav']) {
    const w = wav(f);
    assert.equal(w.sampleRate, 8000, f);
    assert.equal(w.samples.length, 64, f);
    assert.ok(w.samples.some((x) => x !== 0), f);
  }
  assert.equal(many.code, 0, many.stderr);
  assert.match(many.stdout, /2 clips of 64 samples .*naive.* → tone-1\.wav … tone-2\.wav/);
  assert.equal(ev.code, 0, ev.stderr);
  assert.match(ev.stdout, /against sines, 3 held-out clips of 64 samples/);
  const nats = Number(/held-out NLL \(nats\/sample\)\s+([\d.]+)/.exec(ev.stdout)?.[1]);
  const bits = Number(/held-out bits\/sample\s+([\d.]+)/.exec(ev.stdout)?.[1]);
  // barely trained: close to the uniform 256-way softmax, ln 256 = 5.545 nats = 8 bits
  assert.ok(Number.isFinite(nats) && nats > 4 && nats < 6.5, ev.stdout);
  assert.ok(Math.abs(bits - nats / Math.LN2) < 2e-3, ev.stdout);
  const record = JSON.parse(readFileSync(join(dir, 'sines', 'eval.json'), 'utf8'));
  assert.ok(Math.abs(record.nll - nats) < 1e-3 && record.n === 3 && record.step === 3, JSON.stringify(record));
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--out must end in \.wav for an audio model, got 'x\.png'/);
});

test('sines and WAV sources in-process: seeded clips, mixing down, resampling, held-out split', async () => {
  const a = await loadData({ name: 'sines', clip: 50, size: 4, heldOut: 2, seed: 9, components: 3 });
  const b = await loadData({ name: 'sines', clip: 50, size: 4, heldOut: 2, seed: 9, components: 3 });
  assert.deepEqual(a.spec, { kind: 'audio', shape: [50] });
  assert.equal(a.sampleRate, 8000);
  assert.deepEqual(a.train.fields.x!.data, b.train.fields.x!.data);
  assert.notDeepEqual(a.train.fields.x!.data.subarray(0, 50), a.heldOut.fields.x!.data.subarray(0, 50));
  assert.ok((a.train.fields.x!.data as Float32Array).every((v) => Math.abs(v) < 0.9));
  // cutClips drops the tails
  const c = cutClips([new Float32Array(7), Float32Array.from({ length: 5 }, (_, i) => i)], 3);
  assert.deepEqual([c.count, ...c.perSignal], [3, 2, 1]);
  assert.deepEqual(Array.from(c.data.subarray(6)), [0, 1, 2]);
  // stereo is mixed down to the mean of the channels; a second rate is resampled with data.sampleRate
  const mix = join(dir, 'mixed');
  mkdirSync(mix);
  writeFileSync(join(mix, 'a-stereo.wav'), pcmWav(Array.from({ length: 40 }, (_, i) => [500 * i, -100 * i]), 8000));
  writeFileSync(join(mix, 'b-16k.wav'), encodeWav(new Float32Array(80).fill(0.25), 16000));
  await assert.rejects(loadData({ name: mix, clip: 10 }), /different sample rates \(\S*mixed\/a-stereo\.wav 8000 Hz, \S*mixed\/b-16k\.wav 16000 Hz\).*--set data\.sampleRate=<Hz>/);
  const d = await loadData({ name: mix, clip: 10, sampleRate: 8000, heldOut: 0 });
  assert.equal(d.train.length, 8); // 4 clips from each file
  const x = d.train.fields.x!.data as Float32Array;
  for (let i = 0; i < 40; i++) assert.ok(Math.abs(x[i]! - (200 * i) / 32768) < 1e-6, `frame ${i}`);
  assert.ok(Math.abs(x[60]! - 0.25) < 0.02, String(x[60])); // the middle of the resampled constant
  // one file: 10% of its clips held out (none of 6: evaluate on the training clips; 1 of 12)
  const six = await loadData({ name: join(dir, 'wavs', 'tone-0.wav'), clip: 100 });
  assert.equal(six.train.length, 6);
  assert.equal(six.heldOut, six.train);
  const twelve = await loadData({ name: join(dir, 'wavs', 'tone-0.wav'), clip: 50 });
  assert.deepEqual([twelve.train.length, twelve.heldOut.length], [11, 1]);
  assert.deepEqual(twelve.heldOut.fields.x!.data, tones.subarray(550, 600).map((v) => Math.round(v * 32768) / 32768));
});

test('unusable audio is refused with a message naming the file and what was expected', async () => {
  mkdirSync(join(dir, 'empty'));
  mkdirSync(join(dir, 'floats'));
  writeFileSync(join(dir, 'floats', 'f.wav'), pcmWav([[0.5], [-0.5]], 8000, { format: 3, bits: 32 }));
  writeFileSync(join(dir, 'fake.wav'), 'RIFF? no, just text');
  writeFileSync(join(dir, 'notes.txt'), 'hello');
  // through the command line: the exit codes and the message as users see it
  const run = (data: string, ...more: string[]) => genlab(['train', 'wavenet', '--data', data, '--steps', '1', '--out', `x-${data}`, ...more], dir);
  const [floats, long, clip] = await Promise.all([run('floats'), run('wavs', '--clip', '5000'), run('sines', '--clip', '1')]);
  assert.equal(floats.code, 1);
  assert.match(floats.stderr, /^genlab train: error: floats\/f\.wav: unsupported format tag 3 \(.*IEEE floats\); expected a 16-bit PCM WAV file/);
  assert.equal(long.code, 2);
  assert.match(long.stderr, /the clip length 5000 \(--clip\) is longer than the audio: the longest file, wavs\/tone-0\.wav, has 600 samples \(0\.07 s at 8000 Hz\); pass --clip 600 or less/);
  assert.equal(clip.code, 2);
  assert.match(clip.stderr, /--clip must be an integer ≥ 2, got '1'/);
  // the rest in-process
  const at = (p: string) => join(dir, p);
  await assert.rejects(loadData({ name: at('notes.txt') }), /cannot use '.*notes\.txt' as data: expected a \.csv file of points, a \.wav file of audio/);
  await assert.rejects(loadData({ name: at('empty') }), /empty: no \.png images or \.wav files in the folder/);
  await assert.rejects(loadData({ name: at('fake.wav') }), /fake\.wav: not a WAV file .*; expected a 16-bit PCM WAV file/);
  await assert.rejects(loadData({ name: 'sines', sampleRate: 8000.5 }), /data\.sampleRate must be a positive integer \(Hz\), got 8000\.5/);
});
