import { PatchworkError, ViolationCollector } from '@patchwork/errors';
import { Checkpoint, DType, TensorSpec, isFloatDType } from '@patchwork/tensor';
import { MergeConfig, MergeModelEntry, OutputDType } from './config/merge-config';
import { ResolvedParameters, resolveParameters } from './config/resolve-parameters';
import { MergeMethod, ValidationContext } from './methods/merge-method';
import { getMergeMethod } from './methods/registry';

const OUT_DTYPE: Record<OutputDType, DType> = { float32: 'F32', float16: 'F16', bfloat16: 'BF16' };

export interface PlannedTensor {
  spec: TensorSpec;
  /** Non-float tensors (integer buffers) are copied from the reference model, not merged. */
  merged: boolean;
  /** The parameters this tensor merges with (gradients and filters evaluated); absent when not merged. */
  resolved?: ResolvedParameters;
}

/** A checked merge, ready to run: every input opened, every tensor's shape agreed. */
export interface MergePlan {
  method: MergeMethod;
  base?: Checkpoint;
  models: Checkpoint[];
  /** The model whose tensor order, config and tokenizer the output takes: the base, else the first. */
  referenceDir: string;
  /** Choice parameters (the same for every tensor). */
  choices: Record<string, string>;
  tensors: PlannedTensor[];
  /** Things worth telling the user that do not stop the merge (tensors only some inputs have). */
  warnings: string[];
  close(): Promise<void>;
}

/** Turns a config's model reference into a local checkpoint directory. */
export type ModelResolver = (ref: string, field: string) => Promise<string>;

const MAX_LISTED = 5;

interface Entry {
  entry: MergeModelEntry;
  field: string;
}

async function openAll(config: MergeConfig, entries: Entry[], resolve: ModelResolver) {
  const opened: Checkpoint[] = [];
  const closeAll = () => Promise.all(opened.map((c) => c.close())).then(() => undefined);
  try {
    const baseDir = config.baseModel ? await resolve(config.baseModel, 'base_model') : undefined;
    const base = baseDir ? await Checkpoint.open(baseDir) : undefined;
    if (base) opened.push(base);
    const dirs: string[] = [];
    const models: Checkpoint[] = [];
    for (const { entry, field } of entries) {
      const dir = await resolve(entry.model, `${field}.model`);
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

function validateAll(method: MergeMethod, resolutions: Iterable<ResolvedParameters>, context: ValidationContext, problems: ViolationCollector): void {
  if (!method.validate) return;
  const seen = new Set<string>();
  const reported = new Set<string>();
  for (const resolved of resolutions) {
    const key = JSON.stringify([resolved.modelParameters, resolved.parameters]);
    if (seen.has(key)) continue;
    seen.add(key);
    for (const problem of method.validate(resolved.modelParameters, resolved.parameters, context)) {
      if (!reported.has(problem)) problems.add('parameters', problem);
      reported.add(problem);
    }
  }
}

/**
 * Pre-flight: validates the recipe against its method, opens every input (headers only) and
 * checks that all models agree on tensor names and shapes. Every mismatch is reported together,
 * before any tensor is read.
 *
 * Like mergekit, a `models` entry naming the base model itself contributes as the base only (its
 * task vector would be zero); such entries are dropped from the merge with a warning.
 */
export async function planMerge(config: MergeConfig, resolve: ModelResolver): Promise<MergePlan> {
  const method = getMergeMethod(config.mergeMethod);
  const useBase = method.requiresBase || (method.acceptsBase === true && config.baseModel !== undefined);
  const problems = new ViolationCollector();
  const warnings: string[] = [];
  if (config.dtype && config.dtype !== 'float32') problems.add('dtype', `Patchwork merges in float32; ${config.dtype} compute is not offered (use out_dtype for the output)`);
  if (method.requiresBase && !config.baseModel) problems.add('base_model', `required by ${method.name}`);
  if (config.models.length === 0) problems.add('models', 'at least one model is required');
  const entries: Entry[] = [];
  config.models.forEach((entry, i) => {
    if (useBase && entry.model === config.baseModel) warnings.push(`models[${i}] is the base model; it takes part as the base only`);
    else entries.push({ entry, field: `models[${i}]` });
  });
  if (config.models.length > 0 && entries.length === 0) problems.add('models', 'every entry is the base model; nothing is left to merge');
  const sources = entries.map(({ entry, field }) => ({ source: entry, field }));
  const global = { parameters: config.parameters, settings: config.settings };
  // Static checks first (unknown names, words, ranges), so a bad recipe fails before any file is opened.
  const preflight = resolveParameters(method, sources, global, [], problems);
  problems.throwIfAny();

  const { base, baseDir, models, dirs, closeAll } = await openAll(config, entries, resolve);
  try {
    const reference = base ?? models[0];
    const referenceField = base ? 'base_model' : entries[0].field;
    const inputs = [...(base && useBase ? [{ ckpt: base, field: 'base_model' }] : []), ...models.map((ckpt, i) => ({ ckpt, field: entries[i].field }))];
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
    for (const { ckpt, field } of inputs) {
      const extra = ckpt.names().filter((n) => !reference.has(n));
      if (extra.length > 0) warnings.push(`${field}: ${extra.length} tensor(s) that ${referenceField} lacks are not merged: ${extra.slice(0, MAX_LISTED).join(', ')}${extra.length > MAX_LISTED ? ', ...' : ''}`);
    }
    if (tensors.length === 0) problems.add(referenceField, 'holds no tensors');
    const table = resolveParameters(method, sources, global, tensors.filter((t) => t.merged).map((t) => t.spec.name), problems);
    for (const tensor of tensors) tensor.resolved = table.byTensor.get(tensor.spec.name);
    validateAll(method, table.byTensor.values(), { choices: preflight.choices, given: preflight.given, hasBase: useBase }, problems);
    problems.throwIfAny();
    return {
      method,
      base: useBase ? base : undefined,
      models,
      referenceDir: baseDir ?? dirs[0],
      choices: preflight.choices,
      tensors,
      warnings,
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err instanceof PatchworkError ? err : PatchworkError.from(err);
  }
}
