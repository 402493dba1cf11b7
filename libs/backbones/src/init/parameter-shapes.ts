/**
 * Parameter shapes of the configurations this library pre-trains, keyed like the checkpoints of
 * transformers. libs/models validates every key and shape again when the model is created, so a
 * drift between these tables and the architectures there fails loudly, not silently.
 */
export type ShapeTable = Map<string, number[]>;

export interface Gpt2Dims {
  readonly vocabSize: number;
  readonly positions: number;
  readonly hidden: number;
  readonly layers: number;
  readonly inner: number;
}

export function gpt2Shapes(d: Gpt2Dims): ShapeTable {
  const s: ShapeTable = new Map([
    ['transformer.wte.weight', [d.vocabSize, d.hidden]],
    ['transformer.wpe.weight', [d.positions, d.hidden]],
  ]);
  for (let i = 0; i < d.layers; i++) {
    const p = `transformer.h.${i}`;
    s.set(`${p}.ln_1.weight`, [d.hidden]).set(`${p}.ln_1.bias`, [d.hidden]);
    s.set(`${p}.attn.c_attn.weight`, [d.hidden, 3 * d.hidden]).set(`${p}.attn.c_attn.bias`, [3 * d.hidden]);
    s.set(`${p}.attn.c_proj.weight`, [d.hidden, d.hidden]).set(`${p}.attn.c_proj.bias`, [d.hidden]);
    s.set(`${p}.ln_2.weight`, [d.hidden]).set(`${p}.ln_2.bias`, [d.hidden]);
    s.set(`${p}.mlp.c_fc.weight`, [d.hidden, d.inner]).set(`${p}.mlp.c_fc.bias`, [d.inner]);
    s.set(`${p}.mlp.c_proj.weight`, [d.inner, d.hidden]).set(`${p}.mlp.c_proj.bias`, [d.hidden]);
  }
  s.set('transformer.ln_f.weight', [d.hidden]).set('transformer.ln_f.bias', [d.hidden]);
  return s;
}

export interface BertDims {
  readonly vocabSize: number;
  readonly positions: number;
  readonly typeVocabSize: number;
  readonly hidden: number;
  readonly layers: number;
  readonly intermediate: number;
  readonly numLabels: number;
}

/** BertForSequenceClassification (what libs/models loads): encoder, pooler and classifier. */
export function bertShapes(d: BertDims): ShapeTable {
  const h = d.hidden;
  const s: ShapeTable = new Map([
    ['bert.embeddings.word_embeddings.weight', [d.vocabSize, h]],
    ['bert.embeddings.position_embeddings.weight', [d.positions, h]],
    ['bert.embeddings.token_type_embeddings.weight', [d.typeVocabSize, h]],
    ['bert.embeddings.LayerNorm.weight', [h]],
    ['bert.embeddings.LayerNorm.bias', [h]],
  ]);
  for (let i = 0; i < d.layers; i++) {
    const p = `bert.encoder.layer.${i}`;
    for (const m of ['query', 'key', 'value']) s.set(`${p}.attention.self.${m}.weight`, [h, h]).set(`${p}.attention.self.${m}.bias`, [h]);
    s.set(`${p}.attention.output.dense.weight`, [h, h]).set(`${p}.attention.output.dense.bias`, [h]);
    s.set(`${p}.attention.output.LayerNorm.weight`, [h]).set(`${p}.attention.output.LayerNorm.bias`, [h]);
    s.set(`${p}.intermediate.dense.weight`, [d.intermediate, h]).set(`${p}.intermediate.dense.bias`, [d.intermediate]);
    s.set(`${p}.output.dense.weight`, [h, d.intermediate]).set(`${p}.output.dense.bias`, [h]);
    s.set(`${p}.output.LayerNorm.weight`, [h]).set(`${p}.output.LayerNorm.bias`, [h]);
  }
  s.set('bert.pooler.dense.weight', [h, h]).set('bert.pooler.dense.bias', [h]);
  s.set('classifier.weight', [d.numLabels, h]).set('classifier.bias', [d.numLabels]);
  return s;
}

export interface VitDims {
  readonly hidden: number;
  readonly layers: number;
  readonly intermediate: number;
  readonly imageSize: number;
  readonly patchSize: number;
  readonly channels: number;
  readonly numLabels: number;
}

export function vitShapes(d: VitDims): ShapeTable {
  const h = d.hidden;
  const patches = (d.imageSize / d.patchSize) ** 2;
  const s: ShapeTable = new Map([
    ['vit.embeddings.cls_token', [1, 1, h]],
    ['vit.embeddings.position_embeddings', [1, patches + 1, h]],
    ['vit.embeddings.patch_embeddings.projection.weight', [h, d.channels, d.patchSize, d.patchSize]],
    ['vit.embeddings.patch_embeddings.projection.bias', [h]],
  ]);
  for (let i = 0; i < d.layers; i++) {
    const p = `vit.encoder.layer.${i}`;
    s.set(`${p}.layernorm_before.weight`, [h]).set(`${p}.layernorm_before.bias`, [h]);
    for (const m of ['query', 'key', 'value']) s.set(`${p}.attention.attention.${m}.weight`, [h, h]).set(`${p}.attention.attention.${m}.bias`, [h]);
    s.set(`${p}.attention.output.dense.weight`, [h, h]).set(`${p}.attention.output.dense.bias`, [h]);
    s.set(`${p}.layernorm_after.weight`, [h]).set(`${p}.layernorm_after.bias`, [h]);
    s.set(`${p}.intermediate.dense.weight`, [d.intermediate, h]).set(`${p}.intermediate.dense.bias`, [d.intermediate]);
    s.set(`${p}.output.dense.weight`, [h, d.intermediate]).set(`${p}.output.dense.bias`, [h]);
  }
  s.set('vit.layernorm.weight', [h]).set('vit.layernorm.bias', [h]);
  s.set('classifier.weight', [d.numLabels, h]).set('classifier.bias', [d.numLabels]);
  return s;
}
