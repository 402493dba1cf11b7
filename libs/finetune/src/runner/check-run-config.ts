import { getTask } from '@patchwork/datasets';
import { PatchworkError, invalidArgument } from '@patchwork/errors';
import { parseAdaLoraConfig, parseHutConfig, parseLoraConfig } from '@patchwork/peft';
import { parseMuscleConfig } from '../muscle/muscle-method';
import { adapterParameters } from './methods/peft-method';
import { type RunConfig, parseRunConfig } from './run-config';

const PEFT_PARSERS = { lora: parseLoraConfig, adalora: parseAdaLoraConfig, hut: parseHutConfig } as const;

/**
 * Everything about a config that can be checked without loading a model or data: its structure,
 * that its task is registered, and the method's own parameters (ranks, alphas, AdaLoRA's schedule, MUSCLE's references). A service
 * runs this when a job is submitted, so a bad config is refused with INVALID_ARGUMENT before it is
 * queued; what needs the model (a target that matches no module, LST's layer plan) is checked when
 * the job starts, before any training or artifact.
 */
export function checkRunConfig(input: string | Record<string, unknown>): RunConfig {
  const config = parseRunConfig(input);
  try {
    getTask(config.task);
  } catch (e) {
    const err = PatchworkError.from(e);
    throw err.code === 'NOT_FOUND' ? invalidArgument('task', err.message) : err;
  }
  const method = config.method;
  if (method === 'lora' || method === 'adalora' || method === 'hut') {
    PEFT_PARSERS[method](adapterParameters(config.parameters, method, config.trainer.steps), 'parameters');
  } else if (method === 'muscle') {
    parseMuscleConfig(config.parameters);
  }
  return config;
}
