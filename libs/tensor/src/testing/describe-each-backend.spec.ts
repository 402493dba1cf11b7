import * as tf from '@tensorflow/tfjs';
import { describeEachBackend, TEST_BACKENDS } from './describe-each-backend';

const seen: string[] = [];

describeEachBackend('elementwise ops', (backend) => {
  it('runs on the declared backend', () => {
    seen.push(backend);
    expect(tf.getBackend()).toBe(backend);
    const y = tf.tidy(() => tf.sub(tf.tensor1d([5, 7]), tf.tensor1d([2, 3])));
    expect(Array.from(y.dataSync())).toEqual([3, 4]);
    y.dispose();
  });
});

afterAll(() => {
  expect(seen).toEqual([...TEST_BACKENDS]);
});
