/**
 * Order-preserving uint32 keys of float32 values, for exact radix selection: comparing keys as
 * unsigned integers compares the floats (by value, or by magnitude). NaN has no rank; callers
 * reject it.
 */
const scratch = new Float32Array(1);
const scratchBits = new Uint32Array(scratch.buffer);

export function isNaNBits(bits: number): boolean {
  return (bits & 0x7fffffff) > 0x7f800000;
}

export function keyOfBits(bits: number, abs: boolean): number {
  return abs ? bits & 0x7fffffff : (bits ^ ((bits >> 31) | 0x80000000)) >>> 0;
}

export function valueOfKey(key: number, abs: boolean): number {
  scratchBits[0] = abs ? key : key & 0x80000000 ? key ^ 0x80000000 : ~key;
  return scratch[0];
}

export function bitsOf(values: Float32Array): Uint32Array {
  return new Uint32Array(values.buffer, values.byteOffset, values.length);
}
