import fc from 'fast-check';
import { parseXml, textContent } from '../testing/xml';
import { escapeXml } from './escape';

describe('escapeXml', () => {
  it('escapes the five markup characters', () => {
    expect(escapeXml(`<a href="x">Tom & 'Jerry'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;');
  });

  it('replaces characters XML forbids with U+FFFD and keeps astral characters', () => {
    expect(escapeXml('a\u0000b\u001bc\uD800d\uFFFEe\u{1F600}\t\n')).toBe('a\uFFFDb\uFFFDc\uFFFDd\uFFFDe\u{1F600}\t\n');
  });

  it('stringifies non-strings', () => {
    expect(escapeXml(42)).toBe('42');
    expect(escapeXml(undefined)).toBe('undefined');
  });

  it('always yields text and attribute values that parse back to the input (forbidden characters aside)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const escaped = escapeXml(s);
        const doc = parseXml(`<t a="${escaped}">${escaped}</t>`);
        const expected = [...s].map((ch) => (escapeXml(ch) === '\uFFFD' ? '\uFFFD' : ch)).join('');
        return doc.attrs.a === expected && textContent(doc) === expected;
      }),
      { numRuns: 300 },
    );
  });
});
