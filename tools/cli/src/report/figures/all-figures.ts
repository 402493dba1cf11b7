import type { LifecycleResult } from '../../lifecycle/lifecycle-result';
import { compatibilityFigure } from './compatibility-figure';
import { compressFigure } from './compress-figure';
import type { Figure } from './figure';
import { mergeNormalizedFigure, mergePerTaskFigure } from './merge-figures';
import { retrievalFigure } from './retrieval-figure';
import { timingsFigure } from './timings-figure';
import { trainingAccuracyFigure, trainingLossFigure } from './training-figures';

/** Every figure of the report, keyed by the section that shows it. */
export interface ReportFigures {
  readonly trainingLoss: Figure;
  readonly trainingAccuracy: Figure;
  readonly mergeNormalized: Figure;
  readonly mergePerTask: Figure;
  readonly compatibility: Figure;
  readonly retrieval: Figure;
  readonly compress: Figure;
  readonly timings: Figure;
}

export function buildFigures(result: LifecycleResult): ReportFigures {
  return {
    trainingLoss: trainingLossFigure(result.training),
    trainingAccuracy: trainingAccuracyFigure(result.training),
    mergeNormalized: mergeNormalizedFigure(result.merge),
    mergePerTask: mergePerTaskFigure(result.merge, result.training),
    compatibility: compatibilityFigure(result.evaluation),
    retrieval: retrievalFigure(result),
    compress: compressFigure(result.compress),
    timings: timingsFigure(result),
  };
}
