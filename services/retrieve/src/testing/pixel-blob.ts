import { safetensorsBytes } from '@patchwork/tensor';

/** `count` images of `channels x size x size` float32 pixels from `values` (cycled). */
export function pixelBlob(count: number, values: readonly number[], geometry: { channels: number; size: number } = { channels: 1, size: 8 }): Buffer {
  const n = count * geometry.channels * geometry.size * geometry.size;
  const data = Float32Array.from({ length: n }, (_, i) => (values.length === 0 ? 0 : values[i % values.length]));
  return safetensorsBytes({ pixel_values: { dtype: 'F32', shape: [count, geometry.channels, geometry.size, geometry.size], data } });
}
