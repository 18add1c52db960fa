/**
 * A 3×5 pixel font (digits, capital letters, a little punctuation) for axis labels and titles.
 * Lower-case letters are drawn as capitals; characters it lacks are drawn as a blank.
 */

/** Each glyph: 5 rows of 3 pixels, '#' = ink. */
const GLYPHS: Record<string, string> = {
  '0': '### #.# #.# #.# ###', '1': '.#. ##. .#. .#. ###', '2': '### ..# ### #.. ###', '3': '### ..# .## ..# ###',
  '4': '#.# #.# ### ..# ..#', '5': '### #.. ### ..# ###', '6': '### #.. ### #.# ###', '7': '### ..# .#. .#. .#.',
  '8': '### #.# ### #.# ###', '9': '### #.# ### ..# ###',
  A: '.#. #.# ### #.# #.#', B: '##. #.# ##. #.# ##.', C: '.## #.. #.. #.. .##', D: '##. #.# #.# #.# ##.',
  E: '### #.. ##. #.. ###', F: '### #.. ##. #.. #..', G: '.## #.. #.# #.# .##', H: '#.# #.# ### #.# #.#',
  I: '### .#. .#. .#. ###', J: '..# ..# ..# #.# .#.', K: '#.# #.# ##. #.# #.#', L: '#.. #.. #.. #.. ###',
  M: '#.# ### ### #.# #.#', N: '##. #.# #.# #.# #.#', O: '.#. #.# #.# #.# .#.', P: '##. #.# ##. #.. #..',
  Q: '.#. #.# #.# ##. .##', R: '##. #.# ##. #.# #.#', S: '.## #.. .#. ..# ##.', T: '### .#. .#. .#. .#.',
  U: '#.# #.# #.# #.# ###', V: '#.# #.# #.# #.# .#.', W: '#.# #.# ### ### #.#', X: '#.# #.# .#. #.# #.#',
  Y: '#.# #.# .#. .#. .#.', Z: '### ..# .#. #.. ###',
  '.': '... ... ... ... .#.', ',': '... ... ... .#. #..', '-': '... ... ### ... ...', '+': '... .#. ### .#. ...',
  ':': '... .#. ... .#. ...', '=': '... ### ... ### ...', '/': '..# ..# .#. #.. #..', '(': '.#. #.. #.. #.. .#.',
  ')': '.#. ..# ..# ..# .#.', '%': '#.# ..# .#. #.. #.#', '_': '... ... ... ... ###', '[': '##. #.. #.. #.. ##.',
  ']': '.## ..# ..# ..# .##', '<': '..# .#. #.. .#. ..#', '>': '#.. .#. ..# .#. #..', '*': '... #.# .#. #.# ...',
  "'": '.#. .#. ... ... ...', '!': '.#. .#. .#. ... .#.', '?': '##. ..# .#. ... .#.', '#': '#.# ### #.# ### #.#',
};

export const GLYPH_WIDTH = 3;
export const GLYPH_HEIGHT = 5;

/** The ink of character `ch`: 5 rows of 3 booleans (all false for a blank or an unknown character). */
export function glyph(ch: string): boolean[][] {
  const g = GLYPHS[ch.toUpperCase()] ?? (ch === '×' ? GLYPHS.X : undefined);
  if (!g) return Array.from({ length: GLYPH_HEIGHT }, () => [false, false, false]);
  return g.split(' ').map((row) => [...row].map((c) => c === '#'));
}

/** Width in pixels of `text` drawn at `scale` (one blank column between characters). */
export function textWidth(text: string, scale = 1): number {
  return text.length === 0 ? 0 : (text.length * (GLYPH_WIDTH + 1) - 1) * scale;
}
