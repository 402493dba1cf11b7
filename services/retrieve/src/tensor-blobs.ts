import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { PatchworkError, invalidArgument } from '@patchwork/errors';
import type { ModelInputs } from '@patchwork/models';
import { SafetensorsFile, tf } from '@patchwork/tensor';
import { safetensorsBytes } from '@patchwork/tensor';

// Safetensors names of model inputs (the Hugging Face spelling clients send) -> ModelInputs fields.
const INPUT_NAMES: Readonly<Record<string, keyof ModelInputs>> = {
  pixel_values: 'pixelValues',
  input_ids: 'inputIds',
  attention_mask: 'attentionMask',
  token_type_ids: 'tokenTypeIds',
};

/** Frees every tensor of decoded inputs. */
export function disposeInputs(inputs: ModelInputs): void {
  for (const t of Object.values(inputs)) if (t instanceof tf.Tensor) t.dispose();
}

// The tensor library reads safetensors from files only; each request gets its own uniquely named
// file in the scratch directory, removed whatever happens.
async function withScratchFile<T>(scratchDir: string, fn: (file: string) => Promise<T>): Promise<T> {
  await fs.mkdir(scratchDir, { recursive: true });
  const file = path.join(scratchDir, `retrieve-${randomUUID()}.safetensors`);
  try {
    return await fn(file);
  } finally {
    await fs.rm(file, { force: true });
  }
}

// Non-finite pixels would only come back as NaN logits (or an arbitrary route); refuse them.
function checkFinite(t: tf.Tensor, field: string): void {
  if (t.dtype !== 'float32') return;
  const values = t.dataSync() as Float32Array;
  const bad = values.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw invalidArgument(field, `value ${bad} is ${values[bad]}; pixels must be finite`);
}

/**
 * Parses a request's safetensors blob into model inputs (new tensors; the caller disposes them).
 * A blob that is not safetensors, holds an unknown tensor name, holds neither `pixel_values`
 * nor `input_ids`, or holds non-finite pixels is INVALID_ARGUMENT naming `field`.
 */
export async function decodeInputs(bytes: Uint8Array, field: string, scratchDir: string): Promise<ModelInputs> {
  if (!(bytes instanceof Uint8Array) || bytes.length === 0) throw invalidArgument(field, 'is empty; expected a safetensors blob with pixel_values or input_ids');
  return withScratchFile(scratchDir, async (file) => {
    await fs.writeFile(file, bytes);
    let st: SafetensorsFile;
    try {
      st = await SafetensorsFile.open(file);
    } catch (e) {
      const err = PatchworkError.from(e);
      if (err.code !== 'INVALID_ARGUMENT') throw err;
      throw invalidArgument(field, `is not a valid safetensors blob: ${err.message.split(file).join('<blob>')}`);
    }
    const inputs: { -readonly [K in keyof ModelInputs]?: tf.Tensor } = {};
    try {
      for (const name of st.names()) {
        const key = INPUT_NAMES[name];
        if (key === undefined) throw invalidArgument(`${field}.${name}`, `is not a model input (expected ${Object.keys(INPUT_NAMES).join(', ')})`);
        inputs[key] = await st.readTensor(name);
        if (key === 'pixelValues') checkFinite(inputs[key] as tf.Tensor, `${field}.${name}`);
      }
      if (inputs.pixelValues === undefined && inputs.inputIds === undefined) throw invalidArgument(field, 'holds neither pixel_values nor input_ids');
      return inputs as ModelInputs;
    } catch (e) {
      disposeInputs(inputs as ModelInputs);
      throw e;
    } finally {
      await st.close();
    }
  });
}

/** Row-major float32 logits as a safetensors blob with one F32 tensor `logits`. */
export function encodeLogits(logits: Float32Array, shape: number[]): Buffer {
  return safetensorsBytes({ logits: { dtype: 'F32', shape, data: logits } });
}
