import { el, text } from './markup';
import { THEME } from './theme';

export interface SvgDocumentSpec {
  readonly width: number;
  readonly height: number;
  readonly title: string;
  readonly subtitle?: string;
  /** Markup drawn below the heading; coordinates are the document's own. */
  readonly body: string;
}

/** Vertical space the title (and subtitle) take at the top of every figure. */
export function headingHeight(spec: { readonly subtitle?: string }): number {
  return spec.subtitle === undefined ? 34 : 52;
}

/**
 * A standalone SVG file: explicit width/height so an <img> gets a natural size, a <title> for
 * screen readers, and the font set once at the root so every label inherits it.
 */
export function svgDocument(spec: SvgDocumentSpec): string {
  const heading = [
    el('text', { x: 16, y: 24, 'font-size': THEME.titleSize, 'font-weight': 600, fill: THEME.ink }, text(spec.title)),
    spec.subtitle === undefined ? '' : el('text', { x: 16, y: 42, 'font-size': THEME.labelSize, fill: THEME.muted }, text(spec.subtitle)),
  ].join('');
  const root = el(
    'svg',
    {
      xmlns: 'http://www.w3.org/2000/svg',
      width: spec.width,
      height: spec.height,
      viewBox: `0 0 ${spec.width} ${spec.height}`,
      role: 'img',
      'font-family': THEME.font,
    },
    el('title', {}, text(spec.subtitle === undefined ? spec.title : `${spec.title}: ${spec.subtitle}`)),
    el('rect', { x: 0, y: 0, width: spec.width, height: spec.height, fill: THEME.background }),
    heading,
    spec.body,
  );
  return `<?xml version="1.0" encoding="UTF-8"?>\n${root}\n`;
}

/** A centred grey note where a chart has nothing to draw, so an empty figure says why. */
export function emptyNote(x: number, y: number, width: number, height: number, message: string): string {
  return [
    el('rect', { x, y, width, height, fill: '#f5f7fa', stroke: THEME.grid, rx: 6 }),
    el('text', { x: x + width / 2, y: y + height / 2 + 4, 'text-anchor': 'middle', 'font-size': THEME.labelSize, fill: THEME.muted }, text(message)),
  ].join('');
}
