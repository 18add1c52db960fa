/**
 * Speech for the WaveNet experiments, synthesised with Debian's `espeak-ng` (a formant
 * synthesiser: the audio is real speech-like signal, deterministic for a given version).
 *
 *   npx tsx scripts/speech-data.ts [--out runs/speech] [--rate 8000]
 *
 * Writes 16-bit mono WAVs at `rate` Hz (resampled from espeak-ng's 22050 Hz with a windowed-sinc
 * filter, leading/trailing silence trimmed) into a git-ignored folder:
 *   <out>/train/        TRAIN sentences in the voices en-us and en-gb
 *   <out>/test-sentences/  the held-out TEST sentences in the training voices
 *   <out>/test-voice/   the held-out TEST sentences in a voice never trained on (en-gb-scotland)
 * and <out>/manifest.json listing every clip. Needs espeak-ng: `apt-get install -y espeak-ng`.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { decodeWav, encodeWav, resample } from '../src/data/wav.ts';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}

/** Harvard sentences (IEEE 1969 "Recommended practice for speech quality measurements"), lists 1–3. */
export const TRAIN = [
  'The birch canoe slid on the smooth planks.', 'Glue the sheet to the dark blue background.',
  'It is easy to tell the depth of a well.', 'These days a chicken leg is a rare dish.',
  'Rice is often served in round bowls.', 'The juice of lemons makes fine punch.',
  'The box was thrown beside the parked truck.', 'The hogs were fed chopped corn and garbage.',
  'Four hours of steady work faced us.', 'A large size in stockings is hard to sell.',
  'The boy was there when the sun rose.', 'A rod is used to catch pink salmon.',
  'The source of the huge river is the clear spring.', 'Kick the ball straight and follow through.',
  'Help the woman get back to her feet.', 'A pot of tea helps to pass the evening.',
  'Smoky fires lack flame and heat.', 'The soft cushion broke the man\'s fall.',
  'The salt breeze came across from the sea.', 'The girl at the booth sold fifty bonds.',
  'The small pup gnawed a hole in the sock.', 'The fish twisted and turned on the bent hook.',
  'Press the pants and sew a button on the vest.', 'The swan dive was far short of perfect.',
];
export const TEST = [
  'The beauty of the view stunned the young boy.', 'Her purse was full of useless trash.',
  'The colt reared and threw the tall rider.', 'It snowed, rained, and hailed the same morning.',
];
const TRAIN_VOICES = ['en-us', 'en-gb'];
const TEST_VOICE = 'en-gb-scotland';

const out = arg('out', 'runs/speech');
const rate = Number(arg('rate', '8000'));

const probe = spawnSync('espeak-ng', ['--version'], { encoding: 'utf8' });
if (probe.error || probe.status !== 0) {
  console.error('speech-data: espeak-ng was not found. Install it with `apt-get install -y espeak-ng` (Debian/Ubuntu; `brew install espeak-ng` on macOS) and run again.');
  process.exit(1);
}
console.log(`using ${probe.stdout.trim()}`);

/** Drop leading/trailing samples quieter than `thresh` (keeping 20 ms on either side). */
function trim(x: Float32Array, thresh = 2e-3): Float32Array {
  let a = 0, b = x.length;
  while (a < b && Math.abs(x[a]!) < thresh) a++;
  while (b > a && Math.abs(x[b - 1]!) < thresh) b--;
  const pad = Math.round(0.02 * rate);
  return x.slice(Math.max(0, a - pad), Math.min(x.length, b + pad));
}

const manifest: Record<string, { file: string; voice: string; text: string; samples: number }[]> = {};
const tmp = join(out, 'raw.wav');
mkdirSync(out, { recursive: true });
function synth(split: string, voice: string, texts: readonly string[]): void {
  mkdirSync(join(out, split), { recursive: true });
  manifest[split] ??= [];
  texts.forEach((text, i) => {
    const r = spawnSync('espeak-ng', ['-v', voice, '-s', '150', '-w', tmp, text], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`espeak-ng failed for voice ${voice}: ${r.stderr}`);
    const raw = decodeWav(readFileSync(tmp));
    const x = trim(resample(raw.samples, raw.sampleRate, rate));
    const file = join(split, `${voice}-${String(i).padStart(2, '0')}.wav`);
    writeFileSync(join(out, file), encodeWav(x, rate));
    manifest[split]!.push({ file, voice, text, samples: x.length });
  });
}
for (const v of TRAIN_VOICES) synth('train', v, TRAIN);
for (const v of TRAIN_VOICES) synth('test-sentences', v, TEST);
synth('test-voice', TEST_VOICE, TEST);
rmSync(tmp);
writeFileSync(join(out, 'manifest.json'), JSON.stringify({ sampleRate: rate, espeak: probe.stdout.trim(), splits: manifest }, null, 1));
for (const [split, clips] of Object.entries(manifest)) {
  const n = clips.reduce((s, c) => s + c.samples, 0);
  console.log(`${split}: ${clips.length} clips, ${n} samples (${(n / rate).toFixed(1)} s at ${rate} Hz)`);
}
