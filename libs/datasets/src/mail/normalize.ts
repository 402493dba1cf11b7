import { decodeEncodedWords, parseHeaders, parseStructured, splitMessage, type Headers } from './headers';
import { htmlToText, looksLikeHtml } from './html';
import { decodeBody } from './transfer';

export interface NormalizedMail {
  subject: string;
  body: string;
  /** `subject`, a blank line, then `body`: the text a classifier or language model sees. */
  text: string;
}

const MAX_DEPTH = 8;

interface TextParts {
  plain: string[];
  html: string[];
}

function partText(headers: Headers, body: string, depth: number, out: TextParts): void {
  const type = parseStructured(headers.get('content-type'));
  let mediaType = type.value || 'text/plain';
  const boundary = type.params.get('boundary');
  // Malformed multipart mail (a boundary that never occurs) is read as one plain-text body.
  if (mediaType.startsWith('multipart/') && (!boundary || !body.includes(`--${boundary}`))) mediaType = 'text/plain';
  if (mediaType.startsWith('multipart/')) {
    if (depth >= MAX_DEPTH) return;
    const delimiter = `--${boundary}`;
    const sections = body.split('\n').reduce<string[][]>(
      (acc, line) => {
        const trimmed = line.trimEnd();
        if (trimmed === delimiter || trimmed === `${delimiter}--`) acc.push([]);
        else acc[acc.length - 1].push(line);
        return acc;
      },
      [[]],
    );
    // sections[0] is the preamble; the epilogue after the closing delimiter is skipped too.
    const closed = body.includes(`${delimiter}--`);
    const parts = sections.slice(1, closed ? -1 : undefined);
    for (const lines of parts) {
      const { head, body: partBody } = splitMessage(lines.join('\n'));
      partText(parseHeaders(head), partBody, depth + 1, out);
    }
    return;
  }
  if (mediaType === 'message/rfc822') {
    const inner = splitMessage(body);
    partText(parseHeaders(inner.head), inner.body, depth + 1, out);
    return;
  }
  if (!mediaType.startsWith('text/')) return;
  const text = decodeBody(body, headers.get('content-transfer-encoding'), type.params.get('charset'));
  if (mediaType === 'text/html' || (mediaType === 'text/plain' && looksLikeHtml(text))) out.html.push(htmlToText(text));
  else out.plain.push(text);
}

function tidy(text: string): string {
  return text
    .replace(/\r/g, '')
    .replace(/[ \t\u00a0]+/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/**
 * Reduces a raw RFC 822 message to what a reader sees: the decoded Subject and the text of the
 * body. Every other header (routing, mailing-list and spam-filter headers, which would let a
 * classifier cheat) is dropped. Multipart mail contributes its text/plain parts, or its text/html
 * parts rendered to text when there is no plain part; attachments are dropped; quoted-printable and
 * base64 are decoded with the declared charset.
 */
export function normalizeMail(raw: string): NormalizedMail {
  const { head, body } = splitMessage(raw.replace(/\r\n?/g, '\n'));
  const headers = parseHeaders(head);
  const parts: TextParts = { plain: [], html: [] };
  partText(headers, body, 0, parts);
  const subject = tidy(decodeEncodedWords(headers.get('subject') ?? ''));
  const bodyText = tidy((parts.plain.length > 0 ? parts.plain : parts.html).join('\n\n'));
  return { subject, body: bodyText, text: [subject, bodyText].filter((t) => t !== '').join('\n\n') };
}
