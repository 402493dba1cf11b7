/**
 * Lowercases code point by code point, as the Rust library does (`char::to_lowercase` per char).
 * `String.prototype.toLowerCase` applies the context-sensitive Greek final-sigma rule
 * ("ΟΔΟΣ" -> "οδος" with a final "ς"), which the Python library does not ("οδοσ").
 */
export function lowercaseByCodePoint(text: string): string {
  let out = '';
  for (const char of text) out += char.toLowerCase();
  return out;
}
