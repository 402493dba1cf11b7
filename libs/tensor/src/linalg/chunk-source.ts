import { invalidArgument } from '@patchwork/errors';
import { throwIfAborted } from './validate';

/**
 * Data too large for one tensor arrives as a sequence of Float32Array chunks: a single array, an
 * (async) iterable of chunks, or a function returning a fresh iterable per call. Routines that
 * need several passes (exact selection) call the function once per pass, or iterate a re-iterable
 * object again; a one-shot iterator (a generator object) is refused for them because its second
 * pass would silently be empty.
 *
 * Each chunk is fully consumed before the next one is requested, so a producer may refill and
 * yield the same buffer again (read a file in fixed blocks, for instance).
 */
export type ChunkSource =
  | Float32Array
  | Iterable<Float32Array>
  | AsyncIterable<Float32Array>
  | (() => Iterable<Float32Array> | AsyncIterable<Float32Array>);

type Pass = Iterable<Float32Array> | AsyncIterable<Float32Array>;

/** Returns a starter for passes over the source, validating its shape up front. */
export function passStarter(source: ChunkSource, field: string, multiPass: boolean): () => Pass {
  if (source instanceof Float32Array) return () => [source];
  if (typeof source === 'function') {
    return () => {
      const pass = source();
      if (!isIterable(pass)) throw invalidArgument(field, 'the factory must return an Iterable or AsyncIterable of Float32Array');
      return pass;
    };
  }
  if (!isIterable(source)) {
    throw invalidArgument(field, 'must be a Float32Array, an (Async)Iterable of Float32Array chunks, or a function returning one');
  }
  if (multiPass && typeof (source as { next?: unknown }).next === 'function') {
    throw invalidArgument(
      field,
      'is a one-shot iterator (e.g. a generator object) but exact selection reads the data in two passes; pass a function that returns a fresh iterable',
    );
  }
  return () => source;
}

/** Runs fn over every chunk of one pass, with chunk validation and cancellation between chunks. Returns the element count. */
export async function forEachChunk(
  pass: Pass,
  field: string,
  signal: AbortSignal | undefined,
  fn: (chunk: Float32Array, offset: number) => void,
): Promise<number> {
  let offset = 0;
  let index = 0;
  throwIfAborted(signal);
  for await (const chunk of pass) {
    throwIfAborted(signal);
    if (!(chunk instanceof Float32Array)) {
      throw invalidArgument(`${field}[chunk ${index}]`, `must be a Float32Array, got ${describe(chunk)}`);
    }
    fn(chunk, offset);
    offset += chunk.length;
    index++;
  }
  return offset;
}

function isIterable(x: unknown): x is Pass {
  return (
    typeof x === 'object' &&
    x !== null &&
    (typeof (x as Record<symbol, unknown>)[Symbol.asyncIterator] === 'function' ||
      typeof (x as Record<symbol, unknown>)[Symbol.iterator] === 'function')
  );
}

function describe(x: unknown): string {
  if (x === null) return 'null';
  if (typeof x === 'object') return (x as object).constructor?.name ?? 'object';
  return typeof x;
}
