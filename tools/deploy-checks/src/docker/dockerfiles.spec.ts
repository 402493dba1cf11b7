import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { IMAGE_APP_DIR, PROBE_SCRIPT } from '../manifests/probes';
import { containerConfigs, ofKind, renderOverlay } from '../manifests/rendered';
import { patchworkContainer, podSpecOf } from '../platform/container-config';
import { DOCKER_DIR, REPO_ROOT } from '../repo-paths';
import { copyOperands, parseDockerfile, type Stage } from './dockerfile';

const IMAGES = { patchwork: 'Dockerfile', 'patchwork-gpu': 'Dockerfile.gpu' } as const;
const rootPackage = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
const cliPackage = JSON.parse(readFileSync(path.join(REPO_ROOT, 'tools/cli/package.json'), 'utf8')) as { scripts: Record<string, string> };

const last = (stage: Stage, keyword: string) => [...stage.instructions].reverse().find((i) => i.keyword === keyword);

describe.each(Object.entries(IMAGES))('image %s (deploy/docker/%s)', (image, name) => {
  const file = path.join(DOCKER_DIR, name);
  const dockerfile = parseDockerfile(file);
  const runtime = dockerfile.stages[dockerfile.stages.length - 1];
  const workdir = last(runtime, 'WORKDIR')?.args;

  it('copies only files that exist in the build context, which leaves out node_modules', () => {
    for (const stage of dockerfile.stages) {
      for (const copy of stage.instructions.filter((i) => i.keyword === 'COPY' && i.flags['from'] === undefined)) {
        for (const source of copyOperands(copy).sources) expect({ line: copy.line, source, exists: existsSync(path.join(REPO_ROOT, source)) }).toEqual({ line: copy.line, source, exists: true });
      }
    }
    const ignore = readFileSync(`${file}.dockerignore`, 'utf8').split('\n').map((l) => l.trim());
    expect(ignore).toEqual(expect.arrayContaining(['**/node_modules', '**/dist', '.git']));
  });

  it('runs the bundled CLI, built by the CLI workspace, as a numeric non-root user matching the pods', () => {
    expect(workdir).toBe(IMAGE_APP_DIR);
    expect(JSON.parse(last(runtime, 'ENTRYPOINT')!.args)).toEqual(['node', 'tools/cli/dist/patchwork.cjs']);
    expect(cliPackage.scripts['build']).toContain('--outfile=dist/patchwork.cjs');
    expect(dockerfile.stages.some((s) => s.instructions.some((i) => i.keyword === 'RUN' && i.args.includes('npm run build --workspace @patchwork/cli')))).toBe(true);
    const user = last(runtime, 'USER')!.args;
    expect(user).toMatch(/^[1-9]\d*(:\d+)?$/);
    const uid = Number(user.split(':')[0]);
    for (const overlay of ['dev', 'prod'] as const) {
      for (const d of ofKind(renderOverlay(overlay), 'Deployment')) expect((podSpecOf(d)['securityContext'] as { runAsUser: number }).runAsUser).toBe(uid);
    }
  });

  it('carries the exec health probe where the TLS probes run it', () => {
    const copy = runtime.instructions.find((i) => i.keyword === 'COPY' && copyOperands(i).sources.includes(PROBE_SCRIPT));
    expect(copy).toBeDefined();
    const { dest } = copyOperands(copy!);
    const inImage = dest.endsWith('/') ? path.posix.join(workdir!, dest, path.posix.basename(PROBE_SCRIPT)) : path.posix.join(workdir!, dest);
    expect(inImage).toBe(path.posix.join(IMAGE_APP_DIR, PROBE_SCRIPT));
  });

  it('exposes the gRPC and metrics ports the pods use', () => {
    const exposed = runtime.instructions.filter((i) => i.keyword === 'EXPOSE').flatMap((i) => i.args.split(/\s+/).map(Number));
    const { config } = [...containerConfigs(renderOverlay('prod')).values()][0];
    expect(exposed).toEqual(expect.arrayContaining([config.grpcPort, config.metricsPort]));
  });

  it('is the image the manifests run where they ask for it', () => {
    const users = ofKind(renderOverlay('prod'), 'Deployment').filter((d) => new RegExp(`/${image}[:@]`).test(patchworkContainer(d).image ?? ''));
    expect(users.length).toBeGreaterThan(0);
  });
});

describe('the GPU image', () => {
  const dockerfile = parseDockerfile(path.join(DOCKER_DIR, 'Dockerfile.gpu'));

  it('runs on a CUDA 11 (>= 11.2) runtime with cuDNN 8, what libtensorflow 2.9 in tfjs-node-gpu links against', () => {
    const base = /^nvidia\/cuda:11\.(\d+)\.\d+-cudnn8-runtime-ubuntu\d+\.\d+$/.exec(dockerfile.args['CUDA_IMAGE']);
    expect(base).not.toBeNull();
    expect(Number(base![1])).toBeGreaterThanOrEqual(2);
    expect(dockerfile.stages[dockerfile.stages.length - 1].from).toBe('${CUDA_IMAGE}');
  });

  it('installs tfjs-node-gpu at the version of the locked @tensorflow/tfjs, so one tfjs-core is loaded', () => {
    expect(dockerfile.args['TFJS_NODE_GPU_VERSION']).toBe(rootPackage.dependencies['@tensorflow/tfjs']);
    const install = dockerfile.stages.flatMap((s) => s.instructions).find((i) => i.keyword === 'RUN' && i.args.includes('@tensorflow/tfjs-node-gpu@${TFJS_NODE_GPU_VERSION}'));
    expect(install?.args).toContain("find node_modules -path '*/@tensorflow/tfjs-core/package.json' | wc -l");
  });
});
