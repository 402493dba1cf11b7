import fc from 'fast-check';
import { decodeInt64ToInt32, decodeToFloat32, encodeFloat32 } from './codec';
import { dtypeByteSize } from './dtype';
import { encodeValues } from './encode-values';

const floats = fc.float32Array({ maxLength: 64 });

function sameFloats(a: Float32Array, b: Float32Array): boolean {
  return a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
}

describe('encodeFloat32 / decodeToFloat32', () => {
  it('round-trips F32 and F64 bit-exactly, NaN and Inf included', () => {
    fc.assert(
      fc.property(floats, (values) => {
        for (const dtype of ['F32', 'F64'] as const) {
          const bytes = encodeFloat32(values, dtype);
          if (bytes.byteLength !== values.length * dtypeByteSize(dtype)) return false;
          if (!sameFloats(decodeToFloat32(bytes, dtype), values)) return false;
        }
        return true;
      }),
    );
  });

  it('F16 and BF16 decoding is a fixed point of encoding (a value rounds once, then stays)', () => {
    fc.assert(
      fc.property(floats, (values) => {
        for (const dtype of ['F16', 'BF16'] as const) {
          const once = decodeToFloat32(encodeFloat32(values, dtype), dtype);
          const twice = decodeToFloat32(encodeFloat32(once, dtype), dtype);
          if (!sameFloats(once, twice)) return false;
          for (let i = 0; i < values.length; i++) {
            if (Number.isNaN(values[i]) !== Number.isNaN(once[i])) return false;
            if (!Number.isNaN(values[i]) && Math.sign(values[i]) !== Math.sign(once[i]) && once[i] !== 0) return false;
          }
        }
        return true;
      }),
    );
  });

  it('writes little-endian torch bit patterns', () => {
    const values = new Float32Array([1, -2, 0.1, Infinity]);
    expect([...encodeFloat32(values, 'F16')]).toEqual([0x00, 0x3c, 0x00, 0xc0, 0x66, 0x2e, 0x00, 0x7c]);
    expect([...encodeFloat32(values, 'BF16')]).toEqual([0x80, 0x3f, 0x00, 0xc0, 0xcd, 0x3d, 0x80, 0x7f]);
  });

  it('decodes integers and booleans as numbers', () => {
    expect([...decodeToFloat32(encodeValues(new Int32Array([-3, 7]), 'I32', 't'), 'I32')]).toEqual([-3, 7]);
    expect([...decodeToFloat32(encodeValues(new BigInt64Array([-5n, 2n ** 40n]), 'I64', 't'), 'I64')]).toEqual([-5, 2 ** 40]);
    expect([...decodeToFloat32(new Uint8Array([0, 255]), 'U8')]).toEqual([0, 255]);
    expect([...decodeToFloat32(new Uint8Array([0, 1, 2]), 'BOOL')]).toEqual([0, 1, 1]);
  });

  it('accepts unaligned views', () => {
    const backing = new Uint8Array(9);
    backing.set(encodeFloat32(new Float32Array([1.5, -4]), 'F32'), 1);
    expect([...decodeToFloat32(backing.subarray(1), 'F32')]).toEqual([1.5, -4]);
  });

  it('rejects ragged byte lengths, unknown dtypes and integer targets', () => {
    expect(() => decodeToFloat32(new Uint8Array(3), 'F16')).toThrow('3 bytes is not a whole number of F16 elements');
    expect(() => decodeToFloat32(new Uint8Array(4), 'Q4' as never)).toThrow('unknown dtype "Q4"');
    expect(() => encodeFloat32(new Float32Array(1), 'I32')).toThrow('float dtypes only');
  });
});

describe('decodeInt64ToInt32', () => {
  it('keeps every int32 and refuses anything wider', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), { maxLength: 32 }), (ints) => {
        const bytes = encodeValues(new BigInt64Array(ints.map(BigInt)), 'I64', 't');
        return [...decodeInt64ToInt32(bytes, 't')].every((v, i) => v === ints[i]);
      }),
    );
    const big = encodeValues(new BigInt64Array([1n, 2n ** 31n]), 'I64', 't');
    expect(() => decodeInt64ToInt32(big, 'ids')).toThrow(expect.objectContaining({ code: 'OUT_OF_RANGE', message: 'ids: I64 value 2147483648 at element 1 does not fit in int32' }));
    const negative = encodeValues(new BigInt64Array([-(2n ** 31n) - 1n]), 'I64', 't');
    expect(() => decodeInt64ToInt32(negative, 'ids')).toThrow('does not fit in int32');
  });
});

describe('encodeValues', () => {
  it('maps each array kind to the dtypes it can represent', () => {
    expect(encodeValues(new Float64Array([0.1]), 'F32', 't')).toEqual(encodeFloat32(new Float32Array([0.1]), 'F32'));
    expect([...encodeValues([1, 2], 'I64', 't')]).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0]);
    expect([...encodeValues(new Uint16Array([0x3c00]), 'F16', 't')]).toEqual([0x00, 0x3c]);
    expect(() => encodeValues([1.5], 'I32', 'w')).toThrow('w: element 0 (1.5) is not an int32 value');
    expect(() => encodeValues(new Float64Array(1), 'BF16', 'w')).toThrow('cannot write Float64Array');
    expect(() => encodeValues(new BigInt64Array(1), 'I32', 'w')).toThrow('cannot write BigInt64Array as I32');
  });
});
