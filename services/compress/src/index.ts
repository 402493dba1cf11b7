import { CompressService, SubmitCompressRequest } from '@patchwork/contracts';
import { Runtime, ServiceModule, unary } from '@patchwork/platform';
import { checkSpecAgainstModel, compressJobHandler, compressSpecFromRequest } from './compress-job';

export { REPORT_FILE, compressSpecFromRequest } from './compress-job';

function submitCompress(runtime: Runtime) {
  return async (request: SubmitCompressRequest) => {
    const spec = compressSpecFromRequest(request);
    await checkSpecAgainstModel(spec, await runtime.resolveModel(spec.modelRef, 'model'));
    return runtime.jobs.submit({ service: 'compress', kind: 'compress', requestId: request.requestId, request: SubmitCompressRequest.encode(request).finish(), labels: request.labels });
  };
}

export const compressServiceModule: ServiceModule = {
  name: 'compress',
  grpcName: 'patchwork.v1.Compress',
  definition: CompressService,
  implementation: (runtime) => ({ submitCompress: unary(submitCompress(runtime)) }),
  handlers: (runtime) => ({ compress: compressJobHandler(runtime) }),
};
