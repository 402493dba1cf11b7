import { ArtifactKind, type ArtifactRecord } from '@patchwork/contracts';
import type { Runtime } from '@patchwork/platform';
import type { AdapterRecord } from '@patchwork/retrieve';

/** Labels become tags: `key` for a flag label (empty value), `key=value` otherwise. */
export function tagsOf(labels: Readonly<Record<string, string>>): string[] {
  return Object.entries(labels).map(([k, v]) => (v === '' ? k : `${k}=${v}`));
}

export function adapterRecordOf(artifact: ArtifactRecord): AdapterRecord {
  return {
    digest: artifact.digest,
    baseModelDigest: artifact.baseModelDigest,
    tags: tagsOf(artifact.labels),
    evaluations: artifact.evaluations.map((e) => ({ name: e.name, metrics: e.metrics })),
  };
}

/**
 * The registry's adapters as search records. Adapters registered without a base model cannot be
 * matched to any base, so they are left out rather than failing every search.
 */
export async function adapterRecords(runtime: Runtime): Promise<AdapterRecord[]> {
  const artifacts = await runtime.artifacts.list({ kind: ArtifactKind.ARTIFACT_KIND_ADAPTER });
  return artifacts.filter((a) => a.baseModelDigest !== '').map(adapterRecordOf);
}
