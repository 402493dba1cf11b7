import * as path from 'node:path';
import { loadModel } from '@patchwork/models';
import { loadAdapter } from '@patchwork/peft';
import { assertNoLeaks, initBackend, tf } from '@patchwork/tensor';
import type { Tokenizer } from '@patchwork/tokenizers';
import { compareSamples } from '../compat/compare-samples';
import { f1Score } from '../metrics/f1';
import { matthewsCorrcoef } from '../metrics/mcc';
import { meanStderr } from '../stats/moments';
import { loadTaskDocs } from '../tasks/docs';
import { loadTaskConfig } from '../tasks/load-task-config';
import { parseTaskConfig } from '../tasks/parse-task-config';
import { patternImages } from '../testing/docs';
import { BOOT, argmaxRows, loadWordpiece } from '../testing/tasks';
import { PEER_ADAPTERS, PEER_MODELS, tinyBert, tinyVit } from '../testing/tiny-models';
import { evaluate } from './evaluate';

let wordpiece: Tokenizer;
beforeAll(async () => {
  wordpiece = await loadWordpiece();
});

describe('classification with an image head (digits, ViT)', () => {
  beforeAll(() => initBackend({ backend: 'wasm' }));

  it('writes lm-eval results and samples that agree with a direct forward pass', async () => {
    const model = tinyVit(10);
    const task = await loadTaskConfig('digits');
    const out = await assertNoLeaks(() => evaluate({ model, task, limit: 48, batchSize: 8, modelName: 'tiny-vit', ...BOOT }));
    const { results, samples } = out;
    expect(samples).toHaveLength(48);
    // The same 48 test images straight through the model.
    const docs = loadTaskDocs(task).docs.slice(0, 48);
    const logits = tf.tidy(() => model.forward({ pixelValues: tf.tensor4d(Float32Array.from(docs.flatMap((d) => Array.from(d.pixels as Float32Array))), [48, 1, 8, 8]) }).logits);
    const preds = argmaxRows(logits.arraySync() as number[][]);
    logits.dispose();
    const golds = docs.map((d) => d.label as number);
    expect(samples.map((s) => s.pred)).toEqual(preds);
    expect(samples.map((s) => s.target)).toEqual(golds);
    const correct = preds.map((p, i) => (p === golds[i] ? 1 : 0));
    const row = results.results.digits;
    expect(row['acc,none']).toBeCloseTo(correct.reduce((a: number, b) => a + b, 0) / 48, 12);
    expect(row['acc_stderr,none']).toBeCloseTo(meanStderr(correct), 12);
    expect(row['f1_macro,none']).toBeCloseTo(f1Score(golds, preds, { average: 'macro' }), 12);
    expect(row['f1_micro,none']).toBeCloseTo(row['acc,none'] as number, 12);
    expect(row['mcc,none']).toBeCloseTo(matthewsCorrcoef(golds, preds), 12);
    expect(typeof row['mcc_stderr,none']).toBe('number');
    expect(results['n-samples'].digits).toEqual({ original: 179, effective: 48 });
    expect(results.versions.digits).toBe(1);
    expect(results.higher_is_better.digits).toEqual({ acc: true, f1_macro: true, f1_micro: true, mcc: true });
    expect(results.config).toMatchObject({ model: 'tiny-vit', batch_size: 8, limit: 48, bootstrap_iters: 1000 });
    expect((results.configs.digits.metric_list as unknown[])[0]).toEqual({ metric: 'acc', aggregation: 'mean', higher_is_better: true });
    const s = samples[3];
    expect(Object.keys(s)).toEqual(expect.arrayContaining(['doc_id', 'doc', 'target', 'arguments', 'resps', 'filtered_resps', 'filter', 'metrics', 'doc_hash', 'prompt_hash', 'target_hash', 'acc', 'f1_macro', 'mcc']));
    expect(s.doc).toMatchObject({ id: docs[3].id, label: golds[3], label_name: String(golds[3]) });
    expect(s.f1_macro).toEqual([golds[3], preds[3]]);
    expect(s.pred_label).toBe(String(preds[3]));
    expect((s.filtered_resps as number[]).length).toBe(10);
    expect(JSON.parse(JSON.stringify(out.results))).toEqual(out.results);
    model.dispose();
  });

  it('runs a PEFT adapter when given one (fixture ViT + LoRA)', async () => {
    const model = await loadModel(path.join(PEER_MODELS, 'vit'));
    const adapter = await loadAdapter(path.join(PEER_ADAPTERS, 'vit-lora'), model);
    const docs = patternImages(6, 16, 5);
    const task = parseTaskConfig({ task: 'patterns', dataset: 'digits', output_type: 'classification' });
    const withAdapter = await evaluate({ model, adapter, task, docs, batchSize: 4, ...BOOT });
    const pixels = tf.tensor4d(Float32Array.from(docs.docs.flatMap((d) => [0, 1, 2].flatMap(() => Array.from(d.pixels as Float32Array)))), [6, 3, 16, 16]);
    const expected = tf.tidy(() => adapter.forward({ pixelValues: pixels }).logits.arraySync() as number[][]);
    const base = tf.tidy(() => model.forward({ pixelValues: pixels }).logits.arraySync() as number[][]);
    pixels.dispose();
    withAdapter.samples.forEach((s, i) => {
      (s.filtered_resps as number[]).forEach((v, k) => expect(v).toBeCloseTo(expected[i][k], 5));
      expect(s.pred).toBe(argmaxRows(expected)[i]);
    });
    expect(Math.abs((withAdapter.samples[0].filtered_resps as number[])[0] - base[0][0])).toBeGreaterThan(1e-4);
    adapter.dispose?.();
    model.dispose();
  });

  it('feeds MUSCLE compatibility straight from two runs\' samples', async () => {
    const task = await loadTaskConfig('digits');
    const [v1, v2] = [tinyVit(10, 3), tinyVit(10, 4)];
    const [a, b] = await Promise.all([v1, v2].map((model) => evaluate({ model, task, limit: 24, batchSize: 8, ...BOOT })));
    const report = compareSamples(a.samples, b.samples);
    const c = report.counts!;
    expect(c.both_correct + c.old_correct_new_wrong + c.old_wrong_new_correct + c.both_wrong_same_prediction + c.both_wrong_different_prediction).toBe(24);
    expect(report.accuracy_old).toBeCloseTo(a.results.results.digits['acc,none'] as number, 12);
    expect(report.accuracy_new).toBeCloseTo(b.results.results.digits['acc,none'] as number, 12);
    const differing = a.samples.filter((s, i) => s.pred !== b.samples[i].pred && b.samples[i].pred !== s.target).length;
    expect(report.inconsistency_flip_rate).toBeCloseTo(differing / 24, 12);
    v1.dispose();
    v2.dispose();
  });

  it('refuses a head that does not fit the task', async () => {
    const model = tinyVit(4);
    const task = await loadTaskConfig('digits');
    await expect(evaluate({ model, task, limit: 4, batchSize: 4 })).rejects.toThrow(/10 classes .* head has 4/);
    model.dispose();
  });
});

describe('classification with a text head (BERT)', () => {
  beforeAll(() => initBackend({ backend: 'wasm' }));

  it('tokenizes with truncation and scores like a direct forward pass', async () => {
    const model = tinyBert(wordpiece.vocabSize, ['Democratic', 'Republican'], 48);
    const task = await loadTaskConfig('sotu_party');
    const { results, samples } = await evaluate({ model, task, tokenizer: wordpiece, limit: 4, batchSize: 2, ...BOOT });
    const texts = samples.map((s) => (s.doc as { text: string }).text);
    const enc = wordpiece.encodeBatch(texts, { padding: 'longest', truncation: { maxLength: 48 } });
    const preds = tf.tidy(() => argmaxRows(model.forward({ inputIds: tf.tensor2d(enc.inputIds, undefined, 'int32'), attentionMask: tf.tensor2d(enc.attentionMask, undefined, 'int32') }).logits.arraySync() as number[][]));
    expect(samples.map((s) => s.pred)).toEqual(preds);
    expect(results.results.sotu_party['acc,none']).toBe(samples.filter((s) => s.acc === 1).length / 4);
    await expect(evaluate({ model, task, limit: 2, batchSize: 2 })).rejects.toThrow(/tokenizer/);
    model.dispose();
  });
});
