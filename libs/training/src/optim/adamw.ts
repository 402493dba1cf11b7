import { PatchworkError, ViolationCollector } from '@patchwork/errors';
import { tf } from '@patchwork/tensor';

export interface AdamWOptions {
  /** Base learning rate (the schedule multiplies it per step). */
  readonly lr: number;
  readonly beta1?: number;
  readonly beta2?: number;
  readonly eps?: number;
  /** Decoupled weight decay (torch `weight_decay`), applied as `p *= 1 - lr * wd`. Default 0. */
  readonly weightDecay?: number;
  /** Which parameters decay; default {@link defaultDecayFilter}. */
  readonly decay?: (name: string) => boolean;
}

export const ADAMW_DEFAULTS = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 } as const;

/**
 * transformers' Trainer rule: biases and the weights of normalisation layers do not decay
 * (`get_decay_parameter_names` excludes LayerNorm modules and every name containing "bias").
 */
export function defaultDecayFilter(name: string): boolean {
  if (name.includes('bias')) return false;
  const module = name.endsWith('.weight') ? name.slice(0, -'.weight'.length) : name;
  const last = module.slice(module.lastIndexOf('.') + 1);
  return !/norm/i.test(last) && !/^ln(_|$)/.test(last);
}

/** Validates AdamW options; each problem is reported under `${field}.<name>`. */
export function checkAdamWOptions(options: AdamWOptions, field: string, problems: ViolationCollector): void {
  const positive = (name: string, v: number | undefined) => {
    if (v !== undefined && !(Number.isFinite(v) && v > 0)) problems.add(`${field}.${name}`, `must be a positive finite number, got ${v}`);
  };
  if (options.lr === undefined) problems.add(`${field}.lr`, 'is required');
  else if (!(Number.isFinite(options.lr) && options.lr >= 0)) problems.add(`${field}.lr`, `must be a finite non-negative number, got ${options.lr}`);
  for (const name of ['beta1', 'beta2'] as const) {
    const v = options[name];
    if (v !== undefined && !(v >= 0 && v < 1)) problems.add(`${field}.${name}`, `must be in [0, 1), got ${v}`);
  }
  positive('eps', options.eps);
  if (options.weightDecay !== undefined && !(Number.isFinite(options.weightDecay) && options.weightDecay >= 0)) {
    problems.add(`${field}.weightDecay`, `must be a finite non-negative number, got ${options.weightDecay}`);
  }
}

/** What a checkpoint needs to continue AdamW exactly: per-parameter step counts and both moments. */
export interface AdamWState {
  readonly steps: ReadonlyMap<string, number>;
  readonly m: ReadonlyMap<string, tf.Tensor>;
  readonly v: ReadonlyMap<string, tf.Tensor>;
}

/**
 * AdamW exactly as `torch.optim.AdamW` (single-tensor path, amsgrad off): for each parameter with
 * a gradient, step += 1;
 *   p ← p · (1 − lr·wd)                         (decoupled decay, only where `decay(name)`)
 *   m ← m + (1 − β1)·(g − m)                    (torch's `lerp_`)
 *   v ← β2·v + (1 − β2)·g²
 *   p ← p − (lr / (1 − β1^step)) · m / (√v / √(1 − β2^step) + ε).
 * Moments start at zero on a parameter's first gradient; parameters without a gradient are left
 * untouched, decay included, as torch does. The optimizer owns its moment tensors.
 */
export class AdamW {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  readonly baseLr: number;
  private readonly decay: (name: string) => boolean;
  private readonly steps = new Map<string, number>();
  private readonly m = new Map<string, tf.Tensor>();
  private readonly v = new Map<string, tf.Tensor>();

  constructor(
    private readonly params: ReadonlyMap<string, tf.Variable>,
    options: AdamWOptions,
  ) {
    const problems = new ViolationCollector();
    checkAdamWOptions(options, 'optimizer', problems);
    for (const [name, p] of params) if (p.dtype !== 'float32') problems.add(`params.${name}`, `must be float32, got ${p.dtype}`);
    problems.throwIfAny();
    this.baseLr = options.lr;
    this.beta1 = options.beta1 ?? ADAMW_DEFAULTS.beta1;
    this.beta2 = options.beta2 ?? ADAMW_DEFAULTS.beta2;
    this.eps = options.eps ?? ADAMW_DEFAULTS.eps;
    this.weightDecay = options.weightDecay ?? ADAMW_DEFAULTS.weightDecay;
    this.decay = options.decay ?? defaultDecayFilter;
  }

  /** Whether parameter `name` receives weight decay. */
  decays(name: string): boolean {
    return this.weightDecay !== 0 && this.decay(name);
  }

  /** Applies one update at learning rate `lr` with `grads` keyed like the parameters. */
  apply(grads: ReadonlyMap<string, tf.Tensor>, lr: number): void {
    for (const name of grads.keys()) {
      if (!this.params.has(name)) throw new PatchworkError('INVALID_ARGUMENT', `gradient for ${name}, which is not a parameter of this optimizer`);
    }
    for (const [name, p] of this.params) {
      const g = grads.get(name);
      if (g === undefined) continue;
      if (g.shape.length !== p.shape.length || g.shape.some((d, i) => d !== p.shape[i])) {
        throw new PatchworkError('INVALID_ARGUMENT', `gradient for ${name} has shape [${g.shape.join(', ')}], parameter has [${p.shape.join(', ')}]`);
      }
      const step = (this.steps.get(name) ?? 0) + 1;
      const biasCorrection1 = 1 - this.beta1 ** step;
      const biasCorrection2Sqrt = Math.sqrt(1 - this.beta2 ** step);
      const stepSize = lr / biasCorrection1;
      const oldM = this.m.get(name);
      const oldV = this.v.get(name);
      const [m, v] = tf.tidy(() => {
        const m0 = oldM ?? tf.zerosLike(p);
        const v0 = oldV ?? tf.zerosLike(p);
        const m1 = tf.add(m0, tf.mul(tf.sub(g, m0), 1 - this.beta1));
        const v1 = tf.add(tf.mul(v0, this.beta2), tf.mul(tf.mul(g, g), 1 - this.beta2));
        const decayed = this.decays(name) ? tf.mul(p, 1 - lr * this.weightDecay) : p;
        const denom = tf.add(tf.div(tf.sqrt(v1), biasCorrection2Sqrt), this.eps);
        p.assign(tf.sub(decayed, tf.mul(tf.div(m1, denom), stepSize)));
        return [m1, v1];
      });
      oldM?.dispose();
      oldV?.dispose();
      this.m.set(name, m);
      this.v.set(name, v);
      this.steps.set(name, step);
    }
  }

  /** The live state (tensors stay the optimizer's; read them, do not dispose them). */
  get state(): AdamWState {
    return { steps: this.steps, m: this.m, v: this.v };
  }

  /** Replaces the state with copies of `state` (checkpoint restore); shapes must match the parameters. */
  loadState(state: AdamWState): void {
    const problems = new ViolationCollector();
    for (const [name, step] of state.steps) {
      const p = this.params.get(name);
      if (p === undefined) {
        problems.add(`optimizer.${name}`, 'is not a parameter of this run');
        continue;
      }
      if (!Number.isInteger(step) || step < 1) problems.add(`optimizer.${name}.step`, `must be a positive integer, got ${step}`);
      for (const [kind, moments] of [['m', state.m], ['v', state.v]] as const) {
        const t = moments.get(name);
        if (t === undefined) problems.add(`optimizer.${name}.${kind}`, 'is missing');
        else if (t.shape.length !== p.shape.length || t.shape.some((d, i) => d !== p.shape[i])) {
          problems.add(`optimizer.${name}.${kind}`, `has shape [${t.shape.join(', ')}], parameter has [${p.shape.join(', ')}]`);
        }
      }
    }
    problems.throwIfAny('FAILED_PRECONDITION');
    this.clear();
    for (const [name, step] of state.steps) {
      this.steps.set(name, step);
      this.m.set(name, tf.clone(state.m.get(name) as tf.Tensor));
      this.v.set(name, tf.clone(state.v.get(name) as tf.Tensor));
    }
  }

  /** Frees the moments. The optimizer can keep going afterwards as if freshly created. */
  dispose(): void {
    this.clear();
  }

  private clear(): void {
    for (const t of this.m.values()) t.dispose();
    for (const t of this.v.values()) t.dispose();
    this.m.clear();
    this.v.clear();
    this.steps.clear();
  }
}
