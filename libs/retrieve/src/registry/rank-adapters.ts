import { PatchworkError, ViolationCollector } from '@patchwork/errors';
import { type AdapterRecord, checkRecords } from './adapter-record';

/** Which stored score orders the results. */
export interface MetricSelector {
  readonly name: string;
  /** Only this evaluation's value; without it, the mean over every evaluation reporting the metric. */
  readonly evaluation?: string;
  /** Default: inferred from the name (see `higherIsBetter`). */
  readonly higherIsBetter?: boolean;
}

export interface AdapterQuery {
  /** The base model the caller will run; only adapters for it (native or ported) are usable. */
  readonly baseModelDigest: string;
  /** Every tag must be present on an adapter for it to match. */
  readonly tags?: readonly string[];
  /** A metric name, or a selector. Without it, results are ordered native first, then by digest. */
  readonly metric?: string | MetricSelector;
}

export interface RankedAdapter {
  /** 1-based position. */
  readonly rank: number;
  readonly digest: string;
  /** The metric value used for ordering; undefined when the adapter has no such score (ranked last). */
  readonly score: number | undefined;
  /** Set on ported patches: the adapter it was ported from. */
  readonly portedFrom?: string;
  readonly record: AdapterRecord;
}

export interface RefusedAdapter {
  readonly digest: string;
  readonly baseModelDigest: string;
  readonly code: 'FAILED_PRECONDITION';
  readonly reason: string;
}

export interface AdapterRanking {
  readonly ranked: RankedAdapter[];
  /** Adapters that match the tags but were made for another base and have no port to the query's. */
  readonly refused: RefusedAdapter[];
}

// Metric names whose smaller values are better (lm-eval and trainer conventions); everything else is "higher is better".
const LOWER_IS_BETTER = /(^|[_\-,./ ])(loss|perplexity|ppl|error|err|wer|cer|latency|bits_per_byte|bpb|nfr)([_\-,./ ]|$)/i;

/** Whether larger values of metric `name` are better, unless a selector says otherwise. */
export function higherIsBetter(name: string): boolean {
  return !LOWER_IS_BETTER.test(name);
}

function selectorOf(metric: AdapterQuery['metric']): MetricSelector | undefined {
  if (metric === undefined) return undefined;
  return typeof metric === 'string' ? { name: metric } : metric;
}

function checkQuery(query: AdapterQuery): void {
  const problems = new ViolationCollector();
  if (typeof query !== 'object' || query === null) {
    problems.add('query', 'must be an object');
    problems.throwIfAny();
  }
  if (typeof query.baseModelDigest !== 'string' || query.baseModelDigest === '') problems.add('query.baseModelDigest', 'must be a non-empty string');
  if (query.tags !== undefined && (!Array.isArray(query.tags) || !query.tags.every((t) => typeof t === 'string' && t !== ''))) {
    problems.add('query.tags', 'must be an array of non-empty strings');
  }
  const m = query.metric;
  if (m !== undefined) {
    const sel = typeof m === 'string' ? { name: m } : m;
    if (typeof sel !== 'object' || sel === null || typeof sel.name !== 'string' || sel.name === '') problems.add('query.metric', 'must be a metric name or { name, evaluation?, higherIsBetter? }');
    else {
      if (sel.evaluation !== undefined && (typeof sel.evaluation !== 'string' || sel.evaluation === '')) problems.add('query.metric.evaluation', 'must be a non-empty string when present');
      if (sel.higherIsBetter !== undefined && typeof sel.higherIsBetter !== 'boolean') problems.add('query.metric.higherIsBetter', 'must be a boolean when present');
    }
  }
  problems.throwIfAny();
}

/** The record's value of the selected metric: one evaluation's, or the mean over those reporting it. */
export function metricValue(record: AdapterRecord, selector: MetricSelector): number | undefined {
  const values: number[] = [];
  for (const e of record.evaluations) {
    if (selector.evaluation !== undefined && e.name !== selector.evaluation) continue;
    const v = e.metrics[selector.name];
    if (v !== undefined) values.push(v);
  }
  if (values.length === 0) return undefined;
  return values.reduce((a, b) => a + b, 0) / values.length;
}

function hasTags(record: AdapterRecord, tags: readonly string[] | undefined): boolean {
  return tags === undefined || tags.every((t) => record.tags.includes(t));
}

/**
 * Searches adapter records for ones usable on `query.baseModelDigest` that carry every query tag,
 * ranked by a stored evaluation score. An adapter trained on another base is refused
 * (FAILED_PRECONDITION) unless a ported patch of it onto the query's base exists; then the port is
 * what is ranked. Ties (and adapters without the metric, which come last) are broken natively
 * trained first, since a port only approximates a fine-tune of the new base, then by digest, so
 * the order is deterministic. When every matching adapter is refused the whole search fails with
 * FAILED_PRECONDITION naming them: the caller must port one first.
 */
export function rankAdapters(records: readonly AdapterRecord[], query: AdapterQuery): AdapterRanking {
  checkQuery(query);
  checkRecords(records);
  const base = query.baseModelDigest;
  const selector = selectorOf(query.metric);
  const higher = selector === undefined ? true : (selector.higherIsBetter ?? higherIsBetter(selector.name));
  const portedOntoBase = new Set(records.filter((r) => r.baseModelDigest === base && r.portedFrom !== undefined).map((r) => r.portedFrom as string));

  const usable: Array<{ record: AdapterRecord; score: number | undefined }> = [];
  const refused: RefusedAdapter[] = [];
  for (const record of records) {
    if (!hasTags(record, query.tags)) continue;
    if (record.baseModelDigest === base) {
      usable.push({ record, score: selector === undefined ? undefined : metricValue(record, selector) });
    } else if (!portedOntoBase.has(record.digest)) {
      refused.push({
        digest: record.digest,
        baseModelDigest: record.baseModelDigest,
        code: 'FAILED_PRECONDITION',
        reason: `adapter ${record.digest} was trained on base ${record.baseModelDigest}, not ${base}, and has no ported patch for it`,
      });
    }
  }
  usable.sort((a, b) => {
    if (a.score !== undefined || b.score !== undefined) {
      if (a.score === undefined) return 1;
      if (b.score === undefined) return -1;
      if (a.score !== b.score) return higher ? b.score - a.score : a.score - b.score;
    }
    const portA = a.record.portedFrom === undefined ? 0 : 1;
    const portB = b.record.portedFrom === undefined ? 0 : 1;
    if (portA !== portB) return portA - portB;
    return a.record.digest < b.record.digest ? -1 : a.record.digest > b.record.digest ? 1 : 0;
  });
  if (usable.length === 0 && refused.length > 0) {
    const names = refused.slice(0, 5).map((r) => `${r.digest} (base ${r.baseModelDigest})`);
    const more = refused.length > 5 ? ` and ${refused.length - 5} more` : '';
    throw new PatchworkError(
      'FAILED_PRECONDITION',
      `no adapter for base ${base} matches; ${refused.length} matching adapter(s) were trained on other bases and none is ported to it: ${names.join(', ')}${more}`,
    );
  }
  const ranked = usable.map(({ record, score }, i) => ({
    rank: i + 1,
    digest: record.digest,
    score,
    ...(record.portedFrom === undefined ? {} : { portedFrom: record.portedFrom }),
    record,
  }));
  return { ranked, refused };
}

/**
 * The record to run when a caller names adapter `digest` for base `baseModelDigest`: the adapter
 * itself if it was made for that base, else its ported patch onto that base. NOT_FOUND for an
 * unknown digest; FAILED_PRECONDITION for an adapter of another base without a port.
 */
export function resolveAdapter(records: readonly AdapterRecord[], request: { baseModelDigest: string; digest: string }): AdapterRecord {
  const problems = new ViolationCollector();
  if (typeof request?.baseModelDigest !== 'string' || request.baseModelDigest === '') problems.add('baseModelDigest', 'must be a non-empty string');
  if (typeof request?.digest !== 'string' || request.digest === '') problems.add('digest', 'must be a non-empty string');
  problems.throwIfAny();
  checkRecords(records);
  const record = records.find((r) => r.digest === request.digest);
  if (record === undefined) throw new PatchworkError('NOT_FOUND', `adapter ${request.digest} is not in the registry`);
  if (record.baseModelDigest === request.baseModelDigest) return record;
  const port = records.find((r) => r.portedFrom === record.digest && r.baseModelDigest === request.baseModelDigest);
  if (port !== undefined) return port;
  throw new PatchworkError(
    'FAILED_PRECONDITION',
    `adapter ${record.digest} was trained on base ${record.baseModelDigest}, not ${request.baseModelDigest}; port it to that base (PortLLM) before applying it`,
  );
}
