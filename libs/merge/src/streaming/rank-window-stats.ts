import { MagnitudeSource, bracketWindowOf } from '../math/bracket-window';
import { RankWindow, windowBounds } from '../math/rank-window';
import { ChunkInput, TensorChunks } from '../methods/merge-method';
import { MultiStreamSelector } from '../stats/multi-stream-select';

/** [from, to) by descending magnitude, or null for a stream that keeps everything without ranking. */
export type WindowRequest = readonly [number, number] | null;

/**
 * The rank windows of several value streams of one tensor (one stream per model, say), found
 * exactly in two walks over the tensor's chunks. `valuesOf` gives each stream's values for a chunk,
 * written into (and returning) the scratch array it is handed; `heldSource`, when given, serves a
 * tensor held whole instead (values computed on the fly by kernels, say).
 * Streams with a null request, or whose window is trivial (all or none), cost nothing; when no
 * stream needs ranking there is no walk at all, and a tensor held whole takes one in-memory pass.
 */
export async function selectRankWindows(
  tensor: TensorChunks,
  requests: readonly WindowRequest[],
  valuesOf: (chunk: ChunkInput, stream: number, scratch: Float32Array) => Float32Array,
  describe: (stream: number) => string,
  heldSource?: (chunk: ChunkInput, stream: number) => MagnitudeSource,
): Promise<RankWindow[]> {
  const n = tensor.length;
  const windows: RankWindow[] = requests.map((r) => (r === null ? { kind: 'all' } : { kind: windowBounds(n, r[0], r[1]).kind } as RankWindow));
  const ranked = requests.map((r, i) => (r !== null && windows[i].kind === 'window' ? i : -1)).filter((i) => i >= 0);
  if (ranked.length === 0) return windows;
  const selector = new MultiStreamSelector(ranked.length, true, (s) => describe(ranked[s]));
  // One scratch array serves every stream in turn: the selector reads the values and keeps none.
  let scratch = new Float32Array(0);
  const values = (chunk: ChunkInput, stream: number) => {
    const length = chunk.models[0].length;
    if (scratch.length < length) scratch = new Float32Array(length);
    return valuesOf(chunk, stream, scratch.subarray(0, length));
  };
  const bounds = ranked.map((stream) => windowBounds(n, (requests[stream] as [number, number])[0], (requests[stream] as [number, number])[1]));
  let held = false;
  await tensor.forEachChunk((chunk) => {
    // A tensor held whole is one chunk: select in memory, with no second walk.
    if (chunk.offset === 0 && chunk.models[0].length === n) {
      held = true;
      ranked.forEach((stream, s) => (windows[stream] = bracketWindowOf(heldSource ? heldSource(chunk, stream) : values(chunk, stream), bounds[s].lo, bounds[s].hi)));
    } else ranked.forEach((stream, s) => selector.addFirst(s, values(chunk, stream)));
  });
  if (held) return windows;
  // Rank r from the top is ascending rank n − 1 − r.
  selector.select(bounds.map(({ lo, hi }) => [n - 1 - lo, n - hi]));
  await tensor.forEachChunk((chunk) => ranked.forEach((stream, s) => selector.addSecond(s, values(chunk, stream))));
  selector.details().forEach(([top, bottom], s) => {
    const { lo, hi } = bounds[s];
    windows[ranked[s]] = { kind: 'window', lo, hi, a: top.value, b: bottom.value, aboveA: n - top.less - top.equal, aboveB: n - bottom.less - bottom.equal };
  });
  return windows;
}
