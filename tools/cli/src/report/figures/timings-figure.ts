import type { LifecycleResult } from '../../lifecycle/lifecycle-result';
import { hbarChart } from '../charts/hbar-chart';
import { duration } from '../svg/format';
import { THEME } from '../svg/theme';
import { measured, type Figure } from './figure';

export interface TimedStep {
  readonly step: string;
  readonly jobId: string;
  readonly seconds: number;
}

/** Every job of the lifecycle in the order it ran, with its wall time. */
export function timedSteps(result: LifecycleResult): TimedStep[] {
  return [
    { step: `backbone ${result.backbone.name}`, jobId: result.backbone.jobId, seconds: result.backbone.seconds },
    { step: 'compress', jobId: result.compress.jobId, seconds: result.compress.seconds },
    ...result.training.map((a) => ({ step: `train ${a.task}`, jobId: a.jobId, seconds: a.seconds })),
    { step: `merge (${result.merge.method})`, jobId: result.merge.jobId, seconds: result.merge.seconds },
    { step: `evaluate ${result.evaluation.task}`, jobId: result.evaluation.jobId, seconds: result.evaluation.seconds },
    { step: 'retrieve', jobId: result.retrieval.jobId, seconds: result.retrieval.seconds },
  ];
}

export function timingsFigure(result: LifecycleResult): Figure {
  const title = 'Wall time per step';
  const steps = timedSteps(result);
  return {
    file: 'timings.svg',
    title,
    caption: `Wall time of each job as the client saw it (submit to result); the whole lifecycle took ${duration(result.seconds)}.`,
    svg: hbarChart({
      title,
      rows: steps.map((s) => ({ label: s.step, value: measured(s.seconds), color: THEME.accent })),
      xLabel: 'seconds',
      valueLabel: (v) => duration(v),
      emptyMessage: 'No timings were recorded',
    }),
  };
}
