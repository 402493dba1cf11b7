import type { TrainProgress } from '@patchwork/training';

export type BuildPhase = 'data' | 'tokenizer' | 'train' | 'evaluate' | 'write';

export interface BuildProgress {
  readonly phase: BuildPhase;
  /** What is happening, for logs and progress bars. */
  readonly message: string;
  /** Present during the train phase. */
  readonly train?: TrainProgress;
}

/** Options shared by every recipe's build. */
export interface BuildContext {
  readonly seed: number;
  /** Overrides the recipe's optimizer steps (short builds for tests and smoke runs). */
  readonly steps?: number;
  readonly onProgress?: (p: BuildProgress) => void;
  readonly signal?: AbortSignal;
  /** Trainer checkpoints go here, so a killed build resumes instead of starting over. */
  readonly checkpointDir?: string;
}

/** Perplexities of one held-out set: the model's and a unigram model's on the same target tokens. */
export interface HeldOutScore {
  readonly perplexity: number;
  readonly unigramPerplexity: number;
  readonly tokens: number;
}

export interface BackboneMetrics {
  /** Language models: perplexity on the held-out text of the pre-training domain. */
  readonly heldOutPerplexity?: number;
  /** The add-one unigram baseline on the same tokens. */
  readonly unigramPerplexity?: number;
  /** Language models: every held-out set (`base`: pre-training domain, `new`: the ham mails). */
  readonly heldOut?: Readonly<Record<string, HeldOutScore>>;
  /** ViT: accuracy on the held-out (test split) images of its classes. */
  readonly accuracy?: number;
  readonly heldOutExamples?: number;
  /** Final training loss (mean of the last step). */
  readonly trainLoss?: number;
  readonly steps?: number;
  /** Sampled peak of live tensor bytes during training. */
  readonly peakTrainingBytes?: number;
}

export function report(ctx: BuildContext, phase: BuildProgress['phase'], message: string, train?: TrainProgress): void {
  ctx.onProgress?.({ phase, message, train });
}
