import * as tf from '@tensorflow/tfjs';
import { PatchworkError } from '@patchwork/errors';
import { fastMatMulInfo, installFastMatMul, restoreMatMul } from './kernels/fast-matmul';
import { startTensorflow } from './tensorflow';
import type { BackendChoice, BackendInfo, BackendName, InitBackendOptions } from './types';
import { startWasm } from './wasm';
import { startWebgpu } from './webgpu';

const CHOICES: readonly BackendChoice[] = ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'];
const AUTO_ORDER: readonly BackendName[] = ['tensorflow', 'webgpu', 'wasm', 'cpu'];

type Attempt = { info: Omit<BackendInfo, 'reason'> } | { reason: string };

let current: BackendInfo | undefined;
let queue: Promise<unknown> = Promise.resolve();

function message(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0];
}

async function attempt(name: BackendName, threads: number): Promise<Attempt> {
  try {
    switch (name) {
      case 'tensorflow': {
        const r = await startTensorflow();
        return 'reason' in r ? r : { info: { name, device: r.device, threads: 1 } };
      }
      case 'webgpu': {
        const r = await startWebgpu();
        return 'reason' in r ? r : { info: { name, device: r.device, threads: 1 } };
      }
      case 'wasm': {
        const r = await startWasm(threads);
        return { info: { name, device: 'cpu', threads: r.threads, simd: r.simd } };
      }
      case 'cpu': {
        if (!(await tf.setBackend('cpu'))) return { reason: 'cpu backend did not initialise' };
        await tf.ready();
        // tfjs prints an install-tfjs-node banner on the cpu backend's first write; the choice is
        // deliberate here and already logged through `logger`, so the banner is switched off.
        const cpu = tf.backend() as unknown as { firstUse?: boolean };
        if (cpu.firstUse === true) cpu.firstUse = false;
        return { info: { name, device: 'cpu', threads: 1 } };
      }
    }
  } catch (e) {
    return { reason: `${name} failed to initialise (${message(e)})` };
  }
}

function validate(options: InitBackendOptions): number {
  if (!CHOICES.includes(options?.backend)) {
    throw new PatchworkError('INVALID_ARGUMENT', `backend must be one of ${CHOICES.join(', ')}, got ${JSON.stringify(options?.backend)}`, {
      violations: [{ field: 'backend', description: `must be one of ${CHOICES.join(', ')}` }],
    });
  }
  const threads = options.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 1 || threads > 64) {
    throw new PatchworkError('INVALID_ARGUMENT', `threads must be an integer in [1, 64], got ${threads}`, {
      violations: [{ field: 'threads', description: 'must be an integer in [1, 64]' }],
    });
  }
  if (options.fastKernels !== undefined && typeof options.fastKernels !== 'boolean') {
    throw new PatchworkError('INVALID_ARGUMENT', `fastKernels must be a boolean, got ${JSON.stringify(options.fastKernels)}`, {
      violations: [{ field: 'fastKernels', description: 'must be a boolean' }],
    });
  }
  return threads;
}

/** Installs or removes the fast kernels of the chosen backend; their description, when installed. */
function applyFastKernels(name: BackendName, options: InitBackendOptions): string | undefined {
  if (name !== 'wasm' && name !== 'cpu') return undefined;
  if (!(options.fastKernels ?? name === 'wasm')) {
    restoreMatMul(name);
    return undefined;
  }
  const logger = options.logger;
  return installFastMatMul(name, { onFallback: logger && ((reason) => logger('tensor kernel fallback', { backend: name, reason })) });
}

async function select(options: InitBackendOptions, threads: number): Promise<BackendInfo> {
  const order = options.backend === 'auto' ? AUTO_ORDER : [options.backend];
  const skipped: string[] = [];
  for (const name of order) {
    const result = await attempt(name, threads);
    if ('info' in result) {
      const info: BackendInfo = { ...result.info };
      if (name === 'wasm' && info.threads !== threads) skipped.push(`wasm runs ${info.threads} thread(s), not ${threads} (fixed when wasm first started in this process)`);
      if (skipped.length > 0) info.reason = skipped.join('; ');
      return info;
    }
    skipped.push(`${name}: ${result.reason}`);
  }
  throw new PatchworkError('FAILED_PRECONDITION', `backend ${options.backend} is unavailable: ${skipped.join('; ')}`);
}

/**
 * Chooses and initialises the tfjs backend for this process. `auto` tries tensorflow (native
 * bindings, if installed), webgpu (if a GPU adapter exists), wasm, then cpu; `reason` says why
 * the better ones were skipped. An explicit choice that cannot start is FAILED_PRECONDITION.
 * Calls are serialised; the last one wins.
 */
export function initBackend(options: InitBackendOptions): Promise<BackendInfo> {
  let threads: number;
  try {
    threads = validate(options);
  } catch (e) {
    return Promise.reject(e);
  }
  const run = queue.then(async () => {
    const info = await select(options, threads);
    const kernels = applyFastKernels(info.name, options);
    if (kernels !== undefined) info.kernels = kernels;
    current = info;
    options.logger?.('tensor backend selected', { requested: options.backend, ...info });
    return info;
  });
  queue = run.catch(() => undefined);
  return run;
}

/** The backend in use, as last chosen by `initBackend`, or as tfjs reports it if none was. */
export function backendInfo(): BackendInfo {
  const active = tf.getBackend() as BackendName | undefined;
  if (current !== undefined && current.name === active) {
    // Live: a run-time fallback of a fast kernel shows here, not only at initialisation.
    const { kernels: _chosen, ...info } = current;
    const kernels = fastMatMulInfo(current.name);
    return kernels === undefined ? info : { ...info, kernels };
  }
  return { name: active ?? 'cpu', device: active === 'webgpu' ? 'gpu' : 'cpu', threads: 1, reason: current === undefined ? 'initBackend was not called' : `backend switched outside initBackend (last chosen: ${current.name})` };
}

/**
 * Releases backends that hold threads or devices (wasm pthread workers keep Node alive).
 * Call at shutdown; tfjs cannot start wasm again in the same process afterwards.
 */
export function shutdownBackends(): void {
  for (const name of ['wasm', 'webgpu', 'tensorflow']) {
    if (tf.engine().registryFactory[name] !== undefined) tf.removeBackend(name);
  }
  current = undefined;
}
