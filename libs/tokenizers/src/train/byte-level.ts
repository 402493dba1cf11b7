/**
 * GPT-2's reversible byte-to-character table: printable Latin-1 bytes stand for themselves and the
 * other 68 bytes are shifted to U+0100 upwards, so that every byte string becomes a string of
 * visible characters (space becomes "Ġ", newline "Ċ").
 */
function buildByteToChar(): string[] {
  const printable = (b: number): boolean => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const table = new Array<string>(256);
  let shifted = 0;
  for (let b = 0; b < 256; b++) {
    table[b] = String.fromCharCode(printable(b) ? b : 256 + shifted++);
  }
  return table;
}

export const BYTE_TO_CHAR: readonly string[] = buildByteToChar();

const encoder = new TextEncoder();

/** The byte-level spelling of a piece of text (its UTF-8 bytes mapped through BYTE_TO_CHAR). */
export function toByteLevel(text: string): string {
  let out = '';
  for (const byte of encoder.encode(text)) out += BYTE_TO_CHAR[byte];
  return out;
}

/** The 256 byte characters in code-point order, the order in which the Python trainer lists them. */
export function byteLevelAlphabet(): string[] {
  return [...BYTE_TO_CHAR].sort((x, y) => x.charCodeAt(0) - y.charCodeAt(0));
}
