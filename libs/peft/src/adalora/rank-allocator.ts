import { PatchworkError } from '@patchwork/errors';
import { tf } from '@patchwork/tensor';
import type { AdaLoraAdapter, AdaLoraLayer } from './adalora-adapter';
import { type BudgetSchedule, budgetAt, keepMasks } from './budget';

/** Gradients of one step keyed by variable name (what `tf.variableGrads` returns). */
export type GradientMap = Readonly<Record<string, tf.Tensor | null | undefined>>;

export interface AllocationStep {
  budget: number;
  /** Whether λ was masked this step. */
  masked: boolean;
  /** The rank_pattern after this step (null before the first mask). */
  rankPattern: Record<string, boolean[]> | null;
}

type Part = 'lora_A' | 'lora_E' | 'lora_B';
const PARTS: readonly Part[] = ['lora_A', 'lora_E', 'lora_B'];

interface Ema {
  ipt: tf.Tensor;
  unc: tf.Tensor;
}

function variableOf(layer: AdaLoraLayer, part: Part): tf.Variable {
  return part === 'lora_A' ? layer.loraA : part === 'lora_E' ? layer.loraE : layer.loraB;
}

/**
 * AdaLoRA's budget allocator (PEFT `RankAllocator` + `AdaLoraModel.update_and_allocate`). Call
 * `update(step, grads)` after each optimizer step with that step's gradients:
 * - step < T - tfinal: importance I = |θ ⊙ ∇θ| smoothed, Ī ← β1 Ī + (1-β1) I, uncertainty
 *   Ū ← β2 Ū + (1-β2) |I - Ī|, score s = Ī ⊙ Ū; on mask steps of the cubic schedule the triplets
 *   with the lowest S = s(λ_i) + mean_j s(Q_ij) + mean_j s(P_ji) get λ_i = 0;
 * - step = T - tfinal: a final mask to the target budget, the pattern frozen, the scores reset;
 * - step > T - tfinal: the frozen mask re-applied every step.
 * Pruning is soft (only λ is zeroed; shapes stay), as in PEFT; saving slices to the kept ranks.
 */
export class RankAllocator {
  readonly schedule: BudgetSchedule;
  private readonly beta1: number;
  private readonly beta2: number;
  private ema = new Map<string, Ema>();
  private frozen: Map<string, boolean[]> | null = null;

  constructor(private readonly adapter: AdaLoraAdapter) {
    const c = adapter.config;
    let initBudget = 0;
    for (const layer of adapter.modules.values()) initBudget += layer.loraA.shape[0];
    this.schedule = { initBudget, targetBudget: c.target_r * adapter.modules.size, tinit: c.tinit, tfinal: c.tfinal, totalStep: c.total_step, deltaT: c.deltaT };
    this.beta1 = c.beta1;
    this.beta2 = c.beta2;
  }

  private key(module: string, part: Part): string {
    return `${module}.${part}`;
  }

  /** Updates the smoothed sensitivity and uncertainty from this step's parameters and gradients. */
  updateImportance(grads: GradientMap): void {
    for (const [module, layer] of this.adapter.modules) {
      for (const part of PARTS) {
        const v = variableOf(layer, part);
        const g = grads[v.name];
        // A parameter without a gradient (outside the graph) has no sensitivity this step; PEFT would crash.
        if (g === null || g === undefined) continue;
        const key = this.key(module, part);
        const prev = this.ema.get(key);
        const next = tf.tidy(() => {
          const ipt = tf.abs(tf.mul(v, g));
          const avgIpt = prev === undefined ? tf.mul(ipt, 1 - this.beta1) : tf.add(tf.mul(prev.ipt, this.beta1), tf.mul(ipt, 1 - this.beta1));
          const dev = tf.mul(tf.abs(tf.sub(ipt, avgIpt)), 1 - this.beta2);
          const avgUnc = prev === undefined ? dev : tf.add(tf.mul(prev.unc, this.beta2), dev);
          return { ipt: avgIpt, unc: avgUnc };
        });
        if (prev !== undefined) tf.dispose([prev.ipt, prev.unc]);
        this.ema.set(key, next);
      }
    }
  }

  /** The triplet scores S per module (CPU), from the current smoothed statistics. */
  tripletScores(): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    for (const [module, layer] of this.adapter.modules) {
      const stats = PARTS.map((p) => this.ema.get(this.key(module, p)));
      if (stats.some((s) => s === undefined)) {
        throw new PatchworkError('FAILED_PRECONDITION', `no importance scores for ${module} yet: call update() with gradients before the first mask step`);
      }
      const [a, e, b] = stats as Ema[];
      const r = layer.loraA.shape[0];
      const s = tf.tidy(() => {
        const score = (x: Ema): tf.Tensor => tf.mul(x.ipt, x.unc);
        const sA = r === 0 ? tf.zeros([0]) : tf.mean(score(a), 1);
        const sB = r === 0 ? tf.zeros([0]) : tf.mean(score(b), 0);
        return tf.add(tf.add(tf.reshape(score(e), [-1]), sA), sB);
      });
      out.set(module, s.dataSync() as Float32Array);
      s.dispose();
    }
    return out;
  }

  private applyMasks(masks: ReadonlyMap<string, boolean[]>): void {
    for (const [module, keep] of masks) this.adapter.setRankMask(module, keep);
  }

  /** Masks λ down to `budget` triplets; returns the masks, or null when the budget prunes nothing. */
  maskToBudget(budget: number): Map<string, boolean[]> | null {
    const masks = keepMasks(this.tripletScores(), budget);
    if (masks !== null) this.applyMasks(masks);
    return masks;
  }

  /** One step of PEFT's `update_and_allocate(global_step)`. */
  update(step: number, grads: GradientMap): AllocationStep {
    const boundary = this.schedule.totalStep - this.schedule.tfinal;
    if (step < boundary) {
      this.updateImportance(grads);
      const { budget, mask } = budgetAt(step, this.schedule);
      const masked = mask && this.maskToBudget(budget) !== null;
      return { budget, masked, rankPattern: this.adapter.rankPattern() };
    }
    if (step === boundary) {
      const { budget } = budgetAt(step, this.schedule);
      const masks = this.maskToBudget(budget);
      this.frozen = masks ?? new Map([...this.adapter.modules].map(([m, l]) => [m, new Array<boolean>(l.loraE.shape[0]).fill(true)]));
      this.reset();
      return { budget, masked: masks !== null, rankPattern: this.adapter.rankPattern() };
    }
    if (this.frozen === null) throw new PatchworkError('FAILED_PRECONDITION', `step ${step} is past total_step - tfinal (${boundary}) but the final mask was never computed (update(${boundary}) was skipped)`);
    this.applyMasks(this.frozen);
    return { budget: this.schedule.targetBudget, masked: true, rankPattern: this.adapter.rankPattern() };
  }

  /** The smoothed statistics and the frozen mask, for resuming training (tensors are clones the caller owns). */
  state(): { tensors: Map<string, tf.Tensor>; frozen: Record<string, boolean[]> | null } {
    const tensors = new Map<string, tf.Tensor>();
    for (const [key, { ipt, unc }] of this.ema) {
      tensors.set(`${key}.exp_avg_ipt`, tf.clone(ipt));
      tensors.set(`${key}.exp_avg_unc`, tf.clone(unc));
    }
    return { tensors, frozen: this.frozen === null ? null : Object.fromEntries(this.frozen) };
  }

  /** Restores `state()`; the tensors are copied, the caller keeps them. */
  restore(state: { tensors: ReadonlyMap<string, tf.Tensor>; frozen: Record<string, boolean[]> | null }): void {
    this.reset();
    for (const [name, t] of state.tensors) {
      const m = /^(.+)\.exp_avg_(ipt|unc)$/.exec(name);
      if (m === null) throw new PatchworkError('INVALID_ARGUMENT', `allocator state: unexpected tensor ${name}`);
      const entry = this.ema.get(m[1]) ?? ({} as Ema);
      entry[m[2] as 'ipt' | 'unc'] = tf.clone(t);
      this.ema.set(m[1], entry);
    }
    for (const [key, e] of this.ema) if (e.ipt === undefined || e.unc === undefined) throw new PatchworkError('INVALID_ARGUMENT', `allocator state: ${key} lacks exp_avg_ipt or exp_avg_unc`);
    this.frozen = state.frozen === null ? null : new Map(Object.entries(state.frozen));
  }

  /** Drops the smoothed statistics (PEFT's `reset_ipt`). */
  reset(): void {
    for (const { ipt, unc } of this.ema.values()) tf.dispose([ipt, unc].filter((t) => t !== undefined));
    this.ema = new Map();
  }

  dispose(): void {
    this.reset();
  }
}
