import { PatchworkError } from '@patchwork/errors';
import { readPlatformConfig, type PlatformConfig } from '@patchwork/platform';
import type { K8sObject } from '../kustomize/k8s-object';
import { isObject } from '../kustomize/strategic-merge';

/** The Patchwork container of a pod template, as the manifests write it. */
export interface Container {
  name: string;
  image?: string;
  args?: string[];
  command?: string[];
  ports?: Array<{ name?: string; containerPort: number; protocol?: string }>;
  env?: Array<{ name: string; value?: string; valueFrom?: Record<string, Record<string, unknown>> }>;
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string }; prefix?: string }>;
  resources?: { requests?: Record<string, string | number>; limits?: Record<string, string | number> };
  volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
  [key: string]: unknown;
}

export interface PodSpec {
  containers: Container[];
  volumes?: Array<{ name: string; [source: string]: unknown }>;
  [key: string]: unknown;
}

export function podSpecOf(workload: K8sObject): PodSpec {
  const spec = (workload['spec'] as { template?: { spec?: PodSpec } } | undefined)?.template?.spec;
  if (!spec || !Array.isArray(spec.containers)) throw new PatchworkError('INVALID_ARGUMENT', `${workload.kind} ${workload.metadata.name}: no pod template`);
  return spec;
}

export function patchworkContainer(workload: K8sObject): Container {
  const containers = podSpecOf(workload).containers;
  const container = containers.find((c) => c.name === 'patchwork') ?? (containers.length === 1 ? containers[0] : undefined);
  if (!container) throw new PatchworkError('NOT_FOUND', `${workload.kind} ${workload.metadata.name}: no container named patchwork`);
  return container;
}

/** `patchwork serve` flags (tools/cli/src/main.ts) and the PlatformConfig option each one sets. */
const SERVE_FLAGS: Record<string, { option: string; value?: string }> = {
  '--only': { option: 'services' },
  '--host': { option: 'grpcHost' },
  '--port': { option: 'grpcPort' },
  '--data-dir': { option: 'dataDir' },
  '--nats': { option: 'natsServers' },
  '--metrics-port': { option: 'metricsPort' },
  '--no-workers': { option: 'workers', value: 'false' },
};

/** The PlatformConfig flags a container's `args` pass to `patchwork serve` (the image's entrypoint). */
export function serveFlags(container: Container, where: string): Record<string, string> {
  if (container.command !== undefined) throw new PatchworkError('INVALID_ARGUMENT', `${where}: command overrides the image entrypoint; use args`);
  const args = container.args ?? ['serve'];
  if (args[0] !== 'serve') throw new PatchworkError('INVALID_ARGUMENT', `${where}: args must start with the serve command, got ${JSON.stringify(args[0])}`);
  const flags: Record<string, string> = {};
  for (let i = 1; i < args.length; i++) {
    const [flag, inline] = args[i].split(/=(.*)/s, 2);
    const known = SERVE_FLAGS[flag];
    if (!known) throw new PatchworkError('INVALID_ARGUMENT', `${where}: ${JSON.stringify(args[i])} is not a flag of patchwork serve (${Object.keys(SERVE_FLAGS).join(', ')})`);
    if (known.value !== undefined) {
      if (inline !== undefined) throw new PatchworkError('INVALID_ARGUMENT', `${where}: ${flag} takes no value`);
      flags[known.option] = known.value;
      continue;
    }
    const value = inline ?? args[++i];
    if (value === undefined) throw new PatchworkError('INVALID_ARGUMENT', `${where}: ${flag} needs a value`);
    flags[known.option] = value;
  }
  return flags;
}

function configMapData(objects: K8sObject[], namespace: string | undefined, name: string, where: string): Record<string, string> {
  const map = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === name && o.metadata.namespace === namespace);
  if (!map) throw new PatchworkError('NOT_FOUND', `${where}: ConfigMap ${name} is not part of the rendered manifests`);
  const data = (map['data'] ?? {}) as Record<string, unknown>;
  for (const [key, value] of Object.entries(data)) {
    if (typeof value !== 'string') throw new PatchworkError('INVALID_ARGUMENT', `ConfigMap ${name}: data.${key} must be a string, got ${JSON.stringify(value)}`);
  }
  return data as Record<string, string>;
}

export interface ResolvedContainerConfig {
  /** The environment the process would see; Secret values appear as `<secret name/key>`. */
  env: Record<string, string>;
  /** Variables whose values come from Secrets, with whether the reference is optional. */
  secretEnv: Map<string, { secret: string; key: string; optional: boolean }>;
  flags: Record<string, string>;
  /** What readPlatformConfig makes of that environment and those flags: the process's own view. */
  config: PlatformConfig;
}

/**
 * Resolves a workload's Patchwork container the way the kubelet and the process would: envFrom
 * ConfigMaps in order, then `env` (which wins), then the serve flags, through the platform's own
 * config reader, so an invalid or misspelled setting fails here as it would at start-up.
 */
export function resolveContainerConfig(objects: K8sObject[], workload: K8sObject): ResolvedContainerConfig {
  const where = `${workload.kind} ${workload.metadata.name}`;
  const container = patchworkContainer(workload);
  const namespace = workload.metadata.namespace;
  const env: Record<string, string> = {};
  const secretEnv: ResolvedContainerConfig['secretEnv'] = new Map();
  for (const source of container.envFrom ?? []) {
    if (source.prefix !== undefined || !source.configMapRef) throw new PatchworkError('INVALID_ARGUMENT', `${where}: only envFrom.configMapRef without a prefix is understood here`);
    Object.assign(env, configMapData(objects, namespace, source.configMapRef.name, where));
  }
  for (const variable of container.env ?? []) {
    if (variable.value !== undefined) {
      env[variable.name] = variable.value;
      secretEnv.delete(variable.name);
      continue;
    }
    const from = variable.valueFrom;
    if (isObject(from?.['configMapKeyRef'])) {
      const ref = from['configMapKeyRef'] as { name: string; key: string };
      const value = configMapData(objects, namespace, ref.name, where)[ref.key];
      if (value === undefined) throw new PatchworkError('NOT_FOUND', `${where}: ConfigMap ${ref.name} has no key ${ref.key}`);
      env[variable.name] = value;
    } else if (isObject(from?.['secretKeyRef'])) {
      const ref = from['secretKeyRef'] as { name: string; key: string; optional?: boolean };
      env[variable.name] = `<secret ${ref.name}/${ref.key}>`;
      secretEnv.set(variable.name, { secret: ref.name, key: ref.key, optional: ref.optional === true });
    } else {
      throw new PatchworkError('INVALID_ARGUMENT', `${where}: env ${variable.name} has neither a value nor a configMapKeyRef/secretKeyRef`);
    }
  }
  const flags = serveFlags(container, where);
  let config: PlatformConfig;
  try {
    config = readPlatformConfig(env, flags);
  } catch (err) {
    throw new PatchworkError('INVALID_ARGUMENT', `${where}: ${(err as Error).message}`);
  }
  return { env, secretEnv, flags, config };
}
