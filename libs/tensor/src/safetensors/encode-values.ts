import { PatchworkError } from '@patchwork/errors';
import { assertLittleEndianHost, encodeFloat32 } from './codec';
import { DType, isFloatDType } from './dtype';

/** Values accepted by the convenience writers; see `encodeValues` for which pairs are allowed. */
export type TensorValues = Uint8Array | Float32Array | Float64Array | Int32Array | BigInt64Array | Uint16Array | number[];

function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/**
 * Turns values into the bytes of `dtype`:
 * - Uint8Array: taken as the raw bytes of any dtype (for U8/BOOL these are also the values);
 * - Uint16Array: raw bit patterns of F16/BF16;
 * - Float32Array / number[]: values, encoded to any float dtype (RNE) or, if integral, to I32/I64;
 * - Float64Array: F64 as is, or rounded to F32;
 * - Int32Array: I32 as is, widened to I64, or converted to a float dtype;
 * - BigInt64Array: I64 as is.
 */
export function encodeValues(values: TensorValues, dtype: DType, what: string): Uint8Array {
  assertLittleEndianHost();
  const refuse = (kind: string): PatchworkError =>
    new PatchworkError('INVALID_ARGUMENT', `${what}: cannot write ${kind} as ${dtype}`);
  if (values instanceof Uint8Array) return values;
  if (values instanceof Uint16Array) {
    if (dtype === 'F16' || dtype === 'BF16') return bytesOf(values);
    throw refuse('Uint16Array bit patterns');
  }
  if (values instanceof BigInt64Array) {
    if (dtype === 'I64') return bytesOf(values);
    throw refuse('BigInt64Array');
  }
  if (values instanceof Float64Array) {
    if (dtype === 'F64') return bytesOf(values);
    if (dtype === 'F32') return bytesOf(Float32Array.from(values));
    throw refuse('Float64Array (convert to Float32Array first)');
  }
  if (values instanceof Int32Array) {
    if (dtype === 'I32') return bytesOf(values);
    if (dtype === 'I64') return bytesOf(BigInt64Array.from(values, (v) => BigInt(v)));
    if (isFloatDType(dtype)) return encodeFloat32(Float32Array.from(values), dtype);
    throw refuse('Int32Array');
  }
  const floats = values instanceof Float32Array ? values : Float32Array.from(values);
  if (isFloatDType(dtype)) return encodeFloat32(floats, dtype);
  if (dtype === 'I32' || dtype === 'I64') {
    const ints = Int32Array.from(floats);
    for (let i = 0; i < floats.length; i++) {
      if (ints[i] !== floats[i]) throw new PatchworkError('INVALID_ARGUMENT', `${what}: element ${i} (${floats[i]}) is not an int32 value`);
    }
    return encodeValues(ints, dtype, what);
  }
  throw refuse(values instanceof Float32Array ? 'Float32Array' : 'number[]');
}
