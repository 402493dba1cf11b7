export { ArtifactRegistry, manifestBytes, sha256File } from './artifact-registry';
export type { ArtifactFilter, ArtifactOptions } from './artifact-registry';
export { resolveInside, validateBundlePath, validateDigest } from './bundle-paths';
