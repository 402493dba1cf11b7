import type { Model } from '@patchwork/models';
import { LoraAdapter } from '@patchwork/peft';
import { assertNoLeaks, tf, withTempDir } from '@patchwork/tensor';
import { AdamW, classificationLoss } from '@patchwork/training';
import { readFile } from 'node:fs/promises';
import * as nodePath from 'node:path';
import type { Batch } from '../data/encoded-inputs';
import { classifierHead } from '../heads/label-head';
import { maxAbsDiff, rejection, thrown, values } from '../testing/tensors';
import { tinyModel } from '../testing/tiny-models';
import { useWasmBackend } from '../testing/backend';
import { LstAdapter } from './lst-adapter';

useWasmBackend();

function tokenBatch(b: number, length: number, vocab: number, seed = 5): Batch {
  const ids = tf.randomUniform([b, length], 0, vocab, 'int32', seed);
  const mask = tf.concat([tf.ones([b, length - 2], 'int32'), tf.tensor2d(Array.from({ length: b }, (_, i) => [1, i % 2]), [b, 2], 'int32')], 1);
  return { inputs: { inputIds: ids, attentionMask: mask }, labels: tf.tensor1d(Array.from({ length: b }, (_, i) => i % 2), 'int32') };
}

function pixelBatch(b: number, seed = 6): Batch {
  return { inputs: { pixelValues: tf.randomUniform([b, 1, 8, 8], 0, 1, 'float32', seed) }, labels: tf.tensor1d(Array.from({ length: b }, (_, i) => i % 2), 'int32') };
}

function dispose(batch: Batch): void {
  tf.dispose([batch.inputs.inputIds, batch.inputs.attentionMask, batch.inputs.pixelValues, batch.labels].filter((t): t is tf.Tensor => t !== undefined));
}

describe('LstAdapter', () => {
  const models = new Map<string, Model>();
  beforeAll(() => {
    for (const f of ['bert', 'gpt2', 'vit'] as const) models.set(f, tinyModel(f, { hidden: 16, heads: 2, inner: 32, labels: 2 }));
  });
  afterAll(() => models.forEach((m) => m.dispose()));

  it('builds a side network r times narrower with gates at 0.5 and documented tensor names', () => {
    const model = models.get('bert') as Model;
    const lst = LstAdapter.create(model, { reduction_factor: 4, init: 'random' }, { seed: 3 });
    const named = lst.namedVariables();
    expect(named.get('base_model.model.side.downsample.0.weight')?.shape).toEqual([4, 16]);
    expect(named.get('base_model.model.side.block.1.attn.q.weight')?.shape).toEqual([4, 4]);
    expect(named.get('base_model.model.side.block.1.mlp.fc_in.weight')?.shape).toEqual([8, 4]);
    expect(named.get('base_model.model.side.upsample.weight')?.shape).toEqual([16, 4]);
    expect(named.get('base_model.model.classifier.weight')?.shape).toEqual([2, 16]);
    expect(named.has('base_model.model.side.final_norm.weight')).toBe(false);
    expect([...lst.gates().values()]).toEqual([0.5, 0.5]);
    // Per side layer: down (16*4+4), gate 1, q/k/v/o 4*(4*4+4), 2 norms 2*8, mlp (8*4+8)+(4*8+4); plus down 0, up (4*16+16), classifier 2*16+2.
    const perLayer = 68 + 1 + 80 + 16 + 40 + 36;
    expect(lst.numTrainableParameters()).toBe(68 + 2 * perLayer + 80 + 34);
    lst.dispose();
  });

  it('runs on BERT, GPT-2 and ViT backbones, and layer dropping removes side blocks', () => {
    for (const family of ['bert', 'gpt2', 'vit'] as const) {
      const model = models.get(family) as Model;
      const lst = LstAdapter.create(model, { reduction_factor: 2, init: 'magnitude', side_layers: [1] });
      expect([...lst.gates().keys()]).toEqual([1]);
      expect([...lst.side.keys()].some((k) => k.startsWith('block.0.'))).toBe(false);
      expect(lst.side.has('final_norm.weight')).toBe(family === 'gpt2');
      const batch = family === 'vit' ? pixelBatch(3) : tokenBatch(3, 6, 40);
      const hidden = lst.hidden(batch.inputs);
      expect(hidden.shape).toEqual(family === 'vit' ? [3, 17, 16] : [3, 6, 16]);
      if (family !== 'gpt2') {
        const logits = lst.logits(batch, classifierHead(model, 2));
        expect(logits.shape).toEqual([3, 2]);
        logits.dispose();
      }
      hidden.dispose();
      dispose(batch);
      lst.dispose();
    }
  });

  it('initialises side blocks by pruning the backbone: with r = 1 they are the backbone blocks', () => {
    const model = models.get('gpt2') as Model;
    const lst = LstAdapter.create(model, { reduction_factor: 1, init: 'magnitude' });
    // c_attn is stored [in, out] (Conv1D); the side q is its first third, transposed to [out, in].
    const cAttn = model.weights.get('transformer.h.1.attn.c_attn.weight') as tf.Tensor;
    const q = tf.tidy(() => tf.transpose(tf.slice(cAttn, [0, 0], [16, 16])));
    expect(maxAbsDiff(lst.side.get('block.1.attn.q.weight') as tf.Tensor, q)).toBe(0);
    const eye = tf.eye(16);
    expect(maxAbsDiff(lst.side.get('downsample.2.weight') as tf.Tensor, eye)).toBe(0);
    expect(maxAbsDiff(lst.side.get('final_norm.weight') as tf.Tensor, model.weights.get('transformer.ln_f.weight') as tf.Tensor)).toBe(0);
    tf.dispose([q, eye]);
    lst.dispose();
  });

  it('initialises every side weight as a sub-matrix of the corresponding backbone weight', () => {
    const model = models.get('bert') as Model;
    const lst = LstAdapter.create(model, { reduction_factor: 2, init: 'magnitude' });
    // Every side weight is a sub-matrix of the corresponding backbone weight: its entries occur there.
    const side = values(lst.side.get('block.0.mlp.fc_out.weight') as tf.Tensor);
    const full = new Set(values(model.weights.get('bert.encoder.layer.0.output.dense.weight') as tf.Tensor));
    expect(side.every((v) => full.has(v))).toBe(true);
    lst.dispose();
  });

  it('trains only the side network; the backbone runs off the tape', async () => {
    const model = models.get('bert') as Model;
    const before = values(model.weights.get('bert.encoder.layer.0.attention.self.query.weight') as tf.Tensor);
    const lst = LstAdapter.create(model, { reduction_factor: 2, init: 'magnitude' });
    const head = classifierHead(model, 2);
    const batch = tokenBatch(4, 8, 40);
    const params = lst.namedVariables();
    const opt = new AdamW(params, { lr: 1e-2 });
    const gateBefore = values(params.get('base_model.model.side.gate.0') as tf.Tensor)[0];
    const step = () => {
      const { value, grads } = tf.variableGrads(() => classificationLoss(lst.logits(batch, head), batch.labels), [...params.values()]);
      const byName = new Map([...params].map(([k, v]) => [k, grads[v.name]]));
      expect([...byName.values()].every((g) => g !== undefined && g !== null)).toBe(true);
      opt.apply(byName, 1e-2);
      tf.dispose([value, ...Object.values(grads)]);
    };
    step(); // creates the AdamW moments
    await assertNoLeaks(() => {
      step();
      step();
    });
    expect(values(params.get('base_model.model.side.gate.0') as tf.Tensor)[0]).not.toBe(gateBefore);
    expect(values(model.weights.get('bert.encoder.layer.0.attention.self.query.weight') as tf.Tensor)).toEqual(before);
    opt.dispose();
    dispose(batch);
    lst.dispose();
  });

  it('needs much less memory for a training step than LoRA on the same backbone', () => {
    // Widths where, as in real backbones, hidden-sized activations outweigh the attention maps
    // (the side network keeps every head, so its attention maps are as large as the backbone's).
    const model = tinyModel('bert', { hidden: 64, heads: 2, inner: 256, positions: 32, layers: 4 });
    const head = classifierHead(model, 2);
    const batch = tokenBatch(16, 32, 40);
    const stepPeak = (vars: tf.Variable[], logits: () => tf.Tensor): number => {
      const start = tf.memory().numBytes;
      let peak = 0;
      // The tape holds what the backward pass needs right after the forward pass.
      const { value, grads } = tf.variableGrads(() => {
        const loss = classificationLoss(logits(), batch.labels);
        peak = tf.memory().numBytes - start;
        return loss;
      }, vars);
      tf.dispose([value, ...Object.values(grads)]);
      return peak;
    };
    const lst = LstAdapter.create(model, { reduction_factor: 4, init: 'magnitude' });
    const lora = LoraAdapter.create(model, { r: 8, target_modules: ['query', 'value'], modules_to_save: ['classifier'] });
    const lstPeak = stepPeak(lst.trainableVariables(), () => lst.logits(batch, head));
    const loraPeak = stepPeak(lora.trainableVariables(), () => lora.forward(batch.inputs, { training: true }).logits);
    expect(lstPeak).toBeLessThan(0.5 * loraPeak);
    lst.dispose();
    lora.dispose();
    dispose(batch);
    model.dispose();
  });

  it('computes Fisher importance as the sum of squared per-example gradients', () => {
    const model = models.get('vit') as Model;
    const batches = [pixelBatch(1, 11), pixelBatch(1, 12)];
    const lossOf = (n: number) => classificationLoss(model.forward(batches[n].inputs).logits, batches[n].labels);
    const lst = LstAdapter.create(model, { reduction_factor: 2, init: 'fisher', fisher_samples: 2 }, { fisherLoss: lossOf, fisherExamples: 2 });
    expect(lst.numTrainableParameters()).toBeGreaterThan(0);
    lst.dispose();
    batches.forEach(dispose);
    expect(thrown(() => LstAdapter.create(model, { init: 'fisher' })).code).toBe('INVALID_ARGUMENT');
  });

  it('saves in the PEFT layout with peft_type LST and loads back to the same logits', async () => {
    const model = models.get('bert') as Model;
    const head = classifierHead(model, 2);
    const lst = LstAdapter.create(model, { reduction_factor: 2, init: 'random', side_layers: [0] }, { seed: 9 });
    const batch = tokenBatch(2, 6, 40);
    await withTempDir(async (dir) => {
      const out = nodePath.join(dir, 'lst');
      await lst.save(out, { baseModelNameOrPath: 'tiny-bert' });
      const config = JSON.parse(await readFile(nodePath.join(out, 'adapter_config.json'), 'utf8'));
      expect(config).toMatchObject({ peft_type: 'LST', reduction_factor: 2, side_layers: [0], base_model_type: 'bert', base_hidden_size: 16, side_hidden_size: 8, init: 'random', modules_to_save: ['classifier'] });
      const again = await LstAdapter.load(out, model);
      const [a, b] = [lst.logits(batch, head), again.logits(batch, head)];
      expect(maxAbsDiff(a, b)).toBe(0);
      tf.dispose([a, b]);
      again.dispose();
      const other = tinyModel('bert', { hidden: 32, heads: 2 });
      const err = await rejection(LstAdapter.load(out, other));
      expect(err.code).toBe('INVALID_ARGUMENT');
      expect(err.message).toMatch(/base_hidden_size/);
      other.dispose();
    });
    dispose(batch);
    lst.dispose();
  });

  it('frees everything it allocates', async () => {
    const model = models.get('gpt2') as Model;
    await assertNoLeaks(() => {
      for (const init of ['random', 'magnitude'] as const) LstAdapter.create(model, { reduction_factor: 2, init }).dispose();
    });
  });

  it('rejects bad configs before allocating anything', () => {
    const model = models.get('bert') as Model;
    const n = tf.memory().numTensors;
    expect(thrown(() => LstAdapter.create(model, { reduction_factor: 0 })).code).toBe('INVALID_ARGUMENT');
    expect(thrown(() => LstAdapter.create(model, { reduction_factor: 3, init: 'random' })).message).toMatch(/not divisible by 3/);
    expect(thrown(() => LstAdapter.create(model, { side_layers: [5], init: 'random' })).message).toMatch(/side_layers\[0\]/);
    expect(thrown(() => LstAdapter.create(model, { init: 'random', modules_to_save: ['nope'] })).message).toMatch(/nope/);
    expect(thrown(() => LstAdapter.create(model, { rank: 4 } as never)).message).toMatch(/rank/);
    expect(tf.memory().numTensors).toBe(n);
  });
});
