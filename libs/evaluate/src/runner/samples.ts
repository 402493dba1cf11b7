import { createHash } from 'node:crypto';
import { getMetric } from '../metrics/registry';
import type { MetricDefinition, MetricItem, MetricKwargs } from '../metrics/types';
import type { EvalDoc } from '../tasks/docs';
import type { TaskConfig } from '../tasks/task-config';
import type { DocOutcome } from './outcome';

/**
 * One line of the per-sample log, in lm-evaluation-harness's `samples_<task>.jsonl` layout
 * (doc_id, doc, target, arguments, resps, filtered_resps, filter, metrics, the three hashes and
 * one key per metric holding the document's item), plus `pred` / `pred_label`: the predicted
 * class or choice, which compatibility metrics compare across model versions.
 */
export interface SampleLog {
  readonly doc_id: number;
  readonly doc: Readonly<Record<string, unknown>>;
  readonly target: number | string;
  readonly arguments: Readonly<Record<string, Readonly<Record<string, string>>>>;
  readonly resps: readonly unknown[];
  readonly filtered_resps: unknown;
  readonly filter: 'none';
  readonly metrics: readonly string[];
  readonly doc_hash: string;
  readonly prompt_hash: string;
  readonly target_hash: string;
  readonly pred: number | null;
  readonly pred_label: string | null;
  readonly [metric: string]: unknown;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The doc as logged: its id, text, label and label name (pixels are hashed, not logged). */
function loggedDoc(doc: EvalDoc, labelNames: readonly string[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = { id: doc.id };
  if (doc.text !== undefined) out.text = doc.text;
  if (doc.label !== undefined) {
    out.label = doc.label;
    if (labelNames !== undefined) out.label_name = labelNames[doc.label];
  }
  return out;
}

function docHash(doc: EvalDoc, logged: Record<string, unknown>): string {
  const h = createHash('sha256').update(JSON.stringify(logged));
  if (doc.pixels !== undefined) h.update(Buffer.from(doc.pixels.buffer, doc.pixels.byteOffset, doc.pixels.byteLength));
  return h.digest('hex');
}

/** A task's metrics with their options parsed once. */
export interface PreparedMetric {
  readonly metric: MetricDefinition;
  readonly kwargs: MetricKwargs;
}

export function prepareMetrics(config: TaskConfig): PreparedMetric[] {
  return config.metric_list.map((spec) => {
    const metric = getMetric(spec.metric);
    return { metric, kwargs: metric.parseKwargs(spec.kwargs, `metric_list.${spec.metric}`) };
  });
}

export function buildSample(metrics: readonly PreparedMetric[], doc: EvalDoc, docId: number, outcome: DocOutcome, labelNames: readonly string[] | undefined): SampleLog {
  const logged = loggedDoc(doc, labelNames);
  const items: Record<string, MetricItem> = {};
  for (const { metric, kwargs } of metrics) items[metric.name] = metric.item(outcome.scored, kwargs);
  return {
    doc_id: docId,
    doc: logged,
    target: outcome.target,
    arguments: outcome.arguments,
    resps: outcome.resps,
    filtered_resps: outcome.filteredResps,
    filter: 'none',
    metrics: metrics.map((m) => m.metric.name),
    doc_hash: docHash(doc, logged),
    prompt_hash: sha256(outcome.prompt),
    target_hash: sha256(String(outcome.target)),
    pred: outcome.pred,
    pred_label: outcome.predLabel,
    ...items,
  };
}
