import { PatchworkError } from '@patchwork/errors';

/** The safetensors dtypes Patchwork reads and writes (the spellings of the format's header). */
export type DType = 'F32' | 'F16' | 'BF16' | 'F64' | 'I64' | 'I32' | 'U8' | 'BOOL';

const BYTE_SIZES: Readonly<Record<DType, number>> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4, U8: 1, BOOL: 1 };

export const DTYPES: readonly DType[] = Object.keys(BYTE_SIZES) as DType[];

export const FLOAT_DTYPES: readonly DType[] = ['F32', 'F16', 'BF16', 'F64'];

export function isDType(value: unknown): value is DType {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(BYTE_SIZES, value);
}

export function isFloatDType(dtype: DType): boolean {
  return dtype === 'F32' || dtype === 'F16' || dtype === 'BF16' || dtype === 'F64';
}

export function dtypeByteSize(dtype: DType): number {
  if (!isDType(dtype)) {
    throw new PatchworkError('INVALID_ARGUMENT', `unknown dtype ${JSON.stringify(dtype)}; expected one of ${DTYPES.join(', ')}`);
  }
  return BYTE_SIZES[dtype];
}

/**
 * Number of elements of a shape, or a description of why the shape is unusable. Shapes come from
 * untrusted headers, so the product is checked against 2^53 rather than trusted to stay exact.
 */
export function checkedElementCount(shape: unknown): number | string {
  if (!Array.isArray(shape)) return 'shape must be an array';
  let count = 1;
  for (let i = 0; i < shape.length; i++) {
    const d: unknown = shape[i];
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      return `shape[${i}] must be a non-negative safe integer, got ${JSON.stringify(d)}`;
    }
    count *= d;
    if (!Number.isSafeInteger(count)) return 'shape has more elements than 2^53';
  }
  return count;
}

/** Byte length of a tensor of `shape` and `dtype`; throws INVALID_ARGUMENT naming `field` on a bad shape. */
export function tensorByteLength(dtype: DType, shape: number[], field = 'shape'): number {
  const count = checkedElementCount(shape);
  if (typeof count === 'string') throw new PatchworkError('INVALID_ARGUMENT', `${field}: ${count}`, { violations: [{ field, description: count }] });
  const bytes = count * dtypeByteSize(dtype);
  if (!Number.isSafeInteger(bytes)) {
    throw new PatchworkError('INVALID_ARGUMENT', `${field}: byte length exceeds 2^53`, { violations: [{ field, description: 'byte length exceeds 2^53' }] });
  }
  return bytes;
}
