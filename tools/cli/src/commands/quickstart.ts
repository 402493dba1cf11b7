import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PatchworkError } from '@patchwork/errors';
import { readPlatformConfig, serve } from '@patchwork/platform';
import { SERVICE_MODULES } from '../service-modules';
import { mergeLocal } from './merge-local';
import { mergeRemote } from './merge-remote';

export interface QuickstartOptions {
  out: string;
  /** The recipe to run; defaults to the shipped example. */
  config?: string;
}

/** The shipped example recipe, found from the sources or a bundle alike. */
async function exampleRecipe(): Promise<string> {
  for (let dir = __dirname; path.dirname(dir) !== dir; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'examples', 'merge', 'task-arithmetic.yaml');
    try {
      await fs.access(candidate);
      return candidate;
    } catch {
      // keep looking upwards
    }
  }
  throw new PatchworkError('NOT_FOUND', 'examples/merge/task-arithmetic.yaml not found; pass --config');
}

async function digestOf(file: string): Promise<string> {
  return createHash('sha256').update(await fs.readFile(file)).digest('hex');
}

/**
 * The main job on the embedded default: boots all five services in this process (no NATS), runs
 * the merge recipe through them over gRPC (upload, submit, watch, download), runs it in-process
 * too, and checks both outputs are byte-identical.
 */
export async function quickstart(options: QuickstartOptions, env: NodeJS.ProcessEnv): Promise<void> {
  const recipe = options.config ?? (await exampleRecipe());
  const out = path.resolve(options.out);
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'patchwork-quickstart-'));
  const config = readPlatformConfig({ ...env, NATS_URL: '' }, { dataDir, grpcPort: '0', logLevel: 'error', reflection: 'true' });
  const platform = await serve({ config, modules: config.services.map((s) => SERVICE_MODULES[s]) });
  process.stderr.write(`patchwork: embedded services (${config.services.join(', ')}) on 127.0.0.1:${platform.port}, data in ${dataDir}\n`);
  try {
    await mergeRemote({ config: recipe, out: path.join(out, 'via-services') }, { address: `127.0.0.1:${platform.port}` });
    await mergeLocal({ config: recipe, out: path.join(out, 'in-process') });
    const [a, b] = await Promise.all([digestOf(path.join(out, 'via-services', 'model.safetensors')), digestOf(path.join(out, 'in-process', 'model.safetensors'))]);
    if (a !== b) throw new PatchworkError('INTERNAL', `the service and in-process merges differ (${a} vs ${b})`);
    process.stderr.write(`patchwork: both merges wrote model.safetensors with sha256 ${a}\n`);
  } finally {
    await platform.close();
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}
