import { spawnSync } from 'node:child_process';
import { parseAllDocuments } from 'yaml';
import { OVERLAYS, overlayDir } from '../repo-paths';
import { objectId, type K8sObject } from './k8s-object';
import { renderKustomization } from './render';

// The overlay checks trust renderKustomization. Where kubectl is installed, its bundled kustomize
// must produce exactly the same objects (same list order inside each), so the subset implemented
// here is held to the real tool. CI machines without kubectl skip this file, and say so.
const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8', timeout: 20_000 });
const haveKubectl = kubectl.status === 0;
const describeWithKubectl = haveKubectl ? describe : describe.skip;

function kustomizeBuild(dir: string): Map<string, K8sObject> {
  const run = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8', timeout: 60_000 });
  if (run.status !== 0) throw new Error(`kubectl kustomize ${dir} failed: ${run.stderr}`);
  const objects = parseAllDocuments(run.stdout).map((doc) => doc.toJS() as K8sObject);
  return new Map(objects.map((o) => [objectId(o), o]));
}

describeWithKubectl(`renderKustomization matches kubectl kustomize (${haveKubectl ? kubectl.stdout.split('\n').join('; ') : 'kubectl not installed'})`, () => {
  it.each(OVERLAYS)('overlay %s', (overlay) => {
    const expected = kustomizeBuild(overlayDir(overlay));
    const actual = new Map(renderKustomization(overlayDir(overlay)).map((o) => [objectId(o), o]));
    expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [id, object] of expected) expect({ id, object: actual.get(id) }).toEqual({ id, object });
  });
});
