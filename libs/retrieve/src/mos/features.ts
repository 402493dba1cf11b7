import { PatchworkError } from '@patchwork/errors';
import { type LinearPatchSet, type Model, layerNorm } from '@patchwork/models';
import { tf } from '@patchwork/tensor';
import { type ImageGeometry, type ImageInputs, imageTensor } from './image-inputs';

const FINAL_NORM = 'vit.layernorm';

/**
 * The ViT's pre-logits feature, `LN_final(h_L)[:, 0]` (timm's `forward_features` + CLS, what MOS
 * classifies): the last hidden state from the forward's taps, through the model's own final norm.
 * Differentiable with respect to whatever the patches close over.
 */
export function vitFeatures(model: Model, pixelValues: tf.Tensor, patches?: LinearPatchSet): tf.Tensor2D {
  const weight = model.weights.get(`${FINAL_NORM}.weight`);
  const bias = model.weights.get(`${FINAL_NORM}.bias`);
  if (weight === undefined) throw new PatchworkError('FAILED_PRECONDITION', `model has no ${FINAL_NORM}.weight; features are defined for ViT classifiers`);
  const eps = Number(model.config['layer_norm_eps'] ?? 1e-12);
  return tf.tidy(() => {
    const out = model.forward({ pixelValues }, { patches, outputHiddenStates: true });
    const states = out.hiddenStates as tf.Tensor[];
    const last = states[states.length - 1];
    const [batch, , hidden] = last.shape;
    const cls = last.slice([0, 0, 0], [batch, 1, hidden]).reshape([batch, hidden]);
    return layerNorm(cls, weight, bias, eps) as tf.Tensor2D;
  });
}

/**
 * Features of every image, `[count, hidden]` row-major, computed `batchSize` images at a time so
 * memory stays bounded whatever the number of inputs.
 */
export function featuresOf(
  model: Model,
  inputs: ImageInputs,
  geometry: ImageGeometry,
  count: number,
  patches?: () => LinearPatchSet | undefined,
  batchSize = 256,
): Float32Array {
  const hidden = model.hiddenSize;
  const out = new Float32Array(count * hidden);
  for (let start = 0; start < count; start += batchSize) {
    const end = Math.min(count, start + batchSize);
    const values = tf.tidy(() => {
      const pixels = imageTensor(inputs, geometry, start, end);
      return vitFeatures(model, pixels, patches?.()).dataSync();
    });
    out.set(values, start * hidden);
  }
  return out;
}
