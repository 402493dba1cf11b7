import { spawnSync } from 'node:child_process';

/** What the NumPy side reports; absent when NumPy is unavailable. */
export interface NumpyInfo {
  version: string;
  blas: string;
}

export type NumpyProbe = { ok: true; info: NumpyInfo } | { ok: false; reason: string };

// One script, driven by a JSON request in argv[1], answering JSON on stdout. Timing mirrors
// timing.ts: a warm-up call (the only sample if it took min_seconds), then at most `repeats` runs
// or `min_seconds`, median reported.
const SCRIPT = String.raw`
import json, sys, time
import numpy as np

req = json.loads(sys.argv[1])

def measure(fn):
    t = time.perf_counter(); fn(); first = time.perf_counter() - t
    if first >= req["min_seconds"]:
        return first
    times, start = [], time.perf_counter()
    while len(times) < req["repeats"] and (not times or time.perf_counter() - start < req["min_seconds"]):
        t = time.perf_counter(); fn(); times.append(time.perf_counter() - t)
    times.sort()
    m = len(times) // 2
    return times[m] if len(times) % 2 else (times[m - 1] + times[m]) / 2

def rsvd(a, k, p, q, seed):
    m, n = a.shape
    l = min(k + p, m, n)
    omega = np.random.default_rng(seed).standard_normal((n, l), dtype=np.float32)
    Q, _ = np.linalg.qr(a @ omega)
    for _ in range(q):
        Z, _ = np.linalg.qr(a.T @ Q)
        Q, _ = np.linalg.qr(a @ Z)
    ub, s, vt = np.linalg.svd(Q.T @ a, full_matrices=False)
    return Q @ ub[:, :k], s[:k], vt[:k]

out = {}
if req["kind"] == "probe":
    cfg = np.show_config(mode="dicts") if hasattr(np, "show_config") else None
    blas = "unknown"
    try:
        b = cfg["Build Dependencies"]["blas"]
        blas = "%s %s" % (b.get("name", "?"), b.get("version", "?"))
    except Exception:
        pass
    out = {"version": np.__version__, "blas": blas}
elif req["kind"] == "matmul":
    rng = np.random.default_rng(0)
    out["results"] = []
    for n in req["sizes"]:
        a = rng.standard_normal((n, n), dtype=np.float32)
        b = rng.standard_normal((n, n), dtype=np.float32)
        out["results"].append({"n": n, "seconds": measure(lambda: a @ b)})
elif req["kind"] == "svd":
    m, n = req["shape"]
    a = np.fromfile(req["path"], dtype=np.float32).reshape(m, n)
    out["full_seconds"] = measure(lambda: np.linalg.svd(a, full_matrices=False))
    out["s"] = np.linalg.svd(a, compute_uv=False).astype(np.float64).tolist()
    k, p, q = req["k"], req["oversamples"], req["power_iterations"]
    out["randomized_seconds"] = measure(lambda: rsvd(a, k, p, q, 0))
    u, s, vt = rsvd(a, k, p, q, 0)
    out["randomized_error"] = float(np.linalg.norm(a.astype(np.float64) - (u * s) @ vt))
    out["randomized_s"] = s.astype(np.float64).tolist()
    em, en = req["exact_shape"]
    e = np.fromfile(req["exact_path"], dtype=np.float64).reshape(em, en)
    out["exact_seconds"] = measure(lambda: np.linalg.svd(e, full_matrices=False))
    out["exact_s"] = np.linalg.svd(e, compute_uv=False).tolist()
print(json.dumps(out))
`;

/**
 * Runs one request through python3 + NumPy; throws with the interpreter's own message on failure.
 * `threads` pins the BLAS thread count (OpenBLAS/OpenMP/MKL variables); undefined keeps NumPy's default.
 */
export function runNumpy<T>(python: string, request: Record<string, unknown>, threads?: number): T {
  const env = { ...process.env };
  if (threads !== undefined) {
    for (const name of ['OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS']) env[name] = String(threads);
  }
  const result = spawnSync(python, ['-c', SCRIPT, JSON.stringify(request)], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, env });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`${python} exited with ${result.status}: ${result.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  return JSON.parse(result.stdout) as T;
}

/** Whether `python -c 'import numpy'` works here, and which NumPy/BLAS it is. */
export function probeNumpy(python: string): NumpyProbe {
  try {
    return { ok: true, info: runNumpy<NumpyInfo>(python, { kind: 'probe', repeats: 1, min_seconds: 0 }) };
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
}
