import { PatchworkError, ViolationCollector } from '@patchwork/errors';
import { tf } from '@patchwork/tensor';
import { type EvaluableAdapter, type EvaluableModel, forwardOf, modelMaxLength, vocabSize } from '../runner/evaluable';
import { PythonRandom } from '../stats/python-random';

export interface GenerateOptions {
  readonly model: EvaluableModel;
  /** Generates with the adapter's patches applied. */
  readonly adapter?: EvaluableAdapter;
  /** Token ids, at least one per prompt (encode with the tokenizer's BOS/EOS as the model expects). */
  readonly prompts: readonly (readonly number[])[];
  readonly maxNewTokens: number;
  /** Left out: greedy decoding (first argmax). k >= 1: sample from the k most likely tokens. */
  readonly topK?: number;
  /** Divides the logits before top-k sampling. Default 1. */
  readonly temperature?: number;
  /** Seeds top-k sampling; each prompt gets its own stream. Default 0. */
  readonly seed?: number;
  /** A row ends after emitting one of these (the stop token is kept in its continuation). */
  readonly stopTokens?: readonly number[];
  /** Rows per forward pass. Default 16. */
  readonly batchSize?: number;
  /** Each step conditions on the last maxLength tokens. Default: the model's positions. */
  readonly maxLength?: number;
}

export interface Generation {
  /** The new tokens only, in order. */
  readonly tokens: number[];
  /** Whether the row ended on a stop token rather than at maxNewTokens. */
  readonly stopped: boolean;
}

function nonNegativeInt(x: unknown): boolean {
  return Number.isSafeInteger(x) && (x as number) >= 0;
}

function checkOptions(options: GenerateOptions): { vocab: number | undefined; maxLength: number } {
  const problems = new ViolationCollector();
  const { model, prompts } = options;
  if (!model || typeof model.forward !== 'function') problems.add('model', 'is required (a loaded causal language model)');
  else if (model.inputKind !== 'tokens') problems.add('model', `must read tokens; the ${model.modelType} model takes ${model.inputKind}`);
  const vocab = model && typeof model.forward === 'function' ? vocabSize(model) : undefined;
  if (!Array.isArray(prompts) || prompts.length === 0) problems.add('prompts', 'must be a non-empty list of token-id lists');
  else {
    prompts.forEach((p, i) => {
      if (!Array.isArray(p) || p.length === 0) problems.add(`prompts[${i}]`, 'must hold at least one token id');
      else if (!p.every((t) => nonNegativeInt(t) && (vocab === undefined || t < vocab))) problems.add(`prompts[${i}]`, `must hold token ids in [0, ${vocab ?? 'vocab_size'})`);
    });
  }
  if (!(Number.isSafeInteger(options.maxNewTokens) && options.maxNewTokens >= 1)) problems.add('maxNewTokens', `must be a positive integer, got ${options.maxNewTokens}`);
  if (options.topK !== undefined && !(Number.isSafeInteger(options.topK) && options.topK >= 1)) problems.add('topK', `must be a positive integer (leave it out for greedy decoding), got ${options.topK}`);
  if (options.temperature !== undefined && !(Number.isFinite(options.temperature) && options.temperature > 0)) problems.add('temperature', `must be a positive number, got ${options.temperature}`);
  if (options.temperature !== undefined && options.topK === undefined) problems.add('temperature', 'applies to top-k sampling only; greedy decoding ignores it');
  if (options.seed !== undefined && !nonNegativeInt(options.seed)) problems.add('seed', `must be a non-negative integer, got ${options.seed}`);
  if (options.stopTokens !== undefined && !(Array.isArray(options.stopTokens) && options.stopTokens.every(nonNegativeInt))) problems.add('stopTokens', 'must be a list of token ids');
  if (options.batchSize !== undefined && !(Number.isSafeInteger(options.batchSize) && options.batchSize >= 1)) problems.add('batchSize', `must be a positive integer, got ${options.batchSize}`);
  const limit = model && typeof model.forward === 'function' ? modelMaxLength(model) : undefined;
  const maxLength = options.maxLength ?? limit;
  if (maxLength === undefined) problems.add('maxLength', 'is required: the model config gives no position limit');
  else if (!(Number.isSafeInteger(maxLength) && maxLength >= 1)) problems.add('maxLength', `must be a positive integer, got ${maxLength}`);
  else if (limit !== undefined && maxLength > limit) problems.add('maxLength', `${maxLength} exceeds the model's ${limit} positions`);
  problems.throwIfAny();
  return { vocab, maxLength: maxLength as number };
}

/** Index of the largest value; the lowest index among equals. */
function argmaxOf(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

/** One draw from the softmax of the k largest logits / temperature (ties broken by lower id), in float64. */
function sampleTopK(row: Float32Array, k: number, temperature: number, rng: PythonRandom): number {
  const ids = Array.from(row.keys()).sort((a, b) => row[b] - row[a] || a - b).slice(0, Math.min(k, row.length));
  const top = row[ids[0]] / temperature;
  const weights = ids.map((id) => Math.exp(row[id] / temperature - top));
  const total = weights.reduce((s, w) => s + w, 0);
  let u = rng.random() * total;
  for (let i = 0; i < ids.length; i++) {
    u -= weights[i];
    if (u < 0) return ids[i];
  }
  return ids[ids.length - 1];
}

/** Next-token logits `[rows, vocab]` of each row's last token, the rows right-padded and masked. */
function lastLogits(forward: ReturnType<typeof forwardOf>, windows: readonly number[][]): Float32Array[] {
  const length = Math.max(...windows.map((w) => w.length));
  const ids = new Int32Array(windows.length * length);
  const mask = new Int32Array(windows.length * length);
  windows.forEach((w, i) => {
    ids.set(w, i * length);
    mask.fill(1, i * length, i * length + w.length);
  });
  const picked = tf.tidy(() => {
    const { logits } = forward({ inputIds: tf.tensor2d(ids, [windows.length, length], 'int32'), attentionMask: tf.tensor2d(mask, [windows.length, length], 'int32') }, false);
    if (logits.rank !== 3) {
      throw new PatchworkError('FAILED_PRECONDITION', `generation needs a causal language model (logits [batch, length, vocab]); this model returns logits of shape [${logits.shape.join(', ')}]`);
    }
    return tf.gatherND(logits, tf.tensor2d(windows.map((w, i) => [i, w.length - 1]), [windows.length, 2], 'int32'));
  });
  try {
    const vocab = picked.shape[1] as number;
    const flat = picked.dataSync() as Float32Array;
    return windows.map((_, i) => flat.slice(i * vocab, (i + 1) * vocab));
  } finally {
    picked.dispose();
  }
}

/**
 * Continues each prompt with a causal LM, greedily or by top-k sampling. Every step recomputes the
 * whole window (no key/value cache), which suits the short windows of small models, not long
 * generation. Each prompt draws from its own generator, seeded from `seed` and its place in the
 * list, and rows never see one another (right padding under the attention mask), so a prompt's
 * continuation does not depend on the batch size, up to float rounding of the batched forward.
 */
export function generate(options: GenerateOptions): Generation[] {
  const { maxLength } = checkOptions(options);
  const forward = forwardOf(options.model, options.adapter);
  const batchSize = options.batchSize ?? 16;
  const temperature = options.temperature ?? 1;
  const stops = new Set(options.stopTokens ?? []);
  const master = new PythonRandom(options.seed ?? 0);
  const rngs = options.prompts.map(() => new PythonRandom(Math.floor(master.random() * 2 ** 53)));
  const sequences = options.prompts.map((p) => [...p]);
  const out = options.prompts.map(() => ({ tokens: [] as number[], stopped: false }));
  for (let step = 0; step < options.maxNewTokens; step++) {
    const active = out.flatMap((o, i) => (o.stopped ? [] : [i]));
    if (active.length === 0) break;
    for (let start = 0; start < active.length; start += batchSize) {
      const rows = active.slice(start, start + batchSize);
      const logits = lastLogits(
        forward,
        rows.map((i) => sequences[i].slice(-maxLength)),
      );
      rows.forEach((i, r) => {
        const next = options.topK === undefined ? argmaxOf(logits[r]) : sampleTopK(logits[r], options.topK, temperature, rngs[i]);
        sequences[i].push(next);
        out[i].tokens.push(next);
        if (stops.has(next)) out[i].stopped = true;
      });
    }
  }
  return out;
}
