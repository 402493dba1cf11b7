import type { K8sObject } from '../kustomize/k8s-object';
import { schemaProblems } from './validate-object';

const deployment = (): K8sObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'demo', labels: { 'app.kubernetes.io/name': 'demo' }, annotations: { 'prometheus.io/port': '9464' } },
  spec: {
    selector: { matchLabels: { app: 'demo' } },
    strategy: { rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 } },
    template: {
      metadata: { labels: { app: 'demo' } },
      spec: {
        containers: [
          {
            name: 'demo',
            image: 'demo:1',
            resources: { requests: { cpu: '250m', 'nvidia.com/gpu': '1' }, limits: { 'nvidia.com/gpu': 1 } },
            livenessProbe: { grpc: { port: 50051, service: '' } },
            lifecycle: { preStop: { sleep: { seconds: 5 } } },
          },
        ],
      },
    },
  },
});

const scaledObject = (): K8sObject => ({
  apiVersion: 'keda.sh/v1alpha1',
  kind: 'ScaledObject',
  metadata: { name: 'demo' },
  spec: {
    scaleTargetRef: { name: 'demo' },
    minReplicaCount: 0,
    fallback: { failureThreshold: 3, replicas: 1 },
    triggers: [{ type: 'nats-jetstream', metadata: { stream: 'JOBS', consumer: 'jobs-evaluate' } }],
  },
});

type Mutable = Record<string, any>;

describe('schemaProblems', () => {
  it('accepts valid objects, including free-form maps (labels, resources, trigger metadata)', () => {
    expect(schemaProblems(deployment())).toEqual([]);
    expect(schemaProblems(scaledObject())).toEqual([]);
  });

  it('reports misspelled fields at any depth, which validate() alone lets through', () => {
    const d = deployment() as Mutable;
    d['spec']['template']['spec']['containers'][0]['livenessProbe']['grpc']['servce'] = 'x';
    d['spec']['template']['spec']['containers'][0]['imagePullPolicyy'] = 'Always';
    d['spec']['templates'] = {};
    expect(schemaProblems(d as K8sObject)).toEqual([
      'unknown field /spec/template/spec/containers/0/imagePullPolicyy',
      'unknown field /spec/template/spec/containers/0/livenessProbe/grpc/servce',
      'unknown field /spec/templates',
    ]);
    const s = scaledObject() as Mutable;
    s['spec']['fallback']['replica'] = 1;
    s['spec']['triggers'][0]['metdata'] = {};
    expect(schemaProblems(s as K8sObject)).toEqual(['unknown field /spec/fallback/replica', 'unknown field /spec/triggers/0/metdata']);
  });

  it('reports type and required-field errors from the model', () => {
    const d = deployment() as Mutable;
    d['spec']['template']['spec']['containers'][0]['livenessProbe']['grpc']['port'] = '50051';
    delete d['spec']['selector'];
    const problems = schemaProblems(d as K8sObject);
    expect(problems.join('\n')).toMatch(/livenessProbe\/grpc\/port must be integer/);
    expect(problems.join('\n')).toMatch(/data\/spec must have required property selector/);
    const s = scaledObject() as Mutable;
    s['spec']['triggers'][0]['metadata']['lagThreshold'] = 5;
    expect(schemaProblems(s as K8sObject).join('\n')).toMatch(/metadata\/lagThreshold must be string/);
  });

  it('refuses kinds it has no schema for', () => {
    expect(() => schemaProblems({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } })).toThrow(/no schema registered for example.com\/v1 Widget/);
  });
});
