import { decodeEntities, htmlToText } from './html';
import { decodeEncodedWords, parseStructured } from './headers';
import { normalizeMail } from './normalize';
import { decodeBase64, decodeQuotedPrintable } from './transfer';

const mail = (headers: string[], body: string): string => `${headers.join('\n')}\n\n${body}`;

describe('normalizeMail', () => {
  it('keeps only the subject among the headers, with folded lines unfolded', () => {
    const raw = mail(
      ['Received: from x by y', '\tfor <z@example.com>', 'X-Spam-Status: No, hits=-3', 'Subject: Hello', '  world', 'From: a@example.com'],
      'Body line one.\nBody line two.',
    );
    expect(normalizeMail(raw)).toEqual({ subject: 'Hello world', body: 'Body line one.\nBody line two.', text: 'Hello world\n\nBody line one.\nBody line two.' });
  });

  it('decodes RFC 2047 subjects and quoted-printable bodies in their charset', () => {
    const raw = mail(
      ['Subject: =?iso-8859-1?Q?Caf=E9_cr=E8me?= =?utf-8?B?4pyT?=', 'Content-Type: text/plain; charset="iso-8859-1"', 'Content-Transfer-Encoding: quoted-printable'],
      'Le caf=E9 est=\n chaud.=3D',
    );
    expect(normalizeMail(raw)).toMatchObject({ subject: 'Café crème✓', body: 'Le café est chaud.=' });
  });

  it('prefers the text/plain alternative and drops attachments', () => {
    const raw = mail(
      ['Subject: parts', 'Content-Type: multipart/mixed; boundary="outer"'],
      [
        'preamble',
        '--outer',
        'Content-Type: multipart/alternative; boundary=inner',
        '',
        '--inner',
        'Content-Type: text/plain; charset=utf-8',
        'Content-Transfer-Encoding: base64',
        '',
        Buffer.from('plain words ✓').toString('base64'),
        '--inner',
        'Content-Type: text/html',
        '',
        '<p>html words</p>',
        '--inner--',
        '--outer',
        'Content-Type: application/octet-stream',
        'Content-Transfer-Encoding: base64',
        '',
        'AAECAwQ=',
        '--outer--',
        'epilogue',
      ].join('\n'),
    );
    expect(normalizeMail(raw).body).toBe('plain words ✓');
  });

  it('renders HTML-only mail to text, and reads mail with a boundary that never occurs as one body', () => {
    const html = mail(['Content-Type: text/html'], '<html><head><title>t</title><style>p{}</style></head><body><p>Buy&nbsp;now!</p><br>Only &#36;5 &amp; free</body></html>');
    expect(normalizeMail(html).body).toBe('Buy now!\n\nOnly $5 & free');
    const broken = mail(['Subject: s', 'Content-Type: multipart/alternative; boundary="=Missing"'], 'Just some text.');
    expect(normalizeMail(broken).body).toBe('Just some text.');
  });

  it('handles CRLF line ends, mail without a body and without a subject', () => {
    expect(normalizeMail('Subject: only\r\nFrom: x\r\n')).toEqual({ subject: 'only', body: '', text: 'only' });
    expect(normalizeMail('From: x\r\n\r\nhi\r\n').text).toBe('hi');
  });
});

describe('mail primitives', () => {
  it('decode transfer encodings', () => {
    expect(Array.from(decodeQuotedPrintable('a=3Db=\nc=e9'))).toEqual([...Buffer.from('a=bc'), 0xe9]);
    expect(Buffer.from(decodeBase64('aGVs\nbG8=')).toString()).toBe('hello');
  });

  it('parse structured headers and encoded words', () => {
    const ct = parseStructured('Text/HTML; charset="UTF-8"; format=flowed');
    expect(ct.value).toBe('text/html');
    expect(ct.params.get('charset')).toBe('UTF-8');
    expect(ct.params.get('format')).toBe('flowed');
    expect(decodeEncodedWords('=?unknown-charset?Q?x=41?= plain')).toBe('xA plain');
  });

  it('decode HTML entities and strip markup', () => {
    expect(decodeEntities('&lt;&#x41;&#66;&unknown;&amp;')).toBe('<AB&unknown;&');
    expect(htmlToText('<div>a<script>evil()</script><!-- c --></div><b>W</b>in<img src=x>z').replace(/\s+/g, ' ').trim()).toBe('a Win z');
  });
});
