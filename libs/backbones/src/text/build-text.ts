import { PatchworkError } from '@patchwork/errors';
import { loadModel } from '@patchwork/models';
import { SafetensorsFile, tf } from '@patchwork/tensor';
import type { TokenizerJson } from '@patchwork/tokenizers';
import { type TrainResult, train } from '@patchwork/training';
import { readFile } from 'node:fs/promises';
import * as nodePath from 'node:path';
import { type BackboneMetrics, type BuildContext, type HeldOutScore, report } from '../build/context';
import { readCorpora } from '../data/corpus';
import { type TokenBlocks, gatherBlocks, packBlocks } from '../data/blocks';
import type { MlmMasking } from '../data/mlm-batch';
import { causalLmPerplexity, maskedLmPerplexity } from '../eval/lm-metrics';
import { UnigramModel } from '../eval/unigram';
import { WORD_EMBEDDINGS_KEY } from '../heads/mlm-head';
import { seededInit, sinusoidalTable, transformersInitRule, variableOf } from '../init/seeded-init';
import { CONFIG_FILE, MODEL_FILE, writeJsonFiles, writeWeights } from '../io/hf-writer';
import type { CorpusRef, TextRecipe, TrainingRecipe } from '../recipes/recipes';
import { BERT_SPECIALS, GPT2_SPECIALS, type TrainedTokenizer, encodePlain, fromJson, specialId, trainTokenizer } from './tokenizer';
import { TextModel, bertConfig, gpt2Config, textShapes } from './text-model';

export const TOKENIZER_FILE = 'tokenizer.json';
const GPT2_POSITIONS_KEY = 'transformer.wpe.weight';
const BERT_POSITIONS_KEY = 'bert.embeddings.position_embeddings.weight';
export const TOKENIZER_CONFIG_FILE = 'tokenizer_config.json';

/** Blocks scored during training to show progress (a small, fixed subset of the `base` held-out set). */
const PROGRESS_EVAL_BLOCKS = 32;

interface Packing {
  readonly separator: number;
  readonly prefix?: number;
  readonly suffix?: number;
}

function packingOf(family: 'gpt2' | 'bert', tok: TrainedTokenizer): Packing {
  const t = tok.tokenizer;
  if (family === 'gpt2') return { separator: specialId(t, GPT2_SPECIALS.eos) };
  const sep = specialId(t, BERT_SPECIALS.sep);
  return { separator: sep, prefix: specialId(t, BERT_SPECIALS.cls), suffix: sep };
}

function blocksOf(refs: readonly CorpusRef[], recipe: TextRecipe, tok: TrainedTokenizer, packing: Packing): TokenBlocks {
  const docs = readCorpora(refs, recipe.dataSeed).map((d) => encodePlain(tok.tokenizer, d));
  return packBlocks(docs, { length: recipe.sequenceLength, ...packing });
}

/** At most `max` blocks, evenly spaced over `blocks` (the whole set when it is small enough). */
function subsample(blocks: TokenBlocks, max: number): TokenBlocks {
  if (blocks.count <= max) return blocks;
  const rows = Array.from({ length: max }, (_, i) => Math.floor((i * blocks.count) / max));
  return { length: blocks.length, count: max, ids: gatherBlocks(blocks, rows) };
}

function maskingOf(tok: TrainedTokenizer, mlmProbability: number): MlmMasking {
  const t = tok.tokenizer;
  return {
    maskTokenId: specialId(t, BERT_SPECIALS.mask),
    vocabSize: t.vocabSize,
    specialTokenIds: new Set(t.allSpecialIds),
    mlmProbability,
  };
}

/** Content tokens of the training blocks (wrapper tokens excluded), for the unigram baseline. */
function unigramOf(blocks: TokenBlocks, vocabSize: number, packing: Packing): UnigramModel {
  const model = new UnigramModel(vocabSize);
  const skip = new Set([packing.prefix, packing.suffix].filter((x): x is number => x !== undefined));
  model.add([...blocks.ids].filter((id) => !skip.has(id)));
  return model;
}

async function initialModel(recipe: TextRecipe, tok: TrainedTokenizer, seed: number): Promise<TextModel> {
  const vocabSize = tok.tokenizer.vocabSize;
  const shapes = textShapes(recipe, vocabSize);
  const all = new Map([...shapes.model, ...shapes.head]);
  const values = seededInit(all, transformersInitRule(recipe.initializerRange, recipe.family === 'gpt2' ? recipe.layers : undefined), seed);
  if (recipe.positionInit.kind === 'sinusoidal') {
    const key = recipe.family === 'gpt2' ? GPT2_POSITIONS_KEY : BERT_POSITIONS_KEY;
    values.set(key, sinusoidalTable(recipe.sequenceLength, recipe.hidden, recipe.positionInit.amplitude));
  }
  let config: Record<string, unknown>;
  if (recipe.family === 'gpt2') config = gpt2Config(recipe, vocabSize, specialId(tok.tokenizer, GPT2_SPECIALS.eos));
  else {
    const pad = specialId(tok.tokenizer, BERT_SPECIALS.pad);
    config = bertConfig(recipe, vocabSize, pad);
    // nn.Embedding(padding_idx=pad) starts the padding row at zero.
    (values.get(WORD_EMBEDDINGS_KEY) as Float32Array).fill(0, pad * recipe.hidden, (pad + 1) * recipe.hidden);
  }
  const params = new Map([...all].map(([key, shape]) => [key, variableOf(values.get(key) as Float32Array, shape)]));
  return new TextModel(recipe.family, config, params, shapes.model.keys(), recipe.family === 'bert' ? maskingOf(tok, recipe.mlmProbability) : undefined);
}

/** The base backbone's weights (and, for BERT, its MLM head) as variables, to continue training. */
async function continuedModel(recipe: TextRecipe, tok: TrainedTokenizer, baseDir: string): Promise<TextModel> {
  const loaded = await loadModel(baseDir);
  const shapes = textShapes(recipe, tok.tokenizer.vocabSize);
  const params = new Map<string, tf.Variable>();
  try {
    for (const key of shapes.model.keys()) {
      const t = loaded.weights.get(key);
      if (t === undefined || t.shape.join() !== (shapes.model.get(key) as number[]).join()) {
        throw new PatchworkError('FAILED_PRECONDITION', `base backbone in ${baseDir} does not match the recipe: ${key}`);
      }
      params.set(key, tf.variable(t, true));
    }
    if (shapes.head.size > 0) {
      const file = await SafetensorsFile.open(nodePath.join(baseDir, MODEL_FILE));
      try {
        for (const [key, shape] of shapes.head) {
          if (!file.has(key)) throw new PatchworkError('FAILED_PRECONDITION', `base backbone in ${baseDir} lacks the MLM head tensor ${key}`);
          params.set(key, variableOf(await file.readFloat32(key), shape));
        }
      } finally {
        await file.close();
      }
    }
  } catch (e) {
    for (const v of params.values()) v.dispose();
    throw e;
  } finally {
    loaded.dispose();
  }
  const config = JSON.parse(await readFile(nodePath.join(baseDir, CONFIG_FILE), 'utf8')) as Record<string, unknown>;
  return new TextModel(recipe.family, config, params, shapes.model.keys(), recipe.family === 'bert' ? maskingOf(tok, recipe.mlmProbability) : undefined);
}

function score(model: TextModel, blocks: TokenBlocks, recipe: TextRecipe, tok: TrainedTokenizer, seed: number): { perplexity: number; targets: Int32Array } {
  if (model.mlm !== undefined) return maskedLmPerplexity(model.mlm, blocks, maskingOf(tok, recipe.evalMlmProbability), seed);
  return causalLmPerplexity(model.model, blocks);
}

export interface TextBuild {
  readonly metrics: BackboneMetrics;
}

/**
 * Builds a text backbone into `outDir` (which exists and is empty): tokenizer (trained, or the
 * base's for an evolved build), seeded initial weights (or the base's), pre-training with the
 * shared trainer, held-out perplexity against a unigram baseline, and the Hugging Face files.
 */
export async function buildTextBackbone(recipe: TextRecipe, evolved: boolean, outDir: string, ctx: BuildContext, baseDir?: string): Promise<TextBuild> {
  let tok: TrainedTokenizer;
  if (evolved) {
    if (baseDir === undefined) throw new PatchworkError('INTERNAL', 'an evolved build needs its base backbone');
    const json = JSON.parse(await readFile(nodePath.join(baseDir, TOKENIZER_FILE), 'utf8')) as TokenizerJson;
    tok = await fromJson(recipe.family, json, recipe.sequenceLength);
  } else {
    report(ctx, 'tokenizer', `training a ${recipe.tokenizer.vocabSize}-token byte-level BPE tokenizer`);
    tok = await trainTokenizer(recipe.family, readCorpora(recipe.tokenizer.corpora, recipe.dataSeed), recipe.tokenizer.vocabSize, recipe.sequenceLength);
  }
  const packing = packingOf(recipe.family, tok);
  report(ctx, 'data', 'tokenizing the corpora');
  const trainRefs = evolved ? recipe.evolved.train : recipe.train;
  const trainBlocks = blocksOf(trainRefs, recipe, tok, packing);
  const heldOut = new Map(Object.entries(recipe.heldOut).map(([name, refs]) => [name, subsample(blocksOf(refs, recipe, tok, packing), recipe.maxHeldOutBlocks)]));
  const progressBlocks = subsample(heldOut.get('base') as TokenBlocks, PROGRESS_EVAL_BLOCKS);
  const training: TrainingRecipe = evolved ? recipe.evolved.training : recipe.training;
  const steps = ctx.steps ?? training.steps;
  if (trainBlocks.count < training.batchSize) {
    throw new PatchworkError('FAILED_PRECONDITION', `the training corpus gives ${trainBlocks.count} blocks, fewer than one batch of ${training.batchSize}`);
  }

  const model = evolved ? await continuedModel(recipe, tok, baseDir as string) : await initialModel(recipe, tok, ctx.seed);
  try {
    const L = recipe.sequenceLength;
    const result: TrainResult = await train({
      params: model.params,
      examples: trainBlocks.count,
      batchSize: training.batchSize,
      maxSteps: steps,
      loss: ({ indices, rng }) => model.loss(gatherBlocks(trainBlocks, indices), indices.length, L, rng),
      optimizer: { lr: training.lr, weightDecay: training.weightDecay },
      schedule: { kind: training.schedule, warmupSteps: Math.min(training.warmupSteps, Math.floor(steps / 10)) },
      maxGradNorm: training.maxGradNorm,
      seed: ctx.seed,
      evaluation: {
        every: Math.max(1, Math.floor(steps / 4)),
        run: () => ({ eval_perplexity: score(model, progressBlocks, recipe, tok, ctx.seed).perplexity }),
      },
      checkpoint: ctx.checkpointDir === undefined ? undefined : { dir: ctx.checkpointDir, every: Math.max(1, Math.floor(steps / 10)) },
      signal: ctx.signal,
      onProgress: (p) => report(ctx, 'train', `step ${p.step}/${p.totalSteps} loss ${p.loss.toFixed(3)}`, p),
    });

    report(ctx, 'evaluate', 'scoring held-out text');
    const unigram = unigramOf(trainBlocks, tok.tokenizer.vocabSize, packing);
    const scores: Record<string, HeldOutScore> = {};
    for (const [name, blocks] of heldOut) {
      if (blocks.count === 0) continue;
      const s = score(model, blocks, recipe, tok, ctx.seed);
      scores[name] = { perplexity: s.perplexity, unigramPerplexity: unigram.perplexity(s.targets), tokens: s.targets.length };
    }
    const base = scores['base'];
    const metrics: BackboneMetrics = {
      heldOutPerplexity: base?.perplexity,
      unigramPerplexity: base?.unigramPerplexity,
      heldOut: scores,
      trainLoss: result.finalLoss,
      steps: result.steps,
      peakTrainingBytes: result.peakBytes,
    };

    report(ctx, 'write', `writing ${outDir}`);
    await writeWeights(outDir, model.params);
    await writeJsonFiles(outDir, { [CONFIG_FILE]: model.config, [TOKENIZER_CONFIG_FILE]: tok.config, [TOKENIZER_FILE]: tok.json });
    return { metrics };
  } finally {
    model.dispose();
  }
}
