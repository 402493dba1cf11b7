import { PatchworkError } from '@patchwork/errors';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import { TriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import type { K8sObject } from '../kustomize/k8s-object';
import { unknownKeys } from './schema-keys';

interface ModelClass {
  new (data: never): { validate(): void };
  prototype: { validate(): void };
}

/** The kinds our manifests may contain; anything else is refused until its model is added here. */
const MODELS: Record<string, ModelClass> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Namespace': Namespace,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject,
  'keda.sh/v1alpha1/TriggerAuthentication': TriggerAuthentication,
};

export const SUPPORTED_KINDS = Object.keys(MODELS);

/**
 * Everything wrong with one object against the Kubernetes (or KEDA) schema: the model's own
 * `validate()` errors (types, required fields, enums, formats) and the keys the schema does not
 * define, which `validate()` lets through. An empty list means valid.
 */
export function schemaProblems(object: K8sObject): string[] {
  const Model = MODELS[`${object.apiVersion}/${object.kind}`];
  if (!Model) {
    throw new PatchworkError('UNIMPLEMENTED', `no schema registered for ${object.apiVersion} ${object.kind} (known: ${SUPPORTED_KINDS.join(', ')})`);
  }
  const problems: string[] = [];
  try {
    new Model(object as never).validate();
  } catch (err) {
    problems.push(`schema: ${(err as Error).message}`);
  }
  const validate = (data: object) => Model.prototype.validate.call(data);
  for (const key of unknownKeys(object, validate)) problems.push(`unknown field ${key}`);
  return problems;
}
