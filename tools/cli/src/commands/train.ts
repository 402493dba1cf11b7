import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseDocument } from 'yaml';
import { ArtifactKind } from '@patchwork/contracts';
import { PatchworkError } from '@patchwork/errors';
import { type FinetuneProgress, checkRunConfig, trainFromConfig } from '@patchwork/finetune';
import { callUnary } from '@patchwork/platform';
import { initBackend } from '@patchwork/tensor';
import { ProgressLine } from '../progress';
import { connectRemote, type RemoteOptions } from '../remote/connection';
import { downloadBundle, uploadDirectory } from '../remote/transfer';
import { watchJob } from '../remote/watch';

export interface TrainCommandOptions {
  config: string;
  out: string;
  /** Overrides the config's base_model. */
  base?: string;
  /** Continue a run killed part way from `<out>/checkpoints`. */
  resume?: boolean;
  dataDir?: string;
  backend?: string;
  requestId?: string;
}

/** References a recipe may hold besides base_model (MUSCLE's old model and adapters). */
const REFERENCE_PATHS: readonly (readonly string[])[] = [['base_model'], ['parameters', 'old_base_model'], ['parameters', 'old_adapter'], ['parameters', 'new_adapter']];

async function readConfigText(file: string): Promise<string> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (e) {
    throw new PatchworkError('INVALID_ARGUMENT', `--config: cannot read ${file}: ${(e as Error).message}`);
  }
}

const isDirectory = (p: string) => fs.stat(p).then((s) => s.isDirectory(), () => false);

const exists = (p: string) => fs.access(p).then(() => true, () => false);

function describe(p: FinetuneProgress): string {
  const evalPart = p.evalMetrics?.eval_accuracy === undefined ? '' : ` eval_acc ${p.evalMetrics.eval_accuracy.toFixed(3)}`;
  return `step ${p.step}/${p.totalSteps} loss ${p.loss.toFixed(4)} lr ${p.lr.toExponential(2)} ${p.examplesPerSec.toFixed(0)} ex/s eta ${Math.ceil(p.etaSec)} s${evalPart}`;
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/**
 * `patchwork train`: a patch from a YAML recipe, in this process. A run killed part way leaves
 * its checkpoints under `<out>/checkpoints`; `--resume` continues from the last one and ends with
 * the metrics an uninterrupted run would have. Without `--resume` such leftovers are an error
 * rather than silently discarded.
 */
export async function trainLocal(options: TrainCommandOptions, env: NodeJS.ProcessEnv): Promise<void> {
  const text = await readConfigText(options.config);
  checkRunConfig(text);
  const out = path.resolve(options.out);
  const checkpoints = path.join(out, 'checkpoints');
  if (!options.resume && (await exists(checkpoints))) {
    throw new PatchworkError('INVALID_ARGUMENT', `--out: ${checkpoints} holds checkpoints of an earlier run; pass --resume to continue it or choose a new --out`);
  }
  if (options.resume && !(await exists(checkpoints))) throw new PatchworkError('INVALID_ARGUMENT', `--resume: ${checkpoints} does not exist`);
  await initBackend({ backend: (options.backend ?? 'auto') as never });
  const progress = new ProgressLine();
  const result = await trainFromConfig(text, {
    outDir: out,
    baseModelDir: options.base,
    dataDir: path.resolve(options.dataDir ?? env['PATCHWORK_DATA_DIR'] ?? path.join(os.homedir(), '.patchwork')),
    resumeFrom: options.resume ? checkpoints : undefined,
    profileMemory: true,
    onProgress: (p) => progress.update(p.phase, p.totalSteps > 0 ? p.step / p.totalSteps : 0, describe(p)),
  });
  const m = result.metrics;
  progress.done(
    `${result.config.method} on ${result.config.task}: eval_accuracy ${m.eval_accuracy?.toFixed(4)} test_accuracy ${m.test_accuracy?.toFixed(4)}, ` +
      `${result.trainableParameters} trainable parameters, peak training memory ${mib(result.peakMemoryBytes)}` +
      `${result.stepPeakBytes === undefined ? '' : ` (one step: +${mib(result.stepPeakBytes)})`}, ${result.examplesPerSec.toFixed(1)} examples/s -> ${result.adapterDir}`,
  );
}

/**
 * The same training through the services: local model and adapter directories the recipe names
 * are uploaded as artifacts and the recipe rewritten to reference them; the job is followed on
 * WatchJob and its artifact downloaded to `<out>/adapter` (`<out>/model` for method: full).
 */
export async function trainRemote(options: TrainCommandOptions, remoteOptions: RemoteOptions): Promise<void> {
  const text = await readConfigText(options.config);
  const config = checkRunConfig(text);
  const doc = parseDocument(text);
  if (options.base !== undefined) doc.setIn(['base_model'], options.base);
  const remote = connectRemote(remoteOptions);
  const progress = new ProgressLine();
  try {
    for (const at of REFERENCE_PATHS) {
      const ref = doc.getIn(at);
      if (typeof ref !== 'string' || !(await isDirectory(ref))) continue;
      progress.update('upload', 0, ref);
      const isAdapter = at[1] === 'old_adapter' || at[1] === 'new_adapter';
      const record = await uploadDirectory(remote, path.resolve(ref), isAdapter ? ArtifactKind.ARTIFACT_KIND_ADAPTER : ArtifactKind.ARTIFACT_KIND_MODEL, isAdapter ? 'peft' : 'hf-safetensors');
      doc.setIn(at, `artifact:${record.digest}`);
    }
    const submitted = await callUnary(remote.train, 'submitTrain', { requestId: options.requestId ?? randomUUID(), baseModel: undefined, configYaml: doc.toString(), labels: {} });
    const jobId = submitted.job?.id;
    if (!jobId) throw new PatchworkError('INTERNAL', 'SubmitTrain returned no job');
    const done = await watchJob(remote, jobId, (job) => progress.update(job.progress?.stage || 'queued', job.progress?.fraction ?? 0, job.progress?.message ?? ''));
    const output = done.outputs[0];
    if (!output) throw new PatchworkError('INTERNAL', `job ${jobId} succeeded without an output artifact`);
    const target = path.join(path.resolve(options.out), config.method === 'full' ? 'model' : 'adapter');
    await downloadBundle(remote, output.digest, target);
    progress.done(`trained remotely (job ${jobId}, artifact ${output.digest}) -> ${target}`);
  } finally {
    remote.close();
  }
}
