import { PatchworkError, invalidArgument } from '@patchwork/errors';
import type { ModelInputs } from '@patchwork/models';
import { SafetensorsFile, type TensorData, tf, writeSafetensors } from '@patchwork/tensor';
import { loadLowRankModel } from './load';
import type { LowRankModel } from './low-rank-model';

export interface LowRankForwardFileOptions {
  /** A low-rank model directory (see `loadLowRankModel`). */
  readonly modelDir: string;
  /** safetensors with `input_ids` (+ `attention_mask`, `token_type_ids`) or `pixel_values`. */
  readonly inputsPath: string;
  /** Where to write `logits` and, if asked, `hidden_states.K` (all F32). */
  readonly outPath: string;
  readonly outputHiddenStates?: boolean;
}

export interface LowRankForwardFileResult {
  readonly modelType: string;
  readonly logitsShape: number[];
  readonly hiddenStates: number;
  readonly parameters: number;
}

const TOKEN_INPUTS = ['input_ids', 'attention_mask', 'token_type_ids'] as const;

async function readInputs(path: string, model: LowRankModel): Promise<Map<string, tf.Tensor>> {
  const file = await SafetensorsFile.open(path);
  const out = new Map<string, tf.Tensor>();
  try {
    const wanted: readonly string[] = model.inputKind === 'pixels' ? ['pixel_values'] : TOKEN_INPUTS;
    if (!file.has(wanted[0])) {
      throw invalidArgument(wanted[0], `is missing from ${path}, which a ${model.modelType} model needs (found: ${file.names().join(', ') || 'nothing'})`);
    }
    for (const name of wanted) {
      if (!file.has(name)) continue;
      const t = await file.readTensor(name);
      out.set(name, t);
      const wantFloat = name === 'pixel_values';
      if (wantFloat !== (t.dtype === 'float32')) throw invalidArgument(name, `in ${path} must be ${wantFloat ? 'a float' : 'an integer'} tensor, got dtype ${file.info(name).dtype}`);
    }
    return out;
  } catch (e) {
    tf.dispose([...out.values()]);
    throw e;
  } finally {
    await file.close();
  }
}

const asData = (t: tf.Tensor): TensorData => ({ dtype: 'F32', shape: [...t.shape], data: t.dataSync() as Float32Array });

/**
 * The file-level forward pass of a low-rank model, the counterpart of the models library's
 * `forwardFile` (same input and output tensor names as the peer fixtures).
 */
export async function lowRankForwardFile(options: LowRankForwardFileOptions): Promise<LowRankForwardFileResult> {
  if (!options.outPath) throw invalidArgument('outPath', 'is required');
  const model = await loadLowRankModel(options.modelDir);
  let inputs = new Map<string, tf.Tensor>();
  let outputs: tf.Tensor[] = [];
  try {
    inputs = await readInputs(options.inputsPath, model);
    const modelInputs: ModelInputs = {
      inputIds: inputs.get('input_ids'),
      attentionMask: inputs.get('attention_mask'),
      tokenTypeIds: inputs.get('token_type_ids'),
      pixelValues: inputs.get('pixel_values'),
    };
    const out = model.forward(modelInputs, { outputHiddenStates: options.outputHiddenStates ?? false });
    const hidden = out.hiddenStates ?? [];
    outputs = [out.logits, ...hidden];
    const tensors: Record<string, TensorData> = { logits: asData(out.logits) };
    hidden.forEach((h, k) => (tensors[`hidden_states.${k}`] = asData(h)));
    await writeSafetensors(options.outPath, tensors, { format: 'pt', model_type: model.modelType });
    return { modelType: model.modelType, logitsShape: [...out.logits.shape], hiddenStates: hidden.length, parameters: model.parameterCount() };
  } catch (e) {
    throw PatchworkError.from(e);
  } finally {
    tf.dispose([...inputs.values(), ...outputs]);
    model.dispose();
  }
}
