import { categoryAxisBottom, PlotArea, valueAxisLeft } from '../svg/axis';
import { emptyNote, headingHeight, svgDocument } from '../svg/document';
import { MISSING, tickFormatter } from '../svg/format';
import { legend } from '../svg/legend';
import { el, text } from '../svg/markup';
import { linearScale, niceDomain } from '../svg/scale';
import { seriesColor, textWidth, THEME } from '../svg/theme';

export interface BarSeries {
  readonly name: string;
  /** One value per category; a missing or non-finite value leaves its slot empty, marked `–`. */
  readonly values: readonly (number | undefined)[];
  readonly color?: string;
}

export interface BarChartSpec {
  readonly title: string;
  readonly subtitle?: string;
  readonly categories: readonly string[];
  readonly series: readonly BarSeries[];
  readonly yLabel: string;
  readonly yKind?: 'number' | 'percent';
  readonly yBounds?: readonly [number, number];
  /** Formats the value printed above each bar, where bars are wide enough for it. */
  readonly valueLabel: (value: number) => string;
  readonly emptyMessage: string;
  readonly width?: number;
  readonly height?: number;
}

/** Grouped vertical bars: one group per category, one bar per series, bars grow from zero. */
export function barChart(spec: BarChartSpec): string {
  const width = spec.width ?? THEME.width;
  const height = spec.height ?? THEME.height;
  const top = headingHeight(spec);
  const key = legend(
    spec.series.map((s, i) => ({ label: s.name, color: s.color ?? seriesColor(i), mark: 'box' as const })),
    16,
    top + 4,
    width - 32,
  );
  const area: PlotArea = { left: 64, top: top + key.height + 18, right: width - 20, bottom: height - 36 };
  const values = spec.series.flatMap((s) => s.values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v)));
  if (spec.categories.length === 0 || spec.series.length === 0 || values.length === 0) {
    return svgDocument({ ...spec, width, height, body: key.markup + emptyNote(area.left, area.top, area.right - area.left, area.bottom - area.top, spec.emptyMessage) });
  }
  const domain = niceDomain(values, { includeZero: true, bounds: spec.yBounds });
  const sy = linearScale(domain, area.bottom, area.top);
  const band = (area.right - area.left) / spec.categories.length;
  const groupWidth = band * 0.78;
  const barWidth = Math.min(56, groupWidth / spec.series.length);
  const groupStart = (i: number) => area.left + band * i + (band - barWidth * spec.series.length) / 2;
  const zero = sy(Math.min(Math.max(0, domain.min), domain.max));
  const marks: string[] = [];
  spec.series.forEach((s, si) => {
    const color = s.color ?? seriesColor(si);
    spec.categories.forEach((category, ci) => {
      const x = groupStart(ci) + si * barWidth;
      const v = s.values[ci];
      const cx = x + barWidth / 2;
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        marks.push(el('text', { x: cx, y: zero - 4, 'text-anchor': 'middle', 'font-size': THEME.tickSize, fill: THEME.muted }, text(MISSING)));
        return;
      }
      const y = sy(v);
      const label = spec.valueLabel(v);
      marks.push(
        el(
          'g',
          {},
          el('title', {}, text(`${s.name} \u00b7 ${category}: ${label}`)),
          el('rect', { x: x + 1, y: Math.min(y, zero), width: Math.max(1, barWidth - 2), height: Math.max(Math.abs(zero - y), 0.5), rx: 2, fill: color }),
        ),
      );
      if (textWidth(label, THEME.tickSize - 1) <= barWidth + 2) {
        const above = v >= 0;
        marks.push(
          el('text', { x: cx, y: above ? Math.min(y, zero) - 4 : Math.max(y, zero) + 12, 'text-anchor': 'middle', 'font-size': THEME.tickSize - 1, fill: THEME.ink }, text(label)),
        );
      }
    });
  });
  const body = [
    key.markup,
    valueAxisLeft(area, domain, sy, tickFormatter(domain.step, spec.yKind ?? 'number'), spec.yLabel),
    ...marks,
    categoryAxisBottom(area, spec.categories, (i) => area.left + band * i + band / 2, band),
  ].join('');
  return svgDocument({ ...spec, width, height, body });
}
