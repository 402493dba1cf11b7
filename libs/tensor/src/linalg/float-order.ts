/**
 * Order-preserving maps between float32 values and uint32 keys, the basis of exact selection.
 *
 * `valueKey` follows IEEE 754 totalOrder on non-NaN values: -Infinity < … < -0 < +0 < … < +Infinity,
 * so comparing keys as unsigned integers compares the floats, and -0 ranks just below +0 (as in
 * `Float32Array.prototype.sort`). `absKey` orders by magnitude; -0 and +0 share the key of +0.
 * NaN has no place in either order and is rejected by the callers.
 */

const scratchFloat = new Float32Array(1);
const scratchBits = new Uint32Array(scratchFloat.buffer);

/** True when the float32 bit pattern is a NaN (all-ones exponent, non-zero mantissa). */
export function isNaNBits(bits: number): boolean {
  return (bits & 0x7fffffff) > 0x7f800000;
}

/** Negative floats: flip every bit (reverses their order); others: set the sign bit. */
export function valueKey(bits: number): number {
  return (bits ^ ((bits >> 31) | 0x80000000)) >>> 0;
}

export function absKey(bits: number): number {
  return bits & 0x7fffffff;
}

export function valueFromKey(key: number): number {
  scratchBits[0] = key & 0x80000000 ? key ^ 0x80000000 : ~key;
  return scratchFloat[0];
}

export function absFromKey(key: number): number {
  scratchBits[0] = key;
  return scratchFloat[0];
}

export function bitsOf(value: number): number {
  scratchFloat[0] = value;
  return scratchBits[0];
}

/** A uint32 view of a chunk's bytes (a Float32Array is always 4-byte aligned). */
export function bitsView(chunk: Float32Array): Uint32Array {
  return new Uint32Array(chunk.buffer, chunk.byteOffset, chunk.length);
}
