import { ViolationCollector } from '@patchwork/errors';
import { MergeSpec, SubmitMergeRequest } from '@patchwork/contracts';
import { MergeConfig, OUTPUT_DTYPES, OutputDType } from '@patchwork/merge';
import { modelSourceToRef } from '@patchwork/platform';
import { settingsFromWire } from './merge-settings';

const MAX_MODELS = 64;

function dtype(value: string, field: string, problems: ViolationCollector): OutputDType | undefined {
  if (value === '') return undefined;
  if ((OUTPUT_DTYPES as readonly string[]).includes(value)) return value as OutputDType;
  problems.add(field, `unknown dtype ${JSON.stringify(value)} (expected ${OUTPUT_DTYPES.join(', ')})`);
  return undefined;
}

function collect(problems: ViolationCollector, fn: () => string): string | undefined {
  try {
    return fn();
  } catch (err) {
    const violations = (err as { violations?: { field: string; description: string }[] }).violations ?? [];
    for (const v of violations) problems.add(v.field, v.description);
    if (violations.length === 0) problems.add('spec', (err as Error).message);
    return undefined;
  }
}

function collectSettings<T>(problems: ViolationCollector, fn: () => T): T | undefined {
  try {
    return fn();
  } catch (err) {
    for (const v of (err as { violations?: { field: string; description: string }[] }).violations ?? []) problems.add(v.field, v.description);
    return undefined;
  }
}

const ADAPTED = 'adapted:';

/**
 * The reference of a model with an adapter merged in. Both parts are `artifact:`/`path:`
 * references, which never contain a newline, so the pair is recovered exactly.
 */
export function adaptedRef(model: string, adapter: string): string {
  return `${ADAPTED}${model}\n${adapter}`;
}

export function parseAdaptedRef(ref: string): { model: string; adapter: string } | undefined {
  if (!ref.startsWith(ADAPTED)) return undefined;
  const parts = ref.slice(ADAPTED.length).split('\n');
  return parts.length === 2 ? { model: parts[0], adapter: parts[1] } : undefined;
}

/** Checks a SubmitMerge request's shape and turns its spec into the library's config. */
export function mergeConfigFromRequest(request: SubmitMergeRequest): MergeConfig {
  const problems = new ViolationCollector();
  if (!request.requestId) problems.add('request_id', 'required (it is the idempotency key)');
  const spec: MergeSpec | undefined = request.spec;
  if (!spec) {
    problems.add('spec', 'required');
    problems.throwIfAny();
  }
  const s = spec as MergeSpec;
  if (!s.mergeMethod) problems.add('spec.merge_method', 'required');
  if (s.models.length === 0) problems.add('spec.models', 'at least one model is required');
  if (s.models.length > MAX_MODELS) problems.add('spec.models', `at most ${MAX_MODELS} models`);
  const models = s.models.map((entry, i) => {
    const field = `spec.models[${i}]`;
    for (const [name, value] of Object.entries(entry.parameters)) if (!Number.isFinite(value)) problems.add(`${field}.parameters.${name}`, 'must be finite');
    const settings = collectSettings(problems, () => settingsFromWire(entry.settings, `${field}.settings`));
    const model = collect(problems, () => modelSourceToRef(entry.model, `${field}.model`)) ?? '';
    const adapter = entry.adapter?.source ? collect(problems, () => modelSourceToRef(entry.adapter, `${field}.adapter`)) : undefined;
    if (adapter !== undefined && `${model}${adapter}`.includes('\n')) problems.add(`${field}`, 'paths must not contain line breaks');
    return { model: adapter === undefined ? model : adaptedRef(model, adapter), parameters: { ...entry.parameters }, ...(settings ? { settings } : {}) };
  });
  for (const [name, value] of Object.entries(s.parameters)) if (!Number.isFinite(value)) problems.add(`spec.parameters.${name}`, 'must be finite');
  const globalSettings = collectSettings(problems, () => settingsFromWire(s.settings, 'spec.settings'));
  const baseModel = s.baseModel?.source ? collect(problems, () => modelSourceToRef(s.baseModel, 'spec.base_model')) : undefined;
  const config: MergeConfig = {
    mergeMethod: s.mergeMethod,
    baseModel,
    models,
    parameters: { ...s.parameters },
    ...(globalSettings ? { settings: globalSettings } : {}),
    dtype: dtype(s.dtype, 'spec.dtype', problems),
    outDtype: dtype(s.outDtype, 'spec.out_dtype', problems),
  };
  problems.throwIfAny();
  return config;
}
