import { type Model, loadModel } from '@patchwork/models';
import * as nodePath from 'node:path';
import { TARGETING_DEFAULTS, type TargetingConfig } from '../config/common';
import { PEER_MODELS, thrown } from '../testing/fixtures';
import { ModuleCatalog } from './module-catalog';
import { patternKeyFor } from './patterns';
import { LORA_DEFAULT_TARGETS, resolveTargets } from './resolve-targets';
import { resolveSavedParams } from './saved-params';

const models = new Map<string, Model>();
beforeAll(async () => {
  for (const name of ['gpt2', 'bert', 'roberta', 'vit', 'llama']) models.set(name, await loadModel(nodePath.join(PEER_MODELS, name)));
});
afterAll(() => {
  for (const m of models.values()) m.dispose();
});

function targets(name: string, config: Partial<TargetingConfig>): string[] {
  const catalog = new ModuleCatalog(models.get(name) as Model);
  return resolveTargets(catalog, { ...TARGETING_DEFAULTS, ...config }, LORA_DEFAULT_TARGETS).modules.map((s) => s.module);
}

describe('resolveTargets', () => {
  it('matches list entries as exact names or dot suffixes, never as substrings', () => {
    expect(targets('gpt2', { target_modules: ['c_attn'] })).toEqual(['transformer.h.0.attn.c_attn', 'transformer.h.1.attn.c_attn']);
    expect(targets('gpt2', { target_modules: ['mlp.c_proj'] })).toEqual(['transformer.h.0.mlp.c_proj', 'transformer.h.1.mlp.c_proj']);
    expect(targets('gpt2', { target_modules: ['transformer.h.1.attn.c_proj'] })).toEqual(['transformer.h.1.attn.c_proj']);
    expect(thrown(() => targets('gpt2', { target_modules: ['attn'] })).message).toContain('"attn" matches no linear module');
  });

  it('treats a string as a regex over the whole name', () => {
    expect(targets('llama', { target_modules: '.*\\.1\\..*(q|v)_proj' })).toEqual(['model.layers.1.self_attn.q_proj', 'model.layers.1.self_attn.v_proj']);
    expect(thrown(() => targets('llama', { target_modules: 'q_proj' })).code).toBe('INVALID_ARGUMENT');
    expect(thrown(() => targets('llama', { target_modules: '(' })).message).toContain('not a valid regular expression');
  });

  it('all-linear takes every Linear/Conv1D but the output head and the ViT patch convolution', () => {
    expect(targets('gpt2', { target_modules: 'all-linear' })).toHaveLength(8);
    expect(targets('llama', { target_modules: 'all-linear' })).not.toContain('lm_head');
    expect(targets('bert', { target_modules: 'all-linear' })).toEqual(expect.arrayContaining(['bert.pooler.dense']));
    expect(targets('bert', { target_modules: 'all-linear' })).not.toContain('classifier');
    expect(targets('roberta', { target_modules: 'all-linear' })).not.toContain('classifier.out_proj');
    const vit = targets('vit', { target_modules: 'all-linear' });
    expect(vit).toHaveLength(12);
    expect(vit).not.toContain('classifier');
    expect(vit).not.toContain('vit.embeddings.patch_embeddings.projection');
  });

  it('matches either spelling of a ViT module', () => {
    const classic = targets('vit', { target_modules: ['query', 'value'] });
    expect(targets('vit', { target_modules: ['q_proj', 'v_proj'] })).toEqual(classic);
    expect(classic[0]).toBe('vit.encoder.layer.0.attention.attention.query');
  });

  it('applies defaults, exclusions, modules_to_save and layers_to_transform', () => {
    expect(targets('bert', {})).toHaveLength(4);
    expect(thrown(() => targets('vit', {})).message).toContain('target_modules: is required for model type vit');
    expect(targets('llama', { target_modules: ['q_proj', 'v_proj'], exclude_modules: ['v_proj'] })).toEqual(['model.layers.0.self_attn.q_proj', 'model.layers.1.self_attn.q_proj']);
    expect(targets('roberta', { target_modules: ['dense'], modules_to_save: ['classifier'] })).not.toContain('classifier.dense');
    expect(targets('llama', { target_modules: ['q_proj'], layers_to_transform: [1] })).toEqual(['model.layers.1.self_attn.q_proj']);
    expect(targets('llama', { target_modules: ['q_proj'], layers_to_transform: 0, layers_pattern: 'layers' })).toEqual(['model.layers.0.self_attn.q_proj']);
    expect(thrown(() => targets('llama', { target_modules: ['q_proj'], exclude_modules: ['q_proj'] })).message).toContain('nothing to adapt');
  });
});

describe('patternKeyFor (rank_pattern / alpha_pattern keys)', () => {
  it('takes the first key matching the end of the name at a dot boundary', () => {
    const name = ['model.layers.1.self_attn.q_proj'];
    expect(patternKeyFor(['k_proj', 'q_proj'], name, 'f')).toBe('q_proj');
    expect(patternKeyFor(['proj'], name, 'f')).toBeUndefined();
    expect(patternKeyFor(['layers.1.self_attn.q_proj', 'q_proj'], name, 'f')).toBe('layers.1.self_attn.q_proj');
    expect(patternKeyFor(['^model.layers.0.*'], name, 'f')).toBeUndefined();
    expect(patternKeyFor(['layers\\.\\d\\.self_attn\\.q_proj'], name, 'f')).toBe('layers\\.\\d\\.self_attn\\.q_proj');
  });
});

describe('resolveSavedParams', () => {
  it('collects modules_to_save parameters (outermost match) and the biases bias= selects', () => {
    const roberta = new ModuleCatalog(models.get('roberta') as Model);
    const q = roberta.linears.filter((s) => s.module.endsWith('query'));
    expect(resolveSavedParams(roberta, { ...TARGETING_DEFAULTS, modules_to_save: ['classifier'] }, q)).toEqual([
      'classifier.dense.weight',
      'classifier.dense.bias',
      'classifier.out_proj.weight',
      'classifier.out_proj.bias',
    ]);
    expect(resolveSavedParams(roberta, { ...TARGETING_DEFAULTS, bias: 'lora_only' }, q)).toEqual(['roberta.encoder.layer.0.attention.self.query.bias', 'roberta.encoder.layer.1.attention.self.query.bias']);
    const all = resolveSavedParams(roberta, { ...TARGETING_DEFAULTS, bias: 'all' }, q);
    expect(all).toContain('roberta.embeddings.LayerNorm.bias');
    expect(all.every((k) => k.endsWith('.bias'))).toBe(true);
    expect(thrown(() => resolveSavedParams(roberta, { ...TARGETING_DEFAULTS, modules_to_save: ['score'] }, q)).message).toContain('"score" matches no module');
  });
});
