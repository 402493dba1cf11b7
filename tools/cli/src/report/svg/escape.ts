/** Code points XML 1.0 allows at all, even as character references. */
function isXmlChar(cp: number): boolean {
  return cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

const ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * Escapes text for XML and HTML alike, in element content and in quoted attribute values.
 * Characters XML forbids outright (C0 controls, lone surrogates, U+FFFE/U+FFFF) become U+FFFD:
 * one such byte in an artifact name would otherwise make a whole SVG unparseable, and the
 * browser would show a broken image instead of the chart.
 */
export function escapeXml(value: unknown): string {
  const input = typeof value === 'string' ? value : String(value);
  let out = '';
  for (const ch of input) {
    const cp = ch.codePointAt(0) as number;
    if (!isXmlChar(cp)) out += '\uFFFD';
    else out += ENTITIES[ch] ?? ch;
  }
  return out;
}
