// The curated public surface of @patchwork/backbones.
export { BACKBONE_NAMES, RECIPES, RECIPE_VERSION, isBackboneName, recipeFor } from './recipes/recipes';
export type { BackboneName, CorpusRef, Recipe, TextRecipe, TrainingRecipe, VitRecipe } from './recipes/recipes';
export { DEFAULT_SEED, buildBackbone } from './build/build-backbone';
export type { BuildBackboneOptions, BuiltBackbone } from './build/build-backbone';
export { cachedBackbone } from './build/cache';
export type { CachedBackbone, CachedBackboneOptions } from './build/cache';
export { MANIFEST_FILE, readManifest, recipeHash } from './build/manifest';
export type { BackboneManifest } from './build/manifest';
export type { BackboneMetrics, BuildPhase, BuildProgress, HeldOutScore } from './build/context';

// The MLM head libs/models lacks, for methods that fine-tune or probe bert-tiny as a masked LM.
export { BertMlm, MLM_HEAD_KEYS, mlmHeadShapes } from './heads/mlm-head';
export { DIGITS_PREPROCESSOR, digitPixelValues } from './vision/build-vit';
export { UnigramModel } from './eval/unigram';
