import { PatchworkError, invalidArgument } from '@patchwork/errors';
import type { Model, ModelInputs } from '@patchwork/models';
import { tf } from '@patchwork/tensor';
import type { AdapterCache, AdapterLease } from './adapter-cache';
import { batchSignature, checkModelInputs, concatInputs } from './model-inputs';
import { type RowSegment, RowRoutedPatches } from './row-routed-patches';
import type { ServableAdapter } from './servable-adapter';

export interface PredictRequest {
  /** The adapter to run through; null runs the base model alone. */
  readonly adapterId: string | null;
  /** The request's inputs (batch of one or more); borrowed, never disposed here. */
  readonly input: ModelInputs;
}

export interface PredictResult {
  readonly adapterId: string | null;
  /** Row-major logits of the request's rows. */
  readonly logits: Float32Array;
  readonly shape: number[];
}

export interface PredictBatchedStats {
  /** Forward passes run by the last `predictBatched` call. */
  readonly forwards: number;
  /** Waves the last call was split into because the cache could not hold all its adapters at once. */
  readonly waves: number;
}

interface Pending {
  readonly index: number;
  readonly request: PredictRequest;
  readonly rows: number;
}

/**
 * Serves many requests for many adapters of one base model. `predictBatched` groups requests by
 * adapter and runs one forward pass per group of compatible inputs for all adapters together:
 * what is shared is the whole base computation — every base projection (one matmul over all rows),
 * attention, norms, embeddings and the head — while each adapter's low-rank or bottleneck branch
 * runs on its own rows (see `RowRoutedPatches`). Adapters that replace base parameters
 * (`savedParameterKeys`: PEFT modules_to_save or trained biases) cannot share and get a forward of
 * their own. Inputs share a pass when their per-example shapes agree (images always do; token
 * sequences of different lengths form separate passes, since padding would change logits of
 * models without a mask) and their adapters' logits have the same width (`outputKey`).
 */
export class RoutedPredictor {
  private last: PredictBatchedStats = { forwards: 0, waves: 0 };

  constructor(
    readonly model: Model,
    private readonly cache: AdapterCache<ServableAdapter>,
  ) {}

  /** Counters of the last `predictBatched` call (for tests and metrics). */
  get lastStats(): PredictBatchedStats {
    return this.last;
  }

  /** Runs every request; results come back in request order. */
  async predictBatched(requests: readonly PredictRequest[]): Promise<PredictResult[]> {
    if (!Array.isArray(requests) || requests.length === 0) throw invalidArgument('requests', 'must be a non-empty array');
    const pending: Pending[] = requests.map((request, index) => {
      if (typeof request !== 'object' || request === null) throw invalidArgument(`requests[${index}]`, 'must be { adapterId, input }');
      const { adapterId } = request;
      if (adapterId !== null && (typeof adapterId !== 'string' || adapterId === '')) throw invalidArgument(`requests[${index}].adapterId`, 'must be a non-empty string or null (base model)');
      return { index, request, rows: checkModelInputs(this.model, request.input, `requests[${index}].input`) };
    });
    const ids = [...new Set(pending.map((p) => p.request.adapterId).filter((id): id is string => id !== null))];
    const results: PredictResult[] = new Array(requests.length);
    let forwards = 0;
    let waves = 0;
    let next = 0;
    let baseServed = false;
    while (next < ids.length || !baseServed) {
      const leases: AdapterLease<ServableAdapter>[] = [];
      try {
        while (next < ids.length) {
          try {
            leases.push(await this.cache.acquire(ids[next]));
            next++;
          } catch (e) {
            // The cache is full of adapters this call already holds: serve those, then continue.
            if (e instanceof PatchworkError && e.code === 'RESOURCE_EXHAUSTED' && e.retryable && leases.length > 0) break;
            throw e;
          }
        }
        const adapters = new Map(leases.map((l) => [l.id, l.adapter]));
        for (const a of adapters.values()) {
          if (a.model !== undefined && a.model !== this.model) throw new PatchworkError('FAILED_PRECONDITION', 'an adapter in the batch was built on a different base model than this predictor serves');
        }
        const wave = pending.filter((p) => (p.request.adapterId === null ? !baseServed : adapters.has(p.request.adapterId)));
        baseServed = true;
        forwards += this.runWave(wave, adapters, results);
        waves++;
      } finally {
        for (const l of leases) l.release();
      }
    }
    this.last = { forwards, waves };
    return results;
  }

  /** One input through several adapters (fan-out), batched like `predictBatched`. */
  async predictMany(input: ModelInputs, adapterIds: ReadonlyArray<string | null>): Promise<PredictResult[]> {
    if (!Array.isArray(adapterIds) || adapterIds.length === 0) throw invalidArgument('adapterIds', 'must be a non-empty array');
    return this.predictBatched(adapterIds.map((adapterId) => ({ adapterId, input })));
  }

  private runWave(wave: readonly Pending[], adapters: ReadonlyMap<string, ServableAdapter>, results: PredictResult[]): number {
    const shared: Pending[] = [];
    const solo = new Map<string, Pending[]>();
    for (const p of wave) {
      const id = p.request.adapterId;
      const adapter = id === null ? undefined : adapters.get(id);
      if (adapter !== undefined && (adapter.savedParameterKeys?.length ?? 0) > 0) {
        const list = solo.get(id as string) ?? [];
        list.push(p);
        solo.set(id as string, list);
      } else shared.push(p);
    }
    let forwards = 0;
    const bySignature = new Map<string, Pending[]>();
    for (const p of shared) {
      const id = p.request.adapterId;
      const key = `${batchSignature(p.request.input)}#${(id === null ? undefined : adapters.get(id)?.outputKey) ?? ''}`;
      const list = bySignature.get(key) ?? [];
      list.push(p);
      bySignature.set(key, list);
    }
    for (const group of bySignature.values()) {
      // Contiguous rows per adapter, so each adapter patches one slice.
      const order = [...group].sort((a, b) => {
        const ka = a.request.adapterId ?? '';
        const kb = b.request.adapterId ?? '';
        return ka < kb ? -1 : ka > kb ? 1 : a.index - b.index;
      });
      const spans: Array<{ id: string | null; start: number; end: number }> = [];
      let row = 0;
      for (const p of order) {
        const id = p.request.adapterId;
        const last = spans[spans.length - 1];
        if (last !== undefined && last.id === id) last.end = row + p.rows;
        else spans.push({ id, start: row, end: row + p.rows });
        row += p.rows;
      }
      const segments: RowSegment[] = spans.map(({ id, start, end }) => ({ start, end, patches: id === null ? undefined : adapters.get(id)?.patches() }));
      this.collect(order, () => this.model.forward(concatInputs(order.map((p) => p.request.input)), { patches: new RowRoutedPatches(segments) }).logits, results);
      forwards++;
    }
    for (const [id, group] of solo) {
      const adapter = adapters.get(id) as ServableAdapter;
      if (typeof adapter.forward !== 'function') throw new PatchworkError('FAILED_PRECONDITION', `adapter ${id} replaces base parameters but offers no forward of its own`);
      for (const sameShape of groupBySignature(group)) {
        this.collect(sameShape, () => (adapter.forward as (i: ModelInputs) => { logits: tf.Tensor })(concatInputs(sameShape.map((p) => p.request.input))).logits, results);
        forwards++;
      }
    }
    return forwards;
  }

  /** Runs `forward` in a tidy scope (the stacked inputs included) and splits its logits by request. */
  private collect(order: readonly Pending[], forward: () => tf.Tensor, results: PredictResult[]): void {
    tf.tidy(() => {
      const logits = forward();
      const values = logits.dataSync() as Float32Array;
      const perRow = logits.size / logits.shape[0];
      let row = 0;
      for (const p of order) {
        results[p.index] = {
          adapterId: p.request.adapterId,
          logits: values.slice(row * perRow, (row + p.rows) * perRow),
          shape: [p.rows, ...logits.shape.slice(1)],
        };
        row += p.rows;
      }
    });
  }
}

function groupBySignature(list: readonly Pending[]): Pending[][] {
  const groups = new Map<string, Pending[]>();
  for (const p of list) {
    const key = batchSignature(p.request.input);
    const g = groups.get(key) ?? [];
    g.push(p);
    groups.set(key, g);
  }
  return [...groups.values()];
}
