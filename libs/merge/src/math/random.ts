/**
 * Counter-based randomness for the random sparsifiers (DARE, DELLA): the draw for element i of a
 * tensor is a pure function of (seed, tensor name, model index, i), so a mask does not depend on
 * the order tensors are visited in, on chunking, or on how many other tensors a run merges. (The
 * stateful `SeededRandom` of @patchwork/tensor gives sequences, not position-addressable draws.)
 * Not for cryptography.
 */

const TWO_POW_32 = 4294967296;

function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** A 32-bit stream key for one model's tensor (FNV-1a over the name, mixed with seed and model index). */
export function streamKey(seed: number, name: string, model: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  const seedLow = seed % TWO_POW_32 | 0;
  const seedHigh = Math.floor(seed / TWO_POW_32) | 0;
  return mix32(mix32(h ^ seedLow) ^ Math.imul(seedHigh, 0x27d4eb2f) ^ Math.imul(model + 1, 0x165667b1));
}

/** Uniform draw in [0, 1) for position `index` of a stream (32 random bits). */
export function uniformAt(key: number, index: number): number {
  const low = index % TWO_POW_32 | 0;
  const high = Math.floor(index / TWO_POW_32) | 0;
  return mix32(mix32(key ^ Math.imul(low, 0x9e3779b1)) ^ high ^ low) / TWO_POW_32;
}
