import { tf } from '@patchwork/tensor';
import { classificationLoss } from '@patchwork/training';
import { disposeBatch } from '../../data/encoded-inputs';
import { LstAdapter } from '../../lst/lst-adapter';
import type { LstConfigInput } from '../../lst/lst-config';
import type { MethodContext, PreparedRun } from '../method';
import { singlePhaseRun } from '../single-phase';

/** Ladder side-tuning; the Fisher importance for its pruning init comes from the task's training examples. */
export async function lstMethod(ctx: MethodContext): Promise<PreparedRun> {
  const head = ctx.task.headFor(ctx.model);
  const train = ctx.task.train;
  const fisherLoss = (n: number): tf.Scalar => {
    const batch = train.batch([n]);
    try {
      return tf.tidy(() => classificationLoss(head.logits(ctx.model.forward(batch.inputs, { outputHiddenStates: head.needsHiddenStates }), batch), batch.labels));
    } finally {
      disposeBatch(batch);
    }
  };
  const lst = LstAdapter.create(ctx.model, ctx.config.parameters as LstConfigInput, { seed: ctx.config.trainer.seed, fisherLoss, fisherExamples: train.size });
  return singlePhaseRun(ctx, {
    params: lst.namedVariables(),
    trainableParameters: lst.numTrainableParameters(),
    artifact: 'adapter',
    logits: (batch) => lst.logits(batch, head),
    save: (dir) => lst.save(dir, { baseModelNameOrPath: ctx.config.baseModel ?? null }),
    dispose: () => lst.dispose(),
  });
}
