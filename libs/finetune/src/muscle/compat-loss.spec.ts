import { tf } from '@patchwork/tensor';
import { useWasmBackend } from '../testing/backend';
import { compatibilityLoss } from './compat-loss';

useWasmBackend();

function kl(p: number[], q: number[]): number {
  return p.reduce((s, pi, i) => s + (pi > 0 ? pi * Math.log(pi / q[i]) : 0), 0);
}

function softmax(z: number[], t: number): number[] {
  const m = Math.max(...z.map((v) => v / t));
  const e = z.map((v) => Math.exp(v / t - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

describe('compatibilityLoss', () => {
  const zc = [
    [2, 0, -1],
    [0, 1, 3],
  ];
  const z1 = [
    [0, 3, 0],
    [1, 1, 1],
  ];
  const z2 = [
    [1, 1, -2],
    [-1, 0, 2],
  ];
  // Row 0 predicts class 0 (label 1: wrong → follow the old model); row 1 predicts 2 (label 2: right → follow the new one).
  const labels = [1, 2];

  it('distils from the old model where the compatibility model is wrong and from the new one elsewhere', () => {
    const T = 2;
    const expected = (kl(softmax(z1[0], T), softmax(zc[0], T)) + kl(softmax(z2[1], T), softmax(zc[1], T))) / 2;
    const got = tf.tidy(() => compatibilityLoss(tf.tensor2d(zc), tf.tensor2d(z1), tf.tensor2d(z2), tf.tensor1d(labels, 'int32'), { temperature: T, lambda: 1 }).dataSync()[0]);
    expect(got).toBeCloseTo(expected, 5);
  });

  it('mixes in cross-entropy with weight 1 − λ', () => {
    const ce = (-Math.log(softmax(zc[0], 1)[1]) - Math.log(softmax(zc[1], 1)[2])) / 2;
    const comp = (kl(softmax(z1[0], 2), softmax(zc[0], 2)) + kl(softmax(z2[1], 2), softmax(zc[1], 2))) / 2;
    const got = tf.tidy(() => compatibilityLoss(tf.tensor2d(zc), tf.tensor2d(z1), tf.tensor2d(z2), tf.tensor1d(labels, 'int32'), { temperature: 2, lambda: 0.25 }).dataSync()[0]);
    expect(got).toBeCloseTo(0.25 * comp + 0.75 * ce, 5);
  });

  it('is zero when the student already matches the teacher it follows, and differentiable in the student only', () => {
    const student = tf.variable(tf.tensor2d(z2), true);
    const old = tf.tensor2d(z1);
    const fresh = tf.tensor2d(z2);
    // z2 predicts classes 0/1 (tie→0) and 2: with labels [0, 2] it is right on both, so only KL to itself remains.
    const y = tf.tensor1d([0, 2], 'int32');
    const { value, grads } = tf.variableGrads(() => compatibilityLoss(student, old, fresh, y, { temperature: 2, lambda: 1 }), [student]);
    expect(value.dataSync()[0]).toBeCloseTo(0, 6);
    expect(Math.max(...Array.from(grads[student.name].dataSync()).map(Math.abs))).toBeLessThan(1e-6);
    tf.dispose([value, grads[student.name], student, old, fresh, y]);
  });
});
