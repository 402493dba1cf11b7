import { ArtifactKind, type ArtifactRecord } from '@patchwork/contracts';
import type { Runtime } from '@patchwork/platform';
import type { AdapterRecord } from '@patchwork/retrieve';
import { isMosRouter } from './mos-registry';

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

/** The registry's adapter artifacts, listed once per request. */
export function adapterArtifacts(runtime: Runtime): Promise<ArtifactRecord[]> {
  return runtime.artifacts.list({ kind: ArtifactKind.ARTIFACT_KIND_ADAPTER });
}

/**
 * The adapters a prediction can run through, as search records. Adapters registered without a
 * base model cannot be matched to any base, so they are left out rather than failing every
 * search; MOS routers are left out because they choose adapters rather than being one.
 */
export function servableRecords(artifacts: readonly ArtifactRecord[]): AdapterRecord[] {
  return artifacts.filter((a) => a.baseModelDigest !== '' && !isMosRouter(a)).map(adapterRecordOf);
}

/** `servableRecords` of the whole registry. */
export async function adapterRecords(runtime: Runtime): Promise<AdapterRecord[]> {
  return servableRecords(await adapterArtifacts(runtime));
}
