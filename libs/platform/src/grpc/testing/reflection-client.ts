import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export interface ReflectionResponse {
  listServicesResponse?: { service: Array<{ name: string }> };
  fileDescriptorResponse?: { fileDescriptorProto: Buffer[] };
  errorResponse?: { errorCode: number };
}

/** One request on the bidi reflection stream, in either protocol version (tests only). */
export function reflect(address: string, version: 'v1' | 'v1alpha', request: Record<string, string>): Promise<ReflectionResponse> {
  const root = path.dirname(require.resolve('@grpc/reflection/package.json'));
  const def = protoLoader.loadSync(path.join(root, `build/proto/grpc/reflection/${version}/reflection.proto`), { defaults: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { grpc: { reflection: Record<string, { ServerReflection: grpc.ServiceClientConstructor }> } };
  const client = new pkg.grpc.reflection[version].ServerReflection(address, grpc.credentials.createInsecure());
  return new Promise((resolve, reject) => {
    const call = client.ServerReflectionInfo() as grpc.ClientDuplexStream<unknown, ReflectionResponse>;
    call.on('data', (response: ReflectionResponse) => {
      resolve(response);
      call.end();
    });
    call.on('error', reject);
    call.on('end', () => client.close());
    call.write(request);
  });
}
