import { PatchworkError } from '@patchwork/errors';
import { isObject } from './strategic-merge';

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [key: string]: unknown;
}

/** A Kubernetes object as plain data: the type meta and metadata every object has, and the rest. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

export function asK8sObject(value: unknown, source: string): K8sObject {
  if (!isObject(value)) throw new PatchworkError('INVALID_ARGUMENT', `${source}: a resource must be a mapping`);
  const { apiVersion, kind, metadata } = value as Partial<K8sObject>;
  if (typeof apiVersion !== 'string' || apiVersion === '') throw new PatchworkError('INVALID_ARGUMENT', `${source}: apiVersion is missing`);
  if (typeof kind !== 'string' || kind === '') throw new PatchworkError('INVALID_ARGUMENT', `${source}: kind is missing`);
  if (!isObject(metadata) || typeof metadata['name'] !== 'string' || metadata['name'] === '') {
    throw new PatchworkError('INVALID_ARGUMENT', `${source}: ${kind} has no metadata.name`);
  }
  return value as unknown as K8sObject;
}

/** kind/namespace/name: what kustomize calls a resource id (unique within one build). */
export function objectId(object: K8sObject): string {
  return `${object.kind}/${object.metadata.namespace ?? '~'}/${object.metadata.name}`;
}

/** Equality-based label selectors (`a=b,c=d`), the form kustomize patch targets use. */
export function matchesLabelSelector(labels: Record<string, string> | undefined, selector: string): boolean {
  return selector
    .split(',')
    .map((term) => term.trim())
    .filter(Boolean)
    .every((term) => {
      const match = /^([^=!\s]+)\s*==?\s*(\S*)$/.exec(term);
      if (!match) throw new PatchworkError('INVALID_ARGUMENT', `label selector term ${JSON.stringify(term)} is not of the form key=value`);
      return labels?.[match[1]] === match[2];
    });
}
