import { labelColumnWidth, PlotArea, valueAxisBottom } from '../svg/axis';
import { emptyNote, headingHeight, svgDocument } from '../svg/document';
import { MISSING, tickFormatter } from '../svg/format';
import { el, text, truncateMiddle } from '../svg/markup';
import { linearScale, niceDomain } from '../svg/scale';
import { textWidth, THEME } from '../svg/theme';

export interface HBarRow {
  readonly label: string;
  readonly value: number | undefined;
  /** Extra text after the value, such as a layer's rank. */
  readonly note?: string;
  readonly color?: string;
  /** Drawn bold: the row the rest of the report is about (the merge method the lifecycle kept). */
  readonly emphasis?: boolean;
}

export interface HBarChartSpec {
  readonly title: string;
  readonly subtitle?: string;
  readonly rows: readonly HBarRow[];
  readonly xLabel: string;
  readonly xKind?: 'number' | 'percent';
  readonly xBounds?: readonly [number, number];
  readonly valueLabel: (value: number) => string;
  /** A dashed vertical line, such as "fine-tuned = 100%". */
  readonly reference?: { readonly value: number; readonly label: string };
  readonly emptyMessage: string;
  readonly width?: number;
  /** Rows grow (up to a limit) to reach this height, so the figure matches one beside it. */
  readonly minHeight?: number;
}

const MAX_LABEL_CHARS = 30;

/** Thinner rows when there are many (a deep model's layers), so the figure stays readable. */
function rowHeight(rows: number, room: number | undefined): number {
  const base = rows > 24 ? 16 : rows > 12 ? 20 : 26;
  return room === undefined ? base : Math.min(60, Math.max(base, room / Math.max(1, rows)));
}

/** White outline under text that may sit on grid or reference lines. */
const HALO = { 'paint-order': 'stroke', stroke: THEME.background, 'stroke-width': 3, 'stroke-linejoin': 'round' } as const;

/** Labelled horizontal bars, one per row, for long names (layers, methods, pipeline steps). */
export function hbarChart(spec: HBarChartSpec): string {
  const width = spec.width ?? THEME.width;
  const top = headingHeight(spec) + (spec.reference === undefined ? 8 : 22);
  const chrome = top + 6 + 48;
  const rh = rowHeight(spec.rows.length, spec.minHeight === undefined ? undefined : spec.minHeight - chrome);
  const shortLabels = spec.rows.map((r) => truncateMiddle(r.label, MAX_LABEL_CHARS));
  const labelWidth = Math.min(220, Math.max(50, labelColumnWidth(shortLabels, MAX_LABEL_CHARS)));
    const isDrawn = (v: number | undefined): v is number => typeof v === 'number' && Number.isFinite(v);
  const labels = spec.rows.map((r) => `${isDrawn(r.value) ? spec.valueLabel(r.value) : MISSING}${r.note === undefined ? '' : ` \u00b7 ${r.note}`}`);
  const values = spec.rows.map((r) => r.value).filter(isDrawn);
  const annotation = Math.min(150, Math.max(40, ...labels.map((l) => textWidth(l, THEME.tickSize) + 12)));
  const area: PlotArea = { left: 16 + labelWidth + 10, top, right: width - annotation - 8, bottom: top + Math.max(1, spec.rows.length) * rh + 6 };
  const height = Math.max(area.bottom + 48, spec.minHeight ?? 0);
  if (values.length === 0) {
    const h = Math.max(height, top + 120);
    return svgDocument({ ...spec, width, height: h, body: emptyNote(16, top, width - 32, h - top - 16, spec.emptyMessage) });
  }
  const refValues = spec.reference === undefined ? [] : [spec.reference.value];
  const domain = niceDomain([...values, ...refValues], { includeZero: true, bounds: spec.xBounds, tickCount: 5 });
  const sx = linearScale(domain, area.left, area.right);
  const zero = sx(Math.min(Math.max(0, domain.min), domain.max));
  const parts: string[] = [valueAxisBottom(area, domain, sx, tickFormatter(domain.step, spec.xKind ?? 'number'), spec.xLabel)];
  if (spec.reference !== undefined && Number.isFinite(spec.reference.value)) {
    const x = sx(spec.reference.value);
    parts.push(el('line', { x1: x, y1: area.top - 8, x2: x, y2: area.bottom, stroke: THEME.muted, 'stroke-width': 1.2, 'stroke-dasharray': '4 3' }));
    parts.push(el('text', { x, y: area.top - 12, 'text-anchor': 'middle', 'font-size': THEME.tickSize, fill: THEME.muted }, text(spec.reference.label)));
  }
  spec.rows.forEach((row, i) => {
    const mid = area.top + 3 + i * rh + rh / 2;
    const barHeight = Math.min(22, rh * 0.66);
    const weight = row.emphasis ? 700 : 400;
    const label = el(
      'text',
      { x: area.left - 10, y: mid + 4, 'text-anchor': 'end', 'font-size': THEME.labelSize, 'font-weight': weight, fill: THEME.ink },
      text(shortLabels[i]),
    );
    const v = row.value;
    const drawn = isDrawn(v);
    const end = drawn ? sx(v) : zero;
    const bar = drawn
      ? el('rect', { x: Math.min(end, zero), y: mid - barHeight / 2, width: Math.max(Math.abs(end - zero), 0.5), height: barHeight, rx: 2, fill: row.color ?? THEME.accent })
      : '';
    const value = el(
      'text',
      { x: Math.max(end, zero) + 6, y: mid + 4, 'font-size': THEME.tickSize, 'font-weight': weight, fill: drawn ? THEME.ink : THEME.muted, ...HALO },
      text(labels[i]),
    );
    parts.push(el('g', {}, el('title', {}, text(`${row.label}: ${labels[i]}`)), label, bar, value));
  });
  return svgDocument({ ...spec, width, height, body: parts.join('') });
}
