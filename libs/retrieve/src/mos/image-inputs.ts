import { PatchworkError, invalidArgument } from '@patchwork/errors';
import type { Model } from '@patchwork/models';
import { tf } from '@patchwork/tensor';

/**
 * Images for a ViT, already normalised the way the backbone expects: one flat Float32Array of
 * `count * channels * size * size` values (row-major `[count, channels, size, size]`), or one
 * Float32Array per image (the datasets library's `Split.inputs`).
 */
export type ImageInputs = Float32Array | readonly Float32Array[];

export interface ImageGeometry {
  readonly channels: number;
  readonly size: number;
  /** Values per image. */
  readonly pixels: number;
}

/** The input geometry of a ViT model (FAILED_PRECONDITION for any other kind of model). */
export function imageGeometry(model: Model): ImageGeometry {
  if (model.modelType !== 'vit') throw new PatchworkError('FAILED_PRECONDITION', `this method needs a ViT backbone, got model_type ${model.modelType}`);
  const size = Number(model.config['image_size'] ?? 224);
  const channels = Number(model.config['num_channels'] ?? 3);
  return { channels, size, pixels: channels * size * size };
}

function checkFinite(values: Float32Array, field: string): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) throw invalidArgument(field, `value ${i} is ${values[i]}; pixels must be finite`);
  }
}

/** Number of images in `inputs`, checking every size (INVALID_ARGUMENT naming `field`). */
export function imageCount(inputs: ImageInputs, geometry: ImageGeometry, field: string): number {
  const shape = `${geometry.channels}x${geometry.size}x${geometry.size} = ${geometry.pixels} values`;
  if (inputs instanceof Float32Array) {
    if (inputs.length === 0) throw invalidArgument(field, 'holds no image');
    if (inputs.length % geometry.pixels !== 0) throw invalidArgument(field, `has ${inputs.length} values, not a whole number of ${shape} images`);
    checkFinite(inputs, field);
    return inputs.length / geometry.pixels;
  }
  if (!Array.isArray(inputs)) throw invalidArgument(field, 'must be a Float32Array or an array of Float32Array images');
  if (inputs.length === 0) throw invalidArgument(field, 'holds no image');
  inputs.forEach((image, i) => {
    if (!(image instanceof Float32Array)) throw invalidArgument(`${field}[${i}]`, 'must be a Float32Array');
    if (image.length !== geometry.pixels) throw invalidArgument(`${field}[${i}]`, `has ${image.length} values, expected one ${shape} image`);
    checkFinite(image, `${field}[${i}]`);
  });
  return inputs.length;
}

/** Images `[start, end)` as `pixel_values [n, C, S, S]` (a new tensor the caller disposes). */
export function imageTensor(inputs: ImageInputs, geometry: ImageGeometry, start: number, end: number): tf.Tensor4D {
  const n = end - start;
  const shape: [number, number, number, number] = [n, geometry.channels, geometry.size, geometry.size];
  if (inputs instanceof Float32Array) return tf.tensor4d(inputs.subarray(start * geometry.pixels, end * geometry.pixels), shape);
  const flat = new Float32Array(n * geometry.pixels);
  for (let i = 0; i < n; i++) flat.set(inputs[start + i], i * geometry.pixels);
  return tf.tensor4d(flat, shape);
}

/** The chosen images (by index) as one flat array, for regrouping examples between passes. */
export function selectImages(inputs: ImageInputs, geometry: ImageGeometry, indices: ArrayLike<number>): Float32Array {
  const out = new Float32Array(indices.length * geometry.pixels);
  for (let i = 0; i < indices.length; i++) {
    const j = indices[i];
    out.set(inputs instanceof Float32Array ? inputs.subarray(j * geometry.pixels, (j + 1) * geometry.pixels) : inputs[j], i * geometry.pixels);
  }
  return out;
}
