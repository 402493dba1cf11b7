import * as path from 'node:path';

export const REPO_ROOT = path.resolve(__dirname, '../../..');
export const DEPLOY_DIR = path.join(REPO_ROOT, 'deploy');
export const K8S_DIR = path.join(DEPLOY_DIR, 'k8s');
export const DOCKER_DIR = path.join(DEPLOY_DIR, 'docker');
export const NATS_DIR = path.join(DEPLOY_DIR, 'nats');
export const PROTO_DIR = path.join(REPO_ROOT, 'proto', 'patchwork', 'v1');

/** Every overlay a user may apply; each one is rendered and checked in full. */
export const OVERLAYS = ['dev', 'prod'] as const;
export type Overlay = (typeof OVERLAYS)[number];
export const overlayDir = (overlay: Overlay) => path.join(K8S_DIR, 'overlays', overlay);
