import { tf } from '@patchwork/tensor';
import { useWasmBackend } from '../testing/backend';
import { tinyModel } from '../testing/tiny-models';
import { fitClassifier } from './fit-classifier';

useWasmBackend();

describe('fitClassifier', () => {
  it('keeps a head of the right size and replaces one of another size, sharing every other tensor', () => {
    const base = tinyModel('vit', { labels: 5 });
    const same = fitClassifier(base, ['a', 'b', 'c', 'd', 'e'], 1);
    expect(same.model).toBe(base);
    expect(same.reinitialised).toBe(false);
    const fitted = fitClassifier(base, ['x', 'y'], 1);
    expect(fitted.reinitialised).toBe(true);
    expect(fitted.model.weights.get('classifier.weight')?.shape).toEqual([2, 16]);
    expect(Array.from((fitted.model.weights.get('classifier.bias') as tf.Tensor).dataSync())).toEqual([0, 0]);
    expect(fitted.model.weights.get('vit.layernorm.weight')).toBe(base.weights.get('vit.layernorm.weight'));
    expect(fitted.model.config).toMatchObject({ num_labels: 2, id2label: { '0': 'x', '1': 'y' } });
    const pixels = tf.zeros([1, 1, 8, 8]);
    const logits = fitted.model.forward({ pixelValues: pixels }).logits;
    expect(logits.shape).toEqual([1, 2]);
    tf.dispose([pixels, logits]);
    const n = tf.memory().numTensors;
    fitted.dispose();
    expect(tf.memory().numTensors).toBe(n - 2);
    base.dispose();
  });
});
