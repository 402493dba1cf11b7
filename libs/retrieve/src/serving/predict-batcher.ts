import { ViolationCollector, invalidArgument } from '@patchwork/errors';
import { checkModelInputs } from './model-inputs';
import type { PredictRequest, PredictResult, RoutedPredictor } from './routed-predictor';

export interface BatchingOptions {
  /** Coalesce concurrent calls into shared forward passes (false: every call runs on its own). */
  readonly enabled: boolean;
  /** Most rows one coalesced pass holds; a single call with more rows still runs, alone. */
  readonly maxBatchRows: number;
  /**
   * Longest a batch waits for calls that were announced (`announce`) but are not queued yet, in
   * milliseconds. Nothing waits for calls that were not announced.
   */
  readonly maxWaitMs: number;
}

export const DEFAULT_BATCHING: BatchingOptions = { enabled: true, maxBatchRows: 64, maxWaitMs: 10 };

export function checkBatchingOptions(o: BatchingOptions, field = 'batching'): BatchingOptions {
  const problems = new ViolationCollector();
  if (typeof o !== 'object' || o === null) throw invalidArgument(field, 'must be { enabled, maxBatchRows }');
  if (typeof o.enabled !== 'boolean') problems.add(`${field}.enabled`, 'must be a boolean');
  if (!Number.isSafeInteger(o.maxBatchRows) || o.maxBatchRows < 1) problems.add(`${field}.maxBatchRows`, `must be a positive integer, got ${o.maxBatchRows}`);
  if (!(Number.isFinite(o.maxWaitMs) && o.maxWaitMs >= 0)) problems.add(`${field}.maxWaitMs`, `must be a non-negative number, got ${o.maxWaitMs}`);
  problems.throwIfAny();
  return o;
}

export interface BatcherStats {
  /** Calls answered with results. */
  readonly calls: number;
  /** `predictBatched` runs that served them (fewer than calls when batching coalesced some). */
  readonly batches: number;
  /** Coalesced batches that failed and were rerun call by call. */
  readonly isolatedFailures: number;
}

/** A call on its way to `run` (its inputs still being decoded, say). */
export interface Announcement {
  /** Withdraws the announcement (idempotent); `run` does it when the call is queued. */
  withdraw(): void;
}

interface Call {
  readonly requests: readonly PredictRequest[];
  readonly rows: number;
  readonly resolve: (results: PredictResult[]) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Continuous batching for a `RoutedPredictor`: calls that arrive while a batch runs wait in a
 * queue and run together in the next one, whatever adapters they name, so concurrent requests
 * for different adapters share one base forward pass (`predictBatched`). A batch waits only for
 * calls announced to be on their way (`announce`, done by a server when a request arrives and
 * before its inputs are decoded), and at most `maxWaitMs`: a lone request runs on the next turn
 * of the event loop, so batching costs nothing at low load. Each call's inputs are checked
 * before it joins a batch, and if a coalesced batch still fails (an adapter that does not load,
 * say), its calls are rerun one by one so that only the faulty call fails.
 */
export class PredictBatcher {
  private readonly queue: Call[] = [];
  private draining = false;
  private announced = 0;
  private wake: (() => void) | undefined;
  private counters = { calls: 0, batches: 0, isolatedFailures: 0 };

  constructor(
    readonly predictor: RoutedPredictor,
    private readonly options: BatchingOptions = DEFAULT_BATCHING,
  ) {
    checkBatchingOptions(options);
  }

  get stats(): BatcherStats {
    return { ...this.counters };
  }

  /** Tells the batcher a call is coming, so that the batch being formed may wait for it. */
  announce(): Announcement {
    if (!this.options.enabled) return { withdraw: () => undefined };
    this.announced++;
    let live = true;
    return {
      withdraw: () => {
        if (!live) return;
        live = false;
        this.announced--;
        this.wake?.();
      },
    };
  }

  /** Runs `requests` (in one batch, possibly with other calls'); results in request order. */
  async run(requests: readonly PredictRequest[], announcement?: Announcement): Promise<PredictResult[]> {
    try {
      if (!Array.isArray(requests) || requests.length === 0) throw invalidArgument('requests', 'must be a non-empty array');
      const rows = requests.reduce((n, r, i) => n + checkModelInputs(this.predictor.model, r?.input, `requests[${i}].input`), 0);
      if (!this.options.enabled) return await this.runAlone(requests);
      return await new Promise<PredictResult[]>((resolve, reject) => {
        this.queue.push({ requests, rows, resolve, reject });
        announcement?.withdraw();
        this.wake?.();
        if (!this.draining) {
          this.draining = true;
          setImmediate(() => void this.drain());
        }
      });
    } finally {
      announcement?.withdraw();
    }
  }

  private queuedRows(): number {
    return this.queue.reduce((n, c) => n + c.rows, 0);
  }

  /** Waits while announced calls are still on their way, until the batch is full or `maxWaitMs` passed. */
  private async gather(): Promise<void> {
    const deadline = performance.now() + this.options.maxWaitMs;
    while (this.announced > 0 && this.queuedRows() < this.options.maxBatchRows) {
      const left = deadline - performance.now();
      if (left <= 0) return;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.wake = undefined;
          resolve();
        };
        const timer = setTimeout(done, left);
        this.wake = done;
      });
    }
  }

  private async runAlone(requests: readonly PredictRequest[]): Promise<PredictResult[]> {
    const results = await this.predictor.predictBatched(requests);
    this.counters.calls++;
    this.counters.batches++;
    return results;
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        await this.gather();
        const batch: Call[] = [this.queue.shift() as Call];
        let rows = batch[0].rows;
        while (this.queue.length > 0 && rows + this.queue[0].rows <= this.options.maxBatchRows) {
          const next = this.queue.shift() as Call;
          rows += next.rows;
          batch.push(next);
        }
        await this.runBatch(batch);
        // Let calls that arrived during the batch reach the queue before the next one is cut.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } finally {
      this.draining = false;
    }
  }

  private async runBatch(batch: readonly Call[]): Promise<void> {
    if (batch.length === 1) return this.settle(batch[0]);
    let results: PredictResult[];
    try {
      results = await this.predictor.predictBatched(batch.flatMap((c) => c.requests));
    } catch {
      this.counters.isolatedFailures++;
      for (const call of batch) await this.settle(call);
      return;
    }
    this.counters.batches++;
    let at = 0;
    for (const call of batch) {
      this.counters.calls++;
      call.resolve(results.slice(at, at + call.requests.length));
      at += call.requests.length;
    }
  }

  private async settle(call: Call): Promise<void> {
    try {
      call.resolve(await this.runAlone(call.requests));
    } catch (e) {
      call.reject(e);
    }
  }
}
