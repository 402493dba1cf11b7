import { findAll, parseXml, textContent, type XmlElement } from '../testing/xml';
import { barChart } from './bar-chart';
import { hbarChart } from './hbar-chart';
import { lineChart, segments } from './line-chart';

/** Parses a figure and checks what every chart must satisfy: well-formed, sized, no NaN drawn. */
function parseFigure(svg: string): XmlElement {
  expect(svg).not.toMatch(/NaN|Infinity|undefined/);
  const root = parseXml(svg);
  expect(root.name).toBe('svg');
  expect(root.attrs.xmlns).toBe('http://www.w3.org/2000/svg');
  expect(Number(root.attrs.width)).toBeGreaterThan(0);
  expect(Number(root.attrs.height)).toBeGreaterThan(0);
  return root;
}

const line = (series: { name: string; points: { x: number; y: number }[] }[]) =>
  lineChart({ title: 'loss', xLabel: 'step', yLabel: 'loss', series, emptyMessage: 'nothing to draw' });

describe('lineChart', () => {
  it('draws one path per series with a legend entry each', () => {
    const root = parseFigure(
      line([
        { name: 'a', points: [1, 2, 3].map((x) => ({ x, y: 1 / x })) },
        { name: 'b', points: [1, 2, 3].map((x) => ({ x, y: 2 / x })) },
      ]),
    );
    expect(findAll(root, 'path')).toHaveLength(2);
    expect(textContent(root)).toContain('a');
  });

  it('says why when there is no series, or no finite point', () => {
    for (const series of [[], [{ name: 'a', points: [] }], [{ name: 'a', points: [{ x: 1, y: NaN }] }]]) {
      const root = parseFigure(line(series));
      expect(findAll(root, 'path')).toHaveLength(0);
      expect(textContent(root)).toContain('nothing to draw');
    }
  });

  it('draws a single point as a marker, and all-equal values without dividing by zero', () => {
    const one = parseFigure(line([{ name: 'a', points: [{ x: 7, y: 0.5 }] }]));
    expect(findAll(one, 'circle')).toHaveLength(1);
    const flat = parseFigure(line([{ name: 'a', points: [1, 2, 3, 4].map((x) => ({ x, y: 0.25 })) }]));
    expect(findAll(flat, 'path')).toHaveLength(1);
  });

  it('breaks the line at missing values instead of drawing them as zero', () => {
    const points = [
      { x: 1, y: 1 },
      { x: 2, y: 0.8 },
      { x: 3, y: NaN },
      { x: 4, y: 0.5 },
      { x: 5, y: 0.4 },
    ];
    expect(segments(points).map((s) => s.map((p) => p.x))).toEqual([
      [1, 2],
      [4, 5],
    ]);
    expect(findAll(parseFigure(line([{ name: 'a', points }])), 'path')).toHaveLength(2);
  });

  it('sorts points by step', () => {
    expect(segments([{ x: 3, y: 1 }, { x: 1, y: 1 }, { x: 2, y: 1 }]).flat().map((p) => p.x)).toEqual([1, 2, 3]);
  });
});

describe('barChart', () => {
  const spec = { title: 'acc', yLabel: 'accuracy', yKind: 'percent' as const, yBounds: [0, 1] as const, valueLabel: (v: number) => `${Math.round(v * 100)}%`, emptyMessage: 'no bars' };

  it('draws one bar per finite value and a dash for missing ones', () => {
    const root = parseFigure(
      barChart({
        ...spec,
        categories: ['spam', 'party'],
        series: [
          { name: 'ties', values: [0.9, 0.8] },
          { name: 'pcb', values: [0.93, NaN] },
        ],
      }),
    );
    // The background and the legend swatches are rects too: count the bars by their tooltips.
    const bars = findAll(root, 'g').filter((g) => findAll(g, 'title').some((t) => textContent(t).includes(' \u00b7 ')));
    expect(bars).toHaveLength(3);
    expect(findAll(root, 'text').some((t) => textContent(t) === '\u2013')).toBe(true);
  });

  it('handles all-zero and all-equal bars and an empty chart', () => {
    parseFigure(barChart({ ...spec, categories: ['a', 'b'], series: [{ name: 's', values: [0, 0] }] }));
    parseFigure(barChart({ ...spec, categories: ['a', 'b'], series: [{ name: 's', values: [1, 1] }] }));
    parseFigure(barChart({ ...spec, yBounds: undefined, categories: ['a'], series: [{ name: 's', values: [-2] }] }));
    const empty = parseFigure(barChart({ ...spec, categories: [], series: [] }));
    expect(textContent(empty)).toContain('no bars');
  });
});

describe('hbarChart', () => {
  const spec = { title: 'err', xLabel: 'error', valueLabel: (v: number) => v.toFixed(2), emptyMessage: 'no rows' };

  it('shortens long labels from the middle and keeps the full name as a tooltip', () => {
    const label = 'bert.encoder.layer.11.attention.output.dense.extra.long.name';
    const root = parseFigure(hbarChart({ ...spec, rows: [{ label, value: 0.1 }] }));
    const shown = findAll(root, 'text').map(textContent);
    expect(shown.some((t) => t.includes('\u2026') && t.endsWith('long.name'))).toBe(true);
    expect(findAll(root, 'title').some((t) => textContent(t).startsWith(label))).toBe(true);
  });

  it('handles one row, equal rows, missing values and no rows', () => {
    parseFigure(hbarChart({ ...spec, rows: [{ label: 'a', value: 0 }] }));
    parseFigure(hbarChart({ ...spec, rows: [1, 2, 3].map((i) => ({ label: `l${i}`, value: 0.5 })), reference: { value: 1, label: 'ref' } }));
    const missing = parseFigure(hbarChart({ ...spec, rows: [{ label: 'a', value: undefined }, { label: 'b', value: 0.2 }] }));
    expect(findAll(missing, 'text').some((t) => textContent(t).startsWith('\u2013'))).toBe(true);
    expect(textContent(parseFigure(hbarChart({ ...spec, rows: [] })))).toContain('no rows');
  });

  it('grows with the number of rows and never below the requested height', () => {
    const height = (n: number, minHeight?: number) =>
      Number(parseFigure(hbarChart({ ...spec, minHeight, rows: Array.from({ length: n }, (_, i) => ({ label: `r${i}`, value: i })) })).attrs.height);
    expect(height(40)).toBeGreaterThan(height(4));
    expect(height(2, 340)).toBeGreaterThanOrEqual(340);
  });
});
