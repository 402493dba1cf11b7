import { PatchworkError } from '@patchwork/errors';
import { strategicMerge } from './strategic-merge';

const pod = () => ({
  spec: {
    nodeSelector: { gpu: 'true', zone: 'a' },
    tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists' }],
    containers: [
      {
        name: 'app',
        image: 'app:1',
        args: ['serve', '--only', 'merge'],
        env: [
          { name: 'A', value: '1' },
          { name: 'B', value: '2' },
        ],
        ports: [{ name: 'grpc', containerPort: 50051 }],
        volumeMounts: [{ name: 'data', mountPath: '/data' }],
        resources: { requests: { cpu: '1', 'nvidia.com/gpu': '1' }, limits: { 'nvidia.com/gpu': '1' } },
      },
      { name: 'sidecar', image: 'side:1' },
    ],
  },
});

describe('strategicMerge', () => {
  it('merges maps recursively and deletes keys patched to null, leaving the input untouched', () => {
    const target = pod();
    const merged = strategicMerge(target, { spec: { nodeSelector: { gpu: null, extra: 'x' }, tolerations: null } });
    expect(merged.spec.nodeSelector).toEqual({ zone: 'a', extra: 'x' });
    expect('tolerations' in merged.spec).toBe(false);
    expect(target).toEqual(pod());
  });

  it('merges containers by name and env by name, patch items first as kustomize orders them', () => {
    const merged = strategicMerge(pod(), {
      spec: { containers: [{ name: 'app', env: [{ name: 'B', value: 'two' }, { name: 'C', value: '3' }], resources: { limits: { 'nvidia.com/gpu': null } } }] },
    });
    const [app, sidecar] = merged.spec.containers;
    expect(app.env).toEqual([
      { name: 'B', value: 'two' },
      { name: 'C', value: '3' },
      { name: 'A', value: '1' },
    ]);
    expect(app.resources).toEqual({ requests: { cpu: '1', 'nvidia.com/gpu': '1' }, limits: {} });
    expect(app.image).toBe('app:1');
    expect(sidecar).toEqual({ name: 'sidecar', image: 'side:1' });
  });

  it('merges volume mounts by mountPath and container ports by containerPort', () => {
    const merged = strategicMerge(pod(), {
      spec: { containers: [{ name: 'app', volumeMounts: [{ name: 'tls', mountPath: '/tls', readOnly: true }, { mountPath: '/data', readOnly: true }], ports: [{ containerPort: 50051, protocol: 'TCP' }] }] },
    });
    const app = merged.spec.containers[0];
    expect(app.volumeMounts).toEqual([
      { name: 'tls', mountPath: '/tls', readOnly: true },
      { name: 'data', mountPath: '/data', readOnly: true },
    ]);
    expect(app.ports).toEqual([{ name: 'grpc', containerPort: 50051, protocol: 'TCP' }]);
  });

  it('replaces lists without a merge key (args, tolerations) and drops nulls inside new values', () => {
    const merged = strategicMerge(pod(), {
      spec: { tolerations: [{ key: 'other', operator: 'Exists' }], containers: [{ name: 'app', args: ['serve'], livenessProbe: { grpc: null, exec: { command: ['probe'] } } }] },
    });
    expect(merged.spec.tolerations).toEqual([{ key: 'other', operator: 'Exists' }]);
    expect(merged.spec.containers[0].args).toEqual(['serve']);
    expect(merged.spec.containers[0]).toMatchObject({ livenessProbe: { exec: { command: ['probe'] } } });
    expect(merged.spec.containers[0]).not.toHaveProperty('livenessProbe.grpc');
  });

  it('refuses patch directives and list items without their merge key', () => {
    expect(() => strategicMerge(pod(), { spec: { containers: [{ name: 'app', $patch: 'replace' }] } })).toThrow(/\$patch.*not supported/);
    expect(() => strategicMerge(pod(), { spec: { containers: [{ image: 'x' }] } })).toThrow(/lacks its merge key "name"/);
    expect(() => strategicMerge(pod(), { spec: { containers: [{ name: 'app' }, { name: 'app' }] } })).toThrow(/appears twice/);
    expect(() => strategicMerge(pod(), ['not', 'an', 'object'])).toThrow(PatchworkError);
  });
});
