import { PatchworkError } from '@patchwork/errors';
import { tf } from '@patchwork/tensor';
import type { Tokenizer } from '@patchwork/tokenizers';
import { argmax } from '../stats/argmax';
import type { EvalDoc, TaskDocs } from '../tasks/docs';
import type { TaskConfig } from '../tasks/task-config';
import type { ForwardFn } from '../lm/score';
import { type EvaluableModel, resolveMaxLength } from './evaluable';
import type { DocOutcome } from './outcome';
import { goldIndexOf, promptOf } from './templates';

function configInt(model: EvaluableModel, key: string): number | undefined {
  const v = model.config[key];
  return typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined;
}

/**
 * `[n, channels, h, w]` pixels for an image classifier. Grey images are repeated over the
 * channels of an RGB model; sizes must match (no resizing: the datasets are already at size).
 */
function pixelBatch(model: EvaluableModel, docs: TaskDocs, batch: readonly EvalDoc[]): tf.Tensor4D {
  const [h, w] = docs.imageShape as readonly [number, number];
  const size = configInt(model, 'image_size');
  if (size !== undefined && (size !== h || size !== w)) {
    throw new PatchworkError('FAILED_PRECONDITION', `the ${model.modelType} model takes ${size}x${size} images; this task's images are ${h}x${w}`);
  }
  const channels = configInt(model, 'num_channels') ?? 1;
  const data = new Float32Array(batch.length * channels * h * w);
  batch.forEach((doc, i) => {
    for (let c = 0; c < channels; c++) data.set(doc.pixels as Float32Array, (i * channels + c) * h * w);
  });
  return tf.tensor4d(data, [batch.length, channels, h, w]);
}

function tokenBatch(tokenizer: Tokenizer | undefined, prompts: readonly string[], maxLength: number): { ids: number[][]; mask: number[][] } {
  if (tokenizer === undefined) throw new PatchworkError('INVALID_ARGUMENT', 'tokenizer: text classification tasks need the model\'s tokenizer');
  const enc = tokenizer.encodeBatch(prompts, { padding: 'longest', truncation: { maxLength } });
  return { ids: enc.inputIds, mask: enc.attentionMask };
}

export interface ClassificationRunnerOptions {
  readonly model: EvaluableModel;
  readonly forward: ForwardFn;
  readonly config: TaskConfig;
  readonly docs: TaskDocs;
  readonly tokenizer?: Tokenizer;
}

/**
 * Scores documents with a classifier head (ViT on images, BERT / RoBERTa sequence
 * classification on text): one forward per group of documents, logits `[n, classes]`, the
 * prediction the first argmax.
 */
export function classificationRunner(options: ClassificationRunnerOptions): (batch: readonly EvalDoc[], firstDocId: number) => DocOutcome[] {
  const { model, forward, config, docs, tokenizer } = options;
  const labelNames = docs.labelNames;
  if (labelNames === undefined) throw new PatchworkError('FAILED_PRECONDITION', `task ${config.task}: classification needs labelled documents`);
  const isImage = docs.inputKind === 'image';
  if (isImage !== (model.inputKind === 'pixels')) {
    throw new PatchworkError('FAILED_PRECONDITION', `task ${config.task} has ${docs.inputKind} documents but the ${model.modelType} model takes ${model.inputKind}`);
  }
  const maxLength = isImage ? 0 : resolveMaxLength(model, config.max_length);
  return (batch, firstDocId) => {
    const prompts = batch.map((doc) => (isImage ? '' : promptOf(config, doc, labelNames)));
    const logits = tf.tidy(() => {
      let out;
      if (isImage) out = forward({ pixelValues: pixelBatch(model, docs, batch) }, false);
      else {
        const { ids, mask } = tokenBatch(tokenizer, prompts, maxLength);
        out = forward({ inputIds: tf.tensor2d(ids, undefined, 'int32'), attentionMask: tf.tensor2d(mask, undefined, 'int32') }, false);
      }
      return out.logits;
    });
    let rows: number[][];
    try {
      if (logits.rank !== 2) {
        throw new PatchworkError('FAILED_PRECONDITION', `classification tasks need a classifier head (logits [batch, classes]); this ${model.modelType} model returns logits of shape [${logits.shape.join(', ')}]`);
      }
      if (logits.shape[1] !== labelNames.length) {
        throw new PatchworkError('FAILED_PRECONDITION', `task ${config.task} has ${labelNames.length} classes (${labelNames.join(', ')}) but the model's head has ${logits.shape[1]}`);
      }
      rows = logits.arraySync() as number[][];
    } finally {
      logits.dispose();
    }
    return batch.map((doc, i) => {
      const docId = firstDocId + i;
      const gold = goldIndexOf(config, doc, labelNames, labelNames, docId);
      const pred = argmax(rows[i]);
      const prompt = isImage ? `image ${doc.id}` : prompts[i];
      return {
        scored: { outputType: 'classification', gold, pred, choices: labelNames },
        target: gold,
        prompt,
        arguments: { gen_args_0: { arg_0: prompt } },
        resps: [[rows[i]]],
        filteredResps: rows[i],
        pred,
        predLabel: labelNames[pred],
      };
    });
  };
}
