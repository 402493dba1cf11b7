import fc from 'fast-check';
import { describeEachBackend, tf } from '@patchwork/tensor';
import { squares, tinyVit } from '../testing/tiny-vit';
import { BottleneckAdapter } from './bottleneck-adapter';
import { imageGeometry } from './image-inputs';
import { LinearHead } from './linear-head';
import { DEFAULT_TASK_TRAINING, orthogonalityLoss, trainTask } from './train-task';

describeEachBackend('task training', () => {
  it('orthogonality loss is the cross-entropy of [anchors; features]·[anchors; features]ᵀ/τ against the identity (property)', () => {
    const row = fc.array(fc.float({ min: -2, max: 2, noNaN: true, noDefaultInfinity: true }), { minLength: 3, maxLength: 3 });
    fc.assert(
      fc.property(fc.array(row, { minLength: 1, maxLength: 4 }), fc.array(row, { minLength: 0, maxLength: 3 }), (features, anchors) => {
        const m = [...anchors, ...features].map((r) => r.map(Math.fround));
        let expected = 0;
        for (let i = 0; i < m.length; i++) {
          const logits = m.map((r) => r.reduce((s, v, j) => s + v * m[i][j], 0) / 0.8);
          const max = Math.max(...logits);
          expected += Math.log(logits.reduce((s, l) => s + Math.exp(l - max), 0)) + max - logits[i];
        }
        expected /= m.length;
        const got = tf.tidy(() => orthogonalityLoss(tf.tensor2d(features), anchors.length ? tf.tensor2d(anchors) : undefined, 0.8).dataSync()[0]);
        expect(Math.abs(got - expected)).toBeLessThanOrEqual(1e-3 * (1 + Math.abs(expected)));
      }),
      { numRuns: 30 },
    );
  });

  it("trains only the current task's head columns and stops on abort", async () => {
    const model = tinyVit(2);
    const adapter = BottleneckAdapter.create(model, { bottleneck: 2, scale: 0.5, dropout: 0 }, 1);
    const head = new LinearHead(16, 1);
    head.grow(2);
    head.grow(2);
    const before = head.toArrays();
    const data = squares([4, 5], 8, 1);
    const targets = Int32Array.from(data.labels, (y) => y - 2);
    const options = { ...DEFAULT_TASK_TRAINING, epochs: 2, batchSize: 8, lr: 0.05 };
    const result = await trainTask({ model, adapter, head, inputs: data.inputs, geometry: imageGeometry(model), targets, columns: [2, 4], options, seed: 1 });
    expect(result.steps).toBe(4);
    const after = head.toArrays();
    // Masked-out classes get exactly zero gradient: their rows and biases do not move.
    expect(Array.from(after?.weight.subarray(0, 32) ?? [])).toEqual(Array.from(before?.weight.subarray(0, 32) ?? []));
    expect(Array.from(after?.bias.subarray(0, 2) ?? [])).toEqual(Array.from(before?.bias.subarray(0, 2) ?? []));
    expect(Array.from(after?.weight.subarray(32) ?? [])).not.toEqual(Array.from(before?.weight.subarray(32) ?? []));
    const controller = new AbortController();
    controller.abort();
    await expect(trainTask({ model, adapter, head, inputs: data.inputs, geometry: imageGeometry(model), targets, columns: [2, 4], options, seed: 1, signal: controller.signal })).rejects.toThrow(/cancelled at step 0/);
    // A one-class task in batches of one: both losses are a constant 0, and training still runs.
    const single = new LinearHead(16, 2);
    single.grow(1);
    const one = squares([7], 3, 2);
    const trivial = await trainTask({ model, adapter, head: single, inputs: one.inputs, geometry: imageGeometry(model), targets: new Int32Array(3), columns: [0, 1], options: { ...options, batchSize: 1 }, seed: 2 });
    expect(trivial).toEqual({ steps: 6, finalLoss: 0 });
    single.dispose();
    adapter.dispose();
    head.dispose();
    model.dispose();
  });
});
