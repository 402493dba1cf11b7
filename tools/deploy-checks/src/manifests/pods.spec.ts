import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { CONFIG_ENV_VARS } from '@patchwork/platform';
import type { K8sObject } from '../kustomize/k8s-object';
import { patchworkContainer, podSpecOf, type Container, type PodSpec } from '../platform/container-config';
import { protoServiceNames } from '../platform/proto-services';
import { OVERLAYS, PROTO_DIR, type Overlay } from '../repo-paths';
import { probeTarget } from './probes';
import { wholeQuantity } from './quantity';
import { containerConfigs, named, ofKind, renderOverlay, templateAnnotations } from './rendered';

const GPU = 'nvidia.com/gpu';
/** Which Deployments hold GPUs in each overlay: dev has none, prod the compress and train workers. */
const GPU_DEPLOYMENTS: Record<Overlay, string[]> = { dev: [], prod: ['patchwork-compress', 'patchwork-train-worker'] };
/** Time the process needs after the drain deadline: closing NATS and the metrics server. */
const CLOSE_MARGIN_MS = 5000;

/** A Patchwork or NATS variable the platform does not read: a typo it would silently ignore. */
const isUnknownSetting = (name: string) => /^(PATCHWORK|NATS)_/.test(name) && !CONFIG_ENV_VARS.includes(name);

const healthKey = (service: string) => `patchwork.v1.${service[0].toUpperCase()}${service.slice(1)}`;

function mountFor(container: Container, file: string) {
  return (container.volumeMounts ?? []).find((m) => {
    const rel = path.posix.relative(m.mountPath, file);
    return rel === '' || (!rel.startsWith('..') && !path.posix.isAbsolute(rel));
  });
}

function volumeOf(pod: PodSpec, name: string) {
  return (pod.volumes ?? []).find((v) => v.name === name);
}

describe.each(OVERLAYS)('overlay %s: pods', (overlay) => {
  const objects = renderOverlay(overlay);
  const deployments = ofKind(objects, 'Deployment');
  const configs = containerConfigs(objects);
  const protoServices = protoServiceNames(PROTO_DIR);
  const each = (check: (d: K8sObject, c: Container, pod: PodSpec) => void) => {
    for (const d of deployments) check(d, patchworkContainer(d), podSpecOf(d));
  };

  it('probes the gRPC port for the health keys the contracts define: startup and liveness on the server, readiness on the service', () => {
    each((d, c) => {
      const { config } = configs.get(d.metadata.name)!;
      const grpcPort = (c.ports ?? []).find((p) => p.name === 'grpc')?.containerPort;
      expect({ deployment: d.metadata.name, grpcPort }).toEqual({ deployment: d.metadata.name, grpcPort: config.grpcPort });
      const expected = { startupProbe: '', readinessProbe: healthKey(config.services[0]), livenessProbe: '' };
      for (const [probe, service] of Object.entries(expected)) {
        const target = probeTarget(c[probe], `${d.metadata.name} ${probe}`);
        expect({ deployment: d.metadata.name, probe, port: target.port, service: target.service, tls: target.tls }).toEqual({
          deployment: d.metadata.name,
          probe,
          port: config.grpcPort,
          service,
          tls: Boolean(config.tls),
        });
        if (service !== '') expect(protoServices).toContain(service);
        // The kubelet's own gRPC probe dials plaintext only; with TLS it could never succeed.
        expect({ deployment: d.metadata.name, probe, via: target.via }).toEqual({ deployment: d.metadata.name, probe, via: config.tls ? 'exec' : 'grpc' });
        if (target.script) expect(existsSync(target.script)).toBe(true);
      }
    });
  });

  it('gives every pod more termination grace than its preStop sleep plus PATCHWORK_SHUTDOWN_GRACE_MS', () => {
    each((d, c, pod) => {
      const { config } = configs.get(d.metadata.name)!;
      const preStopSeconds = ((c['lifecycle'] as { preStop?: { sleep?: { seconds?: number } } } | undefined)?.preStop?.sleep?.seconds ?? 0) as number;
      const grace = pod['terminationGracePeriodSeconds'] as number | undefined;
      expect({ deployment: d.metadata.name, grace }).toEqual({ deployment: d.metadata.name, grace: expect.any(Number) });
      const neededMs = preStopSeconds * 1000 + config.shutdownGraceMs + CLOSE_MARGIN_MS;
      expect({ deployment: d.metadata.name, graceMs: grace! * 1000, neededMs, enough: grace! * 1000 >= neededMs }).toMatchObject({ enough: true });
    });
  });

  it('runs non-root on a read-only root filesystem, with the data dir and /tmp on writable volumes', () => {
    each((d, c, pod) => {
      const { config } = configs.get(d.metadata.name)!;
      const podSecurity = pod['securityContext'] as { runAsNonRoot?: boolean; runAsUser?: number };
      expect(podSecurity.runAsNonRoot).toBe(true);
      expect(podSecurity.runAsUser).toBeGreaterThan(0);
      expect(c['securityContext']).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
      for (const dir of [config.dataDir, '/tmp']) {
        const mount = mountFor(c, dir);
        expect({ deployment: d.metadata.name, dir, mounted: Boolean(mount), readOnly: mount?.readOnly ?? false }).toEqual({ deployment: d.metadata.name, dir, mounted: true, readOnly: false });
        expect(volumeOf(pod, mount!.name)).toHaveProperty('emptyDir');
      }
      if (config.tls) {
        for (const file of [config.tls.certFile, config.tls.keyFile]) {
          const mount = mountFor(c, file);
          expect({ deployment: d.metadata.name, file, secret: volumeOf(pod, mount?.name ?? '')?.['secret'] }).toEqual({ deployment: d.metadata.name, file, secret: expect.objectContaining({ secretName: expect.any(String) }) });
        }
      }
    });
  });

  it('serves /metrics on the port the Prometheus scrape annotations name', () => {
    each((d, c) => {
      const { config } = configs.get(d.metadata.name)!;
      const metricsPort = (c.ports ?? []).find((p) => p.name === 'metrics')?.containerPort;
      expect({ deployment: d.metadata.name, metricsPort: config.metricsPort }).toEqual({ deployment: d.metadata.name, metricsPort });
      expect(templateAnnotations(d)).toEqual(expect.objectContaining({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(metricsPort), 'prometheus.io/path': '/metrics' }));
    });
  });

  it('reaches NATS, takes its tokens from Secrets (mandatory in prod) and sets no Patchwork variable the platform does not read', () => {
    each((d) => {
      const { env, secretEnv, config } = configs.get(d.metadata.name)!;
      expect(config.natsServers.length).toBeGreaterThan(0);
      for (const variable of ['PATCHWORK_AUTH_TOKEN', 'NATS_TOKEN']) {
        expect({ deployment: d.metadata.name, variable, ref: secretEnv.get(variable) }).toEqual({
          deployment: d.metadata.name,
          variable,
          ref: expect.objectContaining({ optional: overlay !== 'prod' }),
        });
      }
      const unknown = Object.keys(env).filter(isUnknownSetting);
      expect({ deployment: d.metadata.name, unknown }).toEqual({ deployment: d.metadata.name, unknown: [] });
    });
    const configMap = named(objects, 'ConfigMap', 'patchwork-config');
    const unknownKeys = Object.keys((configMap['data'] ?? {}) as object).filter(isUnknownSetting);
    expect(unknownKeys).toEqual([]);
  });

  it('gives GPUs only to the GPU workloads, as whole equal requests and limits, on tolerated GPU nodes', () => {
    const withGpu: string[] = [];
    each((d, c, pod) => {
      const limits = c.resources?.limits ?? {};
      const requests = c.resources?.requests ?? {};
      const tolerations = (pod['tolerations'] ?? []) as Array<{ key?: string }>;
      const placement = JSON.stringify({ nodeSelector: pod['nodeSelector'], affinity: (pod['affinity'] as { nodeAffinity?: unknown } | undefined)?.nodeAffinity });
      if (limits[GPU] === undefined && requests[GPU] === undefined) {
        expect({ deployment: d.metadata.name, gpuToleration: tolerations.some((t) => t.key === GPU), gpuPlacement: placement.includes('nvidia.com') }).toEqual({
          deployment: d.metadata.name,
          gpuToleration: false,
          gpuPlacement: false,
        });
        return;
      }
      withGpu.push(d.metadata.name);
      const limit = wholeQuantity(limits[GPU], `${d.metadata.name} limits.${GPU}`);
      expect(limit).toBeGreaterThanOrEqual(1);
      if (requests[GPU] !== undefined) expect(wholeQuantity(requests[GPU], `${d.metadata.name} requests.${GPU}`)).toBe(limit);
      expect(tolerations.some((t) => t.key === GPU)).toBe(true);
      expect(placement).toContain('nvidia.com/gpu');
      expect(configs.get(d.metadata.name)!.config.backend).toBe('tensorflow');
      expect(c.image).toMatch(/patchwork-gpu[:@]/);
    });
    expect(withGpu.sort()).toEqual(GPU_DEPLOYMENTS[overlay]);
  });

  it(overlay === 'prod' ? 'caps memory at the request in every pod' : 'leaves limits to prod, apart from GPUs', () => {
    each((d, c) => {
      const memory = { request: c.resources?.requests?.['memory'], limit: c.resources?.limits?.['memory'] };
      if (overlay === 'prod') expect({ deployment: d.metadata.name, ...memory }).toEqual({ deployment: d.metadata.name, request: memory.limit, limit: expect.any(String) });
      else expect({ deployment: d.metadata.name, limit: memory.limit }).toEqual({ deployment: d.metadata.name, limit: undefined });
    });
  });
});
