import { PatchworkError } from '@patchwork/errors';
import { createModel } from '@patchwork/models';
import { type TensorData, tf, writeSafetensors } from '@patchwork/tensor';
import { writeFile } from 'node:fs/promises';
import * as nodePath from 'node:path';
import { writeDirAtomically } from '../../core/artifact-dir';
import type { MethodContext, PreparedRun } from '../method';
import { singlePhaseRun } from '../single-phase';

/** Full fine-tuning: every parameter of a copy of the base is trained; the result is a Hugging Face model directory. */
export async function fullMethod(ctx: MethodContext): Promise<PreparedRun> {
  const unknown = Object.keys(ctx.config.parameters);
  if (unknown.length > 0) throw new PatchworkError('INVALID_ARGUMENT', `parameters: full fine-tuning takes none, got ${unknown.join(', ')}`);
  const params = new Map<string, tf.Variable>();
  for (const [key, t] of ctx.model.weights) params.set(key, tf.variable(t, true));
  const model = createModel(ctx.model.config, params);
  const head = ctx.task.headFor(model);
  return singlePhaseRun(ctx, {
    params,
    trainableParameters: [...params.values()].reduce((n, v) => n + v.size, 0),
    artifact: 'model',
    logits: (batch) => tf.tidy(() => head.logits(model.forward(batch.inputs, { outputHiddenStates: head.needsHiddenStates }), batch)),
    async save(dir) {
      const record: Record<string, TensorData> = {};
      for (const key of [...params.keys()].sort()) {
        const v = params.get(key) as tf.Variable;
        record[key] = { dtype: 'F32', shape: [...v.shape], data: v.dataSync() as Float32Array };
      }
      await writeDirAtomically(dir, async (staging) => {
        await writeSafetensors(nodePath.join(staging, 'model.safetensors'), record, { format: 'pt' });
        await writeFile(nodePath.join(staging, 'config.json'), `${JSON.stringify(ctx.model.config, null, 2)}\n`);
      });
    },
    // The trained model owns the variables.
    dispose: () => model.dispose(),
  });
}
