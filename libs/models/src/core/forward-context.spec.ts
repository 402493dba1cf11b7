import { tf } from '@patchwork/tensor';
import fc from 'fast-check';
import { readFile } from 'node:fs/promises';
import * as nodePath from 'node:path';
import { patchify } from '../architectures/vit';
import { loadModel } from '../load';
import { Model } from '../model';
import { FIXTURES, disposeAll, maxAbsDiff, readAll } from '../testing/fixtures';
import { TINY_GPT2, randomModel } from '../testing/random-model';
import { type LinearPatch, baseLinear } from './forward-context';
import { ModelLayout } from './layout';

const PEFT_PREFIX = 'base_model.model.';

interface LoraPair {
  a: tf.Tensor;
  b: tf.Tensor;
}

/** Groups PEFT `...<module>.lora_A.weight` / `lora_B.weight` by canonical module name. */
function loraPairs(model: Model, adapter: Map<string, tf.Tensor>): Map<string, LoraPair> {
  const pairs = new Map<string, Partial<LoraPair>>();
  for (const [key, t] of adapter) {
    const m = /^(.*)\.lora_([AB])\.weight$/.exec(key.slice(PEFT_PREFIX.length));
    if (m === null) throw new Error(`unexpected adapter key ${key}`);
    const module = model.resolveModule(m[1]);
    if (module === undefined) throw new Error(`adapter module ${m[1]} not in model`);
    const pair = pairs.get(module) ?? {};
    if (m[2] === 'A') pair.a = t;
    else pair.b = t;
    pairs.set(module, pair);
  }
  return pairs as Map<string, LoraPair>;
}

describe.each(['gpt2', 'bert', 'roberta', 'vit', 'llama'])('%s: PEFT LoRA attaches through ctx.linear', (name) => {
  const dir = nodePath.join(FIXTURES, `peer/adapters/${name}-lora`);

  it('reproduces PEFT logits as a patch, and as a delta merged by the spec layout', async () => {
    const config = JSON.parse(await readFile(nodePath.join(dir, 'adapter_config.json'), 'utf8'));
    const scale = config.lora_alpha / config.r;
    const model = await loadModel(nodePath.join(FIXTURES, 'peer/models', name));
    const adapter = await readAll(nodePath.join(dir, 'adapter_model.safetensors'));
    const ref = await readAll(nodePath.join(dir, 'reference.safetensors'));
    const inputs = { inputIds: ref.get('input_ids'), attentionMask: ref.get('attention_mask'), pixelValues: ref.get('pixel_values') };
    const pairs = loraPairs(model, adapter);
    expect(pairs.size).toBe(adapter.size / 2);

    const before = tf.memory().numTensors;
    const patches = new Map<string, LinearPatch[]>();
    for (const [module, { a, b }] of pairs) {
      patches.set(module, [(call, out) => tf.add(out, tf.mul(scale, tf.matMul(tf.matMul(call.x.reshape([-1, call.spec.inFeatures]), a, false, true), b, false, true).reshape(out.shape)))]);
    }
    const patched = model.forward(inputs, { patches });
    expect(maxAbsDiff(patched.logits, ref.get('logits') as tf.Tensor)).toBeLessThan(1e-4);
    patched.logits.dispose();
    expect(tf.memory().numTensors).toBe(before);

    // Merging: delta = scale * B A is [out, in]; a fan_in_fan_out (Conv1D) weight takes its transpose.
    const merged = new Map<string, tf.Tensor>();
    for (const [key, w] of model.weights) merged.set(key, w.clone());
    for (const [module, { a, b }] of pairs) {
      const spec = model.linears.get(module);
      if (spec === undefined) throw new Error(module);
      const delta = tf.tidy(() => tf.mul(scale, tf.matMul(b, a)));
      const w = merged.get(spec.weightKey) as tf.Tensor;
      merged.set(spec.weightKey, tf.tidy(() => tf.add(w, spec.layout === 'in_out' ? delta.transpose() : delta)));
      disposeAll([w, delta]);
    }
    const mergedModel = Model.create(model.config, merged);
    const mergedOut = mergedModel.forward(inputs);
    expect(maxAbsDiff(mergedOut.logits, ref.get('merged_logits') as tf.Tensor)).toBeLessThan(1e-4);
    disposeAll([mergedOut.logits, ...adapter.values(), ...ref.values()]);
    mergedModel.dispose();
    model.dispose();
  });
});

describe('ForwardContext patches', () => {
  it('apply in order on the named module only, see the call, and refuse unknown modules', () => {
    const model = randomModel(TINY_GPT2);
    const ids = tf.tensor2d([[1, 2, 3]], undefined, 'int32');
    const seen: string[] = [];
    const patches = new Map<string, LinearPatch[]>([
      [
        'transformer.h.1.mlp.c_proj',
        [
          (call, out) => {
            seen.push(`first ${call.spec.module} ${call.x.shape.join('x')} ${call.weight.shape.join('x')} ${call.spec.layout}`);
            return tf.mul(out, 0);
          },
          (_call, out) => {
            seen.push('second');
            return out;
          },
        ],
      ],
    ]);
    const base = model.forward({ inputIds: ids });
    const zeroed = model.forward({ inputIds: ids }, { patches });
    expect(seen).toEqual(['first transformer.h.1.mlp.c_proj 1x3x64 64x16 in_out', 'second']);
    expect(maxAbsDiff(base.logits, zeroed.logits)).toBeGreaterThan(1e-3);
    expect(() => model.forward({ inputIds: ids }, { patches: new Map([['transformer.h.9.mlp.c_proj', []]]) })).toThrow(/transformer\.h\.9\.mlp\.c_proj/);
    disposeAll([ids, base.logits, zeroed.logits]);
    model.dispose();
  });

  it('lets gradients flow into patch parameters (training adapters through the seam)', () => {
    const model = randomModel(TINY_GPT2);
    const ids = tf.tensor2d([[4, 5, 6, 7]], undefined, 'int32');
    const a = tf.variable(tf.randomNormal([2, 16], 0, 0.1, 'float32', 3));
    const b = tf.variable(tf.randomNormal([48, 2], 0, 0.1, 'float32', 4));
    const patches = new Map<string, LinearPatch[]>([['transformer.h.0.attn.c_attn', [(call, out) => tf.add(out, tf.matMul(tf.matMul(call.x.reshape([-1, 16]), a, false, true), b, false, true).reshape(out.shape))]]]);
    const before = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(() => tf.tidy(() => tf.sum(tf.square(model.forward({ inputIds: ids }, { patches }).logits))) as tf.Scalar, [a, b]);
    for (const g of Object.values(grads)) {
      const values = g.dataSync();
      expect(values.some((v) => v !== 0)).toBe(true);
      expect(values.every(Number.isFinite)).toBe(true);
    }
    disposeAll([value, ...Object.values(grads)]);
    expect(tf.memory().numTensors).toBe(before);
    disposeAll([ids, a, b]);
    model.dispose();
  });
});

describe('baseLinear', () => {
  it('computes the same map for Conv1D [in, out] and Linear [out, in] storage', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 1000 }), (rows, inF, outF, seed) => {
        const specs = new ModelLayout().linear('lin', inF, outF).linear('conv', inF, outF, { layout: 'in_out' }).linears;
        tf.tidy(() => {
          const x = tf.randomNormal([2, rows, inF], 0, 1, 'float32', seed);
          const w = tf.randomNormal([outF, inF], 0, 1, 'float32', seed + 1);
          const bias = tf.randomNormal([outF], 0, 1, 'float32', seed + 2);
          const viaLinear = baseLinear(specs.get('lin')!, x, w, bias);
          const viaConv1d = baseLinear(specs.get('conv')!, x, w.transpose(), bias);
          const expected = tf.add(tf.einsum('bri,oi->bro', x, w), bias);
          expect(viaLinear.shape).toEqual([2, rows, outF]);
          expect(maxAbsDiff(viaLinear, expected)).toBeLessThan(1e-5);
          expect(maxAbsDiff(viaConv1d, expected)).toBeLessThan(1e-5);
        });
      }),
      { numRuns: 25 },
    );
  });

  it('runs a ViT patch embedding equal to a strided Conv2d', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 1000 }), (channels, patch, grid, seed) => {
        const size = patch * grid;
        const spec = new ModelLayout().patchConv('proj', channels, patch, 5).linears.get('proj')!;
        tf.tidy(() => {
          const pixels = tf.randomNormal([2, channels, size, size], 0, 1, 'float32', seed);
          const w = tf.randomNormal([5, channels, patch, patch], 0, 1, 'float32', seed + 1);
          const bias = tf.randomNormal([5], 0, 1, 'float32', seed + 2);
          const ours = baseLinear(spec, patchify(pixels, patch), w, bias);
          const conv = tf.conv2d(pixels.transpose([0, 2, 3, 1]) as tf.Tensor4D, w.transpose([2, 3, 1, 0]) as tf.Tensor4D, patch, 'valid');
          const expected = tf.add(conv.reshape([2, grid * grid, 5]), bias);
          expect(maxAbsDiff(ours, expected)).toBeLessThan(1e-4);
        });
      }),
      { numRuns: 20 },
    );
  });

  it('rejects an input with the wrong feature count', () => {
    const spec = new ModelLayout().linear('lin', 3, 2).linears.get('lin')!;
    const x = tf.zeros([4, 5]);
    const w = tf.zeros([2, 3]);
    expect(() => baseLinear(spec, x, w)).toThrow('lin: input has 5 features, expected 3');
    disposeAll([x, w]);
  });
});
