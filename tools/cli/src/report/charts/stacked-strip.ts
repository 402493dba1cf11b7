import { legend } from '../svg/legend';
import { el, text } from '../svg/markup';
import { textWidth, THEME } from '../svg/theme';

export interface StripSegment {
  readonly label: string;
  readonly value: number;
  readonly color: string;
}

/**
 * One bar split into parts of a whole (sample outcomes, routing shares), each part labelled
 * inside when it is wide enough, with a legend underneath. Returns the markup and its height.
 */
export function stackedStrip(
  segments: readonly StripSegment[],
  box: { readonly x: number; readonly y: number; readonly width: number; readonly height: number },
  format: (fraction: number) => string,
): { markup: string; height: number } {
  const positive = segments.filter((s) => Number.isFinite(s.value) && s.value > 0);
  const total = positive.reduce((n, s) => n + s.value, 0);
  const parts: string[] = [el('rect', { x: box.x, y: box.y, width: box.width, height: box.height, rx: 3, fill: '#f5f7fa', stroke: THEME.grid })];
  let x = box.x;
  if (total > 0) {
    for (const s of positive) {
      const w = (s.value / total) * box.width;
      const share = format(s.value / total);
      const inside = textWidth(share, THEME.tickSize) + 8 <= w;
      parts.push(
        el(
          'g',
          {},
          el('title', {}, text(`${s.label}: ${share}`)),
          el('rect', { x, y: box.y, width: Math.max(w, 0.5), height: box.height, fill: s.color }),
          inside
            ? el('text', { x: x + w / 2, y: box.y + box.height / 2 + 4, 'text-anchor': 'middle', 'font-size': THEME.tickSize, 'font-weight': 600, fill: '#ffffff' }, text(share))
            : '',
        ),
      );
      x += w;
    }
  }
  const key = legend(
    segments.map((s) => ({ label: `${s.label} ${format(total > 0 && Number.isFinite(s.value) ? Math.max(0, s.value) / total : NaN)}`, color: s.color, mark: 'box' as const })),
    box.x,
    box.y + box.height + 20,
    box.width,
  );
  return { markup: parts.join('') + key.markup, height: box.height + 20 + key.height };
}
