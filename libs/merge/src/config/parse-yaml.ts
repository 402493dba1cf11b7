import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { PatchworkError, ViolationCollector } from '@patchwork/errors';
import { MergeConfig, MergeModelEntry, OUTPUT_DTYPES, OutputDType } from './merge-config';

const TOP_LEVEL = new Set(['merge_method', 'base_model', 'models', 'parameters', 'dtype', 'out_dtype']);
const MODEL_KEYS = new Set(['model', 'parameters']);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parameters are numbers; YAML booleans (normalize: true) are taken as 1/0 like mergekit does. */
function readParameters(value: unknown, field: string, problems: ViolationCollector): Record<string, number> {
  if (value === undefined || value === null) return {};
  if (!isRecord(value)) {
    problems.add(field, 'must be a mapping of parameter name to number');
    return {};
  }
  const out: Record<string, number> = {};
  for (const [key, raw] of Object.entries(value)) {
    if (typeof raw === 'boolean') out[key] = raw ? 1 : 0;
    else if (typeof raw === 'number' && Number.isFinite(raw)) out[key] = raw;
    else problems.add(`${field}.${key}`, `must be a finite number or boolean, got ${JSON.stringify(raw)}`);
  }
  return out;
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
      const parameters = readParameters(entry['parameters'], `${field}.parameters`, problems);
      if (model) models.push({ model, parameters });
    });
  }
  const config: MergeConfig = {
    mergeMethod: typeof method === 'string' ? method : '',
    baseModel,
    models,
    parameters: readParameters(doc['parameters'], 'parameters', problems),
    dtype: readDType(doc['dtype'], 'dtype', problems),
    outDtype: readDType(doc['out_dtype'], 'out_dtype', problems),
  };
  problems.throwIfAny();
  return config;
}
