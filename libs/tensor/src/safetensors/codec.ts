import { PatchworkError } from '@patchwork/errors';
import { DType, DTYPES, dtypeByteSize, isDType } from './dtype';
import { float32BitsToBfloat16, float32BitsToHalf, halfLookupTable } from './half';

/** safetensors is little-endian; typed-array views are host-endian, so a big-endian host is refused. */
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function assertLittleEndianHost(): void {
  if (!HOST_LITTLE_ENDIAN) throw new PatchworkError('UNIMPLEMENTED', 'safetensors I/O requires a little-endian host');
}

/** Copies `bytes` into a fresh buffer when its offset would misalign a typed view of `elementSize`. */
export function aligned(bytes: Uint8Array, elementSize: number): Uint8Array {
  return bytes.byteOffset % elementSize === 0 ? bytes : bytes.slice();
}

function checkByteLength(bytes: Uint8Array, dtype: DType): number {
  const size = dtypeByteSize(dtype);
  if (bytes.byteLength % size !== 0) {
    throw new PatchworkError('INVALID_ARGUMENT', `${bytes.byteLength} bytes is not a whole number of ${dtype} elements (${size} bytes each)`);
  }
  return bytes.byteLength / size;
}

/**
 * Encodes float32 values as `dtype` bytes (little-endian). F16 and BF16 round to nearest even;
 * NaN and ±Inf are preserved; values beyond a format's range become ±Inf as in torch.
 */
export function encodeFloat32(values: Float32Array, dtype: DType): Uint8Array {
  assertLittleEndianHost();
  switch (dtype) {
    case 'F32':
      return new Uint8Array(values.slice().buffer);
    case 'F64':
      return new Uint8Array(Float64Array.from(values).buffer);
    case 'F16':
    case 'BF16': {
      const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
      const out = new Uint16Array(values.length);
      const convert = dtype === 'F16' ? float32BitsToHalf : float32BitsToBfloat16;
      for (let i = 0; i < bits.length; i++) out[i] = convert(bits[i]);
      return new Uint8Array(out.buffer);
    }
    default:
      throw new PatchworkError(
        'INVALID_ARGUMENT',
        isDType(dtype) ? `encodeFloat32 writes float dtypes only (F32, F16, BF16, F64), not ${dtype}` : `unknown dtype ${JSON.stringify(dtype)}; expected one of ${DTYPES.join(', ')}`,
      );
  }
}

/**
 * Decodes little-endian `dtype` bytes to float32. Integers and booleans become their numeric
 * values; I64 beyond ±2^53 and F64 beyond float32 precision are rounded.
 */
export function decodeToFloat32(bytes: Uint8Array, dtype: DType): Float32Array {
  assertLittleEndianHost();
  const count = checkByteLength(bytes, dtype);
  const size = dtypeByteSize(dtype);
  const src = aligned(bytes, size);
  const buffer = src.buffer;
  const offset = src.byteOffset;
  switch (dtype) {
    case 'F32':
      return new Float32Array(buffer.slice(offset, offset + bytes.byteLength));
    case 'F64':
      return Float32Array.from(new Float64Array(buffer, offset, count));
    case 'F16': {
      const table = halfLookupTable();
      const halves = new Uint16Array(buffer, offset, count);
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = table[halves[i]];
      return out;
    }
    case 'BF16': {
      const halves = new Uint16Array(buffer, offset, count);
      const out = new Uint32Array(count);
      for (let i = 0; i < count; i++) out[i] = halves[i] << 16;
      return new Float32Array(out.buffer);
    }
    case 'I32':
      return Float32Array.from(new Int32Array(buffer, offset, count));
    case 'I64': {
      const words = new Int32Array(buffer, offset, count * 2);
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = words[2 * i + 1] * 4294967296 + (words[2 * i] >>> 0);
      return out;
    }
    case 'U8':
      return Float32Array.from(src.subarray(0, count));
    case 'BOOL': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = src[i] === 0 ? 0 : 1;
      return out;
    }
  }
}

/**
 * I64 little-endian bytes -> int32 values; throws OUT_OF_RANGE naming `what` when a value does not
 * fit (token ids and masks always do; a silent wrap would corrupt them).
 */
export function decodeInt64ToInt32(bytes: Uint8Array, what: string): Int32Array {
  assertLittleEndianHost();
  const count = checkByteLength(bytes, 'I64');
  const src = aligned(bytes, 8);
  const words = new Int32Array(src.buffer, src.byteOffset, count * 2);
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const low = words[2 * i];
    if (words[2 * i + 1] !== low >> 31) {
      const value = new BigInt64Array(src.buffer, src.byteOffset + 8 * i, 1)[0];
      throw new PatchworkError('OUT_OF_RANGE', `${what}: I64 value ${value} at element ${i} does not fit in int32`);
    }
    out[i] = low;
  }
  return out;
}
