import { PatchworkError } from '@patchwork/errors';
import type { K8sObject } from '../kustomize/k8s-object';
import { renderKustomization } from '../kustomize/render';
import { isObject } from '../kustomize/strategic-merge';
import { resolveContainerConfig, type ResolvedContainerConfig } from '../platform/container-config';
import { overlayDir, type Overlay } from '../repo-paths';

const cache = new Map<Overlay, K8sObject[]>();

/** The objects `kubectl apply -k deploy/k8s/overlays/<overlay>` would create (rendered once per run). */
export function renderOverlay(overlay: Overlay): K8sObject[] {
  let objects = cache.get(overlay);
  if (!objects) cache.set(overlay, (objects = renderKustomization(overlayDir(overlay))));
  return objects;
}

export const ofKind = (objects: K8sObject[], kind: string) => objects.filter((o) => o.kind === kind);

export function named(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new PatchworkError('NOT_FOUND', `no ${kind} named ${name} in the rendered manifests`);
  return found;
}

/** The labels a Deployment stamps on its pods. */
export function templateLabels(workload: K8sObject): Record<string, string> {
  return ((workload['spec'] as { template?: { metadata?: { labels?: Record<string, string> } } })?.template?.metadata?.labels ?? {}) as Record<string, string>;
}

export function templateAnnotations(workload: K8sObject): Record<string, string> {
  return ((workload['spec'] as { template?: { metadata?: { annotations?: Record<string, string> } } })?.template?.metadata?.annotations ?? {}) as Record<string, string>;
}

/** Whether `selector` (a Service's map, or a matchLabels) selects pods carrying `labels`. */
export function selectsLabels(selector: unknown, labels: Record<string, string>): boolean {
  if (!isObject(selector) || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([key, value]) => labels[key] === value);
}

/** Every Patchwork container's configuration in an overlay, keyed by Deployment name. */
export function containerConfigs(objects: K8sObject[]): Map<string, ResolvedContainerConfig> {
  return new Map(ofKind(objects, 'Deployment').map((d) => [d.metadata.name, resolveContainerConfig(objects, d)]));
}
