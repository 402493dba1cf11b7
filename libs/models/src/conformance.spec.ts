import { tf } from '@patchwork/tensor';
import * as nodePath from 'node:path';
import { loadModel } from './load';
import type { Model } from './model';
import { disposeAll, maxAbsDiff, peerModelDir, readAll } from './testing/fixtures';

/*
 * Parity with transformers 5.17 (PyTorch, float32, eager attention) on the peer fixtures: logits
 * and every hidden state, padded positions included, within 1e-4.
 */
const TOLERANCE = 1e-4;
const parity: Record<string, { logits: number; hidden: number }> = {};

afterAll(() => {
  // Reported so regressions in accuracy are visible before they cross the tolerance.
  console.info(`max |diff| vs transformers: ${JSON.stringify(parity)}`);
});

describe.each(['gpt2', 'bert', 'roberta', 'vit', 'llama'])('%s matches transformers', (name) => {
  let model: Model;
  let ref: Map<string, tf.Tensor>;

  beforeAll(async () => {
    model = await loadModel(peerModelDir(name));
    ref = await readAll(nodePath.join(peerModelDir(name), 'reference.safetensors'));
  });

  afterAll(() => {
    model.dispose();
    disposeAll(ref.values());
  });

  it('gives the reference logits and hidden states at every layer, without leaking tensors', () => {
    const before = tf.memory().numTensors;
    const out = model.forward(
      { inputIds: ref.get('input_ids'), attentionMask: ref.get('attention_mask'), pixelValues: ref.get('pixel_values') },
      { outputHiddenStates: true },
    );
    const hidden = out.hiddenStates ?? [];
    expect(hidden).toHaveLength(model.numLayers + 1);
    const logitsDiff = maxAbsDiff(out.logits, ref.get('logits') as tf.Tensor);
    let hiddenDiff = 0;
    hidden.forEach((h, k) => {
      const expected = ref.get(`hidden_states.${k}`);
      expect(expected).toBeDefined();
      hiddenDiff = Math.max(hiddenDiff, maxAbsDiff(h, expected as tf.Tensor));
    });
    parity[name] = { logits: logitsDiff, hidden: hiddenDiff };
    expect(logitsDiff).toBeLessThan(TOLERANCE);
    expect(hiddenDiff).toBeLessThan(TOLERANCE);
    disposeAll([out.logits, ...hidden]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('gives the same logits without hidden states', () => {
    const before = tf.memory().numTensors;
    const { logits, hiddenStates } = model.forward({
      inputIds: ref.get('input_ids'),
      attentionMask: ref.get('attention_mask'),
      pixelValues: ref.get('pixel_values'),
    });
    expect(hiddenStates).toBeUndefined();
    expect(maxAbsDiff(logits, ref.get('logits') as tf.Tensor)).toBeLessThan(TOLERANCE);
    logits.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
