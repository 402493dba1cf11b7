import { TextDecoder } from 'node:util';

// Charset labels seen in old mail that the WHATWG decoders know under another name.
const ALIASES: Record<string, string> = {
  chinesebig5: 'big5',
  'x-gbk': 'gbk',
  'ks_c_5601-1987': 'euc-kr',
  'x-sjis': 'shift_jis',
  'x-mac-roman': 'macintosh',
};

const decoders = new Map<string, TextDecoder>();

/**
 * Decodes bytes in the named charset. Unknown or missing labels fall back to windows-1252 (which
 * maps every byte), so a mislabelled mail degrades to mojibake rather than failing the corpus.
 */
export function decodeBytes(bytes: Uint8Array, charset: string | undefined): string {
  const label = (charset ?? '').trim().toLowerCase();
  const name = ALIASES[label] ?? (label === '' || label === 'us-ascii' ? 'utf-8' : label);
  let decoder = decoders.get(name);
  if (!decoder) {
    try {
      decoder = new TextDecoder(name);
    } catch {
      decoder = decoders.get('windows-1252') ?? new TextDecoder('windows-1252');
    }
    decoders.set(name, decoder);
  }
  return decoder.decode(bytes);
}
