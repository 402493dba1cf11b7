/**
 * How a linear projection's weight is stored.
 * - `out_in`: torch `nn.Linear`, weight `[out, in]`, y = x W^T + b.
 * - `in_out`: GPT-2 `Conv1D`, weight `[in, out]`, y = x W + b. PEFT calls this `fan_in_fan_out`:
 *   an adapter's delta `B A` (shape `[out, in]`) must be transposed before it is added to the weight.
 */
export type WeightLayout = 'out_in' | 'in_out';

/**
 * What the projection is in the source framework. `conv2d-patch` is ViT's patch embedding: a
 * Conv2d whose kernel equals its stride, computed as a linear map over flattened patches. Its
 * weight keeps the checkpoint shape `[out, channels, kh, kw]`; the linear input is each patch
 * flattened in `(channel, row, column)` order, i.e. the weight viewed as `[out, channels*kh*kw]`.
 */
export type LinearKind = 'linear' | 'conv1d' | 'conv2d-patch';

/** One linear projection of an architecture, the unit that patches attach to. */
export interface LinearSpec {
  /**
   * The Hugging Face module path, exactly as `named_modules()` of the transformers class reports it
   * for the checkpoint's spelling (e.g. `transformer.h.0.attn.c_attn`). PEFT adapter keys are
   * `base_model.model.<module>.lora_A.weight`.
   */
  readonly module: string;
  /** The weights-map key holding the weight; differs from `${module}.weight` only for tied heads. */
  readonly weightKey: string;
  readonly biasKey?: string;
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly layout: WeightLayout;
  readonly kind: LinearKind;
  /** Whether `weightKey` is shared with an embedding (tied `lm_head`). */
  readonly tied: boolean;
}

/** True when the stored weight is `[in, out]` (PEFT's `fan_in_fan_out`). */
export function isFanInFanOut(spec: LinearSpec): boolean {
  return spec.layout === 'in_out';
}
