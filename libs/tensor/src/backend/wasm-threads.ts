import { createHash, randomBytes } from 'node:crypto';
import { existsSync, renameSync, writeFileSync } from 'node:fs';
// The module object itself (not an import namespace copy), so that patching `cpus` is seen by tfjs.
import os = require('node:os');
import * as nodePath from 'node:path';

/**
 * tfjs turns wasm multi-threading off in Node (WASM_HAS_MULTITHREAD_SUPPORT is false there): its
 * pthread worker is handed over as a Blob URL, which Node's worker_threads cannot load. While
 * `enableWasmThreads` is active (around the backend's initialisation, which is when the XNNPACK
 * pool spawns its workers):
 * - `Blob` is replaced by a class that keeps its text, and `URL.createObjectURL` writes the worker
 *   script to a temp file and returns its path;
 * - the worker script gets a prelude so that, instead of the main-script Blob (which cannot cross
 *   into a worker), it loads the package's own `tfjs-backend-wasm-threaded-simd.js`;
 * - `os.cpus()` reports enough cores, because tfjs caps the pool at half the logical cores and
 *   would give a 2-vCPU machine a single thread.
 * Everything is restored by the returned function, except that later requests for the worker
 * script (a Blob of type application/javascript) keep getting the file, because emscripten may
 * start another worker after initialisation.
 */

const WORKER_MIME = 'application/javascript';
let workerFile: string | undefined;

class TextBlob {
  readonly text: string;
  readonly type: string;
  constructor(parts: unknown[], options?: { type?: string }) {
    this.text = parts.map(String).join('');
    this.type = options?.type ?? '';
  }
}

function threadedMainScript(): string {
  const pkg = require.resolve('@tensorflow/tfjs-backend-wasm/package.json');
  return nodePath.join(nodePath.dirname(pkg), 'wasm-out', 'tfjs-backend-wasm-threaded-simd.js');
}

/**
 * The worker script goes to a content-addressed file in the temp directory, shared by every
 * process on the machine with the same tfjs version: nothing to clean up (exit hooks do not run
 * in every host, Jest workers included) and at most one file per version. Written to a private
 * name then renamed, so a concurrent reader never sees half a file.
 */
function writeWorkerFile(source: string): string {
  if (workerFile !== undefined) return workerFile;
  const script = `URL.createObjectURL=()=>${JSON.stringify(threadedMainScript())};URL.revokeObjectURL=()=>{};\n${source}`;
  const digest = createHash('sha256').update(script).digest('hex').slice(0, 16);
  const file = nodePath.join(os.tmpdir(), `patchwork-tfjs-wasm-worker-${digest}.js`);
  if (!existsSync(file)) {
    const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    writeFileSync(temp, script);
    renameSync(temp, file);
  }
  workerFile = file;
  return file;
}

/** Installs the shims for `threads` threads; call the returned function once the backend is ready. */
export function enableWasmThreads(threads: number): () => void {
  const g = globalThis as unknown as { Blob: unknown; URL: { createObjectURL: (b: unknown) => string } };
  const originalBlob = g.Blob;
  const originalCreate = g.URL.createObjectURL;
  const originalCpus = os.cpus;
  const cpus = originalCpus();
  g.Blob = TextBlob;
  g.URL.createObjectURL = (blob: unknown): string => {
    if (blob instanceof TextBlob) return writeWorkerFile(blob.text);
    if (workerFile !== undefined && (blob as { type?: unknown })?.type === WORKER_MIME) return workerFile;
    return originalCreate(blob);
  };
  (os as { cpus: () => os.CpuInfo[] }).cpus = () => Array.from({ length: Math.max(cpus.length, 2 * threads) }, (_, i) => cpus[i % cpus.length]);
  return () => {
    g.Blob = originalBlob;
    (os as { cpus: () => os.CpuInfo[] }).cpus = originalCpus;
    // createObjectURL keeps the worker redirect: emscripten may start a worker after init.
    g.URL.createObjectURL = (blob: unknown): string =>
      workerFile !== undefined && (blob as { type?: unknown })?.type === WORKER_MIME ? workerFile : originalCreate(blob);
  };
}
