import type { EarlyStoppingOptions } from './options';

export interface EarlyStoppingState {
  readonly best?: { readonly step: number; readonly value: number };
  readonly badEvaluations: number;
}

/**
 * transformers' `EarlyStoppingCallback`: an evaluation improves when its metric beats the best so
 * far (lower for `min`, higher for `max`) by more than `threshold`; otherwise a counter grows,
 * and training stops once it reaches `patience`. The first evaluation always sets the best.
 */
export class EarlyStopping {
  private best?: { step: number; value: number };
  private bad = 0;

  constructor(
    private readonly options: EarlyStoppingOptions,
    state?: EarlyStoppingState,
  ) {
    if (state !== undefined) {
      this.best = state.best === undefined ? undefined : { ...state.best };
      this.bad = state.badEvaluations;
    }
  }

  get state(): EarlyStoppingState {
    return { best: this.best, badEvaluations: this.bad };
  }

  get shouldStop(): boolean {
    return this.bad >= this.options.patience;
  }

  /** Records one evaluation's value of the monitored metric. */
  update(step: number, value: number): void {
    const threshold = this.options.threshold ?? 0;
    const better = this.best === undefined || (this.options.mode === 'min' ? value < this.best.value - threshold : value > this.best.value + threshold);
    if (better) {
      this.best = { step, value };
      this.bad = 0;
    } else {
      this.bad++;
    }
  }
}
