import * as tf from '@tensorflow/tfjs';
import { aligned, assertLittleEndianHost, decodeInt64ToInt32, decodeToFloat32 } from './codec';
import { isFloatDType } from './dtype';
import type { TensorInfo } from './header';

/**
 * Raw safetensors bytes -> a tfjs tensor: floats become float32 (tfjs computes in f32), I64/I32/U8
 * become int32 (I64 outside int32 is an OUT_OF_RANGE error), BOOL becomes bool.
 */
export function bytesToTensor(bytes: Uint8Array, info: Pick<TensorInfo, 'name' | 'dtype' | 'shape'>, source: string): tf.Tensor {
  assertLittleEndianHost();
  const { dtype, shape } = info;
  if (isFloatDType(dtype)) return tf.tensor(decodeToFloat32(bytes, dtype), shape, 'float32');
  switch (dtype) {
    case 'I64':
      return tf.tensor(decodeInt64ToInt32(bytes, `${source}: tensor ${JSON.stringify(info.name)}`), shape, 'int32');
    case 'I32': {
      const src = aligned(bytes, 4);
      return tf.tensor(new Int32Array(src.buffer, src.byteOffset, src.byteLength / 4), shape, 'int32');
    }
    case 'U8':
      return tf.tensor(Int32Array.from(bytes), shape, 'int32');
    case 'BOOL':
      return tf.tensor(Uint8Array.from(bytes, (b) => (b === 0 ? 0 : 1)), shape, 'bool');
    default:
      throw new Error(`unreachable dtype ${dtype}`);
  }
}
