import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { PatchworkError } from '@patchwork/errors';
import type { ModelInputs } from '@patchwork/models';
import { AdapterCache, MosTaskAdapter, type PredictRequest, RoutedPredictor, type ServableAdapter, adapterBytes, imagesOf, loadServableAdapter } from '@patchwork/retrieve';
import { type TensorData, tf, writeSafetensors } from '@patchwork/tensor';
import { asGiven, openBase, openRouter, routesSummary } from './retrieve';

export interface PredictCommandOptions {
  base: string;
  adapter?: string;
  adapters?: string[];
  inputs: string;
  out: string;
  backend?: string;
}

/** Row `i` of every input tensor (new tensors, disposed by the caller). */
function rowOf(inputs: ModelInputs, i: number): ModelInputs {
  const out: Record<string, tf.Tensor> = {};
  for (const [key, t] of Object.entries(inputs)) if (t instanceof tf.Tensor) out[key] = tf.slice(t, [i], [1]);
  return out as ModelInputs;
}

/**
 * `patchwork predict`: logits of the base model through one adapter (`--adapter`), or through the
 * task adapter a MOS learner chooses for each input (`--adapters ROUTER TASK...`). Writes
 * safetensors: `logits`, and with `--adapters` also `task_ids` (the chosen task per input) and
 * `classes` (the class label of each logit column).
 */
export async function predictCommand(options: PredictCommandOptions): Promise<void> {
  const auto = options.adapters !== undefined && options.adapters.length > 0;
  if (auto === (options.adapter !== undefined)) throw new PatchworkError('INVALID_ARGUMENT', '--adapter / --adapters: give exactly one (one adapter, or a MOS learner and its task adapters to route by content)');
  const opened = await openBase(options);
  const cache = new AdapterCache<ServableAdapter>({ budgetBytes: Number.MAX_SAFE_INTEGER, sizeOf: adapterBytes, load: (dir) => loadServableAdapter(dir, opened.model) });
  const rows: ModelInputs[] = [];
  try {
    const predictor = new RoutedPredictor(opened.model, cache);
    const tensors: Record<string, TensorData> = {};
    let summary: string;
    if (!auto) {
      const dir = path.resolve(options.adapter as string);
      const [result] = await predictor.predictBatched([{ adapterId: dir, input: opened.inputs }]);
      tensors['logits'] = { dtype: 'F32', shape: result.shape, data: result.logits };
      summary = `${opened.rows} input(s) through ${options.adapter}`;
    } else {
      const adapters = options.adapters as string[];
      const router = await openRouter(adapters, opened.model);
      try {
        const routes = router.routeImages(imagesOf(opened.inputs, '--inputs'));
        for (let i = 0; i < opened.rows; i++) rows.push(rowOf(opened.inputs, i));
        const requests: PredictRequest[] = routes.map((r, i) => ({ adapterId: r.adapterId, input: rows[i] }));
        const results = await predictor.predictBatched(requests);
        const width = results[0].shape[1];
        const logits = new Float32Array(opened.rows * width);
        results.forEach((r, i) => logits.set(r.logits, i * width));
        tensors['logits'] = { dtype: 'F32', shape: [opened.rows, width], data: logits };
        tensors['task_ids'] = { dtype: 'I64', shape: [opened.rows], data: BigInt64Array.from(routes, (r) => BigInt(r.taskId)) };
        const first = await cache.use(routes[0].adapterId, async (a) => (a instanceof MosTaskAdapter ? a.classes : undefined));
        if (first !== undefined) tensors['classes'] = { dtype: 'I64', shape: [first.length], data: BigInt64Array.from(first, (c) => BigInt(c)) };
        summary = `${opened.rows} input(s) routed by ${asGiven(adapters, adapters.find((d) => !router.adapterIds.includes(path.resolve(d))) ?? '')}: ${routesSummary(routes, adapters)}`;
      } finally {
        router.dispose();
      }
    }
    const out = path.resolve(options.out);
    await fs.mkdir(path.dirname(out), { recursive: true });
    await writeSafetensors(out, tensors);
    process.stderr.write(`${summary}; logits [${tensors['logits'].shape.join(', ')}] -> ${out}\n`);
  } finally {
    tf.dispose(rows.flatMap((r) => Object.values(r)));
    cache.clear();
    opened.close();
  }
}
