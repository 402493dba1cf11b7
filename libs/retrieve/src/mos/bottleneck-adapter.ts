import { PatchworkError, ViolationCollector } from '@patchwork/errors';
import type { LinearPatch, Model } from '@patchwork/models';
import { SeededRandom, tf } from '@patchwork/tensor';

/**
 * MOS / AdaptFormer task adapters: one parallel bottleneck per ViT block,
 *
 *   block output = h + MLP(LN(h)) + scale · up(dropout(relu(down(LN(h)))))
 *
 * attached through the models' linear seam, so the architecture code is untouched: a patch on
 * `<block>.intermediate.dense` (the MLP's first projection) reads that projection's input LN(h) and
 * computes the branch; a patch on `<block>.output.dense` (the MLP's last projection, whose output
 * is added to the residual stream) adds it. The one difference from MOS, whose adapter reads the
 * raw residual stream h, is that the seam only exposes LN(h): the branch sees the normalised
 * stream (AdaptFormer's `adapter_layernorm_option="in"` without its own affine).
 */
export interface BottleneckOptions {
  /** Bottleneck width r (MOS: 16 for 768-wide ViT-B). */
  readonly bottleneck: number;
  /** Branch scale (MOS: 0.1). */
  readonly scale: number;
  /** Dropout on the bottleneck activations in training forwards (MOS: 0.1). */
  readonly dropout: number;
}

export const DEFAULT_BOTTLENECK: BottleneckOptions = { bottleneck: 16, scale: 0.1, dropout: 0.1 };

/** Tensor names of block `i` (torch `nn.Linear` layout: weights `[out, in]`). */
export function adapterTensorNames(block: number): { down: string; downBias: string; up: string; upBias: string } {
  const p = `vit.encoder.layer.${block}.mos_adapter`;
  return { down: `${p}.down.weight`, downBias: `${p}.down.bias`, up: `${p}.up.weight`, upBias: `${p}.up.bias` };
}

export function checkBottleneckOptions(o: BottleneckOptions, field: string, problems: ViolationCollector): void {
  if (!Number.isInteger(o.bottleneck) || o.bottleneck < 1) problems.add(`${field}.bottleneck`, `must be a positive integer, got ${o.bottleneck}`);
  if (!Number.isFinite(o.scale)) problems.add(`${field}.scale`, `must be a finite number, got ${o.scale}`);
  if (!(Number.isFinite(o.dropout) && o.dropout >= 0 && o.dropout < 1)) problems.add(`${field}.dropout`, `must be within [0, 1), got ${o.dropout}`);
}

interface Block {
  readonly index: number;
  readonly down: tf.Variable;
  readonly downBias: tf.Variable;
  readonly up: tf.Variable;
  readonly upBias: tf.Variable;
}

function blockModules(i: number): { input: string; output: string } {
  return { input: `vit.encoder.layer.${i}.intermediate.dense`, output: `vit.encoder.layer.${i}.output.dense` };
}

/** One task adapter: a bottleneck per block of one ViT. Owns its variables; borrows the model. */
export class BottleneckAdapter {
  private disposed = false;
  private dropoutSeed: number;

  private constructor(
    /** The base model it patches (not owned). */
    readonly model: Model,
    readonly options: BottleneckOptions,
    private readonly blocks: readonly Block[],
    seed: number,
  ) {
    this.dropoutSeed = seed;
  }

  /** A fresh adapter: down kaiming-uniform (torch's `a = √5`, i.e. U(±1/√hidden)), up and biases zero. */
  static create(model: Model, options: BottleneckOptions = DEFAULT_BOTTLENECK, seed = 0): BottleneckAdapter {
    const hidden = BottleneckAdapter.check(model, options);
    const rng = new SeededRandom(seed);
    const bound = 1 / Math.sqrt(hidden);
    const values = new Map<string, Float32Array>();
    for (let i = 0; i < model.numLayers; i++) {
      const n = adapterTensorNames(i);
      values.set(n.down, rng.fillUniform(new Float32Array(options.bottleneck * hidden), -bound, bound));
      values.set(n.downBias, new Float32Array(options.bottleneck));
      values.set(n.up, new Float32Array(hidden * options.bottleneck));
      values.set(n.upBias, new Float32Array(hidden));
    }
    return BottleneckAdapter.build(model, options, values, seed);
  }

  /** An adapter holding copies of `values` (names from `adapterTensorNames`, every block present). */
  static fromArrays(model: Model, options: BottleneckOptions, values: ReadonlyMap<string, Float32Array>, seed = 0): BottleneckAdapter {
    BottleneckAdapter.check(model, options);
    return BottleneckAdapter.build(model, options, values, seed);
  }

  private static check(model: Model, options: BottleneckOptions): number {
    const problems = new ViolationCollector();
    checkBottleneckOptions(options, 'adapter', problems);
    problems.throwIfAny();
    if (model.modelType !== 'vit') throw new PatchworkError('FAILED_PRECONDITION', `bottleneck task adapters attach to ViT blocks; got model_type ${model.modelType}`);
    for (let i = 0; i < model.numLayers; i++) {
      const m = blockModules(i);
      if (!model.linears.has(m.input) || !model.linears.has(m.output)) throw new PatchworkError('FAILED_PRECONDITION', `ViT block ${i} has no ${m.input} / ${m.output} projections`);
    }
    return model.hiddenSize;
  }

  private static build(model: Model, options: BottleneckOptions, values: ReadonlyMap<string, Float32Array>, seed: number): BottleneckAdapter {
    const hidden = model.hiddenSize;
    const r = options.bottleneck;
    const problems = new ViolationCollector();
    const expected = new Map<string, number[]>();
    for (let i = 0; i < model.numLayers; i++) {
      const n = adapterTensorNames(i);
      expected.set(n.down, [r, hidden]).set(n.downBias, [r]).set(n.up, [hidden, r]).set(n.upBias, [hidden]);
    }
    for (const [name, shape] of expected) {
      const v = values.get(name);
      const size = shape.reduce((a, b) => a * b, 1);
      if (v === undefined) problems.add(`adapter.${name}`, 'is missing');
      else if (v.length !== size) problems.add(`adapter.${name}`, `has ${v.length} values, expected [${shape.join(', ')}] = ${size}`);
    }
    for (const name of values.keys()) if (!expected.has(name)) problems.add(`adapter.${name}`, 'is not a tensor of this adapter');
    problems.throwIfAny();
    const variable = (name: string) => {
      // tf.variable shares the initial tensor's data; the initial tensor itself must still be freed.
      const initial = tf.tensor(values.get(name) as Float32Array, expected.get(name));
      const v = tf.variable(initial, true, undefined, 'float32');
      initial.dispose();
      return v;
    };
    const blocks: Block[] = [];
    for (let i = 0; i < model.numLayers; i++) {
      const n = adapterTensorNames(i);
      blocks.push({ index: i, down: variable(n.down), downBias: variable(n.downBias), up: variable(n.up), upBias: variable(n.upBias) });
    }
    return new BottleneckAdapter(model, options, blocks, seed);
  }

  private assertLive(): void {
    if (this.disposed) throw new PatchworkError('FAILED_PRECONDITION', 'bottleneck adapter has been disposed');
  }

  /** Every variable, keyed by tensor name. */
  namedVariables(): Map<string, tf.Variable> {
    this.assertLive();
    const out = new Map<string, tf.Variable>();
    for (const b of this.blocks) {
      const n = adapterTensorNames(b.index);
      out.set(n.down, b.down).set(n.downBias, b.downBias).set(n.up, b.up).set(n.upBias, b.upBias);
    }
    return out;
  }

  trainableVariables(): tf.Variable[] {
    return [...this.namedVariables().values()];
  }

  /** Bytes held by the adapter's tensors (float32). */
  get numBytes(): number {
    return this.trainableVariables().reduce((n, v) => n + 4 * v.size, 0);
  }

  /** Copies of the current values, keyed by tensor name. */
  toArrays(): Map<string, Float32Array> {
    const out = new Map<string, Float32Array>();
    for (const [name, v] of this.namedVariables()) out.set(name, Float32Array.from(v.dataSync() as Float32Array));
    return out;
  }

  /** Overwrites the values (same names and sizes as `toArrays`). */
  assign(values: ReadonlyMap<string, Float32Array>): void {
    for (const [name, v] of this.namedVariables()) {
      const next = values.get(name);
      if (next === undefined || next.length !== v.size) throw new PatchworkError('INVALID_ARGUMENT', `adapter.${name}: ${next === undefined ? 'is missing' : `has ${next.length} values, expected ${v.size}`}`);
      tf.tidy(() => v.assign(tf.tensor(next, v.shape)));
    }
  }

  /**
   * Patches for `model.forward`. Each call returns a fresh set, since a block's two patches share
   * the branch output of the current pass.
   */
  patches(options: { training?: boolean } = {}): Map<string, LinearPatch[]> {
    this.assertLive();
    const training = options.training ?? false;
    const { scale, dropout } = this.options;
    const out = new Map<string, LinearPatch[]>();
    for (const b of this.blocks) {
      const m = blockModules(b.index);
      let branch: tf.Tensor | undefined;
      out.set(m.input, [
        (call, y) => {
          const x = call.x;
          const flat = x.reshape([-1, x.shape[x.rank - 1]]);
          let hidden = tf.relu(tf.add(tf.matMul(flat, b.down, false, true), b.downBias));
          if (training && dropout > 0) hidden = tf.dropout(hidden, dropout, undefined, this.nextDropoutSeed());
          const up = tf.add(tf.matMul(hidden, b.up, false, true), b.upBias);
          branch = tf.mul(up, scale).reshape(x.shape);
          return y;
        },
      ]);
      out.set(m.output, [
        (_call, y) => {
          if (branch === undefined) throw new PatchworkError('INTERNAL', `${m.output} ran before ${m.input}: the bottleneck branch of block ${b.index} is missing`);
          const sum = tf.add(y, branch);
          branch = undefined;
          return sum;
        },
      ]);
    }
    return out;
  }

  private nextDropoutSeed(): number {
    this.dropoutSeed = (this.dropoutSeed + 0x9e3779b9) % 2 ** 31;
    return this.dropoutSeed;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const b of this.blocks) for (const v of [b.down, b.downBias, b.up, b.upBias]) v.dispose();
  }
}
