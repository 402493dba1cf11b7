import { TensorSpec, dtypeByteSize } from '@patchwork/tensor';

export interface LaidOutTensor extends TensorSpec {
  /** Absolute file offset of the tensor's first byte. */
  start: number;
  byteLength: number;
}

export interface ShardLayout {
  /** The 8-byte length prefix and the space-padded JSON header. */
  header: Uint8Array;
  tensors: LaidOutTensor[];
  fileBytes: number;
}

const elements = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * The layout @patchwork/tensor's writer gives a file (tensors in spec order, `__metadata__`
 * first, JSON padded with spaces to a multiple of 8 so data starts aligned), reproduced here
 * because this writer fills tensors in chunks and resumes files part-way, which the tensor
 * library's whole-tensor writer does not offer. Equal specs give byte-identical files.
 */
export function layoutShard(specs: readonly TensorSpec[], metadata: Record<string, string>): ShardLayout {
  const header = Object.create(null) as Record<string, unknown>;
  if (Object.keys(metadata).length > 0) header['__metadata__'] = metadata;
  const relative: { spec: TensorSpec; begin: number; byteLength: number }[] = [];
  let offset = 0;
  for (const spec of specs) {
    const byteLength = elements(spec.shape) * dtypeByteSize(spec.dtype);
    header[spec.name] = { dtype: spec.dtype, shape: spec.shape, data_offsets: [offset, offset + byteLength] };
    relative.push({ spec, begin: offset, byteLength });
    offset += byteLength;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.byteLength / 8) * 8;
  const bytes = new Uint8Array(8 + padded).fill(0x20, 8 + json.byteLength);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(padded), true);
  bytes.set(json, 8);
  const tensors = relative.map(({ spec, begin, byteLength }) => ({ name: spec.name, dtype: spec.dtype, shape: [...spec.shape], start: bytes.byteLength + begin, byteLength }));
  return { header: bytes, tensors, fileBytes: bytes.byteLength + offset };
}
