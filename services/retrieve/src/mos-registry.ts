import { PatchworkError } from '@patchwork/errors';
import { ArtifactKind, type ArtifactRecord } from '@patchwork/contracts';
import type { ArtifactRegistry } from '@patchwork/platform';
import { type MosAdapterSetDirs, readMosTaskConfig } from '@patchwork/retrieve';

/**
 * How a MOS adapter set lives in the registry. The router (the saved learner, `peft_type` MOS)
 * is an adapter artifact labelled `mos=router`; each task adapter (`MOS_TASK`) is an adapter
 * artifact of the same base labelled `mos.router=<router digest>` and `mos.task=<k>`, with the
 * router among its parents. The router's label is set last, so a set being registered is not
 * used before all its task adapters exist.
 */
export const MOS_ROLE_LABEL = 'mos';
export const MOS_ROUTER_ROLE = 'router';
export const MOS_ROUTER_LABEL = 'mos.router';
export const MOS_TASK_LABEL = 'mos.task';

export function isMosRouter(artifact: ArtifactRecord): boolean {
  return artifact.labels[MOS_ROLE_LABEL] === MOS_ROUTER_ROLE;
}

/** The router content-based routing uses for a base, and its task adapters as labelled. */
export interface MosRouting {
  readonly router: ArtifactRecord;
  /** Task id -> adapter digest, as the labels say (checked against the router when it loads). */
  readonly tasks: ReadonlyMap<number, string>;
}

/**
 * The MOS router of `baseModelDigest`, if the registry holds one: the most recently registered
 * (a newer set supersedes an older one), with the task adapters that carry its digest. Two
 * adapters claiming the same task is FAILED_PRECONDITION.
 */
export function mosRoutingFor(artifacts: readonly ArtifactRecord[], baseModelDigest: string): MosRouting | undefined {
  const routers = artifacts.filter((a) => a.kind === ArtifactKind.ARTIFACT_KIND_ADAPTER && a.baseModelDigest === baseModelDigest && isMosRouter(a));
  const router = routers.sort((a, b) => b.createdAtMs - a.createdAtMs || (a.digest < b.digest ? -1 : 1))[0];
  if (router === undefined) return undefined;
  const tasks = new Map<number, string>();
  for (const a of artifacts) {
    if (a.kind !== ArtifactKind.ARTIFACT_KIND_ADAPTER || a.baseModelDigest !== baseModelDigest || a.labels[MOS_ROUTER_LABEL] !== router.digest) continue;
    const task = Number(a.labels[MOS_TASK_LABEL]);
    if (!Number.isSafeInteger(task) || task < 0) throw new PatchworkError('FAILED_PRECONDITION', `adapter ${a.digest} names MOS router ${router.digest} but its ${MOS_TASK_LABEL} label is ${JSON.stringify(a.labels[MOS_TASK_LABEL])}`);
    const other = tasks.get(task);
    if (other !== undefined) throw new PatchworkError('FAILED_PRECONDITION', `adapters ${other} and ${a.digest} both claim task ${task} of MOS router ${router.digest}`);
    tasks.set(task, a.digest);
  }
  return { router, tasks };
}

export interface RegisteredMosSet {
  readonly router: string;
  /** Adapter digest per task id. */
  readonly tasks: string[];
}

/**
 * Registers a saved MOS adapter set (`saveMosAdapterSet`) for `baseModelDigest`: the router,
 * then every task adapter, then the router label that makes the set visible to routing.
 * Idempotent (artifacts are content-addressed).
 */
export async function registerMosAdapterSet(
  registry: ArtifactRegistry,
  set: MosAdapterSetDirs,
  options: { baseModelDigest: string; labels?: Record<string, string> },
): Promise<RegisteredMosSet> {
  const common = { kind: ArtifactKind.ARTIFACT_KIND_ADAPTER, format: 'peft', baseModelDigest: options.baseModelDigest };
  const router = await registry.putDirectory(set.router, { ...common, labels: { ...options.labels } });
  const tasks: string[] = [];
  for (const dir of set.tasks) {
    const { task_id: task } = await readMosTaskConfig(dir);
    if (tasks[task] !== undefined) throw new PatchworkError('INVALID_ARGUMENT', `set.tasks: two directories hold task ${task}`);
    const labels = { ...options.labels, [MOS_ROUTER_LABEL]: router.digest, [MOS_TASK_LABEL]: String(task) };
    tasks[task] = (await registry.putDirectory(dir, { ...common, parents: [router.digest], labels })).digest;
  }
  await registry.setLabels(router.digest, { [MOS_ROLE_LABEL]: MOS_ROUTER_ROLE });
  return { router: router.digest, tasks };
}
