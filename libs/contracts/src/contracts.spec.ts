import { JobState, MergeService, SubmitMergeRequest, loadPackageDefinition } from './index';

describe('contracts', () => {
  it('round-trips a merge request through the wire format, oneofs included', () => {
    const request = SubmitMergeRequest.fromPartial({
      requestId: 'r-1',
      spec: {
        mergeMethod: 'linear',
        models: [{ model: { source: { $case: 'path', value: '/m/a' } }, parameters: { weight: 0.25 } }],
      },
    });
    const decoded = SubmitMergeRequest.decode(SubmitMergeRequest.encode(request).finish());
    expect(decoded).toEqual(request);
    expect(decoded.spec?.models[0].model?.source).toEqual({ $case: 'path', value: '/m/a' });
  });

  it('exposes grpc-js service definitions and a reflection package definition with every service', () => {
    expect(MergeService.submitMerge.path).toBe('/patchwork.v1.Merge/SubmitMerge');
    const def = loadPackageDefinition();
    for (const name of ['Jobs', 'Artifacts', 'Merge', 'Train', 'Compress', 'Evaluate', 'Retrieve']) {
      expect(def[`patchwork.v1.${name}`]).toBeDefined();
    }
    expect(JobState.JOB_STATE_SUCCEEDED).toBe(3);
  });
});
