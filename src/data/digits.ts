// The UCI "optical recognition of handwritten digits" set as scikit-learn ships it
// (sklearn/datasets/data/digits.csv.gz): 1,797 rows, each 64 pixel values 0..16 (an 8×8 image,
// row-major) followed by the class label 0..9, comma-separated, no header.
//
// Pure and browser-safe; locate.ts finds and reads the file in Node.

export const DIGITS_HEIGHT = 8;
export const DIGITS_WIDTH = 8;
export const DIGITS_PIXELS = DIGITS_HEIGHT * DIGITS_WIDTH;
/** The largest pixel value in the set; images are divided by it. */
export const DIGITS_MAX_VALUE = 16;

export interface DigitsData {
  /** n × 64, row-major 8×8 images, pixel values scaled to [0, 1] (value / 16). */
  images: Float32Array;
  /** n class labels, 0..9. */
  labels: Int32Array;
  n: number;
}

/**
 * Parses the digits CSV. Blank lines (e.g. a final newline) are skipped, `\r\n` is accepted.
 * Throws an Error naming the (1-based) line for a row with the wrong number of columns, a value
 * that is not a number, a pixel outside 0..16, or a label that is not an integer 0..9.
 */
export function parseDigitsCsv(text: string): DigitsData {
  const lines = text.split('\n');
  const cols = DIGITS_PIXELS + 1;
  const pixels: number[] = [];
  const labels: number[] = [];
  for (let li = 0; li < lines.length; li++) {
    const line = lines[li]!.trim();
    if (line === '') continue;
    const lineNo = li + 1;
    const fields = line.split(',');
    if (fields.length !== cols) {
      throw new Error(
        `digits CSV line ${lineNo}: expected ${cols} comma-separated values (${DIGITS_PIXELS} pixels + label), found ${fields.length}`,
      );
    }
    for (let j = 0; j < cols; j++) {
      const s = fields[j]!.trim();
      const v = s === '' ? NaN : Number(s);
      if (!Number.isFinite(v)) {
        throw new Error(`digits CSV line ${lineNo}, column ${j + 1}: expected a number, found ${JSON.stringify(fields[j])}`);
      }
      if (j < DIGITS_PIXELS) {
        if (v < 0 || v > DIGITS_MAX_VALUE) {
          throw new Error(`digits CSV line ${lineNo}, column ${j + 1}: pixel ${v} is outside 0..${DIGITS_MAX_VALUE}`);
        }
        pixels.push(v / DIGITS_MAX_VALUE);
      } else {
        if (!Number.isInteger(v) || v < 0 || v > 9) {
          throw new Error(`digits CSV line ${lineNo}, column ${j + 1}: label ${v} is not an integer 0..9`);
        }
        labels.push(v);
      }
    }
  }
  return { images: Float32Array.from(pixels), labels: Int32Array.from(labels), n: labels.length };
}
