import { decodeBytes } from './charset';
import { decodeBase64, decodeQuotedPrintable } from './transfer';

export type Headers = Map<string, string>;

/** Splits a message (LF line ends) into its header block and body at the first empty line. */
export function splitMessage(message: string): { head: string; body: string } {
  const blank = message.search(/\n[ \t]*\n/);
  if (blank < 0) return { head: message, body: '' };
  const afterBlank = message.indexOf('\n', blank + 1) + 1;
  return { head: message.slice(0, blank), body: message.slice(afterBlank) };
}

/** Unfolds continuation lines and keeps the first value of each header, by lower-case name. */
export function parseHeaders(head: string): Headers {
  const headers: Headers = new Map();
  const unfolded = head.replace(/\n[ \t]+/g, ' ');
  for (const line of unfolded.split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!headers.has(name)) headers.set(name, line.slice(colon + 1).trim());
  }
  return headers;
}

/** The value and `key=value` parameters of a structured header such as Content-Type. */
export function parseStructured(value: string | undefined): { value: string; params: Map<string, string> } {
  const params = new Map<string, string>();
  if (!value) return { value: '', params };
  const [main, ...rest] = value.split(';');
  for (const part of rest) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim().toLowerCase();
    const raw = part.slice(eq + 1).trim();
    params.set(key, raw.startsWith('"') ? raw.slice(1, raw.indexOf('"', 1) > 0 ? raw.indexOf('"', 1) : undefined) : raw);
  }
  return { value: main.trim().toLowerCase(), params };
}

const ENCODED_WORD = /=\?([^?\s]+)\?([QqBb])\?([^?\s]*)\?=/g;

/** Decodes RFC 2047 encoded words (`=?charset?Q?...?=`) in a header value. */
export function decodeEncodedWords(value: string): string {
  return value
    .replace(/(\?=)\s+(=\?)/g, '$1$2')
    .replace(ENCODED_WORD, (_match, charset: string, kind: string, text: string) => {
      const bytes = kind.toUpperCase() === 'B' ? decodeBase64(text) : decodeQuotedPrintable(text.replace(/_/g, ' '));
      return decodeBytes(bytes, charset);
    });
}
