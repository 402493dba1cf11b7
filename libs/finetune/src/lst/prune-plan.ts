import { PatchworkError } from '@patchwork/errors';
import type { BlockSchema, RoleLinear } from './block-schema';
import { roleIndex, roleRows } from './role-matrix';

/** Per-element importance of backbone parameters (same layout as the stored tensor), by parameter key. */
export interface ImportanceMap {
  get(key: string): { readonly values: ArrayLike<number>; readonly shape: readonly number[] } | undefined;
}

/** Which channels of the backbone the side network keeps (all sorted ascending). */
export interface PrunePlan {
  /** Residual-stream dimensions, shared by every block (hidden / r of them). */
  readonly residual: Int32Array;
  /** Per backbone block: attention channels, headDim / r in every head, so the head count is unchanged. */
  readonly attention: readonly Int32Array[];
  /** Per backbone block: feed-forward channels (inner / r). */
  readonly ffn: readonly Int32Array[];
}

/** The `k` indices of the largest scores (ties to the lower index), ascending. */
export function topK(scores: ArrayLike<number>, k: number, offset = 0, count = scores.length): Int32Array {
  const idx = Array.from({ length: count }, (_, i) => offset + i);
  idx.sort((a, b) => scores[b] - scores[a] || a - b);
  return Int32Array.from(idx.slice(0, k)).sort();
}

function need(importance: ImportanceMap, key: string): ArrayLike<number> {
  const entry = importance.get(key);
  if (entry === undefined) throw new PatchworkError('INTERNAL', `no importance for ${key}`);
  return entry.values;
}

/** Σ over the role's rows of I[row, c] for every input column c. */
function addColumnSums(into: Float64Array, values: ArrayLike<number>, role: RoleLinear): void {
  const rows = roleRows(role);
  for (let r = 0; r < rows; r++) for (let c = 0; c < into.length; c++) into[c] += values[roleIndex(role, r, c)];
}

/** Σ over the role's columns of I[c, col] for every output row c. */
function addRowSums(into: Float64Array, values: ArrayLike<number>, role: RoleLinear): void {
  const cols = role.spec.inFeatures;
  for (let r = 0; r < into.length; r++) for (let c = 0; c < cols; c++) into[r] += values[roleIndex(role, r, c)];
}

function addVector(into: Float64Array, values: ArrayLike<number>): void {
  for (let c = 0; c < into.length; c++) into[c] += values[c];
}

/**
 * Importance of each residual dimension: the L1 norm of the importance of every parameter slice
 * that reads or writes it (block inputs and outputs, norms, embeddings). The residual stream is
 * one group across the whole network, as in Torch-Pruning's dependency graph.
 */
export function residualScores(schema: BlockSchema, importance: ImportanceMap): Float64Array {
  const d = schema.hidden;
  const scores = new Float64Array(d);
  for (const b of schema.blocks) {
    for (const role of [b.q, b.k, b.v, b.fcIn]) addColumnSums(scores, need(importance, role.spec.weightKey), role);
    for (const role of [b.o, b.fcOut]) {
      addRowSums(scores, need(importance, role.spec.weightKey), role);
      if (role.spec.biasKey !== undefined) addVector(scores, need(importance, role.spec.biasKey));
    }
    for (const n of [b.ln1, b.ln2]) for (const key of [n.weight, n.bias]) addVector(scores, need(importance, key));
  }
  if (schema.finalNorm !== undefined) for (const key of [schema.finalNorm.weight, schema.finalNorm.bias]) addVector(scores, need(importance, key));
  for (const { key, axis } of schema.residualKeys) {
    const entry = importance.get(key);
    if (entry === undefined) continue;
    const size = entry.shape.reduce((a, b) => a * b, 1);
    const rest = size / d;
    for (let i = 0; i < size; i++) {
      const c = axis === -1 ? i % d : Math.floor(i / rest);
      scores[c] += entry.values[i];
    }
  }
  return scores;
}

/**
 * Importance of each channel of a group whose members meet on the kept residual dimensions:
 * Σ_{j ∈ residual} Π_m I_m(c, j), the element-wise product of the members' importance matrices
 * (rows `inputs` read the residual stream, columns of `outputs` write it) reduced by the L1 norm
 * per channel, as LST's "fisher-v2" grouping does. Float64, so products of tiny squared
 * gradients do not underflow.
 */
export function groupScores(importance: ImportanceMap, inputs: readonly RoleLinear[], outputs: readonly RoleLinear[], residual: Int32Array, channels: number): Float64Array {
  const ins = inputs.map((r) => need(importance, r.spec.weightKey));
  const outs = outputs.map((r) => need(importance, r.spec.weightKey));
  const scores = new Float64Array(channels);
  for (let c = 0; c < channels; c++) {
    let sum = 0;
    for (const j of residual) {
      let p = 1;
      inputs.forEach((role, m) => (p *= ins[m][roleIndex(role, c, j)]));
      outputs.forEach((role, m) => (p *= outs[m][roleIndex(role, j, c)]));
      sum += Math.abs(p);
    }
    scores[c] = sum;
  }
  return scores;
}

/** Checks that reduction factor `r` divides every width the side network shrinks; returns the problems. */
export function reductionProblems(schema: BlockSchema, r: number): string[] {
  const problems: string[] = [];
  const headDim = schema.hidden / schema.heads;
  if (schema.hidden % r !== 0) problems.push(`hidden size ${schema.hidden} is not divisible by ${r}`);
  if (headDim % r !== 0) problems.push(`head size ${headDim} (${schema.hidden} / ${schema.heads} heads) is not divisible by ${r}; the side network keeps every head`);
  if (schema.inner % r !== 0) problems.push(`feed-forward size ${schema.inner} is not divisible by ${r}`);
  return problems;
}

/**
 * Structured pruning in dependency order: the residual dimensions first (from the embeddings on,
 * shared network-wide), then in each block the attention channels (per head, so heads survive)
 * and the feed-forward channels, scored on the kept residual dimensions only.
 */
export function planPruning(schema: BlockSchema, importance: ImportanceMap, r: number): PrunePlan {
  const problems = reductionProblems(schema, r);
  if (problems.length > 0) throw new PatchworkError('INVALID_ARGUMENT', `reduction_factor: ${problems.join('; ')}`);
  const residual = topK(residualScores(schema, importance), schema.hidden / r);
  const headDim = schema.hidden / schema.heads;
  const attention: Int32Array[] = [];
  const ffn: Int32Array[] = [];
  for (const b of schema.blocks) {
    const att = groupScores(importance, [b.q, b.k, b.v], [b.o], residual, schema.hidden);
    const kept: number[] = [];
    for (let h = 0; h < schema.heads; h++) kept.push(...topK(att, headDim / r, h * headDim, headDim));
    attention.push(Int32Array.from(kept));
    ffn.push(topK(groupScores(importance, [b.fcIn], [b.fcOut], residual, schema.inner), schema.inner / r));
  }
  return { residual, attention, ffn };
}
