import { PatchworkError } from '@patchwork/errors';
import { Consensus, combineDeltas, taskVectors } from '../math/consensus';
import { streamKey } from '../math/random';
import { RankWindowFilter } from '../math/rank-window';
import {
  dellaSparsifyChunk,
  l1Factor,
  magnitudeKeepCount,
  maskByWindow,
  outlierWindow,
  randomSparsifyChunk,
  scaleInPlace,
} from '../math/sparsify';
import { majoritySignSpec, rescaleMethodSpec } from '../methods/common-parameters';
import { GtaDefinition, rowLengthOf } from '../methods/generalized-task-arithmetic';
import { ChunkInput, ChunkMerger, StreamingMerge, TensorChunks, choiceOf } from '../methods/merge-method';
import { WindowRequest, selectRankWindows } from './rank-window-stats';

const elementsOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** θ_i − θ_0 of a chunk, into `out` (a fresh array when none is given). */
function taskOf(chunk: ChunkInput, model: number, out: Float32Array = new Float32Array(chunk.models[model].length)): Float32Array {
  const base = chunk.base as Float32Array;
  const values = chunk.models[model];
  for (let j = 0; j < out.length; j++) out[j] = values[j] - base[j];
  return out;
}

/**
 * mergekit's generalized task arithmetic over a tensor's chunks, bit-identical to `mergekitGta`
 * on the whole tensor:
 * - magnitude trims (TIES, Breadcrumbs) find each model's exact rank window in two walks, then
 *   apply it chunk by chunk in position order;
 * - the random sparsifiers key every draw by the element's position in the whole tensor; DELLA's
 *   chunks hold whole rows (its `atom`);
 * - the L1 rescale needs both norms over the whole tensor: one more walk, summing in position
 *   order as the in-memory version does.
 */
export function gtaStreaming(def: GtaDefinition): StreamingMerge {
  return {
    atom: def.sparsifier === 'della' ? (shape) => rowLengthOf(shape, elementsOf(shape)) : undefined,
    prepare: async (tensor) => prepareGta(def, tensor),
  };
}

async function prepareGta(def: GtaDefinition, tensor: TensorChunks): Promise<ChunkMerger> {
  const n = tensor.length;
  const params = tensor.modelParameters;
  const densities = params.map((p) => p['density']);
  const rescale = tensor.parameters['rescale'] === 1;
  const method = rescale ? choiceOf(tensor, rescaleMethodSpec) : 'none';
  const seed = tensor.parameters['seed'] ?? 0;
  const keys = params.map((_, i) => streamKey(seed, tensor.name, i));
  const magnitudeBased = def.sparsifier === 'magnitude' || def.sparsifier === 'magnitude_outliers';

  const requests: WindowRequest[] = params.map((p, i) => {
    if (!magnitudeBased || densities[i] >= 1) return null;
    if (def.sparsifier === 'magnitude') return [0, magnitudeKeepCount(n, densities[i], tensor.name || 'tensor')];
    return outlierWindow(n, densities[i], p['gamma']);
  });
  const windows = magnitudeBased ? await selectRankWindows(tensor, requests, taskOf, (i) => `task vector of model ${i} in ${tensor.name}`) : [];

  const sparsify = (filters: RankWindowFilter[], chunk: ChunkInput, delta: Float32Array, i: number): Float32Array => {
    if (densities[i] >= 1) return delta;
    switch (def.sparsifier) {
      case 'magnitude':
      case 'magnitude_outliers':
        return maskByWindow(delta, filters[i]);
      case 'random':
        return randomSparsifyChunk(delta, densities[i], method === 'inverse', keys[i], chunk.offset);
      case 'della':
        return dellaSparsifyChunk(delta, densities[i], params[i]['epsilon'], rowLengthOf(chunk.shape, delta.length), method === 'inverse', keys[i], chunk.offset);
    }
  };
  const freshFilters = () => windows.map((w) => new RankWindowFilter(w));

  // mergekit rescales by L1 when asked (always L1 for the magnitude trims), never at density >= 1
  // or density <= 0 for the random ones.
  const factors: (number | null)[] = params.map(() => null);
  const wantsL1 = params.map((_, i) => rescale && densities[i] < 1 && (magnitudeBased || (method === 'l1' && densities[i] > 0)));
  if (wantsL1.some(Boolean)) {
    const before = params.map(() => 0);
    const after = params.map(() => 0);
    const filters = freshFilters();
    await tensor.forEachChunk((chunk) => {
      for (let i = 0; i < params.length; i++) {
        if (!wantsL1[i]) continue;
        const delta = taskOf(chunk, i);
        const kept = sparsify(filters, chunk, delta, i);
        for (let j = 0; j < delta.length; j++) {
          before[i] += Math.abs(delta[j]);
          after[i] += Math.abs(kept[j]);
        }
      }
    });
    params.forEach((_, i) => (factors[i] = wantsL1[i] ? l1Factor(before[i], after[i]) : null));
  }

  const consensus: Consensus = def.consensus ? (choiceOf(tensor, majoritySignSpec) === 'frequency' ? 'count' : 'sum') : null;
  const options = { consensus, normalize: tensor.parameters['normalize'] === 1, lambda: tensor.parameters['lambda'] };
  const weights = params.map((p) => p['weight']);
  const filters = freshFilters();
  return (chunk) => {
    if (!chunk.base) throw new PatchworkError('INTERNAL', 'task-vector merges need the base tensor');
    const deltas = taskVectors(chunk.base, chunk.models).map((delta, i) => {
      const kept = sparsify(filters, chunk, delta, i);
      const factor = factors[i];
      return factor === null ? kept : scaleInPlace(kept, factor);
    });
    return combineDeltas(chunk.base, deltas, weights, options);
  };
}
