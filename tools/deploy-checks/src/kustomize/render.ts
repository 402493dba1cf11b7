import { existsSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { PatchworkError } from '@patchwork/errors';
import { asK8sObject, K8sObject, matchesLabelSelector, objectId } from './k8s-object';
import { isObject, strategicMerge } from './strategic-merge';
import { readYamlDocument, readYamlDocuments } from './yaml-files';

/**
 * Renders a kustomization the way `kustomize build` does, for the subset of kustomize our manifests
 * use: resources (files and directories), components, namespace, strategic-merge patches (by
 * kind+name, or applied to every object a target selects), images and replicas. Anything else in a
 * kustomization is refused with the field named, so a renderer gap can never pass silently.
 */

const FILE_NAMES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];
const FIELDS = new Set(['apiVersion', 'kind', 'resources', 'components', 'namespace', 'patches', 'images', 'replicas']);
const TARGET_FIELDS = new Set(['kind', 'name', 'namespace', 'labelSelector']);
const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'ReplicaSet', 'ReplicationController']);
const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'PersistentVolume', 'StorageClass', 'PriorityClass', 'ClusterTriggerAuthentication']);
const API_VERSIONS: Record<string, string> = { Kustomization: 'kustomize.config.k8s.io/v1beta1', Component: 'kustomize.config.k8s.io/v1alpha1' };

type Kind = 'Kustomization' | 'Component';

interface PatchTarget {
  kind?: string;
  name?: string;
  namespace?: string;
  labelSelector?: string;
}

interface Kustomization {
  file: string;
  dir: string;
  kind: Kind;
  resources: string[];
  components: string[];
  namespace?: string;
  patches: Array<{ path: string; target?: PatchTarget }>;
  images: Array<{ name: string; newName?: string; newTag?: string; digest?: string }>;
  replicas: Array<{ name: string; count: number }>;
}

function fail(file: string, message: string): never {
  throw new PatchworkError('INVALID_ARGUMENT', `${file}: ${message}`);
}

function stringList(file: string, field: string, value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && v !== '')) fail(file, `${field} must be a list of non-empty strings`);
  return value as string[];
}

function entries(file: string, field: string, value: unknown, keys: Record<string, 'string' | 'number' | 'object'>, required: string[]): Record<string, unknown>[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) fail(file, `${field} must be a list`);
  return value.map((entry, i) => {
    if (!isObject(entry)) fail(file, `${field}[${i}] must be a mapping`);
    for (const [key, v] of Object.entries(entry)) {
      const type = keys[key];
      if (!type) fail(file, `${field}[${i}].${key} is not supported by this renderer (supported: ${Object.keys(keys).join(', ')})`);
      const ok = type === 'object' ? isObject(v) : type === 'number' ? Number.isInteger(v) && (v as number) >= 0 : typeof v === 'string';
      if (!ok) fail(file, `${field}[${i}].${key} must be ${type === 'number' ? 'a non-negative integer' : `a ${type}`}`);
    }
    for (const key of required) if (entry[key] === undefined) fail(file, `${field}[${i}].${key} is required`);
    return entry;
  });
}

function readKustomization(dir: string, expected: Kind): Kustomization {
  const name = FILE_NAMES.find((n) => existsSync(path.join(dir, n)));
  if (!name) throw new PatchworkError('NOT_FOUND', `${dir}: no kustomization.yaml`);
  const file = path.join(dir, name);
  const doc = readYamlDocument(file);
  if (!isObject(doc)) fail(file, 'must be a mapping');
  for (const key of Object.keys(doc)) if (!FIELDS.has(key)) fail(file, `field ${JSON.stringify(key)} is not supported by this renderer (supported: ${[...FIELDS].join(', ')})`);
  const kind = doc['kind'] ?? 'Kustomization';
  if (kind !== expected) fail(file, `kind must be ${expected} here, got ${JSON.stringify(kind)}`);
  if (doc['apiVersion'] !== undefined && doc['apiVersion'] !== API_VERSIONS[expected]) fail(file, `apiVersion of a ${expected} is ${API_VERSIONS[expected]}`);
  if (doc['namespace'] !== undefined && (typeof doc['namespace'] !== 'string' || doc['namespace'] === '')) fail(file, 'namespace must be a non-empty string');
  const patches = entries(file, 'patches', doc['patches'], { path: 'string', target: 'object' }, ['path']).map((p, i) => {
    const target = p['target'] as Record<string, unknown> | undefined;
    for (const [key, value] of Object.entries(target ?? {})) {
      if (!TARGET_FIELDS.has(key)) fail(file, `patches[${i}].target.${key} is not supported by this renderer (supported: ${[...TARGET_FIELDS].join(', ')})`);
      if (typeof value !== 'string' || value === '') fail(file, `patches[${i}].target.${key} must be a non-empty string`);
    }
    return { path: p['path'] as string, target: target as PatchTarget | undefined };
  });
  return {
    file,
    dir,
    kind: kind as Kind,
    resources: stringList(file, 'resources', doc['resources']),
    components: stringList(file, 'components', doc['components']),
    namespace: doc['namespace'] as string | undefined,
    patches,
    images: entries(file, 'images', doc['images'], { name: 'string', newName: 'string', newTag: 'string', digest: 'string' }, ['name']) as Kustomization['images'],
    replicas: entries(file, 'replicas', doc['replicas'], { name: 'string', count: 'number' }, ['name', 'count']) as Kustomization['replicas'],
  };
}

function resolveEntry(k: Kustomization, entry: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(entry) || entry.startsWith('github.com/')) fail(k.file, `remote resource ${entry} is not supported by this renderer`);
  const resolved = path.resolve(k.dir, entry);
  if (!existsSync(resolved)) throw new PatchworkError('NOT_FOUND', `${k.file}: ${entry} does not exist`);
  return resolved;
}

function addUnique(into: K8sObject[], objects: K8sObject[], source: string): void {
  const seen = new Set(into.map(objectId));
  for (const object of objects) {
    const id = objectId(object);
    if (seen.has(id)) throw new PatchworkError('ALREADY_EXISTS', `${source}: ${id} is defined twice`);
    seen.add(id);
    into.push(object);
  }
}

function selects(target: PatchTarget, object: K8sObject): boolean {
  if (target.kind !== undefined && target.kind !== object.kind) return false;
  if (target.name !== undefined && !new RegExp(`^(?:${target.name})$`).test(object.metadata.name)) return false;
  if (target.namespace !== undefined && target.namespace !== object.metadata.namespace) return false;
  if (target.labelSelector !== undefined && !matchesLabelSelector(object.metadata.labels, target.labelSelector)) return false;
  return true;
}

function applyPatches(k: Kustomization, objects: K8sObject[]): K8sObject[] {
  let out = objects;
  for (const { path: patchPath, target } of k.patches) {
    const file = resolveEntry(k, patchPath);
    const docs = readYamlDocuments(file);
    for (const doc of docs) if (!isObject(doc)) fail(file, 'JSON6902 patches (lists of operations) are not supported by this renderer');
    if (target) {
      if (docs.length !== 1) fail(file, `a patch with a target must hold one document, found ${docs.length}`);
      // With a target, the patch's own kind and name only identify it; they are not applied.
      const { metadata, ...body } = docs[0] as Record<string, unknown>;
      const { name: _name, ...metaBody } = (metadata ?? {}) as Record<string, unknown>;
      const patch = Object.keys(metaBody).length > 0 ? { ...body, metadata: metaBody } : body;
      delete patch['apiVersion'];
      delete patch['kind'];
      let matched = 0;
      out = out.map((object) => {
        if (!selects(target, object)) return object;
        matched++;
        return strategicMerge(object, patch);
      });
      if (matched === 0) fail(k.file, `the patch ${patchPath} selects no resource (target ${JSON.stringify(target)})`);
      continue;
    }
    for (const doc of docs) {
      const patch = asK8sObject(doc, file);
      const hits = out.filter(
        (o) => o.kind === patch.kind && o.metadata.name === patch.metadata.name && (patch.metadata.namespace === undefined || patch.metadata.namespace === o.metadata.namespace),
      );
      if (hits.length !== 1) fail(file, `the patch of ${patch.kind} ${patch.metadata.name} matches ${hits.length} resources, not one`);
      out = out.map((object) => (object === hits[0] ? strategicMerge(object, patch) : object));
    }
  }
  return out;
}

/** `name[:tag][@digest]`, where a registry host may carry a port (`host:5000/app:1.0`). */
function splitImage(image: string): { name: string; suffix: string } {
  const at = image.indexOf('@');
  const withoutDigest = at >= 0 ? image.slice(0, at) : image;
  const colon = withoutDigest.lastIndexOf(':');
  const name = colon > withoutDigest.lastIndexOf('/') ? withoutDigest.slice(0, colon) : withoutDigest;
  return { name, suffix: image.slice(name.length) };
}

function applyImages(k: Kustomization, objects: K8sObject[]): K8sObject[] {
  const used = new Set<string>();
  const visit = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(visit);
    if (!isObject(value)) return value;
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      if ((key === 'containers' || key === 'initContainers') && Array.isArray(item)) {
        out[key] = item.map((c) => {
          if (!isObject(c) || typeof c['image'] !== 'string') return visit(c);
          const { name, suffix } = splitImage(c['image']);
          const rule = k.images.find((r) => r.name === name);
          if (!rule) return visit(c);
          used.add(rule.name);
          const tail = rule.digest ? `@${rule.digest}` : rule.newTag ? `:${rule.newTag}` : suffix;
          return { ...(visit(c) as object), image: `${rule.newName ?? name}${tail}` };
        });
      } else {
        out[key] = visit(item);
      }
    }
    return out;
  };
  const result = objects.map((o) => visit(o) as K8sObject);
  for (const rule of k.images) if (!used.has(rule.name)) fail(k.file, `images: no container uses the image ${rule.name}`);
  return result;
}

function applyReplicas(k: Kustomization, objects: K8sObject[]): K8sObject[] {
  let out = objects;
  for (const { name, count } of k.replicas) {
    const hits = out.filter((o) => WORKLOAD_KINDS.has(o.kind) && o.metadata.name === name);
    if (hits.length === 0) fail(k.file, `replicas: no workload is named ${name}`);
    out = out.map((o) => (hits.includes(o) ? { ...o, spec: { ...(o['spec'] as object), replicas: count } } : o));
  }
  return out;
}

function applyNamespace(k: Kustomization, objects: K8sObject[]): K8sObject[] {
  const namespace = k.namespace;
  if (namespace === undefined) return objects;
  return objects.map((o) => (CLUSTER_SCOPED.has(o.kind) ? o : { ...o, metadata: { ...o.metadata, namespace } }));
}

function build(dir: string, kind: Kind, inherited: K8sObject[], stack: string[]): K8sObject[] {
  if (stack.includes(dir)) throw new PatchworkError('INVALID_ARGUMENT', `kustomization cycle: ${[...stack, dir].join(' -> ')}`);
  const k = readKustomization(dir, kind);
  const within = [...stack, dir];
  // A component's resources join the set its parent has built so far; its transformations then
  // apply to that whole set.
  const objects = [...inherited];
  for (const entry of k.resources) {
    const resolved = resolveEntry(k, entry);
    const rendered = statSync(resolved).isDirectory()
      ? build(resolved, 'Kustomization', [], within)
      : readYamlDocuments(resolved).map((doc) => asK8sObject(doc, resolved));
    addUnique(objects, rendered, k.file);
  }
  let result = objects;
  for (const entry of k.components) {
    const resolved = resolveEntry(k, entry);
    if (!statSync(resolved).isDirectory()) fail(k.file, `component ${entry} must be a directory`);
    result = build(resolved, 'Component', result, within);
  }
  result = applyPatches(k, result);
  result = applyImages(k, result);
  result = applyReplicas(k, result);
  return applyNamespace(k, result);
}

/** Builds the kustomization in `dir` into the list of objects `kustomize build dir` would emit. */
export function renderKustomization(dir: string): K8sObject[] {
  return build(path.resolve(dir), 'Kustomization', [], []);
}
