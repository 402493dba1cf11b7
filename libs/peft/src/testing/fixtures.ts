import { SafetensorsFile, tf } from '@patchwork/tensor';
import * as nodePath from 'node:path';

/** `<repo root>/../shared/fixtures`, where CI lays the peer reference fixtures. */
export const FIXTURES = nodePath.resolve(__dirname, '../../../../../shared/fixtures');
export const PEER_MODELS = nodePath.join(FIXTURES, 'peer/models');
export const PEER_ADAPTERS = nodePath.join(FIXTURES, 'peer/adapters');

/** Every tensor of a safetensors file (fixtures are small). The caller disposes them. */
export async function readAll(path: string): Promise<Map<string, tf.Tensor>> {
  const file = await SafetensorsFile.open(path);
  try {
    const out = new Map<string, tf.Tensor>();
    for (const name of file.names()) out.set(name, await file.readTensor(name));
    return out;
  } finally {
    await file.close();
  }
}

/** max |a - b|; shapes must match. */
export function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  expect(a.shape).toEqual(b.shape);
  const d = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))));
  const v = d.dataSync()[0];
  d.dispose();
  return v;
}

export function disposeAll(tensors: Iterable<tf.Tensor>): void {
  for (const t of tensors) t.dispose();
}

/** The error a promise rejects with (fails the test if it resolves). */
export async function rejection(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    return e as { code: string; message: string };
  }
  throw new Error('expected a rejection');
}

/** The error a function throws (fails the test if it returns). */
export function thrown(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (e) {
    return e as { code: string; message: string };
  }
  throw new Error('expected a throw');
}
