import { PlotArea, valueAxisBottom, valueAxisLeft } from '../svg/axis';
import { emptyNote, headingHeight, svgDocument } from '../svg/document';
import { tickFormatter } from '../svg/format';
import { legend } from '../svg/legend';
import { el, text } from '../svg/markup';
import { linearScale, niceDomain } from '../svg/scale';
import { seriesColor, THEME } from '../svg/theme';

export interface LinePoint {
  readonly x: number;
  readonly y: number;
}

export interface LineSeries {
  readonly name: string;
  readonly points: readonly LinePoint[];
}

export interface LineChartSpec {
  readonly title: string;
  readonly subtitle?: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly LineSeries[];
  readonly yKind?: 'number' | 'percent';
  /** Hard limits of the y axis, such as [0, 1] for an accuracy. */
  readonly yBounds?: readonly [number, number];
  /** Shown in place of the plot when no series has a finite point. */
  readonly emptyMessage: string;
  readonly width?: number;
  readonly height?: number;
}

/** Series with this many points or fewer get a marker on every point. */
const MARK_ALL_BELOW = 30;

function isDrawable(p: LinePoint): boolean {
  return Number.isFinite(p.x) && Number.isFinite(p.y);
}

/**
 * Consecutive drawable points, split where a point is missing: a NaN loss is a gap in the
 * line, not a drop to zero.
 */
export function segments(points: readonly LinePoint[]): LinePoint[][] {
  const sorted = points.filter((p) => Number.isFinite(p.x)).sort((a, b) => a.x - b.x);
  const out: LinePoint[][] = [];
  let current: LinePoint[] = [];
  for (const p of sorted) {
    if (isDrawable(p)) {
      current.push(p);
    } else if (current.length > 0) {
      out.push(current);
      current = [];
    }
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** Lines over a shared x axis (training step), one colour per series, gaps where data is missing. */
export function lineChart(spec: LineChartSpec): string {
  const width = spec.width ?? THEME.width;
  const height = spec.height ?? THEME.height;
  const top = headingHeight(spec);
  const key = legend(
    spec.series.map((s, i) => ({ label: s.name, color: seriesColor(i), mark: 'line' as const })),
    16,
    top + 4,
    width - 32,
  );
  const area: PlotArea = { left: 64, top: top + key.height + 12, right: width - 20, bottom: height - 48 };
  const drawable = spec.series.map((s) => segments(s.points));
  const all = drawable.flat(2);
  if (all.length === 0) {
    return svgDocument({ ...spec, width, height, body: key.markup + emptyNote(area.left, area.top, area.right - area.left, area.bottom - area.top, spec.emptyMessage) });
  }
  const xDomain = niceDomain(
    all.map((p) => p.x),
    { tickCount: 6 },
  );
  const yDomain = niceDomain(
    all.map((p) => p.y),
    { bounds: spec.yBounds, tickCount: 5 },
  );
  const sx = linearScale(xDomain, area.left, area.right);
  const sy = linearScale(yDomain, area.bottom, area.top);
  const marks: string[] = [];
  drawable.forEach((segs, i) => {
    const color = seriesColor(i);
    const count = segs.reduce((n, s) => n + s.length, 0);
    const group: string[] = [el('title', {}, text(spec.series[i].name))];
    for (const seg of segs) {
      if (seg.length > 1) {
        const d = seg.map((p, j) => `${j === 0 ? 'M' : 'L'}${sx(p.x).toFixed(2)},${sy(p.y).toFixed(2)}`).join('');
        group.push(el('path', { d, fill: 'none', stroke: color, 'stroke-width': 2, 'stroke-linejoin': 'round', 'stroke-linecap': 'round' }));
      }
      // A lone point has no line to show it, so it always gets a marker.
      if (seg.length === 1 || count <= MARK_ALL_BELOW) {
        for (const p of seg) group.push(el('circle', { cx: sx(p.x), cy: sy(p.y), r: 3.5, fill: color, stroke: THEME.background, 'stroke-width': 1.5 }));
      }
    }
    marks.push(el('g', {}, ...group));
  });
  const body = [
    key.markup,
    valueAxisLeft(area, yDomain, sy, tickFormatter(yDomain.step, spec.yKind ?? 'number'), spec.yLabel),
    valueAxisBottom(area, xDomain, sx, tickFormatter(xDomain.step, 'number'), spec.xLabel, false),
    ...marks,
  ].join('');
  return svgDocument({ ...spec, width, height, body });
}
