import fc from 'fast-check';
import { describeEachBackend, tf } from '@patchwork/tensor';
import { PrototypeClassifier } from './prototype-classifier';

describeEachBackend('PrototypeClassifier', () => {
  it('scores the cosine similarity to each class mean (property)', () => {
    const vec = fc.array(fc.float({ min: -5, max: 5, noNaN: true, noDefaultInfinity: true }), { minLength: 3, maxLength: 3 });
    fc.assert(
      fc.property(fc.array(vec, { minLength: 4, maxLength: 4 }), vec, (rows, query) => {
        const protos = new PrototypeClassifier(3);
        protos.addClasses(Float32Array.from(rows.flat()), [7, 9, 7, 9]);
        expect(protos.classes).toEqual([7, 9]);
        const scores = tf.tidy(() => protos.scores(tf.tensor2d([query])).dataSync());
        [[0, 2], [1, 3]].forEach(([a, b], c) => {
          const mean = [0, 1, 2].map((j) => (Math.fround(rows[a][j]) + Math.fround(rows[b][j])) / 2);
          const norm = (v: number[]) => Math.max(Math.hypot(...v), 1e-12);
          const cos = mean.reduce((s, m, j) => s + m * query[j], 0) / (norm(mean) * norm(query));
          expect(Math.abs(scores[c] - cos)).toBeLessThanOrEqual(1e-4);
        });
      }),
    );
  });

  it('predicts the nearest class by angle and refuses repeated classes', () => {
    const protos = new PrototypeClassifier(2);
    protos.addClasses(Float32Array.of(1, 0, 3, 0, 0, 1), [4, 4, 5]);
    expect(Array.from(tf.tidy(() => protos.predict(tf.tensor2d([[10, 1], [0.1, 2]]))))).toEqual([4, 5]);
    expect(Array.from(protos.prototype(4))).toEqual([2, 0]);
    expect(() => protos.addClasses(Float32Array.of(1, 1), [5])).toThrow(/class 5 already has a prototype/);
    expect(() => new PrototypeClassifier(2).scores(tf.zeros([1, 2]) as tf.Tensor2D)).toThrow(/no class yet/);
  });
});
