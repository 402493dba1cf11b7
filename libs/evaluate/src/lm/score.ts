import { PatchworkError } from '@patchwork/errors';
import type { ForwardOutput, ModelInputs } from '@patchwork/models';
import { ensureMemoryBudget, tf } from '@patchwork/tensor';
import { type TokenRequest, modelInput } from './requests';

/** A forward pass of the evaluated model (with its adapter, if any). Tidy like Model.forward. */
export type ForwardFn = (inputs: ModelInputs, outputHiddenStates: boolean) => ForwardOutput;

export interface ScoredRequest {
  /** Σ log p(continuation token | everything before it), float32 terms summed in float64. */
  readonly loglikelihood: number;
  /** Every continuation token is the argmax of its distribution (lm-eval's is_greedy). */
  readonly isGreedy: boolean;
}

/** Upper bound on the logits one forward may allocate; larger request groups run in pieces. */
export const LOGITS_BYTES_PER_FORWARD = 512 * 1024 ** 2;

function scoreRows(forward: ForwardFn, rows: { input: number[]; first: number; targets: readonly number[] }[]): ScoredRequest[] {
  const length = Math.max(...rows.map((r) => r.input.length));
  const ids = new Int32Array(rows.length * length);
  const mask = new Int32Array(rows.length * length);
  const positions: number[][] = [];
  const targets: number[] = [];
  rows.forEach((r, i) => {
    ids.set(r.input, i * length);
    mask.fill(1, i * length, i * length + r.input.length);
    r.targets.forEach((t, k) => {
      positions.push([i, r.first + k]);
      targets.push(t);
    });
  });
  const [logProbs, greedy] = tf.tidy(() => {
    const inputIds = tf.tensor2d(ids, [rows.length, length], 'int32');
    const attentionMask = tf.tensor2d(mask, [rows.length, length], 'int32');
    const { logits } = forward({ inputIds, attentionMask }, false);
    if (logits.rank !== 3) {
      throw new PatchworkError('FAILED_PRECONDITION', `log-likelihood tasks need a causal language model (logits [batch, length, vocab]); this model returns logits of shape [${logits.shape.join(', ')}]`);
    }
    const vocab = logits.shape[2] as number;
    const bad = targets.find((t) => t < 0 || t >= vocab);
    if (bad !== undefined) throw new PatchworkError('FAILED_PRECONDITION', `token id ${bad} is outside the model's vocabulary of ${vocab}; the tokenizer does not belong to this model`);
    const picked = tf.logSoftmax(tf.gatherND(logits, tf.tensor2d(positions, [positions.length, 2], 'int32')));
    const targetIdx = tf.tensor2d(targets.map((t, p) => [p, t]), [targets.length, 2], 'int32');
    return [tf.gatherND(picked, targetIdx), tf.argMax(picked, -1)];
  });
  try {
    const lp = logProbs.dataSync();
    const am = greedy.dataSync();
    let p = 0;
    return rows.map((r) => {
      let ll = 0;
      let isGreedy = true;
      for (let k = 0; k < r.targets.length; k++, p++) {
        ll += lp[p];
        if (am[p] !== targets[p]) isGreedy = false;
      }
      return { loglikelihood: ll, isGreedy };
    });
  } finally {
    logProbs.dispose();
    greedy.dispose();
  }
}

/**
 * Scores requests with a causal LM, `batchSize` sequences per forward (right-padded, masked).
 * Results depend only on the request list, never on anything evaluated before or after it.
 */
export function scoreRequests(forward: ForwardFn, requests: readonly TokenRequest[], options: { maxLength: number; batchSize: number; vocabSize?: number }): ScoredRequest[] {
  const rows = requests.map((r) => {
    const { input, first } = modelInput(r, options.maxLength);
    return { input, first, targets: r.continuation };
  });
  const out: ScoredRequest[] = [];
  for (let start = 0; start < rows.length; ) {
    let end = Math.min(rows.length, start + options.batchSize);
    if (options.vocabSize !== undefined) {
      // Cap the logits of one forward; the cut depends only on these rows, so it is reproducible.
      const length = Math.max(...rows.slice(start, end).map((r) => r.input.length));
      const fit = Math.max(1, Math.floor(LOGITS_BYTES_PER_FORWARD / (length * options.vocabSize * 4)));
      end = Math.min(end, start + fit);
      ensureMemoryBudget((end - start) * length * options.vocabSize * 4 * 2);
    }
    out.push(...scoreRows(forward, rows.slice(start, end)));
    start = end;
  }
  return out;
}
