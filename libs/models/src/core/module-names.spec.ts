import { VIT_MODULE_ALIASES } from '../architectures/vit';
import { ModuleNames } from './module-names';

describe('ModuleNames', () => {
  const names = new ModuleNames(VIT_MODULE_ALIASES);

  it('maps transformers-5 ViT module paths and keys below them to the classic spelling', () => {
    expect(names.canonical('vit.layers.11.attention.q_proj')).toBe('vit.encoder.layer.11.attention.attention.query');
    expect(names.canonical('vit.layers.3.attention.o_proj.bias')).toBe('vit.encoder.layer.3.attention.output.dense.bias');
    expect(names.canonical('vit.layers.0.mlp.fc1.lora_A.weight')).toBe('vit.encoder.layer.0.intermediate.dense.lora_A.weight');
    expect(names.canonical('vit.layers.2.layernorm_after.weight')).toBe('vit.encoder.layer.2.layernorm_after.weight');
  });

  it('leaves canonical names, unrelated names and partial segment matches alone', () => {
    for (const name of ['vit.encoder.layer.0.attention.attention.query', 'classifier.weight', 'vit.layers.0.attention.q_proj2', 'vit.layers.x.mlp.fc1']) {
      expect(names.canonical(name)).toBe(name);
    }
  });

  it('lists every stored spelling, canonical first, and round-trips', () => {
    const key = 'vit.encoder.layer.4.output.dense.weight';
    const spellings = names.spellings(key);
    expect(spellings).toEqual([key, 'vit.layers.4.mlp.fc2.weight']);
    for (const s of spellings) expect(names.canonical(s)).toBe(key);
    expect(names.spellings('vit.layernorm.weight')).toEqual(['vit.layernorm.weight']);
  });
});
