import { objectId } from '../kustomize/k8s-object';
import { OVERLAYS } from '../repo-paths';
import { schemaProblems } from '../schema/validate-object';
import { renderOverlay } from './rendered';

describe.each(OVERLAYS)('overlay %s against the Kubernetes and KEDA schemas', (overlay) => {
  it('renders, and every object validates with no unknown fields', () => {
    const objects = renderOverlay(overlay);
    expect(objects.length).toBeGreaterThan(0);
    const problems = Object.fromEntries(objects.map((o) => [objectId(o), schemaProblems(o)]).filter(([, p]) => p.length > 0));
    expect(problems).toEqual({});
  });

  it('gives every object the Patchwork labels', () => {
    for (const object of renderOverlay(overlay)) {
      expect({ id: objectId(object), labels: object.metadata.labels }).toMatchObject({
        labels: { 'app.kubernetes.io/name': 'patchwork', 'app.kubernetes.io/part-of': 'patchwork' },
      });
    }
  });
});
