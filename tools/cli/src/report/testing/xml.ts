/**
 * A strict little XML reader for tests: enough of XML 1.0 to prove a figure or the page is
 * well-formed (balanced tags, quoted attributes, valid entity and character references, no
 * forbidden characters) and to query what was drawn. No regular expressions: each rule is a
 * character-level check, so a malformed document cannot slip past a lenient pattern.
 */
export interface XmlElement {
  readonly name: string;
  readonly attrs: Readonly<Record<string, string>>;
  readonly children: readonly (XmlElement | string)[];
}

const NAMED: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function isNameChar(ch: string): boolean {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch === '-' || ch === '_' || ch === ':' || ch === '.';
}

function isSpace(ch: string): boolean {
  return ch === ' ' || ch === '\n' || ch === '\t' || ch === '\r';
}

function isXmlChar(cp: number): boolean {
  return cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

class Reader {
  pos = 0;
  constructor(readonly src: string) {}

  fail(message: string): never {
    throw new Error(`XML error at ${this.pos}: ${message} near ${JSON.stringify(this.src.slice(Math.max(0, this.pos - 30), this.pos + 30))}`);
  }

  startsWith(s: string): boolean {
    return this.src.startsWith(s, this.pos);
  }

  expect(s: string): void {
    if (!this.startsWith(s)) this.fail(`expected ${JSON.stringify(s)}`);
    this.pos += s.length;
  }

  skipSpace(): void {
    while (this.pos < this.src.length && isSpace(this.src[this.pos])) this.pos++;
  }

  skipPast(end: string): void {
    const at = this.src.indexOf(end, this.pos);
    if (at < 0) this.fail(`unterminated, expected ${JSON.stringify(end)}`);
    this.pos = at + end.length;
  }

  name(): string {
    const start = this.pos;
    while (this.pos < this.src.length && isNameChar(this.src[this.pos])) this.pos++;
    if (this.pos === start) this.fail('expected a name');
    return this.src.slice(start, this.pos);
  }

  /** Character data up to `stop`, with references decoded; `<` is never allowed in it. */
  chars(stop: string): string {
    let out = '';
    while (this.pos < this.src.length && this.src[this.pos] !== stop) {
      const cp = this.src.codePointAt(this.pos) as number;
      const ch = String.fromCodePoint(cp);
      if (!isXmlChar(cp)) this.fail(`forbidden character U+${cp.toString(16)}`);
      if (ch === '<') this.fail('raw < in character data');
      if (ch === '&') {
        out += this.reference();
        continue;
      }
      out += ch;
      this.pos += ch.length;
    }
    return out;
  }

  reference(): string {
    this.expect('&');
    const end = this.src.indexOf(';', this.pos);
    if (end < 0 || end - this.pos > 10) this.fail('unterminated reference');
    const body = this.src.slice(this.pos, end);
    this.pos = end + 1;
    if (body.startsWith('#')) {
      const hex = body.startsWith('#x');
      const digits = body.slice(hex ? 2 : 1);
      const ok = digits.length > 0 && [...digits].every((d) => (d >= '0' && d <= '9') || (hex && ((d >= 'a' && d <= 'f') || (d >= 'A' && d <= 'F'))));
      const cp = ok ? parseInt(digits, hex ? 16 : 10) : NaN;
      if (!ok || !isXmlChar(cp)) this.fail(`bad character reference &${body};`);
      return String.fromCodePoint(cp);
    }
    const named = NAMED[body];
    if (named === undefined) this.fail(`unknown entity &${body};`);
    return named;
  }

  element(): XmlElement {
    this.expect('<');
    const name = this.name();
    const attrs: Record<string, string> = {};
    for (;;) {
      const hadSpace = this.pos < this.src.length && isSpace(this.src[this.pos]);
      this.skipSpace();
      if (this.startsWith('/>')) {
        this.pos += 2;
        return { name, attrs, children: [] };
      }
      if (this.startsWith('>')) {
        this.pos += 1;
        break;
      }
      if (!hadSpace) this.fail('attributes must be separated by space');
      const attr = this.name();
      if (attr in attrs) this.fail(`duplicate attribute ${attr}`);
      this.skipSpace();
      this.expect('=');
      this.skipSpace();
      const quote = this.src[this.pos];
      if (quote !== '"' && quote !== "'") this.fail('unquoted attribute value');
      this.pos++;
      attrs[attr] = this.chars(quote);
      this.expect(quote);
    }
    const children: (XmlElement | string)[] = [];
    for (;;) {
      if (this.pos >= this.src.length) this.fail(`unclosed <${name}>`);
      if (this.startsWith('</')) {
        this.pos += 2;
        const closing = this.name();
        if (closing !== name) this.fail(`</${closing}> closes <${name}>`);
        this.skipSpace();
        this.expect('>');
        return { name, attrs, children };
      }
      if (this.startsWith('<!--')) {
        this.skipPast('-->');
      } else if (this.startsWith('<')) {
        children.push(this.element());
      } else {
        const t = this.chars('<');
        if (t.length > 0) children.push(t);
      }
    }
  }
}

/** Parses one document: an optional XML declaration and doctype, comments, then one root element. */
export function parseXml(source: string): XmlElement {
  const r = new Reader(source);
  r.skipSpace();
  if (r.startsWith('<?xml')) r.skipPast('?>');
  for (;;) {
    r.skipSpace();
    if (r.startsWith('<!--')) r.skipPast('-->');
    else if (r.startsWith('<!DOCTYPE')) r.skipPast('>');
    else break;
  }
  const root = r.element();
  r.skipSpace();
  if (r.pos !== source.length) r.fail('content after the root element');
  return root;
}

/** Every element named `name` under `root` (itself included), in document order. */
export function findAll(root: XmlElement, name: string): XmlElement[] {
  const out: XmlElement[] = [];
  const walk = (e: XmlElement) => {
    if (e.name === name) out.push(e);
    for (const c of e.children) if (typeof c !== 'string') walk(c);
  };
  walk(root);
  return out;
}

/** The concatenated text inside `node`. */
export function textContent(node: XmlElement | string): string {
  return typeof node === 'string' ? node : node.children.map(textContent).join('');
}
