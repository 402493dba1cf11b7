import type { CorpusRef, TextRecipe, TrainingRecipe, VitRecipe } from '../recipes/recipes';
import { RECIPES } from '../recipes/recipes';

const TRAINING: TrainingRecipe = { steps: 2, batchSize: 4, lr: 1e-3, warmupSteps: 0, schedule: 'linear', weightDecay: 0.01, maxGradNorm: 1 };
const SMALL: readonly CorpusRef[] = [{ corpus: 'moby-dick', split: 'train', maxChars: 6000 }];

/** Text recipes small enough for unit tests (a few seconds per build). */
export function tinyTextRecipe(family: 'gpt2' | 'bert'): TextRecipe {
  return {
    family,
    sequenceLength: 16,
    hidden: 16,
    layers: 1,
    heads: 2,
    intermediate: 32,
    initializerRange: 0.02,
    positionInit: { kind: 'sinusoidal', amplitude: 0.01 },
    tokenizer: { vocabSize: 300, corpora: SMALL },
    train: SMALL,
    heldOut: { base: [{ corpus: 'moby-dick', split: 'test', maxChars: 1500 }], new: [{ corpus: 'sotu', split: 'test', maxChars: 1500 }] },
    maxHeldOutBlocks: 8,
    training: TRAINING,
    evolved: { train: [{ corpus: 'sotu', split: 'train', maxChars: 4000 }], training: TRAINING },
    dataSeed: 0,
    mlmProbability: 0.15,
    evalMlmProbability: 0.15,
  };
}

export function tinyVitRecipe(): VitRecipe {
  return { ...(RECIPES['vit-digits'] as VitRecipe), hidden: 16, layers: 1, heads: 2, intermediate: 32, training: { ...TRAINING, batchSize: 16 } };
}
