import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { renderKustomization } from './render';

let root: string;

function write(file: string, text: string): void {
  const full = path.join(root, file);
  mkdirSync(path.dirname(full), { recursive: true });
  writeFileSync(full, text);
}

const deployment = (name: string, component: string, image = 'app') => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  labels: {part-of: demo, component: ${component}}
spec:
  selector: {matchLabels: {component: ${component}}}
  template:
    metadata: {labels: {component: ${component}}}
    spec:
      containers:
        - name: main
          image: ${image}
          env: [{name: A, value: "1"}]
`;

beforeAll(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'deploy-checks-render-'));
  write('base/kustomization.yaml', 'resources: [api, config.yaml]\n');
  write('base/config.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {LEVEL: info}\n');
  write('base/api/kustomization.yaml', 'resources: [deployments.yaml]\n');
  write('base/api/deployments.yaml', `${deployment('api', 'api')}---\n# a comment-only document is skipped\n---\n${deployment('worker', 'worker', 'registry:5000/app:old')}`);
  write('components/extra/kustomization.yaml', 'apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources: [scaled.yaml]\npatches:\n  - path: env.yaml\n    target: {kind: Deployment, labelSelector: part-of=demo}\n');
  write('components/extra/scaled.yaml', 'apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: extra}\n');
  write('components/extra/env.yaml', 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: ignored}\nspec: {template: {spec: {containers: [{name: main, env: [{name: B, value: "2"}]}]}}}\n');
  write(
    'overlay/kustomization.yaml',
    [
      'namespace: prod',
      'resources: [../base]',
      'components: [../components/extra]',
      'images:',
      '  - {name: app, newName: reg.example/app, newTag: "1.2"}',
      '  - {name: registry:5000/app, digest: "sha256:abc"}',
      'replicas: [{name: api, count: 3}]',
      'patches:',
      '  - path: level.yaml',
    ].join('\n'),
  );
  write('overlay/level.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {LEVEL: debug, EXTRA: "1"}\n');
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

const byName = (objects: ReturnType<typeof renderKustomization>) => Object.fromEntries(objects.map((o) => [`${o.kind}/${o.metadata.name}`, o]));

describe('renderKustomization', () => {
  it('accumulates resources from files and nested kustomizations, then applies components and transformers', () => {
    const objects = byName(renderKustomization(path.join(root, 'overlay')));
    expect(Object.keys(objects).sort()).toEqual(['ConfigMap/cfg', 'Deployment/api', 'Deployment/worker', 'ServiceAccount/extra']);
    for (const object of Object.values(objects)) expect(object.metadata.namespace).toBe('prod');
    expect(objects['ConfigMap/cfg']['data']).toEqual({ LEVEL: 'debug', EXTRA: '1' });
    const api = objects['Deployment/api'] as unknown as { metadata: { name: string }; spec: { replicas: number; template: { spec: { containers: Array<{ image: string; env: unknown[] }> } } } };
    expect(api.spec.replicas).toBe(3);
    expect(api.spec.template.spec.containers[0].image).toBe('reg.example/app:1.2');
    // The component's targeted patch reached both Deployments, and its dummy name was not applied.
    expect(api.spec.template.spec.containers[0].env).toEqual([
      { name: 'B', value: '2' },
      { name: 'A', value: '1' },
    ]);
    const worker = objects['Deployment/worker'] as unknown as typeof api;
    expect(worker.metadata).toMatchObject({ name: 'worker' });
    expect(worker.spec.template.spec.containers[0].image).toBe('registry:5000/app@sha256:abc');
    expect(worker.spec).not.toHaveProperty('replicas');
  });

  it('refuses kustomize features it does not implement, naming the field', () => {
    write('unsupported/kustomization.yaml', 'resources: []\ncommonLabels: {a: b}\n');
    expect(() => renderKustomization(path.join(root, 'unsupported'))).toThrow(/field "commonLabels" is not supported/);
    write('json6902/kustomization.yaml', 'resources: [../base]\npatches: [{path: ops.yaml, target: {kind: Deployment}}]\n');
    write('json6902/ops.yaml', '- {op: remove, path: /spec}\n');
    expect(() => renderKustomization(path.join(root, 'json6902'))).toThrow(/JSON6902/);
    write('selector/kustomization.yaml', 'resources: [../base]\npatches: [{path: p.yaml, target: {kind: Deployment, annotationSelector: a=b}}]\n');
    expect(() => renderKustomization(path.join(root, 'selector'))).toThrow(/target.annotationSelector is not supported/);
  });

  it('fails on patches, images and replicas that match nothing, and on duplicate resources', () => {
    write('nomatch/kustomization.yaml', 'resources: [../base]\npatches: [{path: p.yaml}]\n');
    write('nomatch/p.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: missing}\ndata: {}\n');
    expect(() => renderKustomization(path.join(root, 'nomatch'))).toThrow(/ConfigMap missing matches 0 resources/);
    write('noimage/kustomization.yaml', 'resources: [../base]\nimages: [{name: nginx, newTag: "1"}]\n');
    expect(() => renderKustomization(path.join(root, 'noimage'))).toThrow(/no container uses the image nginx/);
    write('noreplicas/kustomization.yaml', 'resources: [../base]\nreplicas: [{name: nope, count: 2}]\n');
    expect(() => renderKustomization(path.join(root, 'noreplicas'))).toThrow(/no workload is named nope/);
    write('twice/kustomization.yaml', 'resources: [../base, ../base/config.yaml]\n');
    expect(() => renderKustomization(path.join(root, 'twice'))).toThrow(/ConfigMap\/~\/cfg is defined twice/);
  });

  it('reports missing files, wrong kinds and cycles', () => {
    write('missing/kustomization.yaml', 'resources: [nope.yaml]\n');
    expect(() => renderKustomization(path.join(root, 'missing'))).toThrow(/nope.yaml does not exist/);
    write('wrongkind/kustomization.yaml', 'components: [../base]\n');
    expect(() => renderKustomization(path.join(root, 'wrongkind'))).toThrow(/kind must be Component here/);
    write('cycle/kustomization.yaml', 'resources: [../cycle2]\n');
    write('cycle2/kustomization.yaml', 'resources: [../cycle]\n');
    expect(() => renderKustomization(path.join(root, 'cycle'))).toThrow(/kustomization cycle/);
    write('badyaml/kustomization.yaml', 'resources: [a\n');
    expect(() => renderKustomization(path.join(root, 'badyaml'))).toThrow(/badyaml\/kustomization.yaml/);
  });
});
