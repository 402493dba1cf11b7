import { loadModel } from '@patchwork/models';
import { initBackend } from '@patchwork/tensor';
import { peerModelDir } from '../testing/fixtures';
import { defaultContextLength, flopsPerToken } from './flops';

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

describe('flopsPerToken', () => {
  it('counts 2·in·out per dense linear, 2·r·(in + out) per factored one, and 4·L·T·d for attention', async () => {
    const model = await loadModel(peerModelDir('gpt2'));
    const shape = { numLayers: model.numLayers, hiddenSize: model.hiddenSize };
    // GPT-2 fixture, d = 32, 2 layers, vocab 100: per layer c_attn 32x96, c_proj 32x32, c_fc 32x128, mlp.c_proj 128x32; tied head 32x100.
    const perLayer = 2 * (32 * 96 + 32 * 32 + 32 * 128 + 128 * 32);
    const dense = flopsPerToken(model.linears, new Map(), shape, 64);
    expect(dense.linear).toBe(2 * perLayer + 2 * 32 * 100);
    expect(dense.attention).toBe(4 * 2 * 64 * 32);
    expect(dense.total).toBe(dense.linear + dense.attention);
    const ranks = new Map([['transformer.h.0.mlp.c_fc', 12]]);
    const factored = flopsPerToken(model.linears, ranks, shape, 64);
    expect(dense.linear - factored.linear).toBe(2 * 32 * 128 - 2 * 12 * (32 + 128));
    expect(() => flopsPerToken(model.linears, ranks, shape, 0)).toThrow(/contextLength/);
    model.dispose();
  });

  it('takes the context from the config, as the model is built for it', () => {
    expect(defaultContextLength({ n_positions: 64 }, 'gpt2')).toBe(64);
    expect(defaultContextLength({}, 'gpt2')).toBe(1024);
    expect(defaultContextLength({ max_position_embeddings: 70, pad_token_id: 1 }, 'roberta')).toBe(68);
    expect(defaultContextLength({ image_size: 16, patch_size: 4 }, 'vit')).toBe(17);
    expect(defaultContextLength({ max_position_embeddings: 64 }, 'llama')).toBe(64);
  });
});
