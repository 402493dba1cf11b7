/**
 * A minimal WebAssembly binary writer: just enough of the format (types, functions, one exported
 * memory, exports, code) and of the instruction set (scalar and 128-bit SIMD) to write the merge
 * kernels by hand, so no compiler toolchain is needed to build or ship them.
 */
export const I32 = 0x7f;
export const F32 = 0x7d;
export const F64 = 0x7c;
export const V128 = 0x7b;

export type Code = number[];

export function uleb(value: number): Code {
  const out: Code = [];
  let v = value >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

export function sleb(value: number): Code {
  const out: Code = [];
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

const bytesOf = (array: Float32Array | Float64Array): Code => Array.from(new Uint8Array(array.buffer));
const simd = (opcode: number, ...immediates: Code): Code => [0xfd, ...uleb(opcode), ...immediates];
const memarg: Code = [0, 0];

/** Instructions, each returning its bytes; operands are concatenated in stack order before them. */
export const op = {
  get: (local: number): Code => [0x20, ...uleb(local)],
  set: (local: number): Code => [0x21, ...uleb(local)],
  tee: (local: number): Code => [0x22, ...uleb(local)],
  i32: (value: number): Code => [0x41, ...sleb(value)],
  f32: (value: number): Code => [0x43, ...bytesOf(Float32Array.of(value))],
  f64: (value: number): Code => [0x44, ...bytesOf(Float64Array.of(value))],
  block: (...body: Code[]): Code => [0x02, 0x40, ...body.flat(), 0x0b],
  loop: (...body: Code[]): Code => [0x03, 0x40, ...body.flat(), 0x0b],
  /** `if (condition) { then } else { otherwise }`; the condition is evaluated first. */
  if: (condition: Code, then: Code[], otherwise: Code[] = []): Code => [...condition, 0x04, 0x40, ...then.flat(), ...(otherwise.length > 0 ? [0x05, ...otherwise.flat()] : []), 0x0b],
  br: (depth: number): Code => [0x0c, ...uleb(depth)],
  brIf: (depth: number): Code => [0x0d, ...uleb(depth)],
  select: [0x1b],
  i32Load: [0x28, ...memarg],
  f32Load: [0x2a, ...memarg],
  f64Load: [0x2b, ...memarg],
  i32Store: [0x36, ...memarg],
  f32Store: [0x38, ...memarg],
  f64Store: [0x39, ...memarg],
  i32Eqz: [0x45],
  i32Eq: [0x46],
  i32Ne: [0x47],
  i32LtU: [0x49],
  i32GeU: [0x4f],
  i32GtS: [0x4a],
  i32Ctz: [0x68],
  i32Popcnt: [0x69],
  i32Add: [0x6a],
  i32Sub: [0x6b],
  i32Mul: [0x6c],
  i32And: [0x71],
  i32Or: [0x72],
  i32Shl: [0x74],
  f32Eq: [0x5b],
  f32Ne: [0x5c],
  f32Lt: [0x5d],
  f32Gt: [0x5e],
  f32Ge: [0x60],
  f64Lt: [0x63],
  f64Ge: [0x66],
  f32Abs: [0x8b],
  f32Add: [0x92],
  f32Sub: [0x93],
  f32Mul: [0x94],
  f32Div: [0x95],
  f32Max: [0x97],
  f64Add: [0xa0],
  f64Mul: [0xa2],
  f32DemoteF64: [0xb6],
  f64PromoteF32: [0xbb],
  v128Load: simd(0x00, ...memarg),
  v128Store: simd(0x0b, ...memarg),
  i8x16Shuffle: (lanes: number[]): Code => simd(0x0d, ...lanes),
  f32x4Splat: simd(0x13),
  f32x4ExtractLane: (lane: number): Code => simd(0x1f, lane),
  f64x2Splat: simd(0x14),
  f32x4Eq: simd(0x41),
  f32x4Lt: simd(0x43),
  f32x4Gt: simd(0x44),
  f32x4Ge: simd(0x46),
  v128Not: simd(0x4d),
  v128And: simd(0x4e),
  v128Or: simd(0x50),
  v128Bitselect: simd(0x52),
  f32x4DemoteF64x2Zero: simd(0x5e),
  f64x2PromoteLowF32x4: simd(0x5f),
  i32x4Bitmask: simd(0xa4),
  f32x4Abs: simd(0xe0),
  f32x4Add: simd(0xe4),
  f32x4Sub: simd(0xe5),
  f32x4Mul: simd(0xe6),
  f32x4Div: simd(0xe7),
  f32x4Max: simd(0xe9),
  f64x2Add: simd(0xf0),
  f64x2Mul: simd(0xf2),
};

export interface FunctionDef {
  name: string;
  params: number[];
  results: number[];
  /** Types of the locals after the parameters (indices continue from the parameters). */
  locals: number[];
  body: Code[];
}

const vec = (items: Code[]): Code => [...uleb(items.length), ...items.flat()];
const section = (id: number, content: Code): Code => [id, ...uleb(content.length), ...content];
const name = (text: string): Code => vec(Array.from(new TextEncoder().encode(text), (b) => [b]));

/** A module exporting `memory` (initially `pages` 64 KiB pages) and the functions, in order. */
export function buildModule(functions: FunctionDef[], pages: number): Uint8Array {
  const types = functions.map((f) => [0x60, ...vec(f.params.map((t) => [t])), ...vec(f.results.map((t) => [t]))]);
  const code = functions.map((f) => {
    const locals = vec(f.locals.map((t) => [1, t]));
    const body = [...locals, ...f.body.flat(), 0x0b];
    return [...uleb(body.length), ...body];
  });
  const exports = [[...name('memory'), 0x02, 0], ...functions.map((f, i) => [...name(f.name), 0x00, ...uleb(i)])];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(types)),
    ...section(3, vec(functions.map((_, i) => uleb(i)))),
    ...section(5, vec([[0x00, ...uleb(pages)]])),
    ...section(7, vec(exports)),
    ...section(10, vec(code)),
  ]);
}
