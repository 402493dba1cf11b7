import * as path from 'node:path';
import * as protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { protoPath as healthProtoPath } from 'grpc-health-check';
import { PatchworkError } from '@patchwork/errors';

/**
 * Where reflection learns the schema. ts-proto output carries no descriptors, so services give the
 * proto-loader package definition of the same .proto files, or the files themselves.
 */
export type ReflectionSource =
  | { packageDefinition: protoLoader.PackageDefinition }
  | { protoFiles: string[]; includeDirs?: string[] };

export const HEALTH_SERVICE = 'grpc.health.v1.Health';
export const REFLECTION_SERVICES = ['grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection'];

let standardPackage: protoLoader.PackageDefinition | undefined;

/** Health and reflection describe themselves too, so `grpcurl list` and `describe` cover them. */
function loadStandardPackage(): protoLoader.PackageDefinition {
  const reflectionRoot = path.dirname(require.resolve('@grpc/reflection/package.json'));
  standardPackage ??= protoLoader.loadSync(
    [healthProtoPath, path.join(reflectionRoot, 'build/proto/grpc/reflection/v1/reflection.proto'), path.join(reflectionRoot, 'build/proto/grpc/reflection/v1alpha/reflection.proto')],
    {},
  );
  return standardPackage;
}

function loadSource(source: ReflectionSource): protoLoader.PackageDefinition {
  if ('packageDefinition' in source) {
    if (typeof source.packageDefinition !== 'object' || source.packageDefinition === null) {
      throw new PatchworkError('INVALID_ARGUMENT', 'reflection.packageDefinition: must be a proto-loader PackageDefinition');
    }
    return source.packageDefinition;
  }
  if (!Array.isArray(source.protoFiles) || source.protoFiles.length === 0) {
    throw new PatchworkError('INVALID_ARGUMENT', 'reflection.protoFiles: must list at least one .proto file');
  }
  try {
    return protoLoader.loadSync(source.protoFiles, { includeDirs: source.includeDirs ?? [] });
  } catch (err) {
    throw new PatchworkError('INVALID_ARGUMENT', `reflection.protoFiles: cannot load: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Builds the reflection service (v1 and v1alpha) for the hosted services only: a package definition
 * shared by every Patchwork service must not advertise services this process does not serve.
 */
export function createReflectionService(source: ReflectionSource, hostedServices: readonly string[]): ReflectionService {
  const pkg = { ...loadStandardPackage(), ...loadSource(source) };
  const missing = hostedServices.filter((name) => !(name in pkg));
  if (missing.length > 0) {
    throw new PatchworkError('INVALID_ARGUMENT', `reflection: the package definition does not describe ${missing.join(', ')}`);
  }
  return new ReflectionService(pkg, { services: [...hostedServices, HEALTH_SERVICE, ...REFLECTION_SERVICES] });
}
