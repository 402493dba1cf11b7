import { DEFAULT_BOOTSTRAP_ITERS, ResampledGroup, bootstrapGroupStderrs } from '../stats/bootstrap';
import { meanStderr } from '../stats/moments';
import { getMetric } from '../metrics/registry';
import { allIndices } from '../metrics/common';
import { ClassCounts, LabelPairs, labelPairs } from '../metrics/confusion';
import type { MetricItem } from '../metrics/types';
import type { TaskConfig } from '../tasks/task-config';
import type { SampleLog } from './samples';
import type { ShardResult } from './shard-result';

/** lm-evaluation-harness's results JSON for one task (timestamps and git hash are the caller's). */
export interface EvalResults {
  /** `{task: {alias, "<metric>,none": value, "<metric>_stderr,none": stderr | "N/A"}}`. */
  readonly results: Record<string, Record<string, string | number | null>>;
  readonly group_subtasks: Record<string, string[]>;
  readonly configs: Record<string, Record<string, unknown>>;
  readonly versions: Record<string, number>;
  readonly 'n-shot': Record<string, number>;
  readonly higher_is_better: Record<string, Record<string, boolean>>;
  readonly 'n-samples': Record<string, { original: number; effective: number }>;
  readonly config: {
    readonly model: string | null;
    readonly model_args: string | null;
    readonly batch_size: number;
    readonly batch_sizes: number[];
    readonly limit: number | null;
    readonly bootstrap_iters: number;
    readonly bootstrap_seed: number;
    readonly random_seed: number;
    readonly numpy_seed: number;
    readonly torch_seed: number;
    readonly fewshot_seed: number;
  };
}

export interface AggregateOptions {
  /** Bootstrap replicates for metrics without a closed-form error. Default 100000 (lm-eval's). */
  readonly bootstrapIters?: number;
  /** Chunk i of the bootstrap draws from Python's random.Random(seed + i). Default 0 (lm-eval). */
  readonly bootstrapSeed?: number;
}

/** A task config as lm-eval writes it under `configs`: metric options flattened into each entry. */
export function serialiseConfig(config: TaskConfig): Record<string, unknown> {
  return { ...config, metric_list: config.metric_list.map((m) => ({ metric: m.metric, aggregation: m.aggregation, higher_is_better: m.higher_is_better, ...m.kwargs })) };
}

const finiteOrNull = (v: number): number | null => (Number.isFinite(v) ? v : null);

function samePairs(a: readonly MetricItem[], b: readonly MetricItem[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as readonly [number, number];
    const y = b[i] as readonly [number, number];
    if (x[0] !== y[0] || x[1] !== y[1]) return false;
  }
  return true;
}

/** F1, MCC and friends over the same `[gold, pred]` items: one confusion count per resample serves them all. */
function confusionGroup(items: readonly MetricItem[], pairs: LabelPairs): { items: readonly MetricItem[]; names: string[]; scores: ((counts: ClassCounts) => number)[]; group: ResampledGroup } {
  const names: string[] = [];
  const scores: ((counts: ClassCounts) => number)[] = [];
  const counts = new ClassCounts(pairs.size);
  const group: ResampledGroup = {
    names,
    compute: (indices, out) => {
      counts.count(pairs, indices);
      for (let i = 0; i < scores.length; i++) out[i] = scores[i](counts);
    },
  };
  return { items, names, scores, group };
}

/**
 * Aggregates per-sample items into lm-eval's results JSON. Every number is a function of the
 * samples in doc order and the bootstrap settings only, so sharded and unsharded runs agree.
 */
export function buildResults(head: ShardResult, samples: readonly SampleLog[], options: AggregateOptions = {}): EvalResults {
  const { config } = head;
  const iters = options.bootstrapIters ?? DEFAULT_BOOTSTRAP_ITERS;
  const seed = options.bootstrapSeed ?? 0;
  const context = { numClasses: head.num_classes ?? undefined };
  const row: Record<string, string | number | null> = { alias: config.task };
  const higher: Record<string, boolean> = {};
  const groups: ResampledGroup[] = [];
  let confusion: ReturnType<typeof confusionGroup> | undefined;
  const values = new Map<string, number>();
  const stderrs = new Map<string, number>();
  for (const spec of config.metric_list) {
    const metric = getMetric(spec.metric);
    const kwargs = metric.parseKwargs(spec.kwargs, spec.metric);
    const items = samples.map((s) => s[spec.metric] as MetricItem);
    // Compiling the aggregator validates the items, before any shared path relies on them.
    const at = metric.aggregator(items, kwargs, context);
    values.set(spec.metric, at(allIndices(items.length)));
    if (metric.stderr === 'mean') stderrs.set(spec.metric, meanStderr(items as number[]));
    else if (metric.fromCounts !== undefined && (confusion === undefined || samePairs(confusion.items, items))) {
      if (confusion === undefined) {
        confusion = confusionGroup(items, labelPairs(items, spec.metric));
        groups.push(confusion.group);
      }
      confusion.names.push(spec.metric);
      confusion.scores.push(metric.fromCounts(kwargs, context));
    } else {
      groups.push({
        names: [spec.metric],
        compute: (indices, out) => {
          out[0] = at(indices);
        },
      });
    }
    higher[spec.metric] = spec.higher_is_better;
  }
  const boot = groups.length > 0 ? bootstrapGroupStderrs(samples.length, groups, { iters, seed }) : {};
  for (const spec of config.metric_list) {
    const se = stderrs.get(spec.metric) ?? boot[spec.metric];
    row[`${spec.metric},none`] = finiteOrNull(values.get(spec.metric) as number);
    row[`${spec.metric}_stderr,none`] = Number.isFinite(se) ? se : 'N/A';
  }
  const task = config.task;
  return {
    results: { [task]: row },
    group_subtasks: { [task]: [] },
    configs: { [task]: serialiseConfig(config) },
    versions: { [task]: config.metadata.version },
    'n-shot': { [task]: 0 },
    higher_is_better: { [task]: higher },
    'n-samples': { [task]: { original: head.n_samples.original, effective: head.n_samples.effective } },
    config: {
      model: head.run.model,
      model_args: head.run.model_args,
      batch_size: head.run.batch_size,
      batch_sizes: [],
      limit: head.run.limit,
      bootstrap_iters: iters,
      bootstrap_seed: seed,
      random_seed: 0,
      numpy_seed: 1234,
      torch_seed: 1234,
      fewshot_seed: 1234,
    },
  };
}
