import { el, text, truncate, truncateMiddle } from './markup';
import type { Domain } from './scale';
import { textWidth, THEME } from './theme';

/** The rectangle marks are drawn in. */
export interface PlotArea {
  readonly left: number;
  readonly top: number;
  readonly right: number;
  readonly bottom: number;
}

type Scale = (value: number) => number;

/** Horizontal grid lines with value labels on the left, and the axis title (if any) turned upright. */
export function valueAxisLeft(area: PlotArea, domain: Domain, scale: Scale, format: (v: number) => string, title: string): string {
  const parts: string[] = [];
  for (const t of domain.ticks) {
    const y = scale(t);
    parts.push(el('line', { x1: area.left, y1: y, x2: area.right, y2: y, stroke: THEME.grid, 'stroke-width': 1 }));
    parts.push(el('text', { x: area.left - 8, y: y + 4, 'text-anchor': 'end', 'font-size': THEME.tickSize, fill: THEME.muted }, text(format(t))));
  }
  const mid = (area.top + area.bottom) / 2;
  if (title !== '') {
    parts.push(
      el('text', { x: 14, y: mid, transform: `rotate(-90 14 ${mid})`, 'text-anchor': 'middle', 'font-size': THEME.labelSize, fill: THEME.muted }, text(title)),
    );
  }
  return parts.join('');
}

/** Vertical grid lines with value labels underneath (horizontal bar charts, line chart x axes). */
export function valueAxisBottom(area: PlotArea, domain: Domain, scale: Scale, format: (v: number) => string, title: string, grid = true): string {
  const parts: string[] = [];
  for (const t of domain.ticks) {
    const x = scale(t);
    if (grid) parts.push(el('line', { x1: x, y1: area.top, x2: x, y2: area.bottom, stroke: THEME.grid, 'stroke-width': 1 }));
    parts.push(el('line', { x1: x, y1: area.bottom, x2: x, y2: area.bottom + 4, stroke: THEME.axis, 'stroke-width': 1 }));
    parts.push(el('text', { x, y: area.bottom + 17, 'text-anchor': 'middle', 'font-size': THEME.tickSize, fill: THEME.muted }, text(format(t))));
  }
  parts.push(el('line', { x1: area.left, y1: area.bottom, x2: area.right, y2: area.bottom, stroke: THEME.axis, 'stroke-width': 1 }));
  parts.push(
    el('text', { x: (area.left + area.right) / 2, y: area.bottom + 36, 'text-anchor': 'middle', 'font-size': THEME.labelSize, fill: THEME.muted }, text(title)),
  );
  return parts.join('');
}

/** Category names centred under their bands, shortened in the middle to fit (task names differ at the end), the full name as a tooltip. */
export function categoryAxisBottom(area: PlotArea, categories: readonly string[], center: (index: number) => number, bandWidth: number): string {
  const maxChars = Math.max(3, Math.floor((bandWidth - 10) / (THEME.labelSize * THEME.charWidth)));
  const parts = [el('line', { x1: area.left, y1: area.bottom, x2: area.right, y2: area.bottom, stroke: THEME.axis, 'stroke-width': 1 })];
  categories.forEach((name, i) => {
    parts.push(
      el(
        'text',
        { x: center(i), y: area.bottom + 18, 'text-anchor': 'middle', 'font-size': THEME.labelSize, fill: THEME.ink },
        el('title', {}, text(name)),
        text(truncateMiddle(name, maxChars)),
      ),
    );
  });
  return parts.join('');
}

/** The widest label among `labels`, capped, to size a left label column. */
export function labelColumnWidth(labels: readonly string[], maxChars: number, size: number = THEME.labelSize): number {
  let widest = 0;
  for (const l of labels) widest = Math.max(widest, textWidth(truncate(l, maxChars), size));
  return Math.ceil(widest);
}
