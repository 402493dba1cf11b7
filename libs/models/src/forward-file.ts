import { PatchworkError, invalidArgument } from '@patchwork/errors';
import { SafetensorsFile, type TensorData, tf, writeSafetensors } from '@patchwork/tensor';
import { loadModel } from './load';
import type { Model } from './model';
import type { ModelInputs } from './core/types';

export interface ForwardFileOptions {
  /** A Hugging Face model directory (see `loadModel`). */
  modelDir: string;
  /** safetensors with `input_ids` (+ `attention_mask`, `token_type_ids`) or `pixel_values`. */
  inputsPath: string;
  /** Where to write `logits` and, if asked, `hidden_states.K` (all F32). */
  outPath: string;
  outputHiddenStates?: boolean;
}

export interface ForwardFileResult {
  modelType: string;
  logitsShape: number[];
  /** Number of `hidden_states.K` tensors written (0 when not asked). */
  hiddenStates: number;
}

const TOKEN_INPUTS = ['input_ids', 'attention_mask', 'token_type_ids'] as const;

async function readInputs(file: SafetensorsFile, model: Model): Promise<Map<string, tf.Tensor>> {
  const wanted: readonly string[] = model.inputKind === 'pixels' ? ['pixel_values'] : TOKEN_INPUTS;
  const required = wanted[0];
  if (!file.has(required)) {
    throw invalidArgument(required, `is missing from ${file.path}, which a ${model.modelType} model needs (found: ${file.names().join(', ') || 'nothing'})`);
  }
  const out = new Map<string, tf.Tensor>();
  try {
    for (const name of wanted) {
      if (!file.has(name)) continue;
      const t = await file.readTensor(name);
      out.set(name, t);
      const wantFloat = name === 'pixel_values';
      if (wantFloat !== (t.dtype === 'float32')) {
        throw invalidArgument(name, `in ${file.path} must be ${wantFloat ? 'a float' : 'an integer'} tensor, got dtype ${file.info(name).dtype}`);
      }
    }
  } catch (e) {
    for (const t of out.values()) t.dispose();
    throw e;
  }
  return out;
}

function toTensorData(t: tf.Tensor): TensorData {
  return { dtype: 'F32', shape: [...t.shape], data: t.dataSync() as Float32Array };
}

/**
 * Runs a model over inputs stored in a safetensors file and writes the outputs as another, the
 * file-level form of `Model.forward` (behind `patchwork model forward`). Output names follow the
 * peer fixtures: `logits`, `hidden_states.0` .. `hidden_states.N`.
 */
export async function forwardFile(options: ForwardFileOptions): Promise<ForwardFileResult> {
  const { modelDir, inputsPath, outPath } = options;
  if (!outPath) throw invalidArgument('outPath', 'is required');
  const model = await loadModel(modelDir);
  try {
    const file = await SafetensorsFile.open(inputsPath);
    let inputs: Map<string, tf.Tensor>;
    try {
      inputs = await readInputs(file, model);
    } finally {
      await file.close();
    }
    const modelInputs: ModelInputs = {
      inputIds: inputs.get('input_ids'),
      attentionMask: inputs.get('attention_mask'),
      tokenTypeIds: inputs.get('token_type_ids'),
      pixelValues: inputs.get('pixel_values'),
    };
    let outputs: tf.Tensor[] = [];
    try {
      const out = model.forward(modelInputs, { outputHiddenStates: options.outputHiddenStates ?? false });
      const hidden = out.hiddenStates ?? [];
      outputs = [out.logits, ...hidden];
      const tensors: Record<string, TensorData> = { logits: toTensorData(out.logits) };
      hidden.forEach((h, k) => (tensors[`hidden_states.${k}`] = toTensorData(h)));
      await writeSafetensors(outPath, tensors, { format: 'pt', model_type: model.modelType });
      return { modelType: model.modelType, logitsShape: [...out.logits.shape], hiddenStates: hidden.length };
    } finally {
      for (const t of [...inputs.values(), ...outputs]) t.dispose();
    }
  } catch (e) {
    throw PatchworkError.from(e);
  } finally {
    model.dispose();
  }
}
