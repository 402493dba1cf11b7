/**
 * TIES merging with PEFT semantics of several float32 checkpoints, end to end from safetensors to
 * safetensors: Patchwork's streaming merge (`planMerge` + `executeMerge`) next to a NumPy
 * implementation of the same merge (PEFT's `ties` in `merge_utils.py`) run by python3 on the same
 * files, in the same run, alternating the two so load on a shared machine hits both alike. Also
 * prints the raw read speed of the inputs (page cache, as both merges see them) and checks that
 * the two outputs agree within 1e-6.
 *
 *   npx tsx tools/bench/src/merge-ties.ts [--models 4] [--tensors 50] [--elements 1000000]
 *     [--density 0.5] [--repeats 3] [--dir DIR] [--keep]
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { executeMerge, parseMergeYaml, planMerge } from '@patchwork/merge';
import { SafetensorsFile, SafetensorsWriter } from '@patchwork/tensor';

interface Options {
  models: number;
  tensors: number;
  elements: number;
  density: number;
  repeats: number;
  dir?: string;
  keep: boolean;
}

function parseArgs(argv: string[]): Options {
  const options: Options = { models: 4, tensors: 50, elements: 1_000_000, density: 0.5, repeats: 3, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const next = () => {
      const value = argv[++i];
      if (value === undefined) throw new Error(`${flag} needs a value`);
      return value;
    };
    const count = (min: number) => {
      const value = Number(next());
      if (!Number.isSafeInteger(value) || value < min) throw new Error(`${flag} must be an integer >= ${min}`);
      return value;
    };
    switch (flag) {
      case '--models':
        options.models = count(1);
        break;
      case '--tensors':
        options.tensors = count(1);
        break;
      case '--elements':
        options.elements = count(1);
        break;
      case '--repeats':
        options.repeats = count(1);
        break;
      case '--density': {
        options.density = Number(next());
        if (!(options.density > 0 && options.density <= 1)) throw new Error('--density must be in (0, 1]');
        break;
      }
      case '--dir':
        options.dir = next();
        break;
      case '--keep':
        options.keep = true;
        break;
      case '--help':
        process.stdout.write('usage: merge-ties.ts [--models N] [--tensors N] [--elements N] [--density D] [--repeats N] [--dir DIR] [--keep]\n');
        process.exit(0);
        break;
      default:
        throw new Error(`unknown flag ${flag} (try --help)`);
    }
  }
  return options;
}

/** xorshift128+ doubles mapped to roughly Gaussian values (sum of uniforms): fast and seeded. */
function fillNoise(out: Float32Array, seed: number, scale: number, add?: Float32Array): void {
  let s0 = (seed * 0x9e3779b9) >>> 0 || 1;
  let s1 = (seed * 0x85ebca6b + 0x27d4eb2f) >>> 0 || 2;
  for (let j = 0; j < out.length; j++) {
    let sum = 0;
    for (let k = 0; k < 3; k++) {
      let t = s0;
      const u = s1;
      s0 = u;
      t ^= t << 11;
      t ^= t >>> 8;
      s1 = (t ^ u ^ (u >>> 19)) >>> 0;
      sum += s1 / 4294967296;
    }
    out[j] = (add ? add[j] : 0) + scale * (sum - 1.5) * 2;
  }
}

async function writeCheckpoints(dir: string, options: Options): Promise<string[]> {
  const names = Array.from({ length: options.tensors }, (_, t) => `model.layers.${t}.weight`);
  const cols = 1000;
  const shape = options.elements % cols === 0 ? [options.elements / cols, cols] : [options.elements];
  const specs = names.map((name) => ({ name, dtype: 'F32' as const, shape }));
  const dirs = ['base', ...Array.from({ length: options.models }, (_, i) => `ft${i}`)];
  const writers = await Promise.all(
    dirs.map(async (d) => {
      await fs.mkdir(path.join(dir, d), { recursive: true });
      return SafetensorsWriter.create(path.join(dir, d, 'model.safetensors'), specs, { format: 'pt' });
    }),
  );
  const base = new Float32Array(options.elements);
  const model = new Float32Array(options.elements);
  for (const [t, name] of names.entries()) {
    fillNoise(base, 1 + t, 0.05);
    await writers[0].write(name, new Uint8Array(base.buffer));
    for (let i = 0; i < options.models; i++) {
      // Fine-tuned = base + a small task vector, as in a real merge.
      fillNoise(model, 1000 * (i + 1) + t, 0.002, base);
      await writers[i + 1].write(name, new Uint8Array(model.buffer));
    }
  }
  await Promise.all(writers.map((w) => w.finish()));
  return dirs.map((d) => path.join(dir, d));
}

// PEFT's `ties` (merge_utils.py) in NumPy on float32: magnitude top-k per task (np.partition),
// sign election on the summed pruned tasks (>= 0 elects +), disjoint mean of the weighted tasks
// over the agreeing count, base + lambda * merged. safetensors is parsed and written by hand
// (8-byte length, JSON header, raw little-endian data).
const NUMPY_TIES = String.raw`
import json, struct, sys, time
import numpy as np

base_path, out_path, density, lam = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
model_paths = sys.argv[5].split(",")
weights = np.array([float(w) for w in sys.argv[6].split(",")], dtype=np.float32)

def header(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        return json.loads(f.read(n)), 8 + n

def read(path, start, entry):
    b, e = entry["data_offsets"]
    return np.fromfile(path, dtype="<f4", count=(e - b) // 4, offset=start + b)

def prune(t, density):
    # torch.topk's order among equal magnitudes is unspecified; like Patchwork, keep the earlier
    # positions, so the two outputs can be compared exactly.
    k = int(density * t.size)
    if k >= t.size:
        return t
    out = np.zeros_like(t)
    if k > 0:
        a = np.abs(t)
        threshold = np.partition(a, t.size - k)[t.size - k]
        keep = a > threshold
        ties = np.flatnonzero(a == threshold)[: k - int(keep.sum())]
        keep[ties] = True
        out[keep] = t[keep]
    return out

t0 = time.perf_counter()
c0 = time.process_time()
base_header, base_start = header(base_path)
models = [header(p) for p in model_paths]
names = [k for k in base_header if k != "__metadata__"]
names.sort(key=lambda k: base_header[k]["data_offsets"][0])
out_header = {"__metadata__": {"format": "pt"}}
offset = 0
for k in names:
    b, e = base_header[k]["data_offsets"]
    out_header[k] = {"dtype": "F32", "shape": base_header[k]["shape"], "data_offsets": [offset, offset + e - b]}
    offset += e - b
text = json.dumps(out_header, separators=(",", ":")).encode()
text += b" " * (-len(text) % 8)
with open(out_path, "wb") as out:
    out.write(struct.pack("<Q", len(text)))
    out.write(text)
    for k in names:
        base = read(base_path, base_start, base_header[k])
        pruned = np.stack([prune(read(p, start, h[k]) - base, density) for p, (h, start) in zip(model_paths, models)])
        majority = np.where(pruned.sum(axis=0) >= 0, np.float32(1), np.float32(-1))
        mask = np.sign(pruned) == majority
        mixed = (pruned * weights[:, None] * mask).sum(axis=0)
        merged = mixed / np.maximum(mask.sum(axis=0), 1).astype(np.float32)
        (base + np.float32(lam) * merged).astype("<f4").tofile(out)
print(json.dumps({"seconds": time.perf_counter() - t0, "cpu": time.process_time() - c0, "numpy": np.__version__}))
`;

interface NumpyRun {
  seconds: number;
  /** CPU seconds of the process (all threads), less exposed to a busy machine than wall time. */
  cpu: number;
  wallSeconds: number;
  version: string;
}

async function runNumpy(script: string, dirs: string[], out: string, options: Options, weights: number[]): Promise<NumpyRun> {
  const files = dirs.map((d) => path.join(d, 'model.safetensors'));
  const started = performance.now();
  const { stdout } = await promisify(execFile)('python3', [script, files[0], out, String(options.density), '1', files.slice(1).join(','), weights.join(',')], {
    maxBuffer: 1 << 20,
  });
  const wallSeconds = (performance.now() - started) / 1000;
  const report = JSON.parse(stdout.trim()) as { seconds: number; cpu: number; numpy: string };
  return { seconds: report.seconds, cpu: report.cpu, wallSeconds, version: report.numpy };
}

async function runOurs(root: string, dirs: string[], out: string, options: Options, weights: number[]): Promise<{ seconds: number; cpu: number; bytesRead: number; peakRss: number }> {
  const models = dirs.slice(1).map((d, i) => `  - {model: ${d}, parameters: {weight: ${weights[i]}, density: ${options.density}}}`).join('\n');
  const config = parseMergeYaml(`merge_method: ties\nbase_model: ${dirs[0]}\nmodels:\n${models}\nparameters: {semantics: peft, lambda: 1}\n`, root);
  const started = performance.now();
  const cpu = process.cpuUsage();
  const plan = await planMerge(config, async (ref) => ref);
  try {
    const summary = await executeMerge(plan, { outDir: out });
    const used = process.cpuUsage(cpu);
    return { seconds: (performance.now() - started) / 1000, cpu: (used.user + used.system) / 1e6, bytesRead: summary.bytesRead, peakRss: summary.peakRssBytes };
  } finally {
    await plan.close();
  }
}

/** Reads every input once in 16 MiB slices, as `cat > /dev/null` would. */
async function rawRead(dirs: string[]): Promise<{ seconds: number; bytes: number }> {
  const buffer = new Uint8Array(16 * 1024 * 1024);
  let bytes = 0;
  const started = performance.now();
  for (const dir of dirs) {
    const handle = await fs.open(path.join(dir, 'model.safetensors'), 'r');
    try {
      for (;;) {
        const { bytesRead } = await handle.read(buffer, 0, buffer.byteLength, null);
        if (bytesRead === 0) break;
        bytes += bytesRead;
      }
    } finally {
      await handle.close();
    }
  }
  return { seconds: (performance.now() - started) / 1000, bytes };
}

async function maxDifference(a: string, b: string): Promise<number> {
  const [x, y] = await Promise.all([SafetensorsFile.open(a), SafetensorsFile.open(b)]);
  try {
    const names = x.names();
    if (names.join() !== y.names().join()) throw new Error(`the outputs hold different tensors: ${names.length} vs ${y.names().length}`);
    let max = 0;
    for (const name of names) {
      const [u, v] = await Promise.all([x.readFloat32(name), y.readFloat32(name)]);
      for (let j = 0; j < u.length; j++) {
        const d = Math.abs(u[j] - v[j]);
        if (!(d <= max)) max = d;
      }
    }
    return max;
  } finally {
    await Promise.all([x.close(), y.close()]);
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const root = options.dir ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'bench-merge-ties-')));
  await fs.mkdir(root, { recursive: true });
  const weights = Array.from({ length: options.models }, (_, i) => [1, 0.8, 0.6, 0.9][i % 4]);
  try {
    const params = options.tensors * options.elements;
    process.stdout.write(`TIES (semantics: peft, density ${options.density}) of ${options.models} checkpoints x ${(params / 1e6).toFixed(1)}M float32 parameters (${options.tensors} tensors), in ${root}\n`);
    const t0 = performance.now();
    const dirs = await writeCheckpoints(root, options);
    process.stdout.write(`generated inputs in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    const script = path.join(root, 'numpy_ties.py');
    await fs.writeFile(script, NUMPY_TIES);
    const numpyOut = path.join(root, 'numpy.safetensors');
    const oursOut = path.join(root, 'ours');

    const raw = await rawRead(dirs);
    const ours: number[] = [];
    const oursCpu: number[] = [];
    const numpy: NumpyRun[] = [];
    let last: { bytesRead: number; peakRss: number } = { bytesRead: 0, peakRss: 0 };
    for (let r = 0; r < options.repeats; r++) {
      const run = await runOurs(root, dirs, oursOut, options, weights);
      ours.push(run.seconds);
      oursCpu.push(run.cpu);
      last = run;
      numpy.push(await runNumpy(script, dirs, numpyOut, options, weights));
      process.stdout.write(
        `  run ${r + 1}: ours ${run.seconds.toFixed(2)} s (cpu ${run.cpu.toFixed(2)} s), NumPy ${numpy[r].seconds.toFixed(2)} s (cpu ${numpy[r].cpu.toFixed(2)} s; process ${numpy[r].wallSeconds.toFixed(2)} s)\n`,
      );
    }
    const difference = await maxDifference(path.join(oursOut, 'model.safetensors'), numpyOut);
    const inputBytes = raw.bytes;
    const oursSeconds = median(ours);
    const numpySeconds = median(numpy.map((n) => n.seconds));
    const numpyWall = median(numpy.map((n) => n.wallSeconds));
    const gb = (bytes: number, seconds: number) => (bytes / 1e9 / seconds).toFixed(2);
    process.stdout.write(
      [
        `raw read of the inputs (${(inputBytes / 1e9).toFixed(2)} GB, page cache): ${raw.seconds.toFixed(2)} s = ${gb(inputBytes, raw.seconds)} GB/s`,
        `Patchwork executeMerge:  ${oursSeconds.toFixed(2)} s = ${gb(inputBytes, oursSeconds)} GB/s of input (${((100 * raw.seconds) / oursSeconds).toFixed(0)}% of raw read speed), read ${(last.bytesRead / 1e9).toFixed(2)} GB, peak RSS ${(last.peakRss / 2 ** 20).toFixed(0)} MiB`,
        `NumPy ${numpy[0].version}:            ${numpySeconds.toFixed(2)} s = ${gb(inputBytes, numpySeconds)} GB/s of input (process with startup ${numpyWall.toFixed(2)} s)`,
        `speed ratio (NumPy time / ours): ${(numpySeconds / oursSeconds).toFixed(2)}x (goal >= 1.5x); with NumPy's process startup ${(numpyWall / oursSeconds).toFixed(2)}x; CPU time ratio ${(median(numpy.map((n) => n.cpu)) / median(oursCpu)).toFixed(2)}x`,
        `max |ours - NumPy| = ${difference.toExponential(2)} (${difference <= 1e-6 ? 'within' : 'OVER'} 1e-6)`,
      ].join('\n') + '\n',
    );
    if (!(difference <= 1e-6)) process.exitCode = 1;
  } finally {
    if (!options.keep && !options.dir) await fs.rm(root, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
