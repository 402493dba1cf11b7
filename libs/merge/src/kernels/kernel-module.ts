import { Code, F32, F64, FunctionDef, I32, V128, buildModule, op } from './wasm-emit';

/** Declares a function's parameters and locals by name, so bodies read like the algorithm. */
class Fn {
  private readonly names = new Map<string, number>();
  private readonly params: number[] = [];
  private readonly locals: number[] = [];

  constructor(
    readonly name: string,
    params: [string, number][],
    private readonly results: number[] = [],
  ) {
    for (const [n, t] of params) {
      this.names.set(n, this.params.length);
      this.params.push(t);
    }
  }

  local(name: string, type: number): this {
    this.names.set(name, this.params.length + this.locals.length);
    this.locals.push(type);
    return this;
  }

  get = (name: string): Code => op.get(this.index(name));
  set = (name: string): Code => op.set(this.index(name));
  tee = (name: string): Code => op.tee(this.index(name));

  /** The byte address `pointer + i`. */
  at = (pointer: string): Code => [...this.get(pointer), ...this.get('i'), ...op.i32Add];

  build(body: Code[]): FunctionDef {
    return { name: this.name, params: this.params, results: this.results, locals: this.locals, body };
  }

  private index(name: string): number {
    const i = this.names.get(name);
    if (i === undefined) throw new Error(`kernel ${this.name}: no local ${name}`);
    return i;
  }
}

/**
 * Loops over n float32 elements by byte offset `i`: 16-byte (4-lane) steps while a whole vector
 * remains, then 4-byte steps. Needs locals i, end4, endN (i32).
 */
function elements(f: Fn, n: string, vector: Code[], scalar: Code[]): Code[] {
  const pass = (end: string, step: number, body: Code[]) =>
    op.block(op.loop(f.get('i'), f.get(end), op.i32GeU, op.brIf(1), ...body, f.get('i'), op.i32(step), op.i32Add, f.set('i'), op.br(0)));
  return [
    f.get(n), op.i32(-4), op.i32And, op.i32(2), op.i32Shl, f.set('end4'),
    f.get(n), op.i32(2), op.i32Shl, f.set('endN'),
    op.i32(0), f.set('i'),
    pass('end4', 16, vector),
    pass('endN', 4, scalar),
  ];
}

const withLoop = (f: Fn) => f.local('i', I32).local('end4', I32).local('endN', I32);
const splat = (value: Code) => [...value, ...op.f32x4Splat];
const ZERO4 = splat(op.f32(0));
const ONE4 = splat(op.f32(1));

/** out = m − b. */
function sub(): FunctionDef {
  const f = withLoop(new Fn('sub', [['m', I32], ['b', I32], ['out', I32], ['n', I32]]));
  return f.build(
    elements(
      f,
      'n',
      [f.at('out'), f.at('m'), op.v128Load, f.at('b'), op.v128Load, op.f32x4Sub, op.v128Store],
      [f.at('out'), f.at('m'), op.f32Load, f.at('b'), op.f32Load, op.f32Sub, op.f32Store],
    ),
  );
}

/**
 * One bracketing pass: counts |p| > high (counts[0]), |p| < low (counts[1]) and NaN (counts[2]),
 * stores max |p| (as f32, NaN if any) at counts[3], and copies the magnitudes in [low, high] to
 * `cand`; returns how many, or −1 past `cap`.
 */
function bracket(): FunctionDef {
  const f = withLoop(new Fn('bracket', [['p', I32], ['n', I32], ['low', F32], ['high', F32], ['cand', I32], ['cap', I32], ['counts', I32]], [I32]))
    .local('above', I32).local('below', I32).local('nan', I32).local('count', I32)
    .local('m', V128).local('gt', V128).local('lt', V128).local('bad', V128).local('bits', I32).local('lane', I32).local('ax', F32)
    .local('low4', V128).local('high4', V128).local('max4', V128).local('max', F32);
  // Copies |p[i + 4·lane]| into cand, or returns −1 when full.
  const keep = (address: Code): Code[] => [
    op.if([...f.get('count'), ...f.get('cap'), ...op.i32GeU], [op.i32(-1), [0x0f]]),
    f.get('cand'), f.get('count'), op.i32(2), op.i32Shl, op.i32Add,
    address, op.f32Load, op.f32Abs, op.f32Store,
    f.get('count'), op.i32(1), op.i32Add, f.set('count'),
  ];
  const popcount = (mask: string, counter: string): Code[] => [f.get(counter), f.get(mask), op.i32x4Bitmask, op.i32Popcnt, op.i32Add, f.set(counter)];
  return f.build([
    splat(f.get('low')), f.set('low4'),
    splat(f.get('high')), f.set('high4'),
    splat(op.f32(-Infinity)), f.set('max4'),
    op.f32(-Infinity), f.set('max'),
    ...elements(
      f,
      'n',
      [
        f.at('p'), op.v128Load, op.f32x4Abs, f.tee('m'),
        f.get('max4'), op.f32x4Max, f.set('max4'),
        f.get('m'), f.get('high4'), op.f32x4Gt, f.set('gt'),
        f.get('m'), f.get('low4'), op.f32x4Lt, f.set('lt'),
        f.get('m'), f.get('m'), op.f32x4Eq, op.v128Not, f.set('bad'),
        ...popcount('gt', 'above'), ...popcount('lt', 'below'), ...popcount('bad', 'nan'),
        f.get('gt'), f.get('lt'), op.v128Or, f.get('bad'), op.v128Or, op.v128Not, op.i32x4Bitmask, f.set('bits'),
        op.block(op.loop(
          f.get('bits'), op.i32Eqz, op.brIf(1),
          f.get('bits'), op.i32Ctz, f.set('lane'),
          ...keep([...f.at('p'), ...f.get('lane'), ...op.i32(2), ...op.i32Shl, ...op.i32Add]),
          f.get('bits'), f.get('bits'), op.i32(1), op.i32Sub, op.i32And, f.set('bits'),
          op.br(0),
        )),
      ],
      [
        f.at('p'), op.f32Load, op.f32Abs, f.tee('ax'),
        f.get('max'), op.f32Max, f.set('max'),
        op.if(
          [...f.get('ax'), ...f.get('high'), ...op.f32Gt],
          [f.get('above'), op.i32(1), op.i32Add, f.set('above')],
          [op.if(
            [...f.get('ax'), ...f.get('low'), ...op.f32Lt],
            [f.get('below'), op.i32(1), op.i32Add, f.set('below')],
            [op.if([...f.get('ax'), ...f.get('ax'), ...op.f32Eq], keep(f.at('p')), [f.get('nan'), op.i32(1), op.i32Add, f.set('nan')])],
          )],
        ),
      ],
    ),
    f.get('counts'), f.get('above'), op.i32Store,
    f.get('counts'), op.i32(4), op.i32Add, f.get('below'), op.i32Store,
    f.get('counts'), op.i32(8), op.i32Add, f.get('nan'), op.i32Store,
    ...[0, 1, 2, 3].map((lane) => [...f.get('max'), ...f.get('max4'), ...op.f32x4ExtractLane(lane), ...op.f32Max, ...f.set('max')]),
    f.get('counts'), op.i32(12), op.i32Add, f.get('max'), op.f32Store,
    f.get('count'),
  ]);
}

/**
 * A rank window applied in place, in position order: magnitudes strictly inside (b, a) kept,
 * those equal to a or b kept while their running rank stays in [lo, hi). `seen` points at the two
 * running counts (f64), read at the start and written back at the end.
 */
function pruneWindow(): FunctionDef {
  const f = withLoop(
    new Fn('prune_window', [['p', I32], ['n', I32], ['a', F32], ['b', F32], ['lo', F64], ['hi', F64], ['aboveA', F64], ['aboveB', F64], ['seen', I32]]),
  )
    .local('v', V128).local('m', V128).local('a4', V128).local('b4', V128)
    .local('seenA', F64).local('seenB', F64).local('rank', F64).local('x', F32).local('ax', F32).local('keep', I32).local('ea', I32).local('k', I32);
  const inWindow = (): Code => [...f.get('rank'), ...f.get('lo'), ...op.f64Ge, ...f.get('rank'), ...f.get('hi'), ...op.f64Lt, ...op.i32And];
  // The scalar decision for the element at byte address `ea`.
  const element = (): Code[] => [
    f.get('ea'), op.f32Load, f.tee('x'), op.f32Abs, f.set('ax'),
    f.get('ax'), f.get('a'), op.f32Lt, f.get('ax'), f.get('b'), op.f32Gt, op.i32And, f.set('keep'),
    op.if(
      [...f.get('ax'), ...f.get('a'), ...op.f32Eq],
      [f.get('aboveA'), f.get('seenA'), op.f64Add, f.set('rank'), f.get('seenA'), op.f64(1), op.f64Add, f.set('seenA'), inWindow(), f.set('keep')],
      [op.if(
        [...f.get('ax'), ...f.get('b'), ...op.f32Eq],
        [f.get('aboveB'), f.get('seenB'), op.f64Add, f.set('rank'), f.get('seenB'), op.f64(1), op.f64Add, f.set('seenB'), inWindow(), f.set('keep')],
      )],
    ),
    f.get('ea'), f.get('x'), op.f32(0), f.get('keep'), op.select, op.f32Store,
  ];
  return f.build([
    f.get('seen'), op.f64Load, f.set('seenA'),
    f.get('seen'), op.i32(8), op.i32Add, op.f64Load, f.set('seenB'),
    splat(f.get('a')), f.set('a4'),
    splat(f.get('b')), f.set('b4'),
    ...elements(
      f,
      'n',
      [
        f.at('p'), op.v128Load, f.tee('v'), op.f32x4Abs, f.set('m'),
        op.if(
          [...f.get('m'), ...f.get('a4'), ...op.f32x4Eq, ...f.get('m'), ...f.get('b4'), ...op.f32x4Eq, ...op.v128Or, ...op.i32x4Bitmask, ...op.i32Eqz],
          [f.at('p'), f.get('v'), ZERO4, f.get('m'), f.get('a4'), op.f32x4Lt, f.get('m'), f.get('b4'), op.f32x4Gt, op.v128And, op.v128Bitselect, op.v128Store],
          // A tie at a window edge among these four: decide them one by one, in order.
          [op.i32(0), f.set('k'), op.block(op.loop(
            f.get('k'), op.i32(4), op.i32GeU, op.brIf(1),
            f.at('p'), f.get('k'), op.i32(2), op.i32Shl, op.i32Add, f.set('ea'),
            ...element(),
            f.get('k'), op.i32(1), op.i32Add, f.set('k'),
            op.br(0),
          ))],
        ),
      ],
      [f.at('p'), f.set('ea'), ...element()],
    ),
    f.get('seen'), f.get('seenA'), op.f64Store,
    f.get('seen'), op.i32(8), op.i32Add, f.get('seenB'), op.f64Store,
  ]);
}

/** e += p (the election by total), rounded to float32 at every step like a float32 sum. */
function electTotal(): FunctionDef {
  const f = withLoop(new Fn('elect_total', [['p', I32], ['e', I32], ['n', I32]]));
  return f.build(
    elements(
      f,
      'n',
      [f.at('e'), f.at('e'), op.v128Load, f.at('p'), op.v128Load, op.f32x4Add, op.v128Store],
      [f.at('e'), f.at('e'), op.f32Load, f.at('p'), op.f32Load, op.f32Add, op.f32Store],
    ),
  );
}

/** e += sign(p) (the election by frequency); NaN passes through as Math.sign lets it. */
function electFrequency(): FunctionDef {
  const f = withLoop(new Fn('elect_frequency', [['p', I32], ['e', I32], ['n', I32]])).local('v', V128).local('x', F32);
  return f.build(
    elements(
      f,
      'n',
      [
        f.at('e'), f.at('e'), op.v128Load,
        f.at('p'), op.v128Load, f.set('v'),
        ONE4, f.get('v'), ZERO4, op.f32x4Gt, op.v128And,
        ONE4, f.get('v'), ZERO4, op.f32x4Lt, op.v128And,
        op.f32x4Sub, f.get('v'), f.get('v'), f.get('v'), op.f32x4Eq, op.v128Bitselect,
        op.f32x4Add, op.v128Store,
      ],
      [
        f.at('e'), f.at('e'), op.f32Load,
        f.at('p'), op.f32Load, f.set('x'),
        op.f32(1), op.f32(-1), op.f32(0), f.get('x'), f.get('x'), f.get('x'), op.f32Eq, op.select, f.get('x'), op.f32(0), op.f32Lt, op.select, f.get('x'), op.f32(0), op.f32Gt, op.select,
        op.f32Add, op.f32Store,
      ],
    ),
  );
}

/** Where sign(p) agrees with the election (e >= 0 elects +): s += p·w, c += 1. */
function mergeAgreeing(): FunctionDef {
  const f = withLoop(new Fn('merge_agreeing', [['p', I32], ['e', I32], ['s', I32], ['c', I32], ['w', F32], ['n', I32]])).local('v', V128).local('mask', V128).local('w4', V128).local('x', F32);
  return f.build([
    splat(f.get('w')), f.set('w4'),
    ...elements(
      f,
      'n',
      [
        f.at('p'), op.v128Load, f.set('v'),
        f.get('v'), ZERO4, op.f32x4Gt, f.get('v'), ZERO4, op.f32x4Lt, f.at('e'), op.v128Load, ZERO4, op.f32x4Ge, op.v128Bitselect, f.set('mask'),
        f.at('s'), f.at('s'), op.v128Load, f.get('v'), f.get('w4'), op.f32x4Mul, f.get('mask'), op.v128And, op.f32x4Add, op.v128Store,
        f.at('c'), f.at('c'), op.v128Load, ONE4, f.get('mask'), op.v128And, op.f32x4Add, op.v128Store,
      ],
      [
        f.at('p'), op.f32Load, f.set('x'),
        op.if(
          [...f.get('x'), ...op.f32(0), ...op.f32Gt, ...f.get('x'), ...op.f32(0), ...op.f32Lt, ...f.at('e'), ...op.f32Load, ...op.f32(0), ...op.f32Ge, ...op.select],
          [f.at('s'), f.at('s'), op.f32Load, f.get('x'), f.get('w'), op.f32Mul, op.f32Add, op.f32Store, f.at('c'), f.at('c'), op.f32Load, op.f32(1), op.f32Add, op.f32Store],
        ),
      ],
    ),
  ]);
}

/** s += p·w. */
function weightedSum(): FunctionDef {
  const f = withLoop(new Fn('weighted_sum', [['p', I32], ['s', I32], ['w', F32], ['n', I32]])).local('w4', V128);
  return f.build([
    splat(f.get('w')), f.set('w4'),
    ...elements(
      f,
      'n',
      [f.at('s'), f.at('s'), op.v128Load, f.at('p'), op.v128Load, f.get('w4'), op.f32x4Mul, op.f32x4Add, op.v128Store],
      [f.at('s'), f.at('s'), op.f32Load, f.at('p'), op.f32Load, f.get('w'), op.f32Mul, op.f32Add, op.f32Store],
    ),
  ]);
}

/** out = base + λ·m in float64, rounded once, where m = s / c when `divide` and c > 1, else s. */
function finish(): FunctionDef {
  const f = withLoop(new Fn('finish', [['base', I32], ['s', I32], ['c', I32], ['lambda', F64], ['out', I32], ['n', I32], ['divide', I32]]))
    .local('m', V128).local('b', V128).local('l2', V128).local('lo', V128).local('x', F32).local('cnt', F32);
  const HIGH = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];
  const half = (high: boolean): Code[] => [
    f.get('b'), ...(high ? [[...f.get('b'), ...op.i8x16Shuffle(HIGH)]] : []), op.f64x2PromoteLowF32x4,
    f.get('l2'), f.get('m'), ...(high ? [[...f.get('m'), ...op.i8x16Shuffle(HIGH)]] : []), op.f64x2PromoteLowF32x4, op.f64x2Mul,
    op.f64x2Add, op.f32x4DemoteF64x2Zero,
  ];
  return f.build([
    f.get('lambda'), op.f64x2Splat, f.set('l2'),
    ...elements(
      f,
      'n',
      [
        f.at('s'), op.v128Load, f.set('m'),
        op.if(f.get('divide'), [f.get('m'), f.at('c'), op.v128Load, op.f32x4Div, f.get('m'), f.at('c'), op.v128Load, ONE4, op.f32x4Gt, op.v128Bitselect, f.set('m')]),
        f.at('base'), op.v128Load, f.set('b'),
        ...half(false), f.set('lo'),
        f.at('out'), f.get('lo'), ...half(true), op.i8x16Shuffle([0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23]), op.v128Store,
      ],
      [
        f.at('s'), op.f32Load, f.set('x'),
        op.if([...f.get('divide'), ...f.at('c'), ...op.f32Load, ...f.tee('cnt'), ...op.f32(1), ...op.f32Gt, ...op.i32And], [f.get('x'), f.get('cnt'), op.f32Div, f.set('x')]),
        f.at('out'), f.at('base'), op.f32Load, op.f64PromoteF32, f.get('lambda'), f.get('x'), op.f64PromoteF32, op.f64Mul, op.f64Add, op.f32DemoteF64, op.f32Store,
      ],
    ),
  ]);
}

/** The compiled module's bytes (exports: memory and the kernels above). */
export function mergeKernelModule(): Uint8Array {
  return buildModule([sub(), bracket(), pruneWindow(), electTotal(), electFrequency(), mergeAgreeing(), weightedSum(), finish()], 1);
}
