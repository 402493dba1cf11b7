import * as nodePath from 'node:path';
import { PatchworkError } from '@patchwork/errors';
import type { Model } from '@patchwork/models';
import { MOS_WEIGHTS_FILE, loadMosLearner } from './mos-io';
import { MosRouter } from './mos-router';
import { MOS_TASK_PEFT_TYPE, readMosTaskConfig, readPeftType, sha256OfFile } from './mos-task-io';

export interface LoadedMosRouter {
  /** Routes to the task directories (adapter ids are the directories as given). */
  readonly router: MosRouter;
  /** Candidates that are not task adapters of this router, in the order given. */
  readonly unmatched: string[];
}

/**
 * A router from a saved learner (`routerDir`) and, among `candidates`, its task adapter
 * directories: those of type MOS_TASK whose `router_weights_sha256` is the digest of the router's
 * weights. Every task of the learner must be found exactly once (FAILED_PRECONDITION otherwise).
 */
export async function loadMosRouter(routerDir: string, candidates: readonly string[], model: Model): Promise<LoadedMosRouter> {
  const digest = await sha256OfFile(nodePath.join(routerDir, MOS_WEIGHTS_FILE));
  const byTask = new Map<number, string>();
  const unmatched: string[] = [];
  for (const dir of candidates) {
    if ((await readPeftType(dir)) !== MOS_TASK_PEFT_TYPE) {
      unmatched.push(dir);
      continue;
    }
    const config = await readMosTaskConfig(dir);
    if (config.router_weights_sha256 !== digest) {
      unmatched.push(dir);
      continue;
    }
    const other = byTask.get(config.task_id);
    if (other !== undefined) throw new PatchworkError('FAILED_PRECONDITION', `${other} and ${dir} are both task ${config.task_id} of the MOS router ${routerDir}`);
    byTask.set(config.task_id, dir);
  }
  const learner = await loadMosLearner(routerDir, model);
  try {
    const missing = Array.from({ length: learner.numTasks }, (_, k) => k).filter((k) => !byTask.has(k));
    const extra = [...byTask.keys()].filter((k) => k >= learner.numTasks);
    if (missing.length > 0 || extra.length > 0) {
      throw new PatchworkError(
        'FAILED_PRECONDITION',
        `the MOS router ${routerDir} has ${learner.numTasks} tasks; ${missing.length > 0 ? `no task adapter was given for task(s) ${missing.join(', ')}` : `task(s) ${extra.join(', ')} do not exist`}`,
      );
    }
    return { router: new MosRouter(learner, Array.from({ length: learner.numTasks }, (_, k) => byTask.get(k) as string)), unmatched };
  } catch (e) {
    learner.dispose();
    throw e;
  }
}
