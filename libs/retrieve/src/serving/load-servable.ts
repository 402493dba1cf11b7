import { PatchworkError } from '@patchwork/errors';
import type { Model } from '@patchwork/models';
import { loadAdapter } from '@patchwork/peft';
import { MOS_PEFT_TYPE } from '../mos/mos-io';
import { MOS_TASK_PEFT_TYPE, loadMosTaskAdapter, readPeftType } from '../mos/mos-task-io';
import type { ServableAdapter } from './servable-adapter';

/**
 * Loads any adapter directory this library serves onto `model`: MOS task adapters here, PEFT's
 * (LoRA, AdaLoRA, HUT) through `@patchwork/peft`. A MOS learner (router) is refused with
 * FAILED_PRECONDITION: it chooses between task adapters and has no single forward of its own.
 */
export async function loadServableAdapter(dir: string, model: Model): Promise<ServableAdapter> {
  const type = await readPeftType(dir);
  if (type === MOS_TASK_PEFT_TYPE) return loadMosTaskAdapter(dir, model);
  if (type === MOS_PEFT_TYPE) throw new PatchworkError('FAILED_PRECONDITION', `${dir} is a MOS learner (a router over task adapters), not an adapter to predict through; route with it or name one of its task adapters`);
  return loadAdapter(dir, model);
}
