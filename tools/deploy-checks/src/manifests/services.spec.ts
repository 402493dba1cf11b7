import { SERVICE_NAMES } from '@patchwork/platform';
import { objectId } from '../kustomize/k8s-object';
import { podSpecOf } from '../platform/container-config';
import { OVERLAYS } from '../repo-paths';
import { containerConfigs, named, ofKind, renderOverlay, selectsLabels, templateLabels } from './rendered';

describe.each(OVERLAYS)('overlay %s: the five services', (overlay) => {
  const objects = renderOverlay(overlay);
  const deployments = ofKind(objects, 'Deployment');
  const configs = containerConfigs(objects);

  it('hosts exactly one service per Deployment, which is the one it is named after', () => {
    for (const d of deployments) {
      const { services } = configs.get(d.metadata.name)!.config;
      expect({ deployment: d.metadata.name, services }).toEqual({ deployment: d.metadata.name, services: [d.metadata.name.replace(/^patchwork-/, '').replace(/-worker$/, '')] });
    }
  });

  it.each(SERVICE_NAMES)('serves %s behind a headless Service selecting its API pods only', (service) => {
    const svc = named(objects, 'Service', `patchwork-${service}`);
    const spec = svc['spec'] as { clusterIP?: string; selector?: Record<string, string>; ports: Array<{ name: string; port: number; targetPort: string | number }> };
    expect(spec.clusterIP).toBe('None');
    const selected = deployments.filter((d) => selectsLabels(spec.selector, templateLabels(d)));
    expect(selected.map((d) => d.metadata.name)).toEqual([`patchwork-${service}`]);
    const api = configs.get(`patchwork-${service}`)!.config;
    const ports = podSpecOf(selected[0]).containers.flatMap((c) => c.ports ?? []);
    for (const port of spec.ports) {
      const target = ports.find((p) => p.name === port.targetPort || p.containerPort === port.targetPort);
      expect({ port: port.name, containerPort: target?.containerPort }).toEqual({ port: port.name, containerPort: api.grpcPort });
      expect(port.port).toBe(api.grpcPort);
    }
  });

  it.each(SERVICE_NAMES)('runs the job workers of %s in exactly one Deployment', (service) => {
    const workers = deployments.filter((d) => {
      const { config } = configs.get(d.metadata.name)!;
      return config.workers && config.services.includes(service);
    });
    expect(workers).toHaveLength(1);
  });

  it('protects every Deployment with exactly one PodDisruptionBudget, selecting only its pods', () => {
    const budgets = ofKind(objects, 'PodDisruptionBudget');
    for (const d of deployments) {
      const mine = budgets.filter((b) => selectsLabels((b['spec'] as { selector?: { matchLabels?: unknown } }).selector?.matchLabels, templateLabels(d)));
      expect({ deployment: d.metadata.name, budgets: mine.map(objectId) }).toEqual({ deployment: d.metadata.name, budgets: [expect.any(String)] });
    }
    for (const b of budgets) {
      const selector = (b['spec'] as { selector?: { matchLabels?: unknown } }).selector?.matchLabels;
      expect({ budget: b.metadata.name, selects: deployments.filter((d) => selectsLabels(selector, templateLabels(d))).length }).toEqual({ budget: b.metadata.name, selects: 1 });
    }
  });

  it('selects Deployment pods by labels no other Deployment carries, and names an existing ServiceAccount', () => {
    const accounts = new Set(ofKind(objects, 'ServiceAccount').map((a) => a.metadata.name));
    for (const d of deployments) {
      const selector = (d['spec'] as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels;
      expect(selectsLabels(selector, templateLabels(d))).toBe(true);
      expect(deployments.filter((other) => selectsLabels(selector, templateLabels(other))).map((o) => o.metadata.name)).toEqual([d.metadata.name]);
      expect(accounts).toContain(podSpecOf(d)['serviceAccountName']);
    }
  });
});
