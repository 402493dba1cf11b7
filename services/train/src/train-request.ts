import { BuildBackboneRequest, SubmitTrainRequest } from '@patchwork/contracts';
import { BACKBONE_NAMES, isBackboneName } from '@patchwork/backbones';
import { PatchworkError, ViolationCollector } from '@patchwork/errors';
import { type RunConfig, checkRunConfig } from '@patchwork/finetune';
import { modelSourceToRef } from '@patchwork/platform';
import { isModelReference } from './model-references';

/** A config larger than this is not a recipe; refusing it keeps job records small. */
export const MAX_CONFIG_BYTES = 64 * 1024;

export interface TrainSpec {
  readonly config: RunConfig;
  readonly configYaml: string;
  /** The base model: the request's `base_model`, else the config's. */
  readonly baseRef: string;
}

const MUSCLE_REFERENCES = ['old_base_model', 'old_adapter', 'new_adapter'];

function collect(problems: ViolationCollector, err: unknown, prefix: string, fallbackField: string): void {
  const e = PatchworkError.from(err);
  if (e.code !== 'INVALID_ARGUMENT') throw e;
  const violations = e.violations ?? [];
  if (violations.length === 0) problems.add(fallbackField, e.message);
  for (const v of violations) problems.add(`${prefix}${v.field}`, v.description);
}

/**
 * Checks a SubmitTrain request without touching a model: the idempotency key, the base model
 * reference, and the recipe (structure, method parameters, the references it names). What needs
 * the model (targets that match nothing, shapes) is checked when the job starts, before training.
 */
export function trainSpecFromRequest(request: SubmitTrainRequest): TrainSpec {
  const problems = new ViolationCollector();
  if (!request.requestId) problems.add('request_id', 'required (it is the idempotency key)');
  const yaml = request.configYaml;
  let config: RunConfig | undefined;
  if (!yaml.trim()) problems.add('config_yaml', 'required: the training recipe (method, parameters, task, trainer) as YAML');
  else if (Buffer.byteLength(yaml) > MAX_CONFIG_BYTES) problems.add('config_yaml', `larger than ${MAX_CONFIG_BYTES} bytes`);
  else {
    try {
      config = checkRunConfig(yaml);
    } catch (err) {
      collect(problems, err, 'config_yaml.', 'config_yaml');
    }
  }
  let baseRef: string | undefined;
  if (request.baseModel?.source) {
    try {
      baseRef = modelSourceToRef(request.baseModel, 'base_model');
    } catch (err) {
      collect(problems, err, '', 'base_model');
    }
  } else if (config !== undefined) {
    baseRef = config.baseModel;
    if (baseRef === undefined) problems.add('base_model', 'required here or as base_model in the config');
  }
  if (config?.baseModel !== undefined && !isModelReference(config.baseModel)) {
    problems.add('config_yaml.base_model', 'must be artifact:<sha256>, an absolute path under the server\'s model roots, or a backbone name');
  }
  if (config?.method === 'muscle') {
    for (const key of MUSCLE_REFERENCES) {
      const ref = config.parameters[key];
      if (typeof ref === 'string' && !isModelReference(ref)) problems.add(`config_yaml.parameters.${key}`, 'must be artifact:<sha256>, an absolute path under the server\'s model roots, or a backbone name');
    }
  }
  problems.throwIfAny();
  return { config: config as RunConfig, configYaml: yaml, baseRef: baseRef as string };
}

export interface BackboneSpec {
  readonly name: (typeof BACKBONE_NAMES)[number];
  readonly evolved: boolean;
  readonly seed?: number;
  readonly steps?: number;
}

export function backboneSpecFromRequest(request: BuildBackboneRequest): BackboneSpec {
  const problems = new ViolationCollector();
  if (!request.requestId) problems.add('request_id', 'required (it is the idempotency key)');
  if (!isBackboneName(request.name)) problems.add('name', `one of ${BACKBONE_NAMES.join(', ')}, got ${JSON.stringify(request.name)}`);
  else if (request.evolved && request.name === 'vit-digits') problems.add('evolved', 'only the text backbones have an evolved variant');
  problems.throwIfAny();
  return { name: request.name as BackboneSpec['name'], evolved: request.evolved, ...(request.seed ? { seed: request.seed } : {}), ...(request.steps ? { steps: request.steps } : {}) };
}
