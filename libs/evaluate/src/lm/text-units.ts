// Python's str.isspace() set, which `re` uses for \s on str patterns; JavaScript's \s differs
// (it includes U+FEFF and lacks U+001C..U+001F), and word counts must match lm-eval's.
const PY_SPACE = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_SPACE_RUN = new RegExp(`[${PY_SPACE}]+`, 'u');
const PY_TRAILING_SPACE = new RegExp(`[${PY_SPACE}]+$`, 'u');

/** lm-eval's word count: `len(re.split(r"\s+", text))` (leading or trailing space adds an empty piece). */
export function countWords(text: string): number {
  return text.split(PY_SPACE_RUN).length;
}

/** UTF-8 length, lm-eval's `len(text.encode("utf-8"))`. */
export function countBytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** Python's `str.rstrip()`. */
export function pythonRstrip(text: string): string {
  return text.replace(PY_TRAILING_SPACE, '');
}
