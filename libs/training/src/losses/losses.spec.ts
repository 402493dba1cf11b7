import { assertNoLeaks, describeEachBackend, tf } from '@patchwork/tensor';
import fc from 'fast-check';
import { Prng } from '../random/prng';
import { causalLmLabels, causalLmLoss } from './causal-lm';
import { classificationLoss } from './classification';
import { IGNORE_INDEX, countedLabels, crossEntropy } from './cross-entropy';
import { maskTokens, maskedLmLoss } from './masked-lm';

/** −log softmax(row)[label], in float64. */
function nll(row: number[], label: number): number {
  const max = Math.max(...row);
  const lse = max + Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0));
  return lse - row[label];
}

describeEachBackend('losses', () => {
  it('crossEntropy matches the float64 definition and skips ignored labels', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 2, max: 7 }),
        fc.integer({ min: 0, max: 10_000 }),
        (n, c, seed) => {
          const rng = Prng.fromSeed(seed);
          const rows = Array.from({ length: n }, () => Array.from({ length: c }, () => rng.nextNormal() * 5));
          const labels = rows.map(() => (rng.nextFloat() < 0.3 ? IGNORE_INDEX : rng.nextInt(c)));
          const counted = rows.map((r, i) => (labels[i] === IGNORE_INDEX ? undefined : nll(r, labels[i]))).filter((x): x is number => x !== undefined);
          const want = counted.length === 0 ? 0 : counted.reduce((s, x) => s + x, 0) / counted.length;
          const logits = tf.tensor2d(rows);
          const lab = tf.tensor1d(labels, 'int32');
          const got = tf.tidy(() => crossEntropy(logits, lab).dataSync()[0]);
          const sum = tf.tidy(() => crossEntropy(logits, lab, 'sum').dataSync()[0]);
          expect(Math.abs(got - want)).toBeLessThan(1e-4 * (1 + want));
          expect(Math.abs(sum - want * countedLabels(labels))).toBeLessThan(1e-3 * (1 + sum));
          tf.dispose([logits, lab]);
        },
      ),
      { numRuns: 30 },
    );
  });

  it('has the softmax-minus-one-hot gradient', () => {
    const logits = tf.tensor2d([[1, 2, 0.5]]);
    const labels = tf.tensor1d([1], 'int32');
    const g = tf.grad((x: tf.Tensor) => crossEntropy(x, labels))(logits);
    const p = tf.softmax(logits).dataSync();
    const got = g.dataSync();
    [p[0], p[1] - 1, p[2]].forEach((e, i) => expect(got[i]).toBeCloseTo(e, 5));
    tf.dispose([logits, labels, g]);
  });

  it('causalLmLoss predicts the next token and ignores padding', () => {
    // Vocabulary 3, one sequence [0, 1, 2, pad]: position t's logits favour token t+1.
    const big = 20;
    const logits = tf.tensor3d([
      [
        [0, big, 0],
        [0, 0, big],
        [big, 0, 0],
        [0, 0, 0],
      ],
    ]);
    const ids = tf.tensor2d([[0, 1, 2, 0]], undefined, 'int32');
    const mask = tf.tensor2d([[1, 1, 1, 0]], undefined, 'int32');
    const labels = causalLmLabels(ids, mask);
    expect(Array.from(labels.dataSync())).toEqual([0, 1, 2, IGNORE_INDEX]);
    const loss = causalLmLoss(logits, labels);
    // Two counted targets (1 and 2), each predicted with probability 1/(1 + 2e^-20).
    expect(loss.dataSync()[0]).toBeCloseTo(Math.log(1 + 2 * Math.exp(-big)), 6);
    const unshifted = maskedLmLoss(logits, labels);
    expect(unshifted.dataSync()[0]).toBeGreaterThan(10);
    tf.dispose([logits, ids, mask, labels, loss, unshifted]);
  });

  it('classificationLoss is the mean cross-entropy and validates shapes', () => {
    const logits = tf.tensor2d([
      [2, 0],
      [0, 3],
    ]);
    const labels = tf.tensor1d([0, 0], 'int32');
    const loss = classificationLoss(logits, labels);
    expect(loss.dataSync()[0]).toBeCloseTo((nll([2, 0], 0) + nll([0, 3], 0)) / 2, 5);
    const wrong = tf.tensor1d([0], 'int32');
    expect(() => classificationLoss(logits, wrong)).toThrow(/labels/);
    const floats = tf.tensor1d([0, 1]);
    expect(() => classificationLoss(logits, floats)).toThrow(/int32/);
    tf.dispose([logits, labels, loss, wrong, floats]);
  });

  it('losses leave no tensors behind', async () => {
    const logits = tf.randomNormal([2, 5, 7]);
    const ids = tf.tensor2d([[1, 2, 3, 4, 5], [6, 5, 4, 0, 0]], undefined, 'int32');
    await assertNoLeaks(() => {
      const labels = causalLmLabels(ids);
      tf.dispose([causalLmLoss(logits, labels), maskedLmLoss(logits, labels), labels]);
    });
    tf.dispose([logits, ids]);
  });
});

describe('maskTokens', () => {
  const ids = Int32Array.from({ length: 20_000 }, (_, i) => 5 + (i % 50));

  it('selects ~15% of eligible tokens and replaces them 80/10/10', () => {
    const { inputIds, labels } = maskTokens(ids, { rng: Prng.fromSeed(3), maskTokenId: 1, vocabSize: 60 });
    const targets = [...labels.keys()].filter((i) => labels[i] !== IGNORE_INDEX);
    expect(Math.abs(targets.length / ids.length - 0.15)).toBeLessThan(0.01);
    const masked = targets.filter((i) => inputIds[i] === 1).length / targets.length;
    const kept = targets.filter((i) => inputIds[i] === ids[i]).length / targets.length;
    expect(Math.abs(masked - 0.8)).toBeLessThan(0.02);
    // Kept = 10% plus random draws that happen to hit the original id (1/60 of 10%).
    expect(Math.abs(kept - (0.1 + 0.1 / 60))).toBeLessThan(0.02);
    expect(targets.filter((i) => labels[i] !== ids[i])).toEqual([]);
    expect([...ids.keys()].filter((i) => labels[i] === IGNORE_INDEX && inputIds[i] !== ids[i])).toEqual([]);
  });

  it('never selects special tokens or padding, and is reproducible from the generator state', () => {
    const row = Int32Array.from([2, 7, 8, 9, 3, 0, 0]);
    const mask = [1, 1, 1, 1, 1, 0, 0];
    for (let seed = 0; seed < 50; seed++) {
      const a = maskTokens(row, { rng: Prng.fromSeed(seed), maskTokenId: 4, vocabSize: 10, specialTokenIds: new Set([2, 3]), attentionMask: mask, mlmProbability: 0.9 });
      const b = maskTokens(row, { rng: Prng.fromSeed(seed), maskTokenId: 4, vocabSize: 10, specialTokenIds: new Set([2, 3]), attentionMask: mask, mlmProbability: 0.9 });
      expect(a).toEqual(b);
      for (const i of [0, 4, 5, 6]) expect(a.labels[i]).toBe(IGNORE_INDEX);
    }
  });

  it('rejects bad options', () => {
    expect(() => maskTokens(ids, { rng: Prng.fromSeed(1), maskTokenId: 99, vocabSize: 60, mlmProbability: 2 })).toThrow(/mlmProbability.*maskTokenId/);
    expect(() => maskTokens([1, 2], { rng: Prng.fromSeed(1), maskTokenId: 0, vocabSize: 3, attentionMask: [1] })).toThrow(/attentionMask/);
  });
});
