import { PatchworkError } from '@patchwork/errors';

/**
 * The part of Kubernetes strategic-merge-patch semantics our overlays use, as kustomize applies it:
 * maps merge recursively, `null` deletes a key, lists with a merge key (containers by name, volume
 * mounts by mountPath, ...) merge item by item, every other list is replaced. Patch directives
 * (`$patch`, `$setElementOrder/...`, `$retainKeys`) are refused rather than misread.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** Merge keys of the core lists we patch (the `patchMergeKey` of the Kubernetes API types). */
const MERGE_KEYS: Record<string, (items: JsonObject[]) => string> = {
  containers: () => 'name',
  initContainers: () => 'name',
  ephemeralContainers: () => 'name',
  env: () => 'name',
  volumes: () => 'name',
  imagePullSecrets: () => 'name',
  volumeMounts: () => 'mountPath',
  volumeDevices: () => 'devicePath',
  topologySpreadConstraints: () => 'topologyKey',
  // Container ports merge on containerPort, Service ports on port.
  ports: (items) => (items.some((item) => 'containerPort' in item) ? 'containerPort' : 'port'),
};

export const isObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value);

function where(path: string[]): string {
  return path.length === 0 ? '<root>' : path.join('.');
}

function refuseDirectives(patch: JsonObject, path: string[]): void {
  for (const key of Object.keys(patch)) {
    if (key.startsWith('$')) {
      throw new PatchworkError('INVALID_ARGUMENT', `patch directive ${JSON.stringify(key)} at ${where(path)} is not supported by this renderer; express the change without it`);
    }
  }
}

/** A patch value placed where the target has nothing: its `null`s mean "absent". */
function withoutNulls(value: Json, path: string[]): Json {
  if (Array.isArray(value)) return value.map((item, i) => withoutNulls(item, [...path, String(i)]));
  if (!isObject(value)) return value;
  refuseDirectives(value, path);
  const out: JsonObject = {};
  for (const [key, item] of Object.entries(value)) if (item !== null) out[key] = withoutNulls(item, [...path, key]);
  return out;
}

function mergeList(field: string, target: Json[], patch: Json[], path: string[]): Json[] {
  const keyOf = MERGE_KEYS[field];
  if (!keyOf || !patch.every(isObject) || !target.every(isObject)) return withoutNulls(patch, path) as Json[];
  const key = keyOf([...(patch as JsonObject[]), ...(target as JsonObject[])]);
  const idOf = (item: JsonObject, at: string[]) => {
    const id = item[key];
    if (id === undefined || id === null) throw new PatchworkError('INVALID_ARGUMENT', `${where(at)}: list item lacks its merge key ${JSON.stringify(key)}`);
    return JSON.stringify(id);
  };
  const originals = new Map((target as JsonObject[]).map((item, i) => [idOf(item, [...path, String(i)]), item]));
  const patched = new Set<string>();
  // kustomize puts the patch's items first (in patch order), then the untouched originals.
  const merged: Json[] = (patch as JsonObject[]).map((item, i) => {
    const at = [...path, String(i)];
    const id = idOf(item, at);
    if (patched.has(id)) throw new PatchworkError('INVALID_ARGUMENT', `${where(at)}: ${key} ${id} appears twice in the patch`);
    patched.add(id);
    const original = originals.get(id);
    return original ? mergeValue(original, item, at) : withoutNulls(item, at);
  });
  for (const [id, item] of originals) if (!patched.has(id)) merged.push(item);
  return merged;
}

function mergeValue(target: Json | undefined, patch: Json, path: string[]): Json {
  if (isObject(patch)) {
    if (!isObject(target)) return withoutNulls(patch, path);
    refuseDirectives(patch, path);
    const out: JsonObject = { ...target };
    for (const [key, value] of Object.entries(patch)) {
      if (value === null) delete out[key];
      else out[key] = mergeValue(target[key], value, [...path, key]);
    }
    return out;
  }
  if (Array.isArray(patch)) {
    const field = path[path.length - 1] ?? '';
    return Array.isArray(target) ? mergeList(field, target, patch, path) : withoutNulls(patch, path);
  }
  return patch;
}

/** Applies a strategic-merge patch to a copy of `target`; neither argument is modified. */
export function strategicMerge<T>(target: T, patch: unknown): T {
  if (!isObject(target as Json) || !isObject(patch as Json)) {
    throw new PatchworkError('INVALID_ARGUMENT', 'a strategic-merge patch and its target must both be objects');
  }
  return mergeValue(structuredClone(target) as Json, patch as Json, []) as T;
}
