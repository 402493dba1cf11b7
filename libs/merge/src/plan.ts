import { PatchworkError, ViolationCollector } from '@patchwork/errors';
import { Checkpoint, DType, TensorSpec, isFloatDType } from '@patchwork/tensor';
import { MergeConfig, OutputDType } from './config/merge-config';
import { MergeMethod } from './methods/merge-method';
import { getMergeMethod } from './methods/registry';

const OUT_DTYPE: Record<OutputDType, DType> = { float32: 'F32', float16: 'F16', bfloat16: 'BF16' };

export interface PlannedTensor {
  spec: TensorSpec;
  /** Non-float tensors (integer buffers) are copied from the reference model, not merged. */
  merged: boolean;
}

/** A checked merge, ready to run: every input opened, every tensor's shape agreed. */
export interface MergePlan {
  method: MergeMethod;
  base?: Checkpoint;
  models: Checkpoint[];
  /** The model whose tensor order, config and tokenizer the output takes: the base, else the first. */
  referenceDir: string;
  modelParameters: Record<string, number>[];
  parameters: Record<string, number>;
  tensors: PlannedTensor[];
  /** Things worth telling the user that do not stop the merge (tensors only some inputs have). */
  warnings: string[];
  close(): Promise<void>;
}

/** Turns a config's model reference into a local checkpoint directory. */
export type ModelResolver = (ref: string, field: string) => Promise<string>;

const MAX_LISTED = 5;

function resolveParameters(method: MergeMethod, config: MergeConfig, problems: ViolationCollector) {
  const modelSpecs = method.parameters.filter((p) => p.scope === 'model');
  const globalSpecs = method.parameters.filter((p) => p.scope === 'global');
  const modelParameters = config.models.map((entry, i) => {
    const resolved: Record<string, number> = {};
    for (const key of Object.keys(entry.parameters)) {
      if (!modelSpecs.some((s) => s.name === key)) problems.add(`models[${i}].parameters.${key}`, `not a parameter of ${method.name} (expected ${modelSpecs.map((s) => s.name).join(', ') || 'none'})`);
    }
    for (const spec of modelSpecs) {
      const value = entry.parameters[spec.name] ?? config.parameters[spec.name] ?? spec.default;
      if (value === undefined) {
        problems.add(`models[${i}].parameters.${spec.name}`, `required by ${method.name}: ${spec.description}`);
        continue;
      }
      const problem = spec.check?.(value);
      if (problem) problems.add(`models[${i}].parameters.${spec.name}`, problem);
      resolved[spec.name] = value;
    }
    return resolved;
  });
  const parameters: Record<string, number> = {};
  for (const key of Object.keys(config.parameters)) {
    // mergekit lets a per-model parameter be given globally as a default for every model.
    if (!method.parameters.some((s) => s.name === key)) problems.add(`parameters.${key}`, `not a parameter of ${method.name} (expected ${method.parameters.map((s) => s.name).join(', ')})`);
  }
  for (const spec of globalSpecs) {
    const value = config.parameters[spec.name] ?? spec.default;
    if (value === undefined) {
      problems.add(`parameters.${spec.name}`, `required by ${method.name}: ${spec.description}`);
      continue;
    }
    const problem = spec.check?.(value);
    if (problem) problems.add(`parameters.${spec.name}`, problem);
    parameters[spec.name] = value;
  }
  return { modelParameters, parameters };
}

async function openAll(config: MergeConfig, resolve: ModelResolver) {
  const opened: Checkpoint[] = [];
  const closeAll = () => Promise.all(opened.map((c) => c.close())).then(() => undefined);
  try {
    const baseDir = config.baseModel ? await resolve(config.baseModel, 'base_model') : undefined;
    const base = baseDir ? await Checkpoint.open(baseDir) : undefined;
    if (base) opened.push(base);
    const dirs: string[] = [];
    const models: Checkpoint[] = [];
    for (const [i, entry] of config.models.entries()) {
      const dir = await resolve(entry.model, `models[${i}].model`);
      const checkpoint = await Checkpoint.open(dir);
      opened.push(checkpoint);
      dirs.push(dir);
      models.push(checkpoint);
    }
    return { base, baseDir, models, dirs, closeAll };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

/**
 * Pre-flight: validates the recipe against its method, opens every input (headers only) and
 * checks that all models agree on tensor names and shapes. Every mismatch is reported together,
 * before any tensor is read.
 */
export async function planMerge(config: MergeConfig, resolve: ModelResolver): Promise<MergePlan> {
  const method = getMergeMethod(config.mergeMethod);
  const problems = new ViolationCollector();
  if (config.dtype && config.dtype !== 'float32') problems.add('dtype', `Patchwork merges in float32; ${config.dtype} compute is not offered (use out_dtype for the output)`);
  if (method.requiresBase && !config.baseModel) problems.add('base_model', `required by ${method.name}`);
  if (config.models.length === 0) problems.add('models', 'at least one model is required');
  const { modelParameters, parameters } = resolveParameters(method, config, problems);
  if (problems.size === 0) for (const problem of method.validate?.(modelParameters, parameters) ?? []) problems.add('parameters', problem);
  problems.throwIfAny();

  const { base, baseDir, models, dirs, closeAll } = await openAll(config, resolve);
  try {
    const reference = base ?? models[0];
    const referenceField = base ? 'base_model' : 'models[0]';
    const inputs = [...(base && method.requiresBase ? [{ ckpt: base, field: 'base_model' }] : []), ...models.map((ckpt, i) => ({ ckpt, field: `models[${i}]` }))];
    const tensors: PlannedTensor[] = [];
    for (const name of reference.names()) {
      const info = reference.info(name);
      const merged = isFloatDType(info.dtype);
      for (const { ckpt, field } of inputs) {
        if (ckpt === reference) continue;
        if (!ckpt.has(name)) {
          problems.add(field, `missing tensor ${name} (present in ${referenceField})`);
          continue;
        }
        const other = ckpt.info(name);
        if (other.shape.join('x') !== info.shape.join('x')) problems.add(`${field}.${name}`, `shape [${other.shape}] differs from ${referenceField}'s [${info.shape}]`);
        if (isFloatDType(other.dtype) !== merged) problems.add(`${field}.${name}`, `dtype ${other.dtype} cannot be merged with ${referenceField}'s ${info.dtype}`);
      }
      const dtype = merged && config.outDtype ? OUT_DTYPE[config.outDtype] : info.dtype;
      tensors.push({ spec: { name, dtype, shape: info.shape }, merged });
    }
    // Like mergekit, the output has the reference's tensors; extras (a tied lm_head saved twice,
    // say) are left out, and said so.
    const warnings: string[] = [];
    for (const { ckpt, field } of inputs) {
      const extra = ckpt.names().filter((n) => !reference.has(n));
      if (extra.length > 0) warnings.push(`${field}: ${extra.length} tensor(s) that ${referenceField} lacks are not merged: ${extra.slice(0, MAX_LISTED).join(', ')}${extra.length > MAX_LISTED ? ', ...' : ''}`);
    }
    if (tensors.length === 0) problems.add(referenceField, 'holds no tensors');
    problems.throwIfAny();
    return {
      method,
      base: method.requiresBase ? base : undefined,
      models,
      referenceDir: baseDir ?? dirs[0],
      modelParameters,
      parameters,
      tensors,
      warnings,
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err instanceof PatchworkError ? err : PatchworkError.from(err);
  }
}
