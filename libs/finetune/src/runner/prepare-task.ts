import { PatchworkError } from '@patchwork/errors';
import type { TaskSplits } from '@patchwork/datasets';
import type { Model } from '@patchwork/models';
import type { Tokenizer } from '@patchwork/tokenizers';
import type { tf } from '@patchwork/tensor';
import { type EncodedRows, concatRows, selectRows } from '../data/encoded-inputs';
import { encodeTexts } from '../data/encode-text';
import { ExampleSet } from '../data/example-set';
import { PromptTemplate } from '../data/prompt-template';
import { SAMPLING_STREAMS, fewShotSplit, randomSubset } from '../data/sampling';
import { type LabelHead, classifierHead, promptHead } from '../heads/label-head';
import { loadMlmHead } from '../heads/mlm-head';
import { BertMlm } from '@patchwork/backbones';
import { DEFAULT_MAX_UNLABELED } from '../list/list-config';
import type { RunConfig } from './run-config';

/**
 * Encoded rows by model, framing and example id, shared between runs of one process (a benchmark
 * training several methods on the same task tokenizes each text once).
 */
export type EncodingCache = Map<string, EncodedRows>;

/** A task's splits encoded for one base model, and how label logits are read from it. */
export interface PreparedTask {
  readonly name: string;
  readonly labelNames: readonly string[];
  readonly headKind: 'classifier' | 'prompt';
  readonly prompt?: PromptTemplate;
  /** The label head for a model with the base's architecture (the base itself or a trained copy). */
  headFor(model: Model): LabelHead;
  readonly train: ExampleSet;
  readonly validation: ExampleSet;
  readonly test: ExampleSet;
  /** Few-shot runs: the training examples whose labels are withheld (labels kept for analysis only). */
  readonly unlabeled?: ExampleSet;
  dispose(): void;
}

/** Prompt heads for LiST, `head: prompt`, or a config giving a prompt without naming a head; otherwise the classifier. */
export function headKindOf(config: RunConfig): 'classifier' | 'prompt' {
  const prompt = config.head === 'prompt' || config.method === 'list' || (config.head === undefined && config.prompt !== undefined);
  return prompt ? 'prompt' : 'classifier';
}

function positions(model: Model): number {
  const c = model.config;
  const v = c['max_position_embeddings'] ?? c['n_positions'] ?? 128;
  return typeof v === 'number' ? v : 128;
}

/**
 * Loads and encodes the task for `model`: classifier rows (`[CLS] text [SEP]`), prompt rows
 * (template + label words through the MLM or LM head) or pixel rows; applies the few-shot
 * selection and the example caps (seeded). Fails fast (INVALID_ARGUMENT) when the task and the
 * model do not fit together.
 */
export async function prepareTask(config: RunConfig, model: Model, modelDir: string, tokenizer: Tokenizer | undefined, splits: TaskSplits, cache?: EncodingCache): Promise<PreparedTask> {
  const numLabels = splits.labelNames.length;
  const seed = config.trainer.seed;
  const headKind = headKindOf(config);
  let template: PromptTemplate | undefined;
  let mlmHead: Map<string, tf.Tensor> | undefined;
  let encode: (inputs: readonly unknown[]) => EncodedRows;
  if (splits.inputKind === 'image') {
    if (model.inputKind !== 'pixels') throw new PatchworkError('INVALID_ARGUMENT', `task: ${splits.name} is an image task but the ${model.modelType} base model reads tokens`);
    if (headKind === 'prompt') throw new PatchworkError('INVALID_ARGUMENT', 'head: prompts need a text task');
    const [h, w] = splits.imageShape;
    const size = model.config['image_size'];
    const channels = Number(model.config['num_channels'] ?? 3);
    if (size !== h || size !== w) throw new PatchworkError('INVALID_ARGUMENT', `task: ${splits.name} has ${h}x${w} images but the base model takes ${size}x${size}`);
    encode = (inputs) => {
      const values = new Float32Array(inputs.length * channels * h * w);
      (inputs as Float32Array[]).forEach((img, i) => {
        for (let ch = 0; ch < channels; ch++) values.set(img, (i * channels + ch) * h * w);
      });
      return { kind: 'pixels', shape: [channels, h, w], values };
    };
  } else {
    if (model.inputKind !== 'tokens' || tokenizer === undefined) throw new PatchworkError('INVALID_ARGUMENT', `task: ${splits.name} is a text task but the ${model.modelType} base model reads images`);
    const maxLength = config.data.maxLength ?? Math.min(positions(model), 128);
    if (maxLength > positions(model)) throw new PatchworkError('INVALID_ARGUMENT', `data.max_length: ${maxLength} exceeds the model's ${positions(model)} positions`);
    if (headKind === 'prompt') {
      if (config.prompt === undefined) throw new PatchworkError('INVALID_ARGUMENT', 'prompt: a prompt head needs {template, label_words}');
      if (config.prompt.labelWords.length !== numLabels) {
        throw new PatchworkError('INVALID_ARGUMENT', `prompt.label_words: ${splits.name} has ${numLabels} labels (${splits.labelNames.join(', ')}), got ${config.prompt.labelWords.length} words`);
      }
      const style = model.modelType === 'gpt2' ? 'causal' : 'masked';
      template = PromptTemplate.create({ template: config.prompt.template, labelWords: config.prompt.labelWords }, tokenizer, style);
      const t = template;
      encode = (inputs) => t.encode(tokenizer, inputs as string[], maxLength);
      if (style === 'masked') mlmHead = (await loadMlmHead(modelDir, model)).head;
    } else {
      encode = (inputs) => encodeTexts(tokenizer, inputs as string[], maxLength);
    }
  }
  const headFor = (m: Model): LabelHead => {
    if (headKind === 'classifier') return classifierHead(m, numLabels);
    return promptHead(m, template as PromptTemplate, mlmHead === undefined ? undefined : new BertMlm(m, mlmHead));
  };
  // Checks the head against the base now (label count, architecture), before any work.
  headFor(model);

  // Rows depend on the tokenizer (the model directory), the framing and the length.
  const encoderKey = JSON.stringify([modelDir, headKind, config.prompt ?? null, config.data.maxLength ?? null, splits.name]);
  const setOf = (split: TaskSplits['train'], indices: number[]): ExampleSet => {
    const labels = Int32Array.from(indices, (i) => split.labels[i]);
    const ids = indices.map((i) => split.ids[i]);
    if (cache === undefined || splits.inputKind === 'image') return new ExampleSet(encode(indices.map((i) => split.inputs[i])), labels, ids, numLabels);
    const missing = indices.filter((i) => !cache.has(`${encoderKey}\u0000${split.ids[i]}`));
    if (missing.length > 0) {
      const fresh = encode(missing.map((i) => split.inputs[i]));
      missing.forEach((i, r) => cache.set(`${encoderKey}\u0000${split.ids[i]}`, selectRows(fresh, [r])));
    }
    return new ExampleSet(concatRows(indices.map((i) => cache.get(`${encoderKey}\u0000${split.ids[i]}`) as EncodedRows)), labels, ids, numLabels);
  };
  const capped = (split: TaskSplits['train'], max: number | undefined, stream: number): number[] => randomSubset(split.labels.length, max, seed, stream);
  const trainSplit = splits.train as TaskSplits['train'];
  let trainIdx: number[];
  let unlabeledIdx: number[] | undefined;
  if (config.data.labelsPerClass !== undefined) {
    const { labelled, rest } = fewShotSplit(trainSplit.labels, numLabels, config.data.labelsPerClass, seed);
    trainIdx = labelled;
    unlabeledIdx = rest;
  } else {
    trainIdx = capped(trainSplit, config.data.maxTrainExamples, SAMPLING_STREAMS.cap);
  }
  if (trainIdx.length === 0) throw new PatchworkError('FAILED_PRECONDITION', `task: ${splits.name} has no training examples`);
  const maxUnlabeled = config.parameters['max_unlabeled'] ?? (config.method === 'list' ? DEFAULT_MAX_UNLABELED : undefined);
  if (unlabeledIdx !== undefined && typeof maxUnlabeled === 'number') unlabeledIdx = unlabeledIdx.slice(0, maxUnlabeled);
  const validation = splits.validation as TaskSplits['train'];
  const test = splits.test as TaskSplits['train'];
  return {
    name: splits.name,
    labelNames: splits.labelNames,
    headKind,
    prompt: template,
    headFor,
    train: setOf(trainSplit, trainIdx),
    validation: setOf(validation, capped(validation, config.data.maxEvalExamples, SAMPLING_STREAMS.cap + 1)),
    test: setOf(test, capped(test, config.data.maxTestExamples, SAMPLING_STREAMS.cap + 2)),
    unlabeled: unlabeledIdx === undefined || unlabeledIdx.length === 0 ? undefined : setOf(trainSplit, unlabeledIdx),
    dispose: () => {
      for (const t of mlmHead?.values() ?? []) t.dispose();
    },
  };
}
