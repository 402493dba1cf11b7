import type { DType } from './dtype';
import { TensorValues, encodeValues } from './encode-values';
import { SafetensorsWriter } from './writer';

export interface TensorData {
  dtype: DType;
  shape: number[];
  data: TensorValues;
}

/**
 * Writes a whole safetensors file atomically, tensors in the record's key order. For data larger
 * than memory use `SafetensorsWriter` directly.
 */
export async function writeSafetensors(path: string, tensors: Record<string, TensorData>, metadata?: Record<string, string>): Promise<void> {
  const entries = Object.entries(tensors);
  const writer = await SafetensorsWriter.create(
    path,
    entries.map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape })),
    metadata,
  );
  try {
    for (const [name, t] of entries) await writer.write(name, encodeValues(t.data, t.dtype, `tensor ${JSON.stringify(name)}`));
    await writer.finish();
  } catch (e) {
    await writer.abort();
    throw e;
  }
}
