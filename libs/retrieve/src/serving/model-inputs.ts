import { invalidArgument } from '@patchwork/errors';
import type { Model, ModelInputs } from '@patchwork/models';
import { tf } from '@patchwork/tensor';

const FIELDS = ['pixelValues', 'inputIds', 'attentionMask', 'tokenTypeIds'] as const;
type Field = (typeof FIELDS)[number];

function tensorAt(input: ModelInputs, key: Field, field: string): tf.Tensor | undefined {
  const t = input[key];
  if (t === undefined) return undefined;
  if (!(t instanceof tf.Tensor)) throw invalidArgument(`${field}.${key}`, 'must be a tensor');
  if (t.isDisposed) throw invalidArgument(`${field}.${key}`, 'has been disposed');
  return t;
}

/**
 * Checks one request's inputs against the model before they are batched with others, so a bad
 * request is refused with its own field name (INVALID_ARGUMENT) instead of failing a shared
 * forward pass. Returns the batch size.
 */
export function checkModelInputs(model: Model, input: ModelInputs, field: string): number {
  if (typeof input !== 'object' || input === null) throw invalidArgument(field, 'must be model inputs ({ pixelValues } or { inputIds, ... })');
  if (model.inputKind === 'pixels') {
    const pixels = tensorAt(input, 'pixelValues', field);
    if (pixels === undefined) throw invalidArgument(`${field}.pixelValues`, 'is required by this vision model');
    for (const key of ['inputIds', 'attentionMask', 'tokenTypeIds'] as const) if (input[key] !== undefined) throw invalidArgument(`${field}.${key}`, 'is not an input of this vision model');
    const size = Number(model.config['image_size'] ?? 224);
    const channels = Number(model.config['num_channels'] ?? 3);
    const [b, c, h, w] = pixels.shape;
    if (pixels.rank !== 4 || b < 1 || c !== channels || h !== size || w !== size) {
      throw invalidArgument(`${field}.pixelValues`, `must be [batch >= 1, ${channels}, ${size}, ${size}], got [${pixels.shape.join(', ')}]`);
    }
    if (pixels.dtype !== 'float32') throw invalidArgument(`${field}.pixelValues`, `must be float32, got ${pixels.dtype}`);
    return b;
  }
  const ids = tensorAt(input, 'inputIds', field);
  if (ids === undefined) throw invalidArgument(`${field}.inputIds`, 'is required by this text model');
  if (input.pixelValues !== undefined) throw invalidArgument(`${field}.pixelValues`, 'is not an input of this text model');
  const [batch, length] = ids.shape;
  if (ids.rank !== 2 || batch < 1 || (length ?? 0) < 1) throw invalidArgument(`${field}.inputIds`, `must be [batch >= 1, length >= 1], got [${ids.shape.join(', ')}]`);
  if (ids.dtype !== 'int32') throw invalidArgument(`${field}.inputIds`, `must be int32, got ${ids.dtype}`);
  for (const key of ['attentionMask', 'tokenTypeIds'] as const) {
    const t = tensorAt(input, key, field);
    if (t !== undefined && (t.rank !== 2 || t.shape[0] !== ids.shape[0] || t.shape[1] !== ids.shape[1])) {
      throw invalidArgument(`${field}.${key}`, `must have the shape of inputIds [${ids.shape.join(', ')}], got [${t.shape.join(', ')}]`);
    }
  }
  return batch;
}

/** Requests whose inputs have the same fields, per-example shapes and dtypes can share one batch. */
export function batchSignature(input: ModelInputs): string {
  return FIELDS.filter((k) => input[k] !== undefined)
    .map((k) => {
      const t = input[k] as tf.Tensor;
      return `${k}:${t.dtype}:${t.shape.slice(1).join('x')}`;
    })
    .join('|');
}

/** The inputs of several requests stacked along the batch axis (new tensors, caller disposes). */
export function concatInputs(inputs: readonly ModelInputs[]): ModelInputs {
  const out: { -readonly [K in Field]?: tf.Tensor } = {};
  for (const key of FIELDS) {
    if (inputs[0][key] === undefined) continue;
    const parts = inputs.map((i) => i[key] as tf.Tensor);
    out[key] = parts.length === 1 ? parts[0].clone() : tf.concat(parts, 0);
  }
  return out;
}
