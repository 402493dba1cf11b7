/** One look for every figure, so the charts read as a set and match the page's CSS. */
export const THEME = {
  font: "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif",
  ink: '#1f2933',
  muted: '#616e7c',
  grid: '#e4e7eb',
  axis: '#9aa5b1',
  background: '#ffffff',
  good: '#2f9e6f',
  bad: '#d64545',
  neutral: '#9aa5b1',
  accent: '#3b6fd4',
  titleSize: 16,
  labelSize: 13,
  tickSize: 12,
  /** Figures are drawn at about the width the report shows them, so text keeps its size. */
  width: 560,
  height: 340,
  /** Average glyph width over font size for the sans-serif stack: enough to lay out labels. */
  charWidth: 0.58,
} as const;

/**
 * Categorical colours, distinguishable in print and for the common colour-vision deficiencies
 * (no red/green pair sits next to another); series past the end reuse them in order.
 */
export const SERIES_COLORS: readonly string[] = ['#3b6fd4', '#e8871e', '#2f9e6f', '#8e5cc7', '#d64545', '#17a2b8', '#b07d2b', '#c2549b', '#6b7a8f', '#5aa34b'];

export function seriesColor(index: number): string {
  return SERIES_COLORS[((index % SERIES_COLORS.length) + SERIES_COLORS.length) % SERIES_COLORS.length];
}

/** The rendered width of `label` in pixels, estimated without a font engine. */
export function textWidth(label: string, size: number): number {
  return [...label].length * size * THEME.charWidth;
}
