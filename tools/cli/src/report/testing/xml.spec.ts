import { findAll, parseXml, textContent } from './xml';

describe('parseXml (the well-formedness check the report tests rely on)', () => {
  it('reads elements, attributes, references and text', () => {
    const root = parseXml('<?xml version="1.0"?>\n<svg a="1 &amp; 2"><g><text x=\'3\'>a &lt;b&gt; &#233;&#x41;</text></g><rect/></svg>\n');
    expect(root.name).toBe('svg');
    expect(root.attrs.a).toBe('1 & 2');
    expect(textContent(findAll(root, 'text')[0])).toBe('a <b> éA');
    expect(findAll(root, 'rect')).toHaveLength(1);
  });

  it('accepts an HTML doctype before the root', () => {
    expect(parseXml('<!DOCTYPE html>\n<html><body><img src="x"/></body></html>').name).toBe('html');
  });

  it.each([
    ['an unclosed element', '<svg><g></svg>'],
    ['a stray end tag', '<svg></g></svg>'],
    ['a raw < in text', '<t>a < b</t>'],
    ['a raw & in text', '<t>a & b</t>'],
    ['an unknown entity', '<t>&nbsp;</t>'],
    ['a < inside an attribute', '<t a="<"/>'],
    ['an unquoted attribute', '<t a=1/>'],
    ['a duplicate attribute', '<t a="1" a="2"/>'],
    ['a forbidden control character', '<t>\u0001</t>'],
    ['a reference to a forbidden character', '<t>&#0;</t>'],
    ['two roots', '<a/><b/>'],
  ])('rejects %s', (_, doc) => {
    expect(() => parseXml(doc)).toThrow(/XML error/);
  });
});
