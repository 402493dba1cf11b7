import { PatchworkError } from '@patchwork/errors';
import { tf } from '@patchwork/tensor';
import { Model } from '../model';
import { disposeAll, maxAbsDiff } from '../testing/fixtures';
import { TINY_GPT2, TINY_LLAMA, TINY_VIT, randomWeights } from '../testing/random-model';
import type { LinearPatch, LinearSubstitute } from './forward-context';
import type { LinearSpec } from './linear-spec';

/** A substitute computing x·down·up + b and counting what it was asked for. */
function factorSubstitute(down: tf.Tensor2D, up: tf.Tensor2D): LinearSubstitute & { forwards: number; weights: number } {
  const s = {
    forwards: 0,
    weights: 0,
    forward(spec: LinearSpec, x: tf.Tensor, bias?: tf.Tensor): tf.Tensor {
      s.forwards++;
      const y = tf.matMul(tf.matMul(x.reshape([-1, spec.inFeatures]), down), up);
      return (bias === undefined ? y : tf.add(y, bias)).reshape([...x.shape.slice(0, -1), spec.outFeatures]);
    },
    weight(spec: LinearSpec): tf.Tensor {
      s.weights++;
      const kernel = tf.matMul(down, up);
      return spec.layout === 'in_out' ? kernel : tf.transpose(kernel);
    },
  };
  return s;
}

function caught(fn: () => unknown): PatchworkError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(PatchworkError);
    return e as PatchworkError;
  }
  throw new Error('expected a PatchworkError');
}

describe.each([
  ['gpt2 Conv1D [in, out]', TINY_GPT2, 'transformer.h.0.mlp.c_fc', 16, 64, 'in_out', { inputIds: [[1, 2, 3, 4]] }],
  ['vit nn.Linear [out, in]', TINY_VIT, 'vit.encoder.layer.0.intermediate.dense', 16, 24, 'out_in', { pixels: true }],
] as const)('a substituted %s module', (_name, config, module, inF, outF, layout, input) => {
  let down: tf.Tensor2D;
  let up: tf.Tensor2D;
  let dense: Model;
  let substituted: Model;
  let sub: ReturnType<typeof factorSubstitute>;
  let inputs: { inputIds?: tf.Tensor; pixelValues?: tf.Tensor };

  beforeAll(() => {
    down = tf.randomNormal([inF, 3], 0, 0.3, 'float32', 11) as tf.Tensor2D;
    up = tf.randomNormal([3, outF], 0, 0.3, 'float32', 12) as tf.Tensor2D;
    sub = factorSubstitute(down, up);
    const weights = randomWeights(config);
    const key = `${module}.weight`;
    weights.get(key)?.dispose();
    weights.delete(key);
    const withDense = new Map([...weights].map(([k, t]) => [k, tf.clone(t)]));
    // The dense twin holds exactly the product the substitute stands for, in its stored layout.
    const kernel = tf.matMul(down, up);
    withDense.set(key, layout === 'in_out' ? kernel : tf.transpose(kernel));
    if (layout !== 'in_out') kernel.dispose();
    dense = Model.create(config, withDense);
    substituted = Model.create(config, weights, { substitutes: new Map([[module, sub]]) });
    inputs = 'inputIds' in input ? { inputIds: tf.tensor2d(input.inputIds.map((r) => [...r]), undefined, 'int32') } : { pixelValues: tf.randomNormal([2, 3, 8, 8], 0, 1, 'float32', 5) };
  });
  afterAll(() => {
    dense.dispose();
    substituted.dispose();
    disposeAll([down, up, ...Object.values(inputs)]);
  });

  it('holds no dense weight, never forms it without a reader, and matches the dense model', () => {
    expect(substituted.weights.has(`${module}.weight`)).toBe(false);
    expect(substituted.parameterShapes.has(`${module}.weight`)).toBe(true);
    expect([...substituted.substitutes.keys()]).toEqual([module]);
    const before = tf.memory().numTensors;
    const a = dense.forward(inputs);
    const b = substituted.forward(inputs);
    expect(sub.forwards).toBe(1);
    expect(sub.weights).toBe(0);
    expect(maxAbsDiff(a.logits, b.logits)).toBeLessThan(1e-5);
    disposeAll([a.logits, b.logits]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('runs patches after the substitute, building call.weight only when a patch reads it', () => {
    const before = tf.memory().numTensors;
    sub.forwards = 0;
    const seen: number[][] = [];
    const lazy: LinearPatch = (_call, out) => tf.add(out, 1);
    const reader: LinearPatch = (call, out) => {
      seen.push(call.weight.shape);
      seen.push(call.weight.shape);
      return tf.add(out, tf.mul(0, tf.sum(call.weight)));
    };
    const shifted = substituted.forward(inputs, { patches: new Map([[module, [lazy]]]) });
    expect(sub.weights).toBe(0);
    const read = substituted.forward(inputs, { patches: new Map([[module, [reader]]]) });
    expect(sub.weights).toBe(1);
    const shape = layout === 'in_out' ? [inF, outF] : [outF, inF];
    expect(seen).toEqual([shape, shape]);
    const plain = substituted.forward(inputs);
    expect(maxAbsDiff(read.logits, plain.logits)).toBe(0);
    expect(maxAbsDiff(shifted.logits, plain.logits)).toBeGreaterThan(1e-4);
    expect(sub.forwards).toBe(3);
    disposeAll([shifted.logits, read.logits, plain.logits]);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('Model.create with substitutes', () => {
  it('names every misuse: unknown module, tied head, a weight given anyway; the tensors stay the caller’s', () => {
    const weights = randomWeights(TINY_LLAMA);
    const sub: LinearSubstitute = { forward: (_s, x) => x, weight: (s) => tf.zeros([s.outFeatures, s.inFeatures]) };
    const err = caught(() =>
      Model.create(TINY_LLAMA, weights, {
        substitutes: new Map([
          ['model.layers.9.mlp.up_proj', sub],
          ['lm_head', sub],
          ['model.layers.0.mlp.up_proj', sub],
        ]),
      }),
    );
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.violations.map((v) => v.field).sort()).toEqual(['substitutes.lm_head', 'substitutes.model.layers.9.mlp.up_proj', 'weights.model.layers.0.mlp.up_proj.weight']);
    expect(err.message).toContain('shares its weight model.embed_tokens.weight');
    expect([...weights.values()].every((t) => !t.isDisposed)).toBe(true);
    disposeAll(weights.values());
  });

  it('accepts a module name without the base-model prefix', () => {
    const weights = randomWeights(TINY_GPT2);
    weights.get('transformer.h.1.attn.c_proj.weight')?.dispose();
    weights.delete('transformer.h.1.attn.c_proj.weight');
    const sub: LinearSubstitute = { forward: (_s, x) => tf.clone(x), weight: (s) => tf.eye(s.inFeatures) };
    const model = Model.create(TINY_GPT2, weights, { substitutes: new Map([['h.1.attn.c_proj', sub]]) });
    expect([...model.substitutes.keys()]).toEqual(['transformer.h.1.attn.c_proj']);
    model.dispose();
  });
});
