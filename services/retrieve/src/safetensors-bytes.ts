import { type DType, type TensorValues, encodeValues } from '@patchwork/tensor';

export interface BlobTensor {
  readonly dtype: DType;
  readonly shape: number[];
  readonly data: TensorValues;
}

/**
 * A safetensors blob built in memory (the format's header: 8-byte little-endian length, JSON with
 * dtype, shape and data offsets per tensor, padded to 8 bytes; then the data). Responses are
 * small, so this avoids a round trip through the file system per request.
 */
export function safetensorsBytes(tensors: Record<string, BlobTensor>): Buffer {
  const header: Record<string, unknown> = {};
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const bytes = encodeValues(t.data, t.dtype, name);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    parts.push(bytes);
    offset += bytes.length;
  }
  const json = Buffer.from(JSON.stringify(header));
  const padded = Buffer.concat([json, Buffer.alloc((8 - (json.length % 8)) % 8, ' ')]);
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(padded.length));
  return Buffer.concat([length, padded, ...parts]);
}
