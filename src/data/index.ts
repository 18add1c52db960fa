/** Data: in-memory datasets, batching, 2-D toys and parsers for image files (browser-safe). */
export * from './loader.ts';
export * from './toy2d.ts';
export { parseIdx, isGzip, gunzip, type IdxFile } from './idx.ts';
export { parseDigitsCsv, type DigitsData } from './digits.ts';
export { binarize, type BinarizeMode, type BinarizeOptions } from './binarize.ts';
export { encodeWav, decodeWav, resample, type WavAudio, type DecodeWavOptions } from './wav.ts';
export { sineClips, cutClips, type SineClipsOptions } from './audio.ts';
