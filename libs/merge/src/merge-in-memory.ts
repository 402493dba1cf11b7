import { PatchworkError, ViolationCollector } from '@patchwork/errors';
import { ParameterSetting } from './config/merge-config';
import { resolveParameters } from './config/resolve-parameters';
import { TensorMergeInput, TensorMerger, WholeModelContext } from './methods/merge-method';
import { getMergeMethod } from './methods/registry';

/** A model held in memory: tensor name -> shape and float32 values. */
export type InMemoryModel = ReadonlyMap<string, { shape: readonly number[]; values: Float32Array }>;

export interface InMemoryMergeRequest {
  mergeMethod: string;
  base?: InMemoryModel;
  models: { model: InMemoryModel; parameters?: Record<string, number>; settings?: Record<string, ParameterSetting> }[];
  parameters?: Record<string, number>;
  settings?: Record<string, ParameterSetting>;
  signal?: AbortSignal;
}

/**
 * The same merge as plan + execute, on models already in memory (small models, and the inner loop
 * of a coefficient search, where writing checkpoints per candidate would dominate). Parameters
 * resolve exactly as in a recipe; every tensor of the reference (base, else first model) is merged.
 */
export async function mergeInMemory(request: InMemoryMergeRequest): Promise<Map<string, Float32Array>> {
  const method = getMergeMethod(request.mergeMethod);
  const problems = new ViolationCollector();
  const useBase = method.requiresBase || (method.acceptsBase === true && request.base !== undefined);
  if (method.requiresBase && !request.base) problems.add('base', `required by ${method.name}`);
  if (request.models.length === 0) problems.add('models', 'at least one model is required');
  const reference = (useBase ? request.base : request.models[0]?.model) as InMemoryModel | undefined;
  const names = reference ? [...reference.keys()] : [];
  for (const [i, { model }] of request.models.entries()) {
    for (const name of names) {
      const t = model.get(name);
      const ref = reference?.get(name);
      if (!t) problems.add(`models[${i}]`, `missing tensor ${name}`);
      else if (ref && t.values.length !== ref.values.length) problems.add(`models[${i}].${name}`, `has ${t.values.length} elements, the reference ${ref.values.length}`);
    }
  }
  const table = resolveParameters(
    method,
    request.models.map((m, i) => ({ field: `models[${i}]`, source: { parameters: m.parameters ?? {}, settings: m.settings } })),
    { parameters: request.parameters ?? {}, settings: request.settings },
    names,
    problems,
  );
  problems.throwIfAny();
  for (const resolved of new Set(table.byTensor.values())) {
    for (const problem of method.validate?.(resolved.modelParameters, resolved.parameters, { choices: table.choices, given: table.given, hasBase: useBase }) ?? []) {
      problems.add('parameters', problem);
    }
    problems.throwIfAny();
  }

  const inputFor = (name: string): TensorMergeInput => {
    const resolved = table.byTensor.get(name);
    const ref = reference?.get(name);
    if (!resolved || !ref) throw new PatchworkError('INTERNAL', `tensor ${name} was not resolved`);
    return {
      base: useBase ? request.base?.get(name)?.values : undefined,
      models: request.models.map((m) => (m.model.get(name) as { values: Float32Array }).values),
      modelParameters: resolved.modelParameters,
      parameters: resolved.parameters,
      choices: table.choices,
      name,
      shape: ref.shape,
    };
  };
  let merger: TensorMerger = method.merge;
  if (method.prepare) {
    const context: WholeModelContext = {
      tensorCount: names.length,
      signal: request.signal,
      forEachTensor: async (visit) => {
        for (const name of names) {
          if (request.signal?.aborted) throw new PatchworkError('CANCELLED', 'merge cancelled');
          await visit(inputFor(name));
        }
      },
    };
    merger = (await method.prepare(context, table.choices)) ?? method.merge;
  }
  return new Map(names.map((name) => [name, merger(inputFor(name))]));
}
