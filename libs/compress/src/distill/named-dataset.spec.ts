import { loadTask } from '@patchwork/datasets';
import { PatchworkError } from '@patchwork/errors';
import type { RawConfig } from '@patchwork/models';
import { initBackend, tf } from '@patchwork/tensor';
import { BPE_TOKENIZER, WORDPIECE_TOKENIZER } from '../testing/model-dirs';
import { checkDistillData, distillSource, taskTermFor } from './data-source';
import { namedDistillDataset } from './named-dataset';

const GPT2: RawConfig = { model_type: 'gpt2', architectures: ['GPT2LMHeadModel'], vocab_size: 600, n_embd: 16, n_head: 2, n_layer: 1, n_positions: 32 };
const BERT = (labels: string[]): RawConfig => ({
  model_type: 'bert',
  architectures: ['BertForSequenceClassification'],
  vocab_size: 450,
  hidden_size: 16,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  intermediate_size: 32,
  max_position_embeddings: 64,
  id2label: Object.fromEntries(labels.map((l, i) => [String(i), l])),
});
const VIT = (imageSize: number): RawConfig => ({ model_type: 'vit', architectures: ['ViTForImageClassification'], hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 32, image_size: imageSize, patch_size: 4, num_channels: 2, num_labels: 10 });

function caught(fn: () => unknown): PatchworkError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(PatchworkError);
    return e as PatchworkError;
  }
  throw new Error('expected a PatchworkError');
}

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
});

describe('named intermediate pre-training data', () => {
  it('knows corpora and single tasks, and names the field for anything else', () => {
    expect(distillSource('moby-dick')).toEqual({ kind: 'corpus', name: 'moby-dick' });
    expect(distillSource('spam')).toMatchObject({ kind: 'task', name: 'spam', task: { labelNames: ['ham', 'spam'] } });
    const unknown = caught(() => distillSource('imagenet', 'distill_dataset'));
    expect(unknown).toMatchObject({ code: 'INVALID_ARGUMENT', violations: [{ field: 'distill_dataset' }] });
    expect(unknown.message).toContain('moby-dick, sotu, spam-ham');
    expect(caught(() => distillSource('split-digits')).message).toMatch(/task sequence.*split-digits-1/);
  });

  it('checks modality and image size against the model before loading anything', () => {
    expect(caught(() => checkDistillData('sotu', VIT(8))).message).toContain('is text but the vit model reads images');
    expect(caught(() => checkDistillData('digits', GPT2)).message).toContain('is an image task but the gpt2 model reads tokens');
    expect(caught(() => checkDistillData('digits', VIT(16))).message).toContain('has 8x8 images but the model takes 16x16');
    expect(checkDistillData('digits-parity', VIT(8)).kind).toBe('task');
  });

  it('gives the task term only where it means something', () => {
    expect(taskTermFor(distillSource('moby-dick'), GPT2)).toBe('lm');
    expect(taskTermFor(distillSource('spam'), GPT2)).toBe('lm');
    expect(taskTermFor(distillSource('spam'), BERT(['ham', 'spam']))).toBe('classification');
    expect(taskTermFor(distillSource('spam'), BERT(['spam', 'ham']))).toBe('none');
    expect(taskTermFor(distillSource('moby-dick'), BERT(['ham', 'spam']))).toBe('none');
  });

  it('packs a corpus into full blocks for an LM, deterministically', async () => {
    const a = await namedDistillDataset('moby-dick', BPE_TOKENIZER, GPT2, { maxLength: 16, maxExamples: 6 });
    const b = await namedDistillDataset('moby-dick', BPE_TOKENIZER, GPT2, { maxLength: 16, maxExamples: 6 });
    try {
      expect(a.info).toEqual({ name: 'moby-dick', kind: 'corpus', split: 'train', examples: 6, length: 16, taskTerm: 'lm' });
      const [x, y] = [a.batch([0, 5]), b.batch([0, 5])];
      expect(x.inputs.inputIds?.shape).toEqual([2, 16]);
      const ids = x.inputs.inputIds?.dataSync() as Int32Array;
      expect(Array.from(ids)).toEqual(Array.from(y.inputs.inputIds?.dataSync() as Int32Array));
      expect(ids.every((id) => id >= 0 && id < 600)).toBe(true);
      expect(Array.from(x.inputs.attentionMask?.dataSync() as Int32Array).every((m) => m === 1)).toBe(true);
      expect(x.labels).toBeUndefined();
      tf.dispose([x.inputs.inputIds, x.inputs.attentionMask, y.inputs.inputIds, y.inputs.attentionMask] as tf.Tensor[]);
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  it('frames text rows for a BERT classifier, with labels only when its classes are the task’s', async () => {
    const matching = await namedDistillDataset('spam', WORDPIECE_TOKENIZER, BERT(['ham', 'spam']), { maxLength: 12, maxExamples: 5 });
    const other = await namedDistillDataset('spam', WORDPIECE_TOKENIZER, BERT(['a', 'b']), { maxLength: 12, maxExamples: 5 });
    try {
      expect(matching.info).toMatchObject({ kind: 'task', examples: 5, length: 12, taskTerm: 'classification' });
      const batch = matching.batch([0, 1, 2, 3, 4]);
      const ids = batch.inputs.inputIds?.arraySync() as number[][];
      const mask = batch.inputs.attentionMask?.arraySync() as number[][];
      for (const [r, row] of ids.entries()) {
        const real = mask[r].filter((m) => m === 1).length;
        expect(row[0]).toBe(2); // [CLS]
        expect(row[real - 1]).toBe(3); // [SEP]
        expect(row.slice(real).every((id) => id === 0)).toBe(true); // [PAD]
      }
      expect(Array.from(batch.labels?.dataSync() as Int32Array).every((l) => l === 0 || l === 1)).toBe(true);
      expect(other.info.taskTerm).toBe('none');
      expect(other.batch([0]).labels).toBeUndefined();
      tf.dispose([batch.inputs.inputIds, batch.inputs.attentionMask, batch.labels] as tf.Tensor[]);
    } finally {
      matching.dispose();
      other.dispose();
    }
  });

  it('turns an image task into pixel rows with the model’s channels, and refuses a foreign tokenizer', async () => {
    const before = tf.memory().numTensors;
    const digits = await namedDistillDataset('digits', '/nonexistent', VIT(8), { maxExamples: 7 });
    expect(digits.info).toEqual({ name: 'digits', kind: 'task', split: 'train', examples: 7, length: null, taskTerm: 'none' });
    const test = await namedDistillDataset('digits', '/nonexistent', VIT(8), { split: 'test' });
    expect(test.info).toMatchObject({ split: 'test', examples: loadTask('digits').test.labels.length });
    test.dispose();
    const batch = digits.batch([0, 6]);
    const pixels = batch.inputs.pixelValues as tf.Tensor;
    expect(pixels.shape).toEqual([2, 2, 8, 8]);
    const [c0, c1] = tf.tidy(() => tf.split(pixels, 2, 1)).map((t) => {
      const v = t.dataSync();
      t.dispose();
      return v;
    });
    expect(Array.from(c0)).toEqual(Array.from(c1));
    expect(Math.max(...c0)).toBeLessThanOrEqual(1);
    tf.dispose([pixels]);
    digits.dispose();
    expect(tf.memory().numTensors).toBe(before);
    await expect(namedDistillDataset('sotu', WORDPIECE_TOKENIZER, { ...GPT2, vocab_size: 100 })).rejects.toMatchObject({ code: 'FAILED_PRECONDITION', message: expect.stringMatching(/450 tokens but the model embeds only 100/) });
    await expect(namedDistillDataset('sotu', '/nonexistent', GPT2)).rejects.toMatchObject({ code: 'FAILED_PRECONDITION', message: expect.stringMatching(/needs the model's tokenizer/) });
    await expect(namedDistillDataset('sotu', BPE_TOKENIZER, GPT2, { maxLength: 64 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/64 exceeds the model's 32 positions/) });
  });
});
