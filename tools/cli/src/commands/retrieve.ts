import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { PatchworkError } from '@patchwork/errors';
import { type Model, type ModelInputs, loadModel } from '@patchwork/models';
import { readModelInputs } from '@patchwork/peft';
import { type ImageRoute, MOS_PEFT_TYPE, type MosRouter, checkModelInputs, imagesOf, loadMosRouter, readPeftType } from '@patchwork/retrieve';
import { initBackend, tf } from '@patchwork/tensor';

export interface RetrieveCommandOptions {
  base: string;
  adapters: string[];
  inputs: string;
  out?: string;
  topK?: string;
  backend?: string;
}

/** The base model and the `--inputs` file, checked against each other; `close` frees both. */
export interface OpenedBase {
  readonly model: Model;
  readonly inputs: ModelInputs;
  readonly rows: number;
  close(): void;
}

export async function openBase(options: { base: string; inputs: string; backend?: string }): Promise<OpenedBase> {
  await initBackend({ backend: (options.backend ?? 'auto') as never });
  const model = await loadModel(path.resolve(options.base));
  try {
    const { inputs, tensors } = await readModelInputs(path.resolve(options.inputs), model);
    try {
      const rows = checkModelInputs(model, inputs, '--inputs');
      return { model, inputs, rows, close: () => (tf.dispose(tensors), model.dispose()) };
    } catch (e) {
      tf.dispose(tensors);
      throw e;
    }
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/**
 * The router among `--adapters` (exactly one MOS learner) over its task adapters (the other
 * directories, each of which must be one of them): content-based retrieval ranks a learner's own
 * task adapters, nothing else.
 */
export async function openRouter(adapters: readonly string[], model: Model, flag = '--adapters'): Promise<MosRouter> {
  if (adapters.length === 0) throw new PatchworkError('INVALID_ARGUMENT', `${flag}: name a MOS learner directory and its task adapter directories`);
  const types = await Promise.all(adapters.map((dir) => readPeftType(path.resolve(dir))));
  const routers = adapters.filter((_, i) => types[i] === MOS_PEFT_TYPE);
  if (routers.length !== 1) {
    throw new PatchworkError(
      'INVALID_ARGUMENT',
      routers.length === 0
        ? `${flag}: content-based retrieval needs a MOS learner (peft_type ${MOS_PEFT_TYPE}, the router of a saved adapter set) among the adapters; none of ${adapters.join(', ')} is one`
        : `${flag}: ${routers.join(' and ')} are both MOS learners; give one set at a time`,
    );
  }
  const others = adapters.filter((dir) => dir !== routers[0]);
  const { router, unmatched } = await loadMosRouter(path.resolve(routers[0]), others.map((dir) => path.resolve(dir)), model);
  if (unmatched.length > 0) {
    router.dispose();
    const given = unmatched.map((dir) => others[others.map((o) => path.resolve(o)).indexOf(dir)]);
    throw new PatchworkError('INVALID_ARGUMENT', `${flag}: ${given.join(', ')} ${given.length === 1 ? 'is not a task adapter' : 'are not task adapters'} of the MOS learner ${routers[0]}`);
  }
  return router;
}

/** `dir` as given on the command line, for a resolved directory the router returned. */
export function asGiven(adapters: readonly string[], resolved: string): string {
  return adapters.find((dir) => path.resolve(dir) === resolved) ?? resolved;
}

export function routesSummary(routes: readonly ImageRoute[], adapters: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const r of routes) counts.set(r.adapterId, (counts.get(r.adapterId) ?? 0) + 1);
  return [...counts].map(([id, n]) => `${asGiven(adapters, id)} x${n}`).join(', ');
}

function topKOf(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new PatchworkError('INVALID_ARGUMENT', `--top-k: must be a positive integer, got ${JSON.stringify(value)}`);
  return n;
}

/**
 * `patchwork retrieve`: ranks a MOS adapter set's task adapters for every input image, by the
 * learner's training-free self-refined retrieval. Writes JSON (to --out, else stdout).
 */
export async function retrieveCommand(options: RetrieveCommandOptions): Promise<void> {
  const topK = topKOf(options.topK);
  const opened = await openBase(options);
  try {
    const router = await openRouter(options.adapters, opened.model);
    try {
      const routes = router.routeImages(imagesOf(opened.inputs, '--inputs'));
      const report = {
        base: options.base,
        router: options.adapters.find((dir) => !router.adapterIds.includes(path.resolve(dir))),
        inputs: opened.rows,
        results: routes.map((r, index) => ({
          index,
          adapter: asGiven(options.adapters, r.adapterId),
          task: r.taskId,
          refinements: r.refinements,
          adapters: r.ranked.slice(0, topK).map((a) => ({ adapter: asGiven(options.adapters, a.adapterId), task: a.taskId, score: a.score })),
        })),
      };
      const json = `${JSON.stringify(report, null, 2)}\n`;
      if (options.out === undefined) process.stdout.write(json);
      else {
        const out = path.resolve(options.out);
        await fs.mkdir(path.dirname(out), { recursive: true });
        await fs.writeFile(out, json);
      }
      process.stderr.write(`routed ${opened.rows} input(s): ${routesSummary(routes, options.adapters)}${options.out === undefined ? '' : ` -> ${path.resolve(options.out)}`}\n`);
    } finally {
      router.dispose();
    }
  } finally {
    opened.close();
  }
}
