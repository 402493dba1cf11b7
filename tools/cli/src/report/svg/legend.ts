import { el, text, truncate } from './markup';
import { textWidth, THEME } from './theme';

export interface LegendItem {
  readonly label: string;
  readonly color: string;
  /** A stroke for line series, a filled square for bars and areas. */
  readonly mark: 'line' | 'box';
}

const MAX_LABEL = 32;
const ROW = 18;

/** A legend laid out left to right, wrapping within `maxWidth`; returns its markup and height. */
export function legend(items: readonly LegendItem[], x: number, y: number, maxWidth: number): { markup: string; height: number } {
  if (items.length === 0) return { markup: '', height: 0 };
  const parts: string[] = [];
  let cx = x;
  let cy = y;
  for (const item of items) {
    const label = truncate(item.label, MAX_LABEL);
    const width = 22 + textWidth(label, THEME.labelSize) + 16;
    if (cx > x && cx + width > x + maxWidth) {
      cx = x;
      cy += ROW;
    }
    const mark =
      item.mark === 'line'
        ? el('line', { x1: cx, y1: cy - 4, x2: cx + 16, y2: cy - 4, stroke: item.color, 'stroke-width': 2.5, 'stroke-linecap': 'round' })
        : el('rect', { x: cx + 3, y: cy - 9, width: 10, height: 10, rx: 2, fill: item.color });
    parts.push(
      el('g', {}, el('title', {}, text(item.label)), mark, el('text', { x: cx + 22, y: cy, 'font-size': THEME.labelSize, fill: THEME.ink }, text(label))),
    );
    cx += width;
  }
  return { markup: parts.join(''), height: cy - y + ROW };
}
