import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { PatchworkError, ViolationCollector } from '@patchwork/errors';
import { ConditionalValue, Gradient, MergeConfig, MergeModelEntry, OUTPUT_DTYPES, OutputDType, ParameterSetting } from './merge-config';

const TOP_LEVEL = new Set(['merge_method', 'base_model', 'models', 'parameters', 'dtype', 'out_dtype']);
const MODEL_KEYS = new Set(['model', 'parameters']);
const CONDITIONAL_KEYS = new Set(['filter', 'value']);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function readGradient(value: unknown[], field: string, problems: ViolationCollector): Gradient | undefined {
  const out: number[] = [];
  value.forEach((item, i) => {
    if (isFiniteNumber(item)) out.push(item);
    else problems.add(`${field}[${i}]`, `a gradient holds finite numbers only, got ${JSON.stringify(item)}`);
  });
  return out.length === value.length ? out : undefined;
}

/** A conditional's value: a number (or boolean), a word, or a gradient. */
function readConditionalValue(value: unknown, field: string, problems: ViolationCollector): ConditionalValue['value'] | undefined {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (isFiniteNumber(value) || (typeof value === 'string' && value !== '')) return value;
  if (Array.isArray(value) && value.length > 0) return readGradient(value, field, problems);
  problems.add(field, `must be a finite number, boolean, word or non-empty list of numbers, got ${JSON.stringify(value)}`);
  return undefined;
}

function readFilterList(value: unknown[], field: string, problems: ViolationCollector): ConditionalValue[] | undefined {
  const out: ConditionalValue[] = [];
  let ok = true;
  value.forEach((entry, i) => {
    const at = `${field}[${i}]`;
    if (!isRecord(entry)) {
      problems.add(at, 'must be a mapping {filter, value}');
      ok = false;
      return;
    }
    for (const key of Object.keys(entry)) if (!CONDITIONAL_KEYS.has(key)) problems.add(`${at}.${key}`, 'unknown key (expected filter, value)');
    const filter = entry['filter'];
    if (filter !== undefined && filter !== null && (typeof filter !== 'string' || filter === '')) {
      problems.add(`${at}.filter`, 'must be a non-empty substring of tensor names');
      ok = false;
    }
    const v = readConditionalValue(entry['value'], `${at}.value`, problems);
    if (v === undefined) ok = false;
    else out.push(typeof filter === 'string' ? { filter, value: v } : { value: v });
  });
  return ok ? out : undefined;
}

/**
 * Reads a `parameters` mapping: plain numbers (and booleans as 1/0, like mergekit) go to the
 * numeric bag, words, gradients and filter lists to the settings bag.
 */
function readParameters(
  value: unknown,
  field: string,
  problems: ViolationCollector,
): { parameters: Record<string, number>; settings: Record<string, ParameterSetting> } {
  const parameters: Record<string, number> = {};
  const settings: Record<string, ParameterSetting> = {};
  if (value === undefined || value === null) return { parameters, settings };
  if (!isRecord(value)) {
    problems.add(field, 'must be a mapping of parameter name to value');
    return { parameters, settings };
  }
  for (const [key, raw] of Object.entries(value)) {
    const at = `${field}.${key}`;
    if (typeof raw === 'boolean') parameters[key] = raw ? 1 : 0;
    else if (isFiniteNumber(raw)) parameters[key] = raw;
    else if (typeof raw === 'string' && raw !== '') settings[key] = raw;
    else if (Array.isArray(raw) && raw.length > 0) {
      const list = raw.every((item) => isRecord(item)) ? readFilterList(raw, at, problems) : readGradient(raw, at, problems);
      if (list) settings[key] = list;
    } else problems.add(at, `must be a finite number, boolean, word, gradient list or filter list, got ${JSON.stringify(raw)}`);
  }
  return { parameters, settings };
}

function readDType(value: unknown, field: string, problems: ViolationCollector): OutputDType | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string' && (OUTPUT_DTYPES as readonly string[]).includes(value)) return value as OutputDType;
  problems.add(field, `must be one of ${OUTPUT_DTYPES.join(', ')}, got ${JSON.stringify(value)}`);
  return undefined;
}

function readModelRef(value: unknown, field: string, baseDir: string, problems: ViolationCollector): string | undefined {
  if (typeof value !== 'string' || value.trim() === '') {
    problems.add(field, 'must be a model directory path');
    return undefined;
  }
  return path.resolve(baseDir, value);
}

function withSettings<T extends object>(target: T, settings: Record<string, ParameterSetting>): T & { settings?: Record<string, ParameterSetting> } {
  return Object.keys(settings).length > 0 ? { ...target, settings } : target;
}

/**
 * Reads a mergekit-style YAML recipe. Relative model paths are taken from `baseDir` (the config
 * file's directory). Every problem is reported at once, each naming its path in the document.
 */
export function parseMergeYaml(text: string, baseDir: string): MergeConfig {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new PatchworkError('INVALID_ARGUMENT', `merge config is not valid YAML: ${(err as Error).message}`);
  }
  if (!isRecord(doc)) throw new PatchworkError('INVALID_ARGUMENT', 'merge config must be a YAML mapping');
  const problems = new ViolationCollector();
  for (const key of Object.keys(doc)) {
    if (!TOP_LEVEL.has(key)) problems.add(key, `unknown key (expected one of ${[...TOP_LEVEL].join(', ')})`);
  }
  const method = doc['merge_method'];
  if (typeof method !== 'string' || method === '') problems.add('merge_method', 'required');
  const baseModel = doc['base_model'] === undefined || doc['base_model'] === null ? undefined : readModelRef(doc['base_model'], 'base_model', baseDir, problems);
  const models: MergeModelEntry[] = [];
  const rawModels = doc['models'];
  if (!Array.isArray(rawModels) || rawModels.length === 0) {
    problems.add('models', 'must be a non-empty list');
  } else {
    rawModels.forEach((entry, i) => {
      const field = `models[${i}]`;
      if (!isRecord(entry)) {
        problems.add(field, 'must be a mapping with `model` and optional `parameters`');
        return;
      }
      for (const key of Object.keys(entry)) if (!MODEL_KEYS.has(key)) problems.add(`${field}.${key}`, 'unknown key (expected model, parameters)');
      const model = readModelRef(entry['model'], `${field}.model`, baseDir, problems);
      const { parameters, settings } = readParameters(entry['parameters'], `${field}.parameters`, problems);
      if (model) models.push(withSettings({ model, parameters }, settings));
    });
  }
  const global = readParameters(doc['parameters'], 'parameters', problems);
  const config: MergeConfig = withSettings(
    {
      mergeMethod: typeof method === 'string' ? method : '',
      baseModel,
      models,
      parameters: global.parameters,
      dtype: readDType(doc['dtype'], 'dtype', problems),
      outDtype: readDType(doc['out_dtype'], 'out_dtype', problems),
    },
    global.settings,
  );
  problems.throwIfAny();
  return config;
}
