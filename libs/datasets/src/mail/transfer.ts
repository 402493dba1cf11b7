import { decodeBytes } from './charset';

const utf8 = new TextEncoder();

/** Quoted-printable (RFC 2045): `=XX` escapes and `=` soft line breaks. */
export function decodeQuotedPrintable(text: string): Uint8Array {
  const joined = text.replace(/=[ \t]*\n/g, '');
  const bytes: number[] = [];
  for (let i = 0; i < joined.length; i++) {
    const c = joined.charCodeAt(i);
    if (c === 0x3d && /^[0-9A-Fa-f]{2}$/.test(joined.slice(i + 1, i + 3))) {
      bytes.push(parseInt(joined.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c < 0x80) {
      bytes.push(c);
    } else {
      // Already-decoded non-ASCII text (8-bit mail mislabelled as QP): keep its UTF-8 bytes.
      bytes.push(...utf8.encode(joined[i]));
    }
  }
  return Uint8Array.from(bytes);
}

/** Base64 (RFC 2045), ignoring line breaks and any characters outside the alphabet. */
export function decodeBase64(text: string): Uint8Array {
  const clean = text.replace(/[^A-Za-z0-9+/]/g, '');
  return new Uint8Array(Buffer.from(clean, 'base64'));
}

/**
 * A body's text under its Content-Transfer-Encoding and charset. Bodies without a transfer encoding
 * (7bit/8bit) are already text: the corpus package decoded the files, so they are returned as is.
 */
export function decodeBody(body: string, transferEncoding: string | undefined, charset: string | undefined): string {
  switch ((transferEncoding ?? '').trim().toLowerCase()) {
    case 'quoted-printable':
      return decodeBytes(decodeQuotedPrintable(body), charset);
    case 'base64':
      return decodeBytes(decodeBase64(body), charset);
    default:
      return body;
  }
}
