import { invalidArgument } from '@patchwork/errors';

/**
 * A unigram language model with add-one (Laplace) smoothing, the baseline an LM must beat:
 * p(t) = (count(t) + 1) / (N + V). Any id of the vocabulary gets non-zero probability.
 */
export class UnigramModel {
  private readonly counts: Float64Array;
  private total = 0;

  constructor(readonly vocabSize: number) {
    if (!Number.isInteger(vocabSize) || vocabSize < 1) throw invalidArgument('vocabSize', `must be a positive integer, got ${vocabSize}`);
    this.counts = new Float64Array(vocabSize);
  }

  /** Counts `ids` (ids outside the vocabulary are an error). */
  add(ids: Iterable<number>): this {
    for (const id of ids) {
      if (!(id >= 0 && id < this.vocabSize)) throw invalidArgument('ids', `id ${id} is outside the vocabulary [0, ${this.vocabSize})`);
      this.counts[id]++;
      this.total++;
    }
    return this;
  }

  logProb(id: number): number {
    return Math.log((this.counts[id] + 1) / (this.total + this.vocabSize));
  }

  /** exp of the mean negative log-probability of `ids`. */
  perplexity(ids: Iterable<number>): number {
    let nll = 0;
    let n = 0;
    for (const id of ids) {
      nll -= this.logProb(id);
      n++;
    }
    if (n === 0) throw invalidArgument('ids', 'needs at least one token');
    return Math.exp(nll / n);
  }
}
