import type { EvaluationStep } from '../../lifecycle/lifecycle-result';
import { stackedStrip } from '../charts/stacked-strip';
import { valueAxisLeft } from '../svg/axis';
import { headingHeight, svgDocument } from '../svg/document';
import { MISSING, percent, tickFormatter } from '../svg/format';
import { el, text } from '../svg/markup';
import { linearScale, niceDomain } from '../svg/scale';
import { THEME } from '../svg/theme';
import { measured, type Figure } from './figure';

type Compatibility = EvaluationStep['compatibility'];

export interface Outcomes {
  readonly bothCorrect: number;
  readonly negativeFlips: number;
  readonly positiveFlips: number;
  readonly bothWrong: number;
}

/**
 * The four sample outcomes, derived from the rates: flip rates are over all samples, so
 * old accuracy = both correct + negative flips and new accuracy = both correct + positive flips.
 * Undefined when the numbers are missing or do not add up (rates from different sample sets).
 */
export function outcomes(c: Compatibility): Outcomes | undefined {
  const [oldAcc, newAcc, nfr, pfr] = [c.oldAccuracy, c.newAccuracy, c.negativeFlipRate, c.positiveFlipRate].map(measured);
  if (oldAcc === undefined || newAcc === undefined || nfr === undefined || pfr === undefined) return undefined;
  const tolerance = 1e-6 + (measured(c.samples) && c.samples > 0 ? 0.5 / c.samples : 0);
  const bothCorrect = oldAcc - nfr;
  const bothWrong = 1 - oldAcc - pfr;
  const consistent = bothCorrect >= -tolerance && bothWrong >= -tolerance && Math.abs(bothCorrect + pfr - newAcc) <= tolerance;
  if (!consistent) return undefined;
  return { bothCorrect: Math.max(0, bothCorrect), negativeFlips: nfr, positiveFlips: pfr, bothWrong: Math.max(0, bothWrong) };
}

interface Bar {
  readonly label: string;
  readonly value: number | undefined;
  readonly color: string;
}

/** A small vertical bar panel with its own axis, for two to four related rates. */
function panel(bars: readonly Bar[], box: { x: number; y: number; width: number; height: number }, heading: string): string {
  const area = { left: box.x + 52, top: box.y + 26, right: box.x + box.width - 8, bottom: box.y + box.height - 26 };
  const values = bars.map((b) => b.value).filter((v): v is number => v !== undefined);
  const domain = niceDomain(values, { includeZero: true, bounds: [0, 1], tickCount: 4 });
  const sy = linearScale(domain, area.bottom, area.top);
  const band = (area.right - area.left) / bars.length;
  const barWidth = Math.min(64, band * 0.55);
  const axis = valueAxisLeft(area, domain, sy, tickFormatter(domain.step, 'percent'), '');
  const parts = [el('text', { x: box.x + 4, y: box.y + 10, 'font-size': THEME.labelSize, 'font-weight': 600, fill: THEME.ink }, text(heading)), axis];
  parts.push(el('line', { x1: area.left, y1: area.bottom, x2: area.right, y2: area.bottom, stroke: THEME.axis }));
  bars.forEach((b, i) => {
    const cx = area.left + band * i + band / 2;
    if (b.value !== undefined) {
      const y = sy(b.value);
      parts.push(
        el('g', {}, el('title', {}, text(`${b.label}: ${percent(b.value)}`)), el('rect', { x: cx - barWidth / 2, y, width: barWidth, height: Math.max(area.bottom - y, 0.5), rx: 2, fill: b.color })),
      );
    }
    const label = b.value === undefined ? MISSING : percent(b.value);
    parts.push(el('text', { x: cx, y: (b.value === undefined ? area.bottom : sy(b.value)) - 5, 'text-anchor': 'middle', 'font-size': THEME.tickSize, 'font-weight': 600, fill: THEME.ink }, text(label)));
    parts.push(el('text', { x: cx, y: area.bottom + 16, 'text-anchor': 'middle', 'font-size': THEME.labelSize, fill: THEME.ink }, text(b.label)));
  });
  return parts.join('');
}

/** MUSCLE compatibility: accuracies, flip rates and, where they add up, the outcome breakdown. */
export function compatibilityFigure(evaluation: EvaluationStep): Figure {
  const c = evaluation.compatibility;
  const title = 'Compatibility of the new model with the old';
  const subtitle = `${c.newModel} vs ${c.oldModel} \u00b7 ${measured(c.samples) ?? MISSING} samples of ${evaluation.task}`;
  const width = THEME.width;
  const top = headingHeight({ subtitle }) + 8;
  const panelHeight = 190;
  const parts = [
    panel(
      [
        { label: 'old model', value: measured(c.oldAccuracy), color: THEME.neutral },
        { label: 'new model', value: measured(c.newAccuracy), color: THEME.accent },
      ],
      { x: 16, y: top, width: width / 2 - 24, height: panelHeight },
      'Accuracy',
    ),
    panel(
      [
        { label: 'negative flips', value: measured(c.negativeFlipRate), color: THEME.bad },
        { label: 'positive flips', value: measured(c.positiveFlipRate), color: THEME.good },
      ],
      { x: width / 2 + 8, y: top, width: width / 2 - 24, height: panelHeight },
      'Flip rates (share of samples)',
    ),
  ];
  let height = top + panelHeight + 16;
  const o = outcomes(c);
  parts.push(el('text', { x: 20, y: height + 4, 'font-size': THEME.labelSize, 'font-weight': 600, fill: THEME.ink }, text('Sample outcomes')));
  if (o === undefined) {
    parts.push(el('text', { x: 20, y: height + 24, 'font-size': THEME.labelSize, fill: THEME.muted }, text('Not shown: the accuracies and flip rates are missing or do not add up.')));
    height += 44;
  } else {
    const strip = stackedStrip(
      [
        { label: 'both correct', value: o.bothCorrect, color: '#6c8fd6' },
        { label: 'negative flips', value: o.negativeFlips, color: THEME.bad },
        { label: 'positive flips', value: o.positiveFlips, color: THEME.good },
        { label: 'both wrong', value: o.bothWrong, color: '#7b8794' },
      ],
      { x: 20, y: height + 14, width: width - 40, height: 26 },
      (f) => percent(f),
    );
    parts.push(strip.markup);
    height += 14 + strip.height + 8;
  }
  const caption =
    `Negative flips: right before, wrong now; positive flips: the reverse. On ${measured(c.samples) ?? MISSING} shared samples, ${percent(c.negativeFlipRate)} flipped from right to wrong and ${percent(c.positiveFlipRate)} from wrong to right; ` +
    `accuracy went from ${percent(c.oldAccuracy)} to ${percent(c.newAccuracy)}.`;
  return { file: 'compatibility.svg', title, caption, svg: svgDocument({ title, subtitle, width, height, body: parts.join('') }) };
}
