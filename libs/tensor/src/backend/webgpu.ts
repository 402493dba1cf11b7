import { existsSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';

interface GpuAdapterLike {
  info?: { vendor?: string; architecture?: string; device?: string; description?: string };
}
interface GpuLike {
  requestAdapter(options?: unknown): Promise<GpuAdapterLike | null>;
}
interface WebgpuPackage {
  create(flags: string[]): GpuLike;
  globals: Record<string, unknown>;
}

const load = (id: string): unknown => require(id);

function describeAdapter(adapter: GpuAdapterLike): string {
  const info = adapter.info ?? {};
  const text = [info.vendor, info.architecture, info.device, info.description].filter((s) => s !== undefined && s !== '').join(' ');
  return text === '' ? 'gpu' : `gpu (${text})`;
}

const VULKAN_LOADER_DIRS = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/lib/x86_64-linux-gnu', '/lib64', '/usr/local/lib'];

/**
 * WebGPU through Dawn (the optional `webgpu` package). The backend package reads
 * `navigator.gpu` when it is imported, so the globals are installed first, and only when an
 * adapter exists; otherwise they are removed again and nothing of WebGPU stays loaded.
 */
export async function startWebgpu(): Promise<{ device: string } | { reason: string }> {
  // Dawn prints a warning to stderr when it cannot load the Vulkan loader; skip quietly instead.
  if (process.platform === 'linux' && !VULKAN_LOADER_DIRS.some((dir) => existsSync(`${dir}/libvulkan.so.1`))) {
    return { reason: 'no Vulkan loader (libvulkan.so.1) for WebGPU' };
  }
  let pkg: WebgpuPackage;
  try {
    pkg = load('webgpu') as WebgpuPackage;
  } catch (e) {
    return { reason: `webgpu package not loadable (${String((e as Error)?.message ?? e).split('\n')[0]})` };
  }
  const g = globalThis as Record<string, unknown>;
  const hadNavigator = Object.prototype.hasOwnProperty.call(g, 'navigator');
  const previousNavigator = g['navigator'];
  let adapter: GpuAdapterLike | null;
  let gpu: GpuLike;
  try {
    gpu = pkg.create([]);
    adapter = await gpu.requestAdapter();
  } catch (e) {
    return { reason: `WebGPU adapter request failed (${String((e as Error)?.message ?? e).split('\n')[0]})` };
  }
  if (adapter === null || adapter === undefined) return { reason: 'no WebGPU adapter (no usable GPU driver)' };
  const addedGlobals = Object.keys(pkg.globals).filter((k) => !(k in g));
  Object.assign(g, Object.fromEntries(addedGlobals.map((k) => [k, pkg.globals[k]])));
  Object.defineProperty(g, 'navigator', { value: { ...((previousNavigator as object) ?? {}), gpu }, configurable: true, writable: true });
  try {
    load('@tensorflow/tfjs-backend-webgpu');
    if (!(await tf.setBackend('webgpu'))) throw new Error('tf.setBackend("webgpu") returned false');
    await tf.ready();
    return { device: describeAdapter(adapter) };
  } catch (e) {
    for (const k of addedGlobals) delete g[k];
    if (hadNavigator) Object.defineProperty(g, 'navigator', { value: previousNavigator, configurable: true, writable: true });
    else delete g['navigator'];
    return { reason: `webgpu backend failed to initialise (${String((e as Error)?.message ?? e).split('\n')[0]})` };
  }
}
