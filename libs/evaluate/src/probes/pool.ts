import { PatchworkError, invalidArgument } from '@patchwork/errors';
import { tf } from '@patchwork/tensor';
import type { Tokenizer } from '@patchwork/tokenizers';
import { type EvaluableAdapter, type EvaluableModel, forwardOf, modelMaxLength } from '../runner/evaluable';

export type Pooling = 'mean' | 'last';

/** Text for the model's tokenizer, or token ids already encoded. */
export type ProbeInputs = readonly string[] | readonly (readonly number[])[];

export interface PoolOptions {
  readonly model: EvaluableModel;
  readonly adapter?: EvaluableAdapter;
  /** Needed when `inputs` are strings; encoded with its special tokens, as `tokenizer(text)` does. */
  readonly tokenizer?: Tokenizer;
  readonly inputs: ProbeInputs;
  /** Index into hidden_states (0 = embeddings, numLayers = last layer); negative counts from the end. */
  readonly layer: number;
  readonly pooling: Pooling;
  /** Sequences per forward pass. Default 16. */
  readonly batchSize?: number;
  /** Longer inputs are cut to their first maxLength tokens. Default: the model's positions. */
  readonly maxLength?: number;
}

/** The hidden_states index a (possibly negative) layer refers to. */
export function resolveLayer(layer: number, numLayers: number): number {
  if (!Number.isInteger(layer) || layer < -(numLayers + 1) || layer > numLayers) {
    throw invalidArgument('layer', `must be an integer in [${-(numLayers + 1)}, ${numLayers}] (hidden_states has ${numLayers + 1} entries), got ${layer}`);
  }
  return layer < 0 ? numLayers + 1 + layer : layer;
}

function tokenize(options: PoolOptions, maxLength: number): number[][] {
  const { inputs, tokenizer } = options;
  if (!Array.isArray(inputs) || inputs.length === 0) throw invalidArgument('inputs', 'must be a non-empty list of texts or token-id lists');
  return inputs.map((input: string | readonly number[], i: number) => {
    let ids: number[];
    if (typeof input === 'string') {
      if (tokenizer === undefined) throw invalidArgument('tokenizer', 'is required to pool text inputs');
      ids = tokenizer.encode(input).ids;
    } else if (Array.isArray(input) && input.every((t) => Number.isInteger(t) && t >= 0)) {
      ids = [...input];
    } else {
      throw invalidArgument(`inputs[${i}]`, 'must be a string or a list of non-negative token ids');
    }
    if (ids.length === 0) throw invalidArgument(`inputs[${i}]`, 'encodes to no tokens');
    return ids.slice(0, maxLength);
  });
}

/**
 * Pooled hidden states of one layer, `[n, hidden]` row-major: the mean over real (unpadded)
 * tokens, or the last real token (right padding, so the position is the row's length − 1).
 * Model Surgery mean-pools the last layer (`hidden_states[L]`).
 */
export function pooledHiddenStates(options: PoolOptions): { features: Float32Array; n: number; dim: number; layer: number } {
  const { model, pooling } = options;
  if (model.inputKind !== 'tokens') throw new PatchworkError('FAILED_PRECONDITION', `probes read token hidden states; the ${model.modelType} model takes ${model.inputKind}`);
  if (pooling !== 'mean' && pooling !== 'last') throw invalidArgument('pooling', `must be "mean" or "last", got ${JSON.stringify(pooling)}`);
  const batchSize = options.batchSize ?? 16;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw invalidArgument('batchSize', `must be a positive integer, got ${batchSize}`);
  const layer = resolveLayer(options.layer, model.numLayers);
  const maxLength = options.maxLength ?? modelMaxLength(model);
  if (maxLength === undefined || !Number.isInteger(maxLength) || maxLength < 1) throw invalidArgument('maxLength', 'is required: the model config gives no position limit');
  const rows = tokenize(options, maxLength);
  const forward = forwardOf(model, options.adapter);
  const dim = model.hiddenSize;
  const features = new Float32Array(rows.length * dim);
  for (let start = 0; start < rows.length; start += batchSize) {
    const batch = rows.slice(start, start + batchSize);
    const length = Math.max(...batch.map((r) => r.length));
    const ids = new Int32Array(batch.length * length);
    const mask = new Float32Array(batch.length * length);
    batch.forEach((r, i) => {
      ids.set(r, i * length);
      mask.fill(1, i * length, i * length + r.length);
    });
    const pooled = tf.tidy(() => {
      const attentionMask = tf.tensor2d(mask, [batch.length, length]);
      const out = forward({ inputIds: tf.tensor2d(ids, [batch.length, length], 'int32'), attentionMask }, true);
      const hidden = out.hiddenStates?.[layer];
      if (hidden === undefined) throw new PatchworkError('FAILED_PRECONDITION', `the model returned no hidden state ${layer}`);
      if (pooling === 'mean') {
        const m = attentionMask.expandDims(2);
        return tf.div(tf.sum(tf.mul(hidden, m), 1), tf.sum(m, 1));
      }
      const last = tf.tensor2d(
        batch.map((r, i) => [i, r.length - 1]),
        [batch.length, 2],
        'int32',
      );
      return tf.gatherND(hidden, last);
    });
    try {
      features.set(pooled.dataSync(), start * dim);
    } finally {
      pooled.dispose();
    }
  }
  return { features, n: rows.length, dim, layer };
}
