import { SafetensorsFile, tf } from '@patchwork/tensor';
import * as nodePath from 'node:path';

/** `<repo root>/../shared/fixtures`, where CI lays the peer reference fixtures. */
export const FIXTURES = nodePath.resolve(__dirname, '../../../../../shared/fixtures');

export const PEER_MODELS = nodePath.join(FIXTURES, 'peer/models');

export function peerModelDir(name: string): string {
  return nodePath.join(PEER_MODELS, name);
}

/** Every tensor of a safetensors file, read into memory (fixtures are small). The caller disposes. */
export async function readAll(path: string): Promise<Map<string, tf.Tensor>> {
  const file = await SafetensorsFile.open(path);
  try {
    const out = new Map<string, tf.Tensor>();
    for (const info of file.tensors) out.set(info.name, await file.readTensor(info.name));
    return out;
  } finally {
    await file.close();
  }
}

/** max |a - b| over all elements; shapes must match exactly. */
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
