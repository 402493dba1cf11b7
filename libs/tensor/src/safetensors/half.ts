/**
 * Bit-level conversions between float32 and the 16-bit float formats, rounding to nearest even
 * as IEEE 754 and PyTorch do, so a tensor written here is bit-identical to one written by torch.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function float32Bits(value: number): number {
  f32[0] = value;
  return u32[0];
}

export function bitsToFloat32(bits: number): number {
  u32[0] = bits >>> 0;
  return f32[0];
}

/** Shifts a positive integer right by `shift` (1..31), rounding to nearest, ties to even. */
function shiftRoundEven(value: number, shift: number): number {
  if (shift > 31) return 0;
  const quotient = value >>> shift;
  const remainder = value - quotient * 2 ** shift;
  const half = 2 ** (shift - 1);
  if (remainder > half || (remainder === half && (quotient & 1) === 1)) return quotient + 1;
  return quotient;
}

/** float32 bit pattern -> IEEE binary16 bit pattern. NaN stays NaN (quiet, sign and top payload bits kept). */
export function float32BitsToHalf(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return mantissa === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mantissa >>> 13);
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 31) return sign | 0x7c00;
  if (halfExponent <= 0) {
    // Subnormal in binary16 (float32 subnormals are far below its range and round to zero).
    if (exponent === 0) return sign;
    return sign | shiftRoundEven(mantissa | 0x800000, 14 - halfExponent);
  }
  // The common case, inlined with integer ops (hot loop). A carry out of the mantissa rolls into
  // the exponent, and past the largest finite value into Inf.
  const value = (halfExponent << 23) | mantissa;
  const rest = value & 0x1fff;
  const rounded = value >>> 13;
  return sign | (rest > 0x1000 || (rest === 0x1000 && (rounded & 1) === 1) ? rounded + 1 : rounded);
}

/** IEEE binary16 bit pattern -> float32 value (exact: every half is representable). */
export function halfToFloat32(half: number): number {
  const sign = half & 0x8000 ? -1 : 1;
  const exponent = (half >>> 10) & 0x1f;
  const mantissa = half & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : bitsToFloat32(((half & 0x8000) << 16) | 0x7f800000 | (mantissa << 13));
  return sign * (1024 + mantissa) * 2 ** (exponent - 25);
}

/** float32 bit pattern -> bfloat16 bit pattern (the upper half, rounded to nearest even). */
export function float32BitsToBfloat16(bits: number): number {
  if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x7fffff) !== 0) return ((bits >>> 16) | 0x40) & 0xffff;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

let halfTable: Float32Array | undefined;

/** All 65536 binary16 values as float32, built once: decoding is then one lookup per element. */
export function halfLookupTable(): Float32Array {
  if (halfTable === undefined) {
    const table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) table[h] = halfToFloat32(h);
    halfTable = table;
  }
  return halfTable;
}
