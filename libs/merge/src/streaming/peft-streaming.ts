import { PatchworkError, invalidArgument } from '@patchwork/errors';
import { streamKey, uniformAt } from '../math/random';
import { RankWindow } from '../math/rank-window';
import { majoritySignSpec } from '../methods/common-parameters';
import { ChunkInput, ChunkMerger, StreamingMerge, TensorChunks, choiceOf } from '../methods/merge-method';
import { KEEP_ALL, KEEP_NONE, KEEP_RANDOM, KEEP_WINDOW, PruneState, kernelPeftChunk, kernelTaskSource } from '../kernels/wasm-peft';
import { MergeKernels } from '../kernels/merge-kernels';
import { WindowRequest, selectRankWindows } from './rank-window-stats';

export type PeftKind = 'task_arithmetic' | 'magnitude_prune' | 'ties' | 'dare_linear' | 'dare_ties';

const f32 = Math.fround;
/** Bound once: a call through the module binding per element costs more than the draw. */
const draw = uniformAt;

/** θ_i − θ_0 of a chunk, into `out` (a fresh array when none is given). */
function taskOf(chunk: ChunkInput, model: number, out: Float32Array = new Float32Array(chunk.models[model].length)): Float32Array {
  const base = chunk.base as Float32Array;
  const values = chunk.models[model];
  for (let j = 0; j < out.length; j++) out[j] = values[j] - base[j];
  return out;
}

function checkedDensity(density: number): number {
  if (!Number.isFinite(density)) throw invalidArgument('density', `must be a finite number, got ${density}`);
  if (density < 0) throw new PatchworkError('OUT_OF_RANGE', `density: must be >= 0, got ${density}`, { violations: [{ field: 'density', description: 'must be >= 0' }] });
  return density;
}

function setWindow(state: PruneState, i: number, w: RankWindow): void {
  if (w.kind !== 'window') {
    state.mode[i] = w.kind === 'all' ? KEEP_ALL : KEEP_NONE;
    return;
  }
  state.mode[i] = KEEP_WINDOW;
  state.a[i] = w.a;
  state.b[i] = w.b;
  state.aboveA[i] = w.aboveA;
  state.aboveB[i] = w.aboveB;
  state.lo[i] = w.lo;
  state.hi[i] = w.hi;
}

/** Per-chunk work arrays, kept between chunks (sized to the largest). */
class Scratch {
  pruned: Float32Array[] = [];
  sum = new Float32Array(0);
  election = new Float32Array(0);
  agreeing = new Uint16Array(0);
  /** Zeros, the "base" of task vectors already computed in place. */
  zeros = new Float32Array(0);
  /** The chunk whose task vectors `pruned` already holds (the tensor held whole, from the selection walk). */
  held: ChunkInput | undefined;
  readonly computed: Uint8Array;

  constructor(private readonly count: number) {
    this.computed = new Uint8Array(count);
  }

  ensure(length: number): void {
    if (this.sum.length === length) return;
    this.pruned = Array.from({ length: this.count }, () => new Float32Array(length));
    this.sum = new Float32Array(length);
    this.election = new Float32Array(length);
    this.agreeing = new Uint16Array(length);
    this.zeros = new Float32Array(length);
    this.held = undefined;
    this.computed.fill(0);
  }

  /** Task vector i of a chunk that holds the whole tensor, kept for the merge that follows. */
  taskOfHeld(chunk: ChunkInput, i: number): Float32Array {
    this.ensure(chunk.models[i].length);
    if (this.held !== chunk) this.computed.fill(0);
    this.held = chunk;
    this.computed[i] = 1;
    return taskOf(chunk, i, this.pruned[i]);
  }
}

/** Model i's pruned task vector f32(θ_i − θ_0) (or 0) over a chunk, into `out`. */
function prune(state: PruneState, i: number, model: Float32Array, base: Float32Array, out: Float32Array, length: number, offset: number): void {
  const mode = state.mode[i];
  const density = state.density[i];
  const key = state.key[i];
  if (mode === KEEP_ALL) {
    for (let j = 0; j < length; j++) out[j] = model[j] - base[j];
  } else if (mode === KEEP_NONE) {
    out.fill(0, 0, length);
  } else if (mode === KEEP_RANDOM) {
    const divisor = f32(density);
    for (let j = 0; j < length; j++) out[j] = draw(key, offset + j) < density ? f32(f32(model[j] - base[j]) / divisor) : 0;
  } else {
    // Position-ordered rank window: strictly inside (b, a) kept, ties at a or b by running count.
    const a = state.a[i];
    const b = state.b[i];
    const lo = state.lo[i];
    const hi = state.hi[i];
    const aboveA = state.aboveA[i];
    const aboveB = state.aboveB[i];
    let seenA = state.seenA[i];
    let seenB = state.seenB[i];
    for (let j = 0; j < length; j++) {
      const tau = f32(model[j] - base[j]);
      const m = Math.abs(tau);
      let keep = m < a && m > b;
      if (m === a) {
        const rank = aboveA + seenA++;
        keep = rank >= lo && rank < hi;
      } else if (m === b) {
        const rank = aboveB + seenB++;
        keep = rank >= lo && rank < hi;
      }
      out[j] = keep ? tau : 0;
    }
    state.seenA[i] = seenA;
    state.seenB[i] = seenB;
  }
}

/** PEFT's sign election on the unweighted pruned tasks, then the disjoint mean of the weighted ones, into `scratch.sum`. */
function electAndMergeInto(scratch: Scratch, count: number, length: number, weights: Float64Array, frequency: boolean): void {
  const { pruned, election, sum, agreeing } = scratch;
  election.fill(0, 0, length);
  sum.fill(0, 0, length);
  agreeing.fill(0, 0, length);
  for (let i = 0; i < count; i++) {
    const p = pruned[i];
    // A float32 store rounds each partial sum, as torch's float32 sum does model by model.
    if (frequency) for (let j = 0; j < length; j++) election[j] += Math.sign(p[j]);
    else for (let j = 0; j < length; j++) election[j] += p[j];
  }
  for (let i = 0; i < count; i++) {
    const p = pruned[i];
    const w = weights[i];
    for (let j = 0; j < length; j++) {
      const x = p[j];
      if (election[j] >= 0 ? x > 0 : x < 0) {
        sum[j] += f32(x * w);
        agreeing[j]++;
      }
    }
  }
  for (let j = 0; j < length; j++) if (agreeing[j] > 1) sum[j] /= agreeing[j];
}

/** Σ_i f32(w_i · pruned_i) in model order, into `scratch.sum`. */
function weightedSumInto(scratch: Scratch, count: number, length: number, weights: Float64Array): void {
  const { pruned, sum } = scratch;
  sum.fill(0, 0, length);
  for (let i = 0; i < count; i++) {
    const p = pruned[i];
    const w = weights[i];
    for (let j = 0; j < length; j++) sum[j] += f32(p[j] * w);
  }
}

export interface PeftStreamingOptions {
  /** Use the SIMD kernels when the runtime has them (default); false forces the plain loops. */
  kernels?: boolean;
}

/**
 * PEFT's `merge_utils` combinations over a tensor's chunks: task vector, prune (exact top-k by
 * magnitude with ties by position, or the seeded DARE draw keyed by the element's position in
 * the whole tensor), sign election, disjoint mean or weighted sum, base + λ·merged. Every step
 * rounds to float32 in the order `peftTensorMerge` does, so the result is bit-identical to it.
 * The top-k windows take one in-memory pass per edge for a tensor held whole, two walks over
 * the chunks otherwise. The per-element work runs in WebAssembly SIMD kernels where available
 * (same bits as the plain loops, which remain the fallback).
 */
export function peftStreaming(kind: PeftKind, options: PeftStreamingOptions = {}): StreamingMerge {
  return {
    prepare: async (tensor) => preparePeft(kind, tensor, options.kernels === false ? null : MergeKernels.get()),
    // Inputs, one pruned task per model, the election, sum and output arrays.
    bytesPerElement: (inputs) => 4 * (2 * inputs + 3),
  };
}

async function preparePeft(kind: PeftKind, tensor: TensorChunks, kernels: MergeKernels | null): Promise<ChunkMerger> {
  const n = tensor.length;
  const params = tensor.modelParameters;
  const count = params.length;
  if (count > 65535) throw invalidArgument('models', `at most 65535 models can be merged at once, got ${count}`);
  const weights = Float64Array.from(params, (p) => f32(p['weight']));
  const state = new PruneState(count);
  params.forEach((p, i) => (state.density[i] = kind === 'task_arithmetic' ? 1 : checkedDensity(p['density'])));
  const scratch = new Scratch(count);
  const random = kind === 'dare_linear' || kind === 'dare_ties';
  if (random) {
    const seed = tensor.parameters['seed'] ?? 0;
    params.forEach((_, i) => {
      state.mode[i] = state.density[i] >= 1 ? KEEP_ALL : KEEP_RANDOM;
      state.key[i] = streamKey(seed, tensor.name, i);
    });
  } else {
    const requests: WindowRequest[] = Array.from(state.density, (d) => (d >= 1 ? null : [0, Math.trunc(d * n)]));
    const isHeld = (chunk: ChunkInput, i: number) => chunk.offset === 0 && chunk.models[i].length === n;
    const valuesOf = (chunk: ChunkInput, i: number, into: Float32Array) => (isHeld(chunk, i) ? scratch.taskOfHeld(chunk, i) : taskOf(chunk, i, into));
    const heldSource = kernels ? (chunk: ChunkInput, i: number) => kernelTaskSource(kernels, chunk.models[i], chunk.base as Float32Array) : undefined;
    const windows = await selectRankWindows(tensor, requests, valuesOf, (i) => `task vector of model ${i} in ${tensor.name}`, heldSource);
    windows.forEach((w, i) => setWindow(state, i, w));
  }
  const electing = kind === 'ties' || kind === 'dare_ties';
  const frequency = choiceOf(tensor, majoritySignSpec) === 'frequency';
  const lambda = tensor.parameters['lambda'];

  if (kernels) {
    return (chunk) => {
      if (!chunk.base) throw new PatchworkError('INTERNAL', 'task-vector merges need the base tensor');
      return kernelPeftChunk(kernels, state, chunk.base, chunk.models, chunk.offset, weights, electing, frequency, lambda);
    };
  }
  return (chunk) => {
    const base = chunk.base;
    if (!base) throw new PatchworkError('INTERNAL', 'task-vector merges need the base tensor');
    const length = base.length;
    scratch.ensure(length);
    const held = scratch.held === chunk;
    for (let i = 0; i < count; i++) {
      // Task vectors computed by the selection are pruned in place (θ − 0 is θ exactly).
      const inPlace = held && scratch.computed[i] === 1;
      if (inPlace && state.mode[i] === KEEP_ALL) continue;
      prune(state, i, inPlace ? scratch.pruned[i] : chunk.models[i], inPlace ? scratch.zeros : base, scratch.pruned[i], length, chunk.offset);
    }
    scratch.held = undefined;
    const out = new Float32Array(length);
    if (electing) electAndMergeInto(scratch, count, length, weights, frequency);
    else weightedSumInto(scratch, count, length, weights);
    const merged = scratch.sum;
    for (let j = 0; j < length; j++) out[j] = base[j] + lambda * merged[j];
    return out;
  };
}
