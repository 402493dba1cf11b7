import type { LinearKind, LinearSpec, WeightLayout } from './linear-spec';

export interface LinearOptions {
  /** Default true. */
  bias?: boolean;
  /** Default `out_in` (torch `nn.Linear`). */
  layout?: WeightLayout;
  /** Reuse another parameter as the weight (a tied head); that parameter must be declared itself. */
  tiedTo?: string;
}

/**
 * Everything an architecture needs from a checkpoint: each parameter with its exact shape, and the
 * linear projections patches attach to. Built once per config; the loader reads exactly these keys.
 */
export class ModelLayout {
  private readonly paramShapes = new Map<string, readonly number[]>();
  private readonly linearSpecs = new Map<string, LinearSpec>();

  get params(): ReadonlyMap<string, readonly number[]> {
    return this.paramShapes;
  }

  get linears(): ReadonlyMap<string, LinearSpec> {
    return this.linearSpecs;
  }

  param(key: string, shape: readonly number[]): this {
    if (this.paramShapes.has(key)) throw new Error(`layout declares ${key} twice`);
    this.paramShapes.set(key, [...shape]);
    return this;
  }

  /** `${module}.weight` and `${module}.bias` of a layer norm over `size` features. */
  layerNorm(module: string, size: number, bias = true): this {
    this.param(`${module}.weight`, [size]);
    if (bias) this.param(`${module}.bias`, [size]);
    return this;
  }

  linear(module: string, inFeatures: number, outFeatures: number, options: LinearOptions = {}): this {
    const layout = options.layout ?? 'out_in';
    const weightKey = options.tiedTo ?? `${module}.weight`;
    const bias = options.bias ?? true;
    if (options.tiedTo === undefined) this.param(weightKey, layout === 'in_out' ? [inFeatures, outFeatures] : [outFeatures, inFeatures]);
    if (bias) this.param(`${module}.bias`, [outFeatures]);
    const kind: LinearKind = layout === 'in_out' ? 'conv1d' : 'linear';
    return this.addSpec({
      module,
      weightKey,
      biasKey: bias ? `${module}.bias` : undefined,
      inFeatures,
      outFeatures,
      layout,
      kind,
      tied: options.tiedTo !== undefined,
    });
  }

  /** A Conv2d with kernel == stride, run as a linear map over flattened `(channel, row, col)` patches. */
  patchConv(module: string, channels: number, patch: number, outFeatures: number): this {
    this.param(`${module}.weight`, [outFeatures, channels, patch, patch]);
    this.param(`${module}.bias`, [outFeatures]);
    return this.addSpec({
      module,
      weightKey: `${module}.weight`,
      biasKey: `${module}.bias`,
      inFeatures: channels * patch * patch,
      outFeatures,
      layout: 'out_in',
      kind: 'conv2d-patch',
      tied: false,
    });
  }

  private addSpec(spec: LinearSpec): this {
    if (this.linearSpecs.has(spec.module)) throw new Error(`layout declares linear ${spec.module} twice`);
    this.linearSpecs.set(spec.module, spec);
    return this;
  }
}
