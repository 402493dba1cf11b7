import { existsSync } from 'node:fs';
import * as path from 'node:path';
import * as protoLoader from '@grpc/proto-loader';

/**
 * The directory holding `patchwork/v1/*.proto` (the import root): the nearest `proto/` above this
 * file, which works from the sources and from a bundle alike.
 */
function findProtoRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'proto');
    if (existsSync(path.join(candidate, 'patchwork', 'v1', 'common.proto'))) return candidate;
    if (path.dirname(dir) === dir) throw new Error(`no proto/patchwork/v1 directory above ${start}`);
  }
}

export const PROTO_ROOT = findProtoRoot(__dirname);

export const PROTO_FILES = [
  'patchwork/v1/common.proto',
  'patchwork/v1/jobs.proto',
  'patchwork/v1/artifacts.proto',
  'patchwork/v1/merge.proto',
  'patchwork/v1/train.proto',
  'patchwork/v1/compress.proto',
  'patchwork/v1/evaluate.proto',
  'patchwork/v1/retrieve.proto',
  'patchwork/v1/events.proto',
] as const;

let cached: protoLoader.PackageDefinition | undefined;

/**
 * ts-proto output carries no file descriptors, so server reflection reads the same .proto files
 * through proto-loader. Loaded once per process.
 */
export function loadPackageDefinition(): protoLoader.PackageDefinition {
  cached ??= protoLoader.loadSync([...PROTO_FILES], { includeDirs: [PROTO_ROOT], keepCase: false, longs: Number, defaults: true, oneofs: true });
  return cached;
}
