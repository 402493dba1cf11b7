import { assertNoLeaks, describeEachBackend, tf } from '@patchwork/tensor';
import fc from 'fast-check';
import { AdamW, defaultDecayFilter } from './adamw';

/** torch.optim.AdamW on one scalar, in float64, as the reference. */
function referenceAdamW(p0: number, grads: number[], lrs: number[], o: { b1: number; b2: number; eps: number; wd: number }): number {
  let p = p0;
  let m = 0;
  let v = 0;
  grads.forEach((g, i) => {
    const t = i + 1;
    p *= 1 - lrs[i] * o.wd;
    m = m + (1 - o.b1) * (g - m);
    v = o.b2 * v + (1 - o.b2) * g * g;
    p -= (lrs[i] / (1 - o.b1 ** t)) * (m / (Math.sqrt(v) / Math.sqrt(1 - o.b2 ** t) + o.eps));
  });
  return p;
}

describe('defaultDecayFilter', () => {
  it('excludes biases and normalisation weights like transformers Trainer', () => {
    for (const name of ['transformer.h.0.attn.c_attn.weight', 'transformer.wte.weight', 'vit.embeddings.cls_token', 'classifier.weight']) expect(defaultDecayFilter(name)).toBe(true);
    for (const name of [
      'transformer.h.0.attn.c_attn.bias',
      'transformer.h.0.ln_1.weight',
      'transformer.ln_f.weight',
      'bert.embeddings.LayerNorm.weight',
      'vit.encoder.layer.0.layernorm_before.weight',
      'vit.layernorm.weight',
      'cls.predictions.bias',
      'model.layers.0.input_layernorm.weight',
      'model.norm.weight',
    ]) {
      expect(defaultDecayFilter(name)).toBe(false);
    }
  });
});

describeEachBackend('AdamW', () => {
  it('matches hand-computed values after one step (decoupled decay, bias correction)', () => {
    const w = tf.variable(tf.tensor1d([1, -2, 0.5]));
    const b = tf.variable(tf.tensor1d([0.3]));
    const opt = new AdamW(
      new Map([
        ['layer.weight', w],
        ['layer.bias', b],
      ]),
      { lr: 0.01, weightDecay: 0.1 },
    );
    const gw = tf.tensor1d([0.1, -0.3, 2]);
    const gb = tf.tensor1d([-0.5]);
    opt.apply(
      new Map([
        ['layer.weight', gw],
        ['layer.bias', gb],
      ]),
      0.01,
    );
    // Step 1: m̂ = g and v̂ = g², so p ← p·(1 − 0.01·0.1) − 0.01·g/(|g| + 1e-8).
    const expected = [1 * 0.999 - (0.01 * 0.1) / (0.1 + 1e-8), -2 * 0.999 + (0.01 * 0.3) / (0.3 + 1e-8), 0.5 * 0.999 - (0.01 * 2) / (2 + 1e-8)];
    expect(expected[0]).toBeCloseTo(0.989000001, 12);
    const got = w.dataSync();
    expected.forEach((e, i) => expect(got[i]).toBeCloseTo(e, 6));
    // The bias does not decay: 0.3 + 0.01.
    expect(b.dataSync()[0]).toBeCloseTo(0.31, 6);
    expect(opt.state.steps.get('layer.weight')).toBe(1);
    tf.dispose([gw, gb, w, b]);
    opt.dispose();
  });

  it('follows the float64 reference over several steps with changing rates', () => {
    fc.assert(
      fc.property(
        fc.double({ min: -3, max: 3, noNaN: true }),
        fc.array(fc.double({ min: -5, max: 5, noNaN: true }), { minLength: 1, maxLength: 6 }),
        fc.double({ min: 0, max: 0.2, noNaN: true }),
        (p0, grads, wd) => {
          const lrs = grads.map((_, i) => 0.05 / (i + 1));
          const p = tf.variable(tf.tensor1d([p0]));
          const opt = new AdamW(new Map([['w', p]]), { lr: 0.05, weightDecay: wd, beta1: 0.8, beta2: 0.99, eps: 1e-6 });
          grads.forEach((g, i) => {
            const gt = tf.tensor1d([g]);
            opt.apply(new Map([['w', gt]]), lrs[i]);
            gt.dispose();
          });
          const want = referenceAdamW(p0, grads, lrs, { b1: 0.8, b2: 0.99, eps: 1e-6, wd });
          expect(Math.abs(p.dataSync()[0] - want)).toBeLessThan(1e-5 * (1 + Math.abs(want)));
          p.dispose();
          opt.dispose();
        },
      ),
      { numRuns: 25 },
    );
  });

  it('leaves parameters without a gradient untouched and continues exactly from a loaded state', () => {
    const a = tf.variable(tf.tensor1d([1, 2]));
    const b = tf.variable(tf.tensor1d([3]));
    const opt = new AdamW(
      new Map([
        ['a', a],
        ['b', b],
      ]),
      { lr: 0.1, weightDecay: 0.5, decay: () => true },
    );
    const g1 = tf.tensor1d([0.5, -1]);
    opt.apply(new Map([['a', g1]]), 0.1);
    expect(Array.from(b.dataSync())).toEqual([3]);
    expect(opt.state.steps.has('b')).toBe(false);

    const twinA = tf.variable(a.clone());
    const twin = new AdamW(new Map([['a', twinA]]), { lr: 0.1, weightDecay: 0.5, decay: () => true });
    twin.loadState(opt.state);
    const g2 = tf.tensor1d([0.2, 0.3]);
    opt.apply(new Map([['a', g2]]), 0.05);
    twin.apply(new Map([['a', g2]]), 0.05);
    expect(Array.from(twinA.dataSync())).toEqual(Array.from(a.dataSync()));
    tf.dispose([a, b, twinA, g1, g2]);
    opt.dispose();
    twin.dispose();
  });

  it('does not leak tensors per step', async () => {
    const p = tf.variable(tf.randomNormal([4, 3], 0, 1, 'float32', 1));
    const opt = new AdamW(new Map([['p', p]]), { lr: 0.01 });
    const g = tf.onesLike(p);
    opt.apply(new Map([['p', g]]), 0.01);
    await assertNoLeaks(() => {
      for (let i = 0; i < 3; i++) opt.apply(new Map([['p', g]]), 0.01);
    });
    tf.dispose([p, g]);
    opt.dispose();
  });

  it('rejects bad options, unknown gradients and mismatched shapes', () => {
    const p = tf.variable(tf.zeros([2]));
    expect(() => new AdamW(new Map([['p', p]]), { lr: -1, beta1: 1, eps: 0 })).toThrow(/optimizer.lr.*optimizer.beta1.*optimizer.eps/);
    const opt = new AdamW(new Map([['p', p]]), { lr: 0.1 });
    const g = tf.zeros([3]);
    expect(() => opt.apply(new Map([['q', g]]), 0.1)).toThrow(/not a parameter/);
    expect(() => opt.apply(new Map([['p', g]]), 0.1)).toThrow(/shape \[3\]/);
    tf.dispose([p, g]);
  });
});
