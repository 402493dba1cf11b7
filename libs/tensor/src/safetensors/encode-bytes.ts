import { planFile } from './layout';
import { encodeValues } from './encode-values';
import type { TensorData } from './write-file';

/**
 * A whole safetensors file built in memory, laid out exactly as `writeSafetensors` writes it (the
 * same header, tensors in the record's key order). For small payloads (request and response
 * blobs), where a round trip through the file system per call would dominate.
 */
export function safetensorsBytes(tensors: Record<string, TensorData>, metadata?: Record<string, string>): Buffer {
  const entries = Object.entries(tensors);
  const layout = planFile(
    entries.map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape })),
    metadata,
  );
  const out = Buffer.alloc(layout.fileBytes);
  out.set(layout.headerBytes, 0);
  entries.forEach(([name, t], i) => {
    out.set(encodeValues(t.data, t.dtype, `tensor ${JSON.stringify(name)}`), layout.headerBytes.byteLength + layout.tensors[i].begin);
  });
  return out;
}
