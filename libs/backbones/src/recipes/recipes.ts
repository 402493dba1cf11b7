import type { CorpusName, SplitName } from '@patchwork/datasets';
import { PatchworkError } from '@patchwork/errors';

export type BackboneName = 'gpt2-tiny' | 'bert-tiny' | 'vit-digits';

export const BACKBONE_NAMES: readonly BackboneName[] = ['gpt2-tiny', 'bert-tiny', 'vit-digits'];

/** Bumped whenever a change to this library changes what a recipe produces (invalidates caches). */
export const RECIPE_VERSION = 1;

/** Documents of one corpus split (`textCorpus` of @patchwork/datasets), in its seeded order, up to a character budget. */
export interface CorpusRef {
  readonly corpus: CorpusName;
  readonly split: SplitName;
  /** Documents are taken in order until this many characters; the document that crosses it is cut. */
  readonly maxChars: number;
}

export interface TrainingRecipe {
  readonly steps: number;
  readonly batchSize: number;
  readonly lr: number;
  readonly warmupSteps: number;
  readonly schedule: 'linear' | 'cosine';
  readonly weightDecay: number;
  readonly maxGradNorm: number;
}

export interface TextRecipe {
  readonly family: 'gpt2' | 'bert';
  readonly sequenceLength: number;
  readonly hidden: number;
  readonly layers: number;
  readonly heads: number;
  readonly intermediate: number;
  /** Std of the normal initialisation (config `initializer_range`). */
  readonly initializerRange: number;
  /** Initial value of the learned position table: transformers' normal draw, or scaled sinusoids. */
  readonly positionInit: { readonly kind: 'normal' } | { readonly kind: 'sinusoidal'; readonly amplitude: number };
  readonly tokenizer: { readonly vocabSize: number; readonly corpora: readonly CorpusRef[] };
  readonly train: readonly CorpusRef[];
  /** Named held-out sets; each is scored separately. `base` is the pre-training domain. */
  readonly heldOut: Readonly<Record<string, readonly CorpusRef[]>>;
  /** At most this many blocks of each held-out set are scored (evenly spaced over the set). */
  readonly maxHeldOutBlocks: number;
  readonly training: TrainingRecipe;
  /** Continued pre-training for the `--evolved` variant, from the base weights and tokenizer. */
  readonly evolved: { readonly train: readonly CorpusRef[]; readonly training: TrainingRecipe };
  /** The split seed given to @patchwork/datasets (0 = the partition every task uses by default). */
  readonly dataSeed: number;
  /**
   * BERT: share of tokens masked in training. 0.4 rather than BERT's 0.15: with so few steps, the
   * number of prediction targets per step is what limits learning (Wettig et al., "Should You
   * Mask 15% in Masked Language Modeling?", EACL 2023, also find 40% better at scale).
   */
  readonly mlmProbability: number;
  /** BERT: share masked when scoring held-out text (the standard 0.15, as in evaluation of BERT). */
  readonly evalMlmProbability: number;
}

export interface VitRecipe {
  readonly family: 'vit';
  readonly hidden: number;
  readonly layers: number;
  readonly heads: number;
  readonly intermediate: number;
  readonly patchSize: number;
  readonly initializerRange: number;
  /** The digits the backbone is supervised on; the others stay new for later tasks. */
  readonly classes: readonly number[];
  readonly training: TrainingRecipe;
  readonly dataSeed: number;
}

export type Recipe = TextRecipe | VitRecipe;

const MB = 1_000_000;

const TEXT_BASE = {
  sequenceLength: 64,
  hidden: 128,
  layers: 2,
  heads: 4,
  intermediate: 512,
  initializerRange: 0.02,
  positionInit: { kind: 'sinusoidal', amplitude: 0.01 },
  dataSeed: 0,
  maxHeldOutBlocks: 256,
  mlmProbability: 0.4,
  evalMlmProbability: 0.15,
  tokenizer: {
    vocabSize: 2048,
    corpora: [
      { corpus: 'moby-dick', split: 'train', maxChars: 2 * MB },
      { corpus: 'sotu', split: 'train', maxChars: 2 * MB },
    ],
  },
  train: [
    { corpus: 'moby-dick', split: 'train', maxChars: 2 * MB },
    { corpus: 'sotu', split: 'train', maxChars: 2 * MB },
  ],
  heldOut: {
    base: [
      { corpus: 'moby-dick', split: 'test', maxChars: 0.2 * MB },
      { corpus: 'sotu', split: 'test', maxChars: 0.2 * MB },
    ],
    new: [{ corpus: 'spam-ham', split: 'test', maxChars: 0.3 * MB }],
  },
} as const satisfies Partial<TextRecipe>;

/** The evolved variants keep reading the base text and add the ham mails (a new domain). */
const EVOLVED_TRAIN: readonly CorpusRef[] = [
  { corpus: 'moby-dick', split: 'train', maxChars: 2 * MB },
  { corpus: 'sotu', split: 'train', maxChars: 2 * MB },
  { corpus: 'spam-ham', split: 'train', maxChars: 3 * MB },
];

export const RECIPES: Readonly<Record<BackboneName, Recipe>> = {
  'gpt2-tiny': {
    family: 'gpt2',
    ...TEXT_BASE,
    training: { steps: 600, batchSize: 8, lr: 3e-3, warmupSteps: 30, schedule: 'cosine', weightDecay: 0.01, maxGradNorm: 1 },
    evolved: { train: EVOLVED_TRAIN, training: { steps: 300, batchSize: 8, lr: 1.5e-3, warmupSteps: 15, schedule: 'cosine', weightDecay: 0.01, maxGradNorm: 1 } },
  },
  'bert-tiny': {
    family: 'bert',
    ...TEXT_BASE,
    training: { steps: 600, batchSize: 16, lr: 3e-3, warmupSteps: 30, schedule: 'cosine', weightDecay: 0.01, maxGradNorm: 1 },
    evolved: { train: EVOLVED_TRAIN, training: { steps: 300, batchSize: 16, lr: 1.5e-3, warmupSteps: 15, schedule: 'cosine', weightDecay: 0.01, maxGradNorm: 1 } },
  },
  'vit-digits': {
    family: 'vit',
    hidden: 64,
    layers: 2,
    heads: 4,
    intermediate: 128,
    patchSize: 2,
    initializerRange: 0.02,
    classes: [0, 1, 2, 3, 4],
    training: { steps: 300, batchSize: 32, lr: 2e-3, warmupSteps: 20, schedule: 'cosine', weightDecay: 0.05, maxGradNorm: 1 },
    dataSeed: 0,
  },
};

export function isBackboneName(name: unknown): name is BackboneName {
  return typeof name === 'string' && (BACKBONE_NAMES as readonly string[]).includes(name);
}

/** The recipe of `name`; an unknown name is INVALID_ARGUMENT listing the known ones. */
export function recipeFor(name: string): Recipe {
  if (!isBackboneName(name)) {
    throw new PatchworkError('INVALID_ARGUMENT', `name: unknown backbone ${JSON.stringify(name)} (known: ${BACKBONE_NAMES.join(', ')})`, {
      violations: [{ field: 'name', description: `must be one of ${BACKBONE_NAMES.join(', ')}` }],
    });
  }
  return RECIPES[name];
}
