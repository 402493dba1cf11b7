import { isWhiteSpace } from './whitespace';
import { lowercaseByCodePoint } from './lowercase';

export interface BertNormalizerConfig {
  clean_text?: boolean;
  handle_chinese_chars?: boolean;
  strip_accents?: boolean | null;
  lowercase?: boolean;
}

// Control (Cc), format (Cf), unassigned (Cn), private use (Co); lone surrogates (Cs) exist only in
// JavaScript strings, and the Python library cannot receive them at all, so they are dropped too.
const OTHER = /^[\p{Cc}\p{Cf}\p{Cn}\p{Co}\p{Cs}]$/u;
const NONSPACING_MARK = /\p{Mn}/gu;

function isControl(char: string): boolean {
  if (char === '\t' || char === '\n' || char === '\r') return false;
  return OTHER.test(char);
}

/** The CJK blocks the Rust library pads with spaces (including the astral extensions). */
function isChineseChar(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b920 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

/**
 * BERT's normalizer with the semantics of the Rust library, replacing the JavaScript library's,
 * which walks UTF-16 code units (so astral CJK ideographs are never padded), lowercases with the
 * final-sigma rule, misses unassigned code points as controls, and lowercases before stripping
 * accents (the Rust order is: clean, CJK, strip accents, lowercase).
 */
export function bertNormalize(text: string, config: BertNormalizerConfig): string {
  const cleanText = config.clean_text ?? true;
  const handleChinese = config.handle_chinese_chars ?? true;
  const lowercase = config.lowercase ?? true;
  const stripAccents = config.strip_accents ?? lowercase;
  let out = text;
  if (cleanText || handleChinese) {
    let next = '';
    for (const char of out) {
      const cp = char.codePointAt(0) as number;
      if (cleanText) {
        if (cp === 0 || cp === 0xfffd || isControl(char)) continue;
        if (isWhiteSpace(char) || char === '\t' || char === '\n' || char === '\r') {
          next += ' ';
          continue;
        }
      }
      next += handleChinese && isChineseChar(cp) ? ` ${char} ` : char;
    }
    out = next;
  }
  if (stripAccents) out = out.normalize('NFD').replace(NONSPACING_MARK, '');
  if (lowercase) out = lowercaseByCodePoint(out);
  return out;
}
