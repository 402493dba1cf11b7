import { CORPUS_NAMES, type CorpusName, SPLIT_NAMES, type SplitName, listTasks } from '@patchwork/datasets';
import { PatchworkError, ViolationCollector } from '@patchwork/errors';
import { DEFAULT_METRICS, getMetric } from '../metrics/registry';
import { OUTPUT_TYPES, type OutputType } from '../metrics/types';
import type { DatasetKwargs, DocFieldSet, MetricSpec, TaskConfig } from './task-config';
import { checkTemplate, listReference } from './template';

const KEYS = new Set([
  'task',
  'tag',
  'description',
  'dataset',
  'dataset_kwargs',
  'split',
  'output_type',
  'doc_to_text',
  'doc_to_choice',
  'doc_to_target',
  'target_delimiter',
  'num_fewshot',
  'max_length',
  'metric_list',
  'metadata',
]);
// lm-eval keys for features this library does not run: named so the error says why.
const UNSUPPORTED = new Set(['generation_kwargs', 'filter_list', 'fewshot_split', 'fewshot_config', 'process_docs', 'repeats', 'use_prompt', 'process_results', 'doc_to_image']);
const METRIC_SPEC_KEYS = new Set(['metric', 'aggregation', 'higher_is_better']);
const TASK_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The fields documents of a dataset expose to templates. */
export function docFields(kind: 'task' | 'corpus', inputKind: 'text' | 'image'): DocFieldSet {
  if (kind === 'corpus') return { scalar: ['id', 'text'], list: [] };
  return inputKind === 'text' ? { scalar: ['id', 'text', 'label', 'label_name'], list: ['label_names'] } : { scalar: ['id', 'label', 'label_name'], list: ['label_names'] };
}

interface ResolvedDataset {
  kind: 'task' | 'corpus';
  inputKind: 'text' | 'image';
}

function resolveDataset(name: unknown, problems: ViolationCollector): ResolvedDataset | undefined {
  if (typeof name !== 'string' || name === '') {
    problems.add('dataset', 'is required: a @patchwork/datasets task name or a text corpus name');
    return undefined;
  }
  const registered = listTasks().find((t) => t.name === name);
  if (registered?.kind === 'task') return { kind: 'task', inputKind: registered.inputKind };
  if (registered?.kind === 'sequence') {
    problems.add('dataset', `"${name}" is a task sequence; evaluate each of its tasks (${registered.tasks.join(', ')}) separately`);
    return undefined;
  }
  if (CORPUS_NAMES.includes(name as CorpusName)) return { kind: 'corpus', inputKind: 'text' };
  problems.add('dataset', `unknown dataset "${name}"; expected a @patchwork/datasets task (listTasks()) or a corpus (${CORPUS_NAMES.join(', ')})`);
  return undefined;
}

function readDatasetKwargs(raw: unknown, kind: 'task' | 'corpus' | undefined, problems: ViolationCollector): DatasetKwargs {
  if (raw === undefined || raw === null) return {};
  if (!isRecord(raw)) {
    problems.add('dataset_kwargs', 'must be a mapping');
    return {};
  }
  const out: { seed?: number; fractions?: DatasetKwargs['fractions']; unit?: 'document' | 'paragraph' } = {};
  for (const [key, value] of Object.entries(raw)) {
    if (key === 'seed') {
      if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > 0xffffffff) problems.add('dataset_kwargs.seed', 'must be an integer in [0, 2^32)');
      else out.seed = value as number;
    } else if (key === 'fractions') {
      if (!isRecord(value) || SPLIT_NAMES.some((s) => typeof value[s] !== 'number') || Object.keys(value).length !== 3) {
        problems.add('dataset_kwargs.fractions', 'must map train, validation and test to numbers');
      } else out.fractions = { train: value.train as number, validation: value.validation as number, test: value.test as number };
    } else if (key === 'unit') {
      if (kind !== 'corpus') problems.add('dataset_kwargs.unit', 'applies to text corpora only');
      else if (value !== 'document' && value !== 'paragraph') problems.add('dataset_kwargs.unit', 'must be "document" or "paragraph"');
      else out.unit = value;
    } else {
      problems.add(`dataset_kwargs.${key}`, 'unknown key (expected seed, fractions, unit)');
    }
  }
  return out;
}

function readMetricList(raw: unknown, outputType: OutputType | undefined, problems: ViolationCollector): MetricSpec[] {
  const entries: unknown[] = raw === undefined || raw === null ? (outputType ? DEFAULT_METRICS[outputType].map((metric) => ({ metric })) : []) : Array.isArray(raw) ? raw : [];
  if (raw !== undefined && raw !== null && !Array.isArray(raw)) problems.add('metric_list', 'must be a list of {metric, ...options}');
  if (Array.isArray(raw) && raw.length === 0) problems.add('metric_list', 'must name at least one metric');
  const out: MetricSpec[] = [];
  const seen = new Set<string>();
  entries.forEach((entry, i) => {
    const field = `metric_list[${i}]`;
    if (!isRecord(entry) || typeof entry.metric !== 'string') {
      problems.add(field, 'must be a mapping with a metric name');
      return;
    }
    let metric;
    try {
      metric = getMetric(entry.metric);
    } catch (error) {
      problems.add(`${field}.metric`, PatchworkError.from(error).message);
      return;
    }
    if (seen.has(metric.name)) problems.add(`${field}.metric`, `${metric.name} is listed twice`);
    seen.add(metric.name);
    if (outputType && !metric.outputTypes.includes(outputType)) problems.add(`${field}.metric`, `${metric.name} does not apply to output_type ${outputType} (it scores ${metric.outputTypes.join(', ')})`);
    if (entry.aggregation !== undefined && entry.aggregation !== metric.aggregation) {
      problems.add(`${field}.aggregation`, `${metric.name} aggregates by ${metric.aggregation}, got ${JSON.stringify(entry.aggregation)}`);
    }
    if (entry.higher_is_better !== undefined && entry.higher_is_better !== metric.higherIsBetter) {
      problems.add(`${field}.higher_is_better`, `${metric.name} is ${metric.higherIsBetter ? 'higher' : 'lower'}-is-better`);
    }
    const kwargs = Object.fromEntries(Object.entries(entry).filter(([k]) => !METRIC_SPEC_KEYS.has(k)));
    try {
      metric.parseKwargs(kwargs, field);
    } catch (error) {
      problems.add(field, PatchworkError.from(error).message);
      return;
    }
    out.push({ metric: metric.name, aggregation: metric.aggregation, higher_is_better: metric.higherIsBetter, kwargs });
  });
  return out;
}

/** A bare field name (lm-eval allows `doc_to_text: question`) means `{{question}}`. */
function asTemplate(value: string, fields: DocFieldSet): string {
  return [...fields.scalar, ...fields.list].includes(value) ? `{{${value}}}` : value;
}

function readTemplate(raw: unknown, field: string, fallback: string, fields: DocFieldSet, problems: ViolationCollector, allowList = false): string {
  if (raw === undefined || raw === null) return fallback;
  if (typeof raw !== 'string') {
    problems.add(field, 'must be a template string');
    return fallback;
  }
  const template = asTemplate(raw, fields);
  try {
    checkTemplate(template, field, fields.scalar, allowList ? fields.list : []);
  } catch (error) {
    problems.add(field, PatchworkError.from(error).violations[0]?.description ?? String(error));
  }
  return template;
}

function readChoices(raw: unknown, fields: DocFieldSet, problems: ViolationCollector): readonly string[] | string {
  if (Array.isArray(raw)) {
    if (raw.length < 2) problems.add('doc_to_choice', 'needs at least two choices');
    return raw.map((c, i) => {
      if (typeof c !== 'string' || c === '') {
        problems.add(`doc_to_choice[${i}]`, 'must be a non-empty template string');
        return '';
      }
      return readTemplate(c, `doc_to_choice[${i}]`, '', fields, problems);
    });
  }
  const fallback = fields.list.includes('label_names') ? '{{label_names}}' : '';
  if ((raw === undefined || raw === null) && fallback === '') problems.add('doc_to_choice', 'is required for this dataset');
  const template = readTemplate(raw, 'doc_to_choice', fallback, fields, problems, true);
  if (typeof raw === 'string' && listReference(template, fields.list) === undefined) {
    problems.add('doc_to_choice', `must be a list of choice templates or a list field alone (${fields.list.map((f) => `{{${f}}}`).join(', ')})`);
  }
  return template;
}

/**
 * Validates a task config (already parsed from YAML or JSON) and fills lm-eval's defaults:
 * split `test`, target_delimiter " ", num_fewshot 0, metric_list by output_type (classification:
 * acc, f1_macro, mcc; multiple_choice: acc, acc_norm; loglikelihood_rolling: word_perplexity,
 * byte_perplexity, bits_per_byte), metadata.version 1.0. Every problem is reported at once.
 */
export function parseTaskConfig(raw: unknown, source = 'task config'): TaskConfig {
  if (!isRecord(raw)) throw new PatchworkError('INVALID_ARGUMENT', `${source}: must be a mapping of task settings`);
  const problems = new ViolationCollector();
  for (const key of Object.keys(raw)) {
    if (UNSUPPORTED.has(key)) problems.add(key, 'is an lm-evaluation-harness feature this evaluator does not run (zero-shot log-likelihood and classifier tasks only)');
    else if (!KEYS.has(key)) problems.add(key, `unknown key (expected ${[...KEYS].join(', ')})`);
  }
  const task = raw.task;
  if (typeof task !== 'string' || !TASK_NAME.test(task)) problems.add('task', 'must be a name of letters, digits, "_", "-" and "."');
  const outputType = raw.output_type as OutputType;
  if (!OUTPUT_TYPES.includes(outputType)) problems.add('output_type', `must be one of ${OUTPUT_TYPES.join(', ')}, got ${JSON.stringify(raw.output_type)}`);
  const dataset = resolveDataset(raw.dataset, problems);
  if (dataset?.kind === 'corpus' && OUTPUT_TYPES.includes(outputType) && outputType !== 'loglikelihood_rolling') {
    problems.add('dataset', `corpus "${String(raw.dataset)}" has no labels; it serves output_type loglikelihood_rolling only`);
  }
  if (dataset?.inputKind === 'image' && OUTPUT_TYPES.includes(outputType) && outputType !== 'classification') {
    problems.add('output_type', `dataset "${String(raw.dataset)}" holds images, which only output_type classification scores`);
  }
  const split = (raw.split ?? 'test') as SplitName;
  if (!SPLIT_NAMES.includes(split)) problems.add('split', `must be one of ${SPLIT_NAMES.join(', ')}`);
  const fields = docFields(dataset?.kind ?? 'task', dataset?.inputKind ?? 'text');
  const textFallback = fields.scalar.includes('text') ? '{{text}}' : '';
  if (dataset?.inputKind === 'image' && raw.doc_to_text !== undefined) problems.add('doc_to_text', 'image tasks have no text prompt');
  const docToText = readTemplate(raw.doc_to_text, 'doc_to_text', textFallback, fields, problems);
  const docToTarget = readTemplate(raw.doc_to_target, 'doc_to_target', outputType === 'loglikelihood_rolling' ? textFallback : '{{label}}', fields, problems);
  const docToChoice = outputType === 'multiple_choice' ? readChoices(raw.doc_to_choice, fields, problems) : '';
  if (outputType !== 'multiple_choice' && raw.doc_to_choice !== undefined) problems.add('doc_to_choice', 'applies to multiple_choice tasks only');
  const delimiter = raw.target_delimiter ?? ' ';
  if (typeof delimiter !== 'string') problems.add('target_delimiter', 'must be a string');
  if (raw.num_fewshot !== undefined && raw.num_fewshot !== 0) problems.add('num_fewshot', 'only zero-shot (0) is supported');
  const maxLength = raw.max_length;
  if (maxLength !== undefined && (!Number.isInteger(maxLength) || (maxLength as number) < 2)) problems.add('max_length', 'must be an integer >= 2');
  const description = raw.description ?? '';
  if (typeof description !== 'string') problems.add('description', 'must be a string');
  const tag = raw.tag === undefined ? undefined : typeof raw.tag === 'string' ? [raw.tag] : raw.tag;
  if (tag !== undefined && (!Array.isArray(tag) || tag.some((t) => typeof t !== 'string'))) problems.add('tag', 'must be a string or a list of strings');
  const metadata = raw.metadata ?? { version: 1.0 };
  if (!isRecord(metadata) || (metadata.version !== undefined && typeof metadata.version !== 'number')) problems.add('metadata', 'must be a mapping with a numeric version');
  const metricList = readMetricList(raw.metric_list, OUTPUT_TYPES.includes(outputType) ? outputType : undefined, problems);
  const datasetKwargs = readDatasetKwargs(raw.dataset_kwargs, dataset?.kind, problems);
  if (problems.size > 0) {
    try {
      problems.throwIfAny();
    } catch (error) {
      const e = error as PatchworkError;
      throw new PatchworkError('INVALID_ARGUMENT', `${source}: ${e.message}`, { violations: e.violations });
    }
  }
  return {
    task: task as string,
    ...(tag === undefined ? {} : { tag: tag as string[] }),
    description: description as string,
    dataset: raw.dataset as string,
    dataset_kind: (dataset as ResolvedDataset).kind,
    dataset_kwargs: datasetKwargs,
    split,
    output_type: outputType,
    doc_to_text: docToText,
    doc_to_choice: docToChoice,
    doc_to_target: docToTarget,
    target_delimiter: delimiter as string,
    num_fewshot: 0,
    ...(maxLength === undefined ? {} : { max_length: maxLength as number }),
    metric_list: metricList,
    metadata: { ...(metadata as Record<string, unknown>), version: ((metadata as Record<string, unknown>).version as number | undefined) ?? 1.0 },
  };
}
