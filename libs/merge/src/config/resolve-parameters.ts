import { ViolationCollector } from '@patchwork/errors';
import { ChoiceParameterSpec, MergeMethod, NumberParameterSpec } from '../methods/merge-method';
import { interpolateGradient, layerPositions } from './layer-position';
import { ParameterSetting } from './merge-config';

/** One level of parameters: the numeric bag and the settings bag of a model entry or of the recipe. */
export interface ParameterSource {
  parameters: Record<string, number>;
  settings?: Record<string, ParameterSetting>;
}

export interface ResolvedParameters {
  modelParameters: Record<string, number>[];
  parameters: Record<string, number>;
  choices: Record<string, string>;
}

export interface ParameterTable {
  choices: Record<string, string>;
  given: ReadonlySet<string>;
  /** Resolved numbers per tensor name (every name passed to `resolveParameters`). */
  byTensor: Map<string, ResolvedParameters>;
}

const MAX_LISTED = 3;

function lookup(source: ParameterSource, name: string): ParameterSetting | undefined {
  return source.parameters[name] ?? source.settings?.[name];
}

/** The value a setting takes on one tensor; undefined when a filter list has no entry for it. */
function evaluate(setting: ParameterSetting, tensor: string, t: number): number | string | undefined {
  if (typeof setting === 'number' || typeof setting === 'string') return setting;
  if (setting.length > 0 && typeof setting[0] === 'number') return interpolateGradient(setting as number[], t);
  for (const entry of setting as Exclude<ParameterSetting, number | string | number[]>) {
    if (entry.filter === undefined || tensor.includes(entry.filter)) return evaluate(entry.value, tensor, t);
  }
  return undefined;
}

/** The numbers a setting can produce (gradient entries, filter values); interpolation stays within their range. */
function constituents(setting: ParameterSetting): (number | string)[] {
  if (typeof setting === 'number' || typeof setting === 'string') return [setting];
  return (setting as (number | { value: ParameterSetting })[]).flatMap((item) => (typeof item === 'number' ? [item] : constituents(item.value)));
}

interface ProblemSink {
  add(field: string, description: string): void;
}

function checkNumberSetting(spec: NumberParameterSpec, setting: ParameterSetting, field: string, problems: ProblemSink): boolean {
  let ok = true;
  for (const value of constituents(setting)) {
    if (typeof value === 'string') {
      problems.add(field, `must be a number (or gradient / filter list of numbers), got ${JSON.stringify(value)}`);
      ok = false;
      continue;
    }
    const problem = spec.check?.(value);
    if (problem) {
      problems.add(field, Array.isArray(setting) ? `${problem} (got ${value} in the list)` : problem);
      ok = false;
    }
  }
  return ok;
}

function resolveChoice(spec: ChoiceParameterSpec, global: ParameterSource, problems: ProblemSink): string | undefined {
  const field = `parameters.${spec.name}`;
  const setting = lookup(global, spec.name);
  if (setting === undefined) {
    if (spec.default === undefined) problems.add(field, `required: ${spec.description} (one of ${spec.choices.join(', ')})`);
    return spec.default;
  }
  if (typeof setting !== 'string' || !spec.choices.includes(setting)) {
    problems.add(field, `must be one of ${spec.choices.join(', ')}, got ${JSON.stringify(setting)}`);
    return undefined;
  }
  return setting;
}

/**
 * Resolves a recipe's parameters against a method for every tensor: model level, then global
 * level (mergekit lets a per-model parameter be set globally for every model), then the method's
 * default. Gradients are interpolated by layer position and filter lists matched by substring.
 * Unknown names, bad words, out-of-range numbers and required values missing for some tensor are
 * all collected into `problems` with their paths.
 */
export function resolveParameters(
  method: MergeMethod,
  entries: { source: ParameterSource; field: string }[],
  global: ParameterSource,
  tensorNames: readonly string[],
  collector: ViolationCollector,
): ParameterTable {
  // Problems are reported model by model, then the global ones, whatever order they are found in.
  const found: { rank: number; field: string; description: string }[] = [];
  const rankOf = (field: string) => {
    const i = entries.findIndex((e) => field === e.field || field.startsWith(`${e.field}.`));
    return i < 0 ? entries.length : i;
  };
  const problems = { add: (field: string, description: string) => void found.push({ rank: rankOf(field), field, description }) };
  const modelSpecs = method.parameters.filter((p): p is NumberParameterSpec => p.scope === 'model');
  const globalSpecs = method.parameters.filter((p): p is NumberParameterSpec => p.scope === 'global' && p.type !== 'choice');
  const choiceSpecs = method.parameters.filter((p): p is ChoiceParameterSpec => p.type === 'choice');
  const given = new Set<string>();

  for (const { source, field } of entries) {
    for (const key of [...Object.keys(source.parameters), ...Object.keys(source.settings ?? {})]) {
      given.add(key);
      if (!modelSpecs.some((s) => s.name === key)) {
        problems.add(`${field}.parameters.${key}`, `not a parameter of ${method.name} (expected ${modelSpecs.map((s) => s.name).join(', ') || 'none'})`);
      }
    }
  }
  for (const key of [...Object.keys(global.parameters), ...Object.keys(global.settings ?? {})]) {
    given.add(key);
    if (!method.parameters.some((s) => s.name === key)) {
      problems.add(`parameters.${key}`, `not a parameter of ${method.name} (expected ${method.parameters.map((s) => s.name).join(', ')})`);
    }
  }

  const choices: Record<string, string> = {};
  for (const spec of choiceSpecs) {
    const value = resolveChoice(spec, global, problems);
    if (value !== undefined) choices[spec.name] = value;
  }

  // Each level's setting is checked once, statically; interpolated values stay within the checked range.
  const usable = new Map<string, ParameterSetting>();
  const levelKey = (field: string, name: string) => `${field}\u0000${name}`;
  const checkLevel = (spec: NumberParameterSpec, source: ParameterSource, field: string) => {
    const setting = lookup(source, spec.name);
    if (setting !== undefined && checkNumberSetting(spec, setting, `${field}${spec.name}`, problems)) usable.set(levelKey(field, spec.name), setting);
  };
  for (const spec of [...modelSpecs, ...globalSpecs]) checkLevel(spec, global, 'parameters.');
  for (const { source, field } of entries) for (const spec of modelSpecs) checkLevel(spec, source, `${field}.parameters.`);

  const missing = new Map<string, string[]>();
  const noteMissing = (field: string, tensor: string) => {
    const list = missing.get(field) ?? [];
    if (list.length === 0) missing.set(field, list);
    list.push(tensor);
  };
  // With no tensor names (the pre-flight before any checkpoint is opened) only "set anywhere?" is asked.
  const valueFor = (spec: NumberParameterSpec, levels: string[], tensor: string | null, t: number): number | undefined => {
    for (const level of levels) {
      const setting = usable.get(levelKey(level, spec.name));
      if (setting === undefined) continue;
      if (tensor === null) return constituents(setting).find((v): v is number => typeof v === 'number');
      const value = evaluate(setting, tensor, t);
      if (typeof value === 'number') return value;
    }
    return spec.default;
  };

  const positions = layerPositions(tensorNames);
  const byTensor = new Map<string, ResolvedParameters>();
  for (const tensor of tensorNames.length > 0 ? tensorNames : [null]) {
    const t = tensor === null ? 0 : (positions.get(tensor) ?? 0);
    const modelParameters = entries.map(({ field }) => {
      const resolved: Record<string, number> = {};
      for (const spec of modelSpecs) {
        const value = valueFor(spec, [`${field}.parameters.`, 'parameters.'], tensor, t);
        if (value === undefined) noteMissing(`${field}.parameters.${spec.name}`, tensor ?? '');
        else resolved[spec.name] = value;
      }
      return resolved;
    });
    const parameters: Record<string, number> = {};
    for (const spec of globalSpecs) {
      const value = valueFor(spec, ['parameters.'], tensor, t);
      if (value === undefined) noteMissing(`parameters.${spec.name}`, tensor ?? '');
      else parameters[spec.name] = value;
    }
    if (tensor !== null) byTensor.set(tensor, { modelParameters, parameters, choices });
  }
  for (const [field, tensors] of missing) {
    const name = field.slice(field.lastIndexOf('.') + 1);
    const spec = method.parameters.find((s) => s.name === name);
    const explicit = [...usable.keys()].some((k) => k.endsWith(`\u0000${name}`));
    const where =
      tensors.length === tensorNames.length || tensorNames.length === 0 || !explicit
        ? ''
        : ` (no filter entry matches ${tensors.slice(0, MAX_LISTED).join(', ')}${tensors.length > MAX_LISTED ? `, and ${tensors.length - MAX_LISTED} more` : ''})`;
    problems.add(field, `required by ${method.name}: ${spec?.description ?? name}${where}`);
  }
  found.sort((a, b) => a.rank - b.rank);
  for (const { field, description } of found) collector.add(field, description);
  return { choices, given, byTensor };
}
