/** Spec-only helpers (not exported from the package): reading the peer fixtures. */
import * as path from 'node:path';
import { SafetensorsFile } from '@patchwork/tensor';

/** `<repo root>/../shared/fixtures/peer`, where CI lays the shared fixtures beside the checkout. */
export const PEER_FIXTURES = path.resolve(__dirname, '../../../../../shared/fixtures/peer');

/** Every tensor of a safetensors file, as float32 with its shape. */
export async function readAll(file: string): Promise<Map<string, { shape: number[]; values: Float32Array }>> {
  const st = await SafetensorsFile.open(file);
  try {
    const out = new Map<string, { shape: number[]; values: Float32Array }>();
    for (const t of st.tensors) out.set(t.name, { shape: [...t.shape], values: await st.readFloat32(t.name) });
    return out;
  } finally {
    await st.close();
  }
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}
