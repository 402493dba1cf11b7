import { PatchworkError, ViolationCollector } from '@patchwork/errors';
import { MajoritySignMethod, dareLinear, dareTies, magnitudePrune, taskArithmetic, ties } from '../math/peft-merge-utils';
import { streamKey, uniformAt } from '../math/random';
import { LoraAdapter, LoraModule, StoredMatrix, readLoraAdapter, writeLoraAdapter } from './adapter-dir';
import { LowRankFactors, SvdAlgorithm, clampFactors, denseLowRank, factoredLowRank } from './low-rank';
import { loraScaling } from './scaling';

export const LORA_COMBINATIONS = [
  'cat',
  'linear',
  'svd',
  'ties',
  'ties_svd',
  'dare_linear',
  'dare_ties',
  'dare_linear_svd',
  'dare_ties_svd',
  'magnitude_prune',
  'magnitude_prune_svd',
] as const;
export type LoraCombination = (typeof LORA_COMBINATIONS)[number];

export interface WeightedAdapter {
  dir: string;
  weight: number;
}

export interface CombineLoraOptions {
  method: LoraCombination;
  outDir: string;
  /** Keep fraction for the ties / dare / magnitude_prune families (required there). */
  density?: number;
  /** Rank of the *svd results; default the largest input rank. */
  svdRank?: number;
  /** PEFT's svd_clamp: clamp the factors at this quantile of their values. */
  svdClamp?: number;
  majoritySignMethod?: MajoritySignMethod;
  /** Seed of the DARE masks. */
  seed?: number;
  /** `auto` (default): exact SVD up to a short side of 256, randomized beyond. */
  svdAlgorithm?: SvdAlgorithm;
  signal?: AbortSignal;
}

export interface CombineLoraResult {
  /** The combination applied: PEFT forces `linear` for a single adapter. */
  method: LoraCombination;
  rank: number;
  modules: number;
  files: string[];
}

const NEEDS_DENSITY: ReadonlySet<LoraCombination> = new Set([
  'ties',
  'ties_svd',
  'dare_linear',
  'dare_ties',
  'dare_linear_svd',
  'dare_ties_svd',
  'magnitude_prune',
  'magnitude_prune_svd',
]);

interface Member {
  index: number;
  weight: number;
  scaling: number;
  module: LoraModule;
}

const f32 = Math.fround;

function validate(adapters: WeightedAdapter[], options: CombineLoraOptions): void {
  const problems = new ViolationCollector();
  if (!Array.isArray(adapters) || adapters.length === 0) problems.add('adapters', 'at least one adapter is required');
  else {
    adapters.forEach((a, i) => {
      if (typeof a?.dir !== 'string' || a.dir === '') problems.add(`adapters[${i}].dir`, 'must be an adapter directory');
      if (typeof a?.weight !== 'number' || !Number.isFinite(a.weight)) problems.add(`adapters[${i}].weight`, `must be a finite number, got ${String(a?.weight)}`);
    });
  }
  if (!(LORA_COMBINATIONS as readonly string[]).includes(options.method)) problems.add('method', `must be one of ${LORA_COMBINATIONS.join(', ')}, got ${JSON.stringify(options.method)}`);
  if (typeof options.outDir !== 'string' || options.outDir === '') problems.add('outDir', 'required');
  if (NEEDS_DENSITY.has(options.method) && (adapters?.length ?? 0) > 1) {
    if (options.density === undefined) problems.add('density', `required by ${options.method}`);
    else if (!(options.density >= 0 && options.density <= 1)) problems.add('density', `must be within [0, 1], got ${options.density}`);
  }
  if (options.svdRank !== undefined && !(Number.isSafeInteger(options.svdRank) && options.svdRank > 0)) problems.add('svdRank', `must be a positive integer, got ${options.svdRank}`);
  if (options.svdClamp !== undefined && !(options.svdClamp > 0 && options.svdClamp <= 1)) problems.add('svdClamp', `must be within (0, 1], got ${options.svdClamp}`);
  if (options.majoritySignMethod !== undefined && options.majoritySignMethod !== 'total' && options.majoritySignMethod !== 'frequency') {
    problems.add('majoritySignMethod', `must be total or frequency, got ${JSON.stringify(options.majoritySignMethod)}`);
  }
  if (options.seed !== undefined && !Number.isSafeInteger(options.seed)) problems.add('seed', 'must be an integer');
  if (options.svdAlgorithm !== undefined && !['auto', 'exact', 'randomized'].includes(options.svdAlgorithm)) problems.add('svdAlgorithm', 'must be auto, exact or randomized');
  problems.throwIfAny();
}

/** PEFT's union of target_modules: lists are unioned; regex strings become `(a)|(b)`; a mix is refused. */
function unionTargets(adapters: LoraAdapter[]): unknown {
  const targets = adapters.map((a) => a.config['target_modules']).filter((t) => t !== undefined && t !== null);
  if (targets.length === 0) return undefined;
  if (targets.every((t) => Array.isArray(t))) return [...new Set(targets.flatMap((t) => t as unknown[]).map(String))].sort();
  if (targets.every((t) => typeof t === 'string')) {
    const unique = [...new Set(targets as string[])];
    return unique.length === 1 ? unique[0] : unique.map((t) => `(${t})`).join('|');
  }
  throw new PatchworkError('FAILED_PRECONDITION', 'adapters mix target_modules given as a list and as a regex string; PEFT cannot combine them either');
}

/** Every module with the adapters that adapt it, checked for matching shapes. */
function membersByModule(adapters: LoraAdapter[], weights: number[]): Map<string, Member[]> {
  const out = new Map<string, Member[]>();
  adapters.forEach((adapter, index) => {
    for (const module of adapter.modules.values()) {
      const members = out.get(module.module) ?? [];
      const first = members[0]?.module;
      if (first && (first.a.cols !== module.a.cols || first.b.rows !== module.b.rows || first.embedding !== module.embedding)) {
        throw new PatchworkError(
          'FAILED_PRECONDITION',
          `${module.module}: adapter ${adapter.dir} adapts a ${module.b.rows}x${module.a.cols} ${module.embedding ? 'embedding' : 'layer'}, adapter ${adapters[members[0].index].dir} a ${first.b.rows}x${first.a.cols} one`,
        );
      }
      members.push({ index, weight: weights[index], scaling: loraScaling(adapter.config, module.module, module.rank, adapter.dir), module });
      out.set(module.module, members);
    }
  });
  return out;
}

function withRank(template: StoredMatrix, kind: 'A' | 'B', rank: number, values: Float32Array): StoredMatrix {
  const shape = kind === 'A' ? [rank, ...template.shape.slice(1)] : [template.shape[0], rank, ...template.shape.slice(2)];
  return kind === 'A' ? { shape, rows: rank, cols: template.cols, values } : { shape, rows: template.rows, cols: rank, values };
}

/** cat: A' = [w_i s_i A_i] stacked, B' = [B_i] side by side, zero-padded to the common rank; B'A' = Σ w_i s_i B_i A_i exactly. */
function catModule(members: Member[], rank: number): LoraModule {
  const { module: first } = members[0];
  const cols = first.a.cols;
  const rows = first.b.rows;
  const a = new Float32Array(rank * cols);
  const b = new Float32Array(rows * rank);
  let offset = 0;
  for (const { module, weight, scaling } of members) {
    const w = f32(weight);
    const s = f32(scaling);
    // (A·w)·s in float32, the order torch evaluates `lora_A * weight * scaling` in.
    for (let i = 0; i < module.rank * cols; i++) a[offset * cols + i] = f32(f32(module.a.values[i] * w) * s);
    for (let i = 0; i < rows; i++) for (let j = 0; j < module.rank; j++) b[i * rank + offset + j] = module.b.values[i * module.rank + j];
    offset += module.rank;
  }
  return { ...first, a: withRank(first.a, 'A', rank, a), b: withRank(first.b, 'B', rank, b), rank };
}

type TensorCombiner = (tensors: Float32Array[], weights: number[], salt: string) => Float32Array;

function combinerFor(method: LoraCombination, options: CombineLoraOptions): TensorCombiner {
  const density = options.density ?? 1;
  const sign = options.majoritySignMethod ?? 'total';
  const uniform = (salt: string) => (task: number, index: number) => uniformAt(streamKey(options.seed ?? 0, salt, task), index);
  switch (method.replace(/_svd$/, '')) {
    case 'ties':
      return (t, w) => ties(t, w, density, sign);
    case 'magnitude_prune':
      return (t, w) => magnitudePrune(t, w, density);
    case 'dare_linear':
      return (t, w, salt) => dareLinear(t, w, density, uniform(salt));
    case 'dare_ties':
      return (t, w, salt) => dareTies(t, w, density, sign, uniform(salt));
    default:
      return (t, w) => taskArithmetic(t, w);
  }
}

/**
 * linear / ties / dare / magnitude_prune on the factors, as PEFT does: A' = f({A_i}, a_i) and
 * B' = f({B_i}, b_i) with a_i = sign(w_i s_i)·√|w_i s_i|, b_i = √|w_i s_i|. Not Σ w_i s_i B_iA_i
 * once there are two adapters (cross terms); that is PEFT's definition.
 */
function factorModule(members: Member[], combine: TensorCombiner): LoraModule {
  const { module: first } = members[0];
  const ranks = new Set(members.map((m) => m.module.rank));
  if (ranks.size > 1) throw new PatchworkError('FAILED_PRECONDITION', `${first.module}: factor-wise combination needs equal ranks, got ${[...ranks].join(', ')}; use cat or an *svd method`);
  const products = members.map((m) => m.weight * m.scaling);
  const a = combine(members.map((m) => m.module.a.values), products.map((p) => Math.sign(p) * Math.sqrt(Math.abs(p))), `${first.stem}.lora_A`);
  const b = combine(members.map((m) => m.module.b.values), products.map((p) => Math.sqrt(Math.abs(p))), `${first.stem}.lora_B`);
  return { ...first, a: { ...first.a, values: a }, b: { ...first.b, values: b } };
}

/** ΔW_i = s_i·B_i·A_i (out × in), float32 like PEFT's get_delta_weight. */
function deltaWeight({ module, scaling }: Member): Float32Array {
  const { rows } = module.b;
  const { cols } = module.a;
  const r = module.rank;
  const out = new Float32Array(rows * cols);
  const s = f32(scaling);
  for (let i = 0; i < rows; i++) {
    for (let c = 0; c < cols; c++) {
      let sum = 0;
      for (let l = 0; l < r; l++) sum += module.b.values[i * r + l] * module.a.values[l * cols + c];
      out[i * cols + c] = f32(f32(sum) * s);
    }
  }
  return out;
}

/**
 * *svd: combine the full deltas ΔW_i = s_i B_i A_i with weights w_i by the merge_utils function of
 * the same name (svd = task arithmetic), then the best rank-r factors: B' = U_r S_r, A' = V_rᵀ.
 * The weight is w_i, not w_i·s_i (which would scale twice; PEFT PR #3111). Plain svd never forms
 * the full matrix: Σ w_i s_i B_i A_i is itself a product of stacked factors.
 */
async function svdModule(members: Member[], rank: number, method: LoraCombination, options: CombineLoraOptions): Promise<LoraModule> {
  const { module: first } = members[0];
  const m = first.b.rows;
  const n = first.a.cols;
  let factors: LowRankFactors;
  if (method === 'svd') {
    const inner = members.reduce((s, x) => s + x.module.rank, 0);
    const stacked = catModule(members, inner);
    factors = factoredLowRank(Float64Array.from(stacked.b.values), Float64Array.from(stacked.a.values), m, inner, n, rank);
  } else {
    const combined = combinerFor(method, options)(
      members.map(deltaWeight),
      members.map((x) => x.weight),
      first.stem,
    );
    factors = await denseLowRank(combined, m, n, rank, options.svdAlgorithm ?? 'auto', options.seed ?? 0);
  }
  if (options.svdClamp !== undefined) factors = clampFactors(factors, options.svdClamp);
  return { ...first, a: withRank(first.a, 'A', rank, factors.a), b: withRank(first.b, 'B', rank, factors.b), rank };
}

/**
 * Combines PEFT LoRA adapters into a new one, like PEFT's `add_weighted_adapter` (research/merge.md
 * section 3): `cat` is exact (rank Σ r_i); `linear`, `ties`, `dare_*`, `magnitude_prune` act on
 * the factors (equal ranks; rank r); the `*_svd` family is the best rank-r approximation (svdRank,
 * default the largest rank) of the combined deltas. A single adapter is combined `linear`, as in
 * PEFT. The output config copies the first adapter's with r = lora_alpha = the new rank (scaling
 * 1), use_rslora off, the union of target_modules, and rank/alpha patterns only where a module's
 * rank differs. Modules that only some adapters adapt are combined from those.
 */
export async function combineLoraAdapters(adapters: WeightedAdapter[], options: CombineLoraOptions): Promise<CombineLoraResult> {
  validate(adapters, options);
  const method: LoraCombination = adapters.length === 1 ? 'linear' : options.method;
  const loaded: LoraAdapter[] = [];
  for (const { dir } of adapters) loaded.push(await readLoraAdapter(dir));
  const groups = membersByModule(
    loaded,
    adapters.map((a) => a.weight),
  );
  const combine = combinerFor(method, options);
  const svdRank = options.svdRank ?? Math.max(...loaded.flatMap((a) => [...a.modules.values()].map((m) => m.rank)));
  const catRank = Math.max(...[...groups.values()].map((members) => members.reduce((s, m) => s + m.module.rank, 0)));

  const modules: LoraModule[] = [];
  for (const members of groups.values()) {
    if (options.signal?.aborted) throw new PatchworkError('CANCELLED', 'adapter combination cancelled');
    if (method === 'cat') modules.push(catModule(members, catRank));
    else if (method.endsWith('svd')) modules.push(await svdModule(members, svdRank, method, options));
    else modules.push(factorModule(members, combine));
  }

  const rank = method === 'cat' ? catRank : method.endsWith('svd') ? svdRank : Math.max(...modules.map((m) => m.rank));
  const rankPattern: Record<string, number> = {};
  for (const m of modules) if (m.rank !== rank) rankPattern[m.module] = m.rank;
  const config: Record<string, unknown> = {
    ...loaded[0].config,
    r: rank,
    lora_alpha: rank,
    use_rslora: false,
    rank_pattern: rankPattern,
    alpha_pattern: { ...rankPattern },
  };
  const targets = unionTargets(loaded);
  if (targets !== undefined) config['target_modules'] = targets;
  const files = await writeLoraAdapter(options.outDir, config, modules, loaded[0].dtype);
  return { method, rank, modules: modules.length, files };
}
