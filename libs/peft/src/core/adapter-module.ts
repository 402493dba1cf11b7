import type { LinearSpec } from '@patchwork/models';

/** One adapted linear projection. */
export interface AdapterModule {
  /** Canonical module name (the base checkpoint's spelling). */
  readonly module: string;
  readonly spec: LinearSpec;
}

/** Which spelling module names get in saved files: the checkpoint's, or the other one (transformers 5 ViT names). */
export type KeySpelling = 'canonical' | 'alternate';

export type PeftType = 'LORA' | 'ADALORA' | 'HUT';
