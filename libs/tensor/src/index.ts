// The curated public surface of @patchwork/tensor.
import * as tf from '@tensorflow/tfjs';

/** The one tfjs instance every Patchwork lib uses (a second copy would not share backends or kernels). */
export { tf };
export * from './safetensors';
export * from './backend';
export * from './memory';
export * from './testing';
export * from './linalg';
