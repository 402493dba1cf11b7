import * as path from 'node:path';
import { compressModel } from '@patchwork/compress';
import { PatchworkError } from '@patchwork/errors';
import { initBackend } from '@patchwork/tensor';
import { ProgressLine } from '../progress';

/** `patchwork compress`: PELA factorization of a Hugging Face model to about 1/gamma per layer. */
export async function compressCommand(options: { model: string; gamma: string; svd?: string; out: string; backend?: string }): Promise<void> {
  const gamma = Number(options.gamma);
  if (!(Number.isFinite(gamma) && gamma > 1)) throw new PatchworkError('INVALID_ARGUMENT', `--gamma: must be a number > 1, got ${JSON.stringify(options.gamma)}`);
  const svd = options.svd ?? 'exact';
  if (svd !== 'exact' && svd !== 'randomized') throw new PatchworkError('INVALID_ARGUMENT', `--svd: exact or randomized, got ${JSON.stringify(svd)}`);
  await initBackend({ backend: (options.backend ?? 'auto') as never });
  const progress = new ProgressLine();
  const report = await compressModel({
    modelDir: path.resolve(options.model),
    outDir: path.resolve(options.out),
    gamma,
    svd,
    onProgress: (p) => {
      if (p.phase === 'factorize') progress.update('factor', (p.index + 1) / p.total, `${p.module} rank ${p.rank} err ${p.relError.toExponential(2)}`);
    },
  });
  progress.done(
    `${report.model_type}: ${report.params_before} -> ${report.params_after} parameters (${(report.param_ratio * 100).toFixed(1)}%), ` +
      `FLOPs/token ${report.flops_per_token_before} -> ${report.flops_per_token_after}, ${report.layers.length} layers factored -> ${path.resolve(options.out)}`,
  );
}
