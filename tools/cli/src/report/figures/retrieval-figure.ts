import type { LifecycleResult } from '../../lifecycle/lifecycle-result';
import { stackedStrip } from '../charts/stacked-strip';
import { headingHeight, svgDocument } from '../svg/document';
import { MISSING, percent, shortDigest } from '../svg/format';
import { el, text } from '../svg/markup';
import { seriesColor, THEME } from '../svg/theme';
import { measured, type Figure } from './figure';

/** A readable name for an artifact digest: the task its adapter was trained on, where known. */
export function artifactLabel(result: LifecycleResult, digest: string): string {
  const adapter = result.training.find((a) => a.digest === digest);
  if (adapter !== undefined) return `${adapter.task} adapter`;
  if (digest === result.merge.digest) return `merged (${result.merge.method})`;
  return shortDigest(digest);
}

/** `correct` out of `total` as a fraction; undefined where it cannot be one. */
export function fractionOf(correct: number, total: number): number | undefined {
  const c = measured(correct);
  const n = measured(total);
  return c === undefined || n === undefined || n <= 0 ? undefined : c / n;
}

function meter(label: string, correct: number, total: number, color: string, y: number, width: number): string {
  const x = 170;
  const trackWidth = width - x - 150;
  const f = fractionOf(correct, total);
  const shown = f === undefined ? 0 : Math.min(1, Math.max(0, f));
  const value = f === undefined ? MISSING : `${correct} / ${total} \u00b7 ${percent(f)}`;
  return el(
    'g',
    {},
    el('title', {}, text(`${label}: ${value}`)),
    el('text', { x: x - 12, y: y + 15, 'text-anchor': 'end', 'font-size': THEME.labelSize, fill: THEME.ink }, text(label)),
    el('rect', { x, y, width: trackWidth, height: 22, rx: 4, fill: '#eef1f5' }),
    shown > 0 ? el('rect', { x, y, width: trackWidth * shown, height: 22, rx: 4, fill: color }) : '',
    el('text', { x: x + trackWidth + 10, y: y + 15, 'font-size': THEME.labelSize, 'font-weight': 600, fill: THEME.ink }, text(value)),
  );
}

/** Retrieval: how many inputs reached the right adapter, how many were then predicted right, and where they went. */
export function retrievalFigure(result: LifecycleResult): Figure {
  const r = result.retrieval;
  const title = 'Retrieval: routing and prediction';
  const subtitle = `${measured(r.inputs) ?? MISSING} unlabelled inputs routed to the best-matching adapter`;
  const width = THEME.width;
  const top = headingHeight({ subtitle }) + 12;
  const parts = [
    meter('routed correctly', r.routedCorrectly, r.inputs, THEME.accent, top, width),
    meter('predicted correctly', r.predictedCorrectly, r.inputs, THEME.good, top + 34, width),
  ];
  let height = top + 34 + 22 + 28;
  const routes = Object.entries(r.routes);
  parts.push(el('text', { x: 20, y: height, 'font-size': THEME.labelSize, 'font-weight': 600, fill: THEME.ink }, text('Where inputs were routed')));
  if (routes.length === 0) {
    parts.push(el('text', { x: 20, y: height + 20, 'font-size': THEME.labelSize, fill: THEME.muted }, text('No routes were recorded.')));
    height += 36;
  } else {
    const strip = stackedStrip(
      routes.map(([digest, n], i) => ({ label: artifactLabel(result, digest), value: measured(n) ?? 0, color: seriesColor(i) })),
      { x: 20, y: height + 10, width: width - 40, height: 26 },
      (f) => percent(f, 0),
    );
    parts.push(strip.markup);
    height += 10 + strip.height + 6;
  }
  const routed = fractionOf(r.routedCorrectly, r.inputs);
  const predicted = fractionOf(r.predictedCorrectly, r.inputs);
  return {
    file: 'retrieval.svg',
    title,
    caption: `${percent(routed ?? NaN)} of inputs were routed to their own task\u2019s adapter and ${percent(predicted ?? NaN)} were predicted correctly through it.`,
    svg: svgDocument({ title, subtitle, width, height, body: parts.join('') }),
  };
}
