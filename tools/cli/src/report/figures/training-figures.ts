import type { TrainedAdapter } from '../../lifecycle/lifecycle-result';
import { lineChart } from '../charts/line-chart';
import { decimal } from '../svg/format';
import type { Figure } from './figure';

function seriesName(adapter: TrainedAdapter): string {
  return `${adapter.task} (${adapter.method})`;
}

/** Training loss per optimizer step, one line per adapter. */
export function trainingLossFigure(training: readonly TrainedAdapter[]): Figure {
  const title = 'Training loss';
  const series = training.map((a) => ({ name: seriesName(a), points: a.curve.map((p) => ({ x: p.step, y: p.loss })) }));
  const last = training.map((a) => `${a.task} ${decimal(a.curve.at(-1)?.loss)}`).join(', ');
  return {
    file: 'training-loss.svg',
    title,
    caption: training.length === 0 ? 'No adapters were trained.' : `Loss per optimizer step for each task adapter; final loss: ${last}.`,
    svg: lineChart({ title, xLabel: 'step', yLabel: 'loss', series, emptyMessage: 'No training curves were recorded' }),
  };
}

/** Validation accuracy at the steps where the trainer evaluated. */
export function trainingAccuracyFigure(training: readonly TrainedAdapter[]): Figure {
  const title = 'Validation accuracy during training';
  const series = training.map((a) => ({
    name: seriesName(a),
    points: a.curve.filter((p) => p.evalAccuracy !== undefined && p.evalAccuracy !== null).map((p) => ({ x: p.step, y: p.evalAccuracy as number })),
  }));
  return {
    file: 'training-accuracy.svg',
    title,
    caption: 'Accuracy on each task\u2019s validation split at the steps where the trainer evaluated.',
    svg: lineChart({
      title,
      xLabel: 'step',
      yLabel: 'validation accuracy',
      yKind: 'percent',
      yBounds: [0, 1],
      series,
      emptyMessage: 'The trainer recorded no validation points',
    }),
  };
}
