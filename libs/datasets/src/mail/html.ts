const NAMED: Record<string, string> = {
  amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', copy: '©', reg: '®', trade: '™',
  hellip: '…', mdash: '—', ndash: '–', lsquo: '‘', rsquo: '’', ldquo: '“', rdquo: '”', bull: '•',
  middot: '·', euro: '€', pound: '£', cent: '¢', yen: '¥', sect: '§', deg: '°', laquo: '«', raquo: '»',
};

export function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);?/gi, (match, entity: string) => {
    if (entity[0] === '#') {
      const cp = entity[1] === 'x' || entity[1] === 'X' ? parseInt(entity.slice(2), 16) : parseInt(entity.slice(1), 10);
      return Number.isFinite(cp) && cp > 0 && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff) ? String.fromCodePoint(cp) : match;
    }
    return NAMED[entity.toLowerCase()] ?? match;
  });
}

/**
 * Visible text of an HTML fragment: script, style and comments dropped, block-level tags turned
 * into line breaks, other tags removed, entities decoded. Not a browser: enough for mail bodies.
 */
export function htmlToText(html: string): string {
  return decodeEntities(
    html
      .replace(/<!--[\s\S]*?-->/g, ' ')
      .replace(/<(script|style|head|title)\b[\s\S]*?<\/\1\s*>/gi, ' ')
      .replace(/<br\s*\/?>/gi, '\n')
      .replace(/<\/?(p|div|tr|li|h[1-6]|table|blockquote|ul|ol)\b[^>]*>/gi, '\n')
      // Inline formatting can split a word ("<b>W</b>in"): remove it without a gap.
      .replace(/<\/?(a|b|i|u|em|strong|span|font|small|big|sup|sub|o:p)\b[^>]*>/gi, '')
      .replace(/<[^>]*>/g, ' ')
      .replace(/[ \t]+/g, ' '),
  );
}

export function looksLikeHtml(text: string): boolean {
  return /<(html|body|table|font|div|p|br)\b/i.test(text.slice(0, 4096));
}
