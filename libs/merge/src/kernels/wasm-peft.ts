import { MagnitudeSource, ScanResult } from '../math/bracket-window';
import { uniformAt } from '../math/random';
import { MergeKernels } from './merge-kernels';

/** Elements per kernel block: every array of a block fits in cache together. */
const BLOCK = 1 << 16;
const f32 = Math.fround;
const draw = uniformAt;

/** How one model's task vector is pruned (see peft-streaming.ts). */
export const KEEP_ALL = 0;
export const KEEP_NONE = 1;
export const KEEP_WINDOW = 2;
export const KEEP_RANDOM = 3;

/** Per-model pruning state in flat typed arrays, shared by the kernel and the plain-loop paths. */
export class PruneState {
  readonly mode: Uint8Array;
  readonly a: Float64Array;
  readonly b: Float64Array;
  readonly aboveA: Float64Array;
  readonly aboveB: Float64Array;
  readonly lo: Float64Array;
  readonly hi: Float64Array;
  readonly seenA: Float64Array;
  readonly seenB: Float64Array;
  readonly density: Float64Array;
  readonly key: Float64Array;

  constructor(n: number) {
    this.mode = new Uint8Array(n);
    this.a = new Float64Array(n);
    this.b = new Float64Array(n);
    this.aboveA = new Float64Array(n);
    this.aboveB = new Float64Array(n);
    this.lo = new Float64Array(n);
    this.hi = new Float64Array(n);
    this.seenA = new Float64Array(n);
    this.seenB = new Float64Array(n);
    this.density = new Float64Array(n);
    this.key = new Float64Array(n);
  }
}

/**
 * θ_i − θ_0 of a tensor held whole, as a MagnitudeSource whose passes run in the kernels block by
 * block (the task vector is never stored whole).
 */
export function kernelTaskSource(kernels: MergeKernels, model: Float32Array, base: Float32Array): MagnitudeSource {
  const n = base.length;
  /** Runs `visit(offset, length, pointer)` over blocks of θ_i − θ_0 computed in kernel memory. */
  const blocks = (extra: number, visit: (length: number, pointer: number, extraPointer: number) => boolean): { ok: boolean; extra: number } => {
    kernels.reset();
    const m = kernels.alloc(4 * BLOCK);
    const b = kernels.alloc(4 * BLOCK);
    const more = kernels.alloc(extra);
    for (let o = 0; o < n; o += BLOCK) {
      const length = Math.min(BLOCK, n - o);
      kernels.f32(m, length).set(model.subarray(o, o + length));
      kernels.f32(b, length).set(base.subarray(o, o + length));
      kernels.k.sub(m, b, m, length);
      if (!visit(length, m, more)) return { ok: false, extra: more };
    }
    return { ok: true, extra: more };
  };
  return {
    length: n,
    at: (index) => f32(model[index] - base[index]),
    scan: (low, high, candidates) => {
      const result: ScanResult = { above: 0, below: 0, nan: 0, count: 0, max: -Infinity };
      const capacity = candidates.length;
      let pass: { ok: boolean; extra: number };
      try {
        pass = blocks(4 * capacity + 16, (length, pointer, region) => {
          const counts = region + 4 * capacity;
          const got = kernels.k.bracket(pointer, length, low, high, region + 4 * result.count, capacity - result.count, counts);
          if (got < 0) return false;
          const [above, below, nan] = kernels.i32(counts, 3);
          const max = kernels.f32(counts + 12, 1)[0];
          if (Number.isNaN(max) || max > result.max) result.max = max;
          result.above += above;
          result.below += below;
          result.nan += nan;
          result.count += got;
          return true;
        });
      } catch (err) {
        // The kernels' memory could not grow: let the caller select another way.
        if ((err as { name?: unknown } | null)?.name === 'RangeError') return undefined;
        throw err;
      }
      if (!pass.ok) return undefined;
      candidates.set(kernels.f32(pass.extra, result.count));
      return result;
    },
    materialize: () => {
      const out = new Float32Array(n);
      for (let j = 0; j < n; j++) out[j] = model[j] - base[j];
      return out;
    },
  };
}

/**
 * PEFT's combination over one chunk in the kernels, block by block: task vectors, pruning
 * (windows in the kernel, DARE's draws in plain code on the kernel's memory), election and
 * disjoint mean or weighted sum, then base + λ·merged. Bit-identical to the plain-loop path.
 */
export function kernelPeftChunk(
  kernels: MergeKernels,
  state: PruneState,
  base: Float32Array,
  models: Float32Array[],
  offset: number,
  weights: Float64Array,
  electing: boolean,
  frequency: boolean,
  lambda: number,
): Float32Array {
  const count = models.length;
  const n = base.length;
  const out = new Float32Array(n);
  const k = kernels.k;
  for (let o = 0; o < n; o += BLOCK) {
    const length = Math.min(BLOCK, n - o);
    kernels.reset();
    const b = kernels.alloc(4 * length);
    const pruned = models.map(() => kernels.alloc(4 * length));
    const e = kernels.alloc(4 * length);
    const s = kernels.alloc(4 * length);
    const c = kernels.alloc(4 * length);
    const seen = kernels.alloc(16);
    kernels.f32(b, length).set(base.subarray(o, o + length));
    for (let i = 0; i < count; i++) {
      const p = pruned[i];
      kernels.f32(p, length).set(models[i].subarray(o, o + length));
      k.sub(p, b, p, length);
      const mode = state.mode[i];
      if (mode === KEEP_NONE) kernels.f32(p, length).fill(0);
      else if (mode === KEEP_WINDOW) {
        const counters = kernels.f64(seen, 2);
        counters[0] = state.seenA[i];
        counters[1] = state.seenB[i];
        k.prune_window(p, length, state.a[i], state.b[i], state.lo[i], state.hi[i], state.aboveA[i], state.aboveB[i], seen);
        const after = kernels.f64(seen, 2);
        state.seenA[i] = after[0];
        state.seenB[i] = after[1];
      } else if (mode === KEEP_RANDOM) {
        const view = kernels.f32(p, length);
        const density = state.density[i];
        const divisor = f32(density);
        const key = state.key[i];
        const start = offset + o;
        for (let j = 0; j < length; j++) view[j] = draw(key, start + j) < density ? f32(view[j] / divisor) : 0;
      }
    }
    kernels.f32(s, length).fill(0);
    if (electing) {
      kernels.f32(e, length).fill(0);
      kernels.f32(c, length).fill(0);
      for (let i = 0; i < count; i++) (frequency ? k.elect_frequency : k.elect_total)(pruned[i], e, length);
      for (let i = 0; i < count; i++) k.merge_agreeing(pruned[i], e, s, c, weights[i], length);
    } else {
      for (let i = 0; i < count; i++) k.weighted_sum(pruned[i], s, weights[i], length);
    }
    k.finish(b, s, c, lambda, e, length, electing ? 1 : 0);
    out.set(kernels.f32(e, length), o);
  }
  return out;
}
