import { PatchworkError, invalidArgument } from '@patchwork/errors';
import { loadModel } from '@patchwork/models';
import { type TensorData, type tf, writeSafetensors } from '@patchwork/tensor';
import { loadAdapter } from '../io/load-adapter';
import { readModelInputs } from './model-inputs';

export interface AdapterForwardFileOptions {
  /** A Hugging Face model directory. */
  modelDir: string;
  /** A PEFT adapter directory made for that model. */
  adapterDir: string;
  /** safetensors with `input_ids` (+ `attention_mask`, `token_type_ids`) or `pixel_values`. */
  inputsPath: string;
  /** Where to write `logits` (and `hidden_states.K` when asked), F32. */
  outPath: string;
  outputHiddenStates?: boolean;
}

export interface AdapterForwardFileResult {
  modelType: string;
  peftType: string;
  /** Canonical names of the adapted modules. */
  adaptedModules: string[];
  logitsShape: number[];
  hiddenStates: number;
}

function asData(t: tf.Tensor): TensorData {
  return { dtype: 'F32', shape: [...t.shape], data: t.dataSync() as Float32Array };
}

/**
 * `forwardFile` of the models library with an adapter active (behind `patchwork adapter
 * forward`): loads the model and the adapter, runs the inputs, writes `logits` (+ hidden states).
 */
export async function applyAdapterForward(options: AdapterForwardFileOptions): Promise<AdapterForwardFileResult> {
  for (const key of ['modelDir', 'adapterDir', 'inputsPath', 'outPath'] as const) {
    if (typeof options[key] !== 'string' || options[key] === '') throw invalidArgument(key, 'is required');
  }
  const model = await loadModel(options.modelDir);
  try {
    const adapter = await loadAdapter(options.adapterDir, model);
    try {
      const { inputs, tensors } = await readModelInputs(options.inputsPath, model);
      let outputs: tf.Tensor[] = [];
      try {
        const out = adapter.forward(inputs, { outputHiddenStates: options.outputHiddenStates ?? false });
        const hidden = out.hiddenStates ?? [];
        outputs = [out.logits, ...hidden];
        const record: Record<string, TensorData> = { logits: asData(out.logits) };
        hidden.forEach((h, k) => (record[`hidden_states.${k}`] = asData(h)));
        await writeSafetensors(options.outPath, record, { format: 'pt', model_type: model.modelType, peft_type: adapter.peftType });
        return { modelType: model.modelType, peftType: adapter.peftType, adaptedModules: [...adapter.modules.keys()], logitsShape: [...out.logits.shape], hiddenStates: hidden.length };
      } finally {
        for (const t of [...tensors, ...outputs]) t.dispose();
      }
    } finally {
      adapter.dispose();
    }
  } catch (e) {
    throw PatchworkError.from(e);
  } finally {
    model.dispose();
  }
}
