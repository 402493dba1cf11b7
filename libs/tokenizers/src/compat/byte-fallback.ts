const BYTE_TOKEN = /^<0x([0-9A-Fa-f]{2})>$/;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The ByteFallback decoder with the Rust semantics: a run of `<0xNN>` tokens that is valid UTF-8
 * becomes its text; an invalid run becomes one U+FFFD per byte. (A lenient TextDecoder would keep the
 * valid prefix and emit one U+FFFD per maximal invalid subpart instead.)
 */
export function byteFallbackDecodeChain(tokens: string[]): string[] {
  const out: string[] = [];
  let bytes: number[] = [];
  const flush = (): void => {
    if (bytes.length === 0) return;
    try {
      out.push(strictUtf8.decode(Uint8Array.from(bytes)));
    } catch {
      out.push('\uFFFD'.repeat(bytes.length));
    }
    bytes = [];
  };
  for (const token of tokens) {
    const match = BYTE_TOKEN.exec(token);
    if (match) {
      bytes.push(parseInt(match[1], 16));
    } else {
      flush();
      out.push(token);
    }
  }
  flush();
  return out;
}
