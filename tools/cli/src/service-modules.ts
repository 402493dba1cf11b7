import type { ServiceModule, ServiceName } from '@patchwork/platform';
import { compressServiceModule } from '@patchwork/service-compress';
import { evaluateServiceModule } from '@patchwork/service-evaluate';
import { mergeServiceModule } from '@patchwork/service-merge';
import { retrieveServiceModule } from '@patchwork/service-retrieve';
import { trainServiceModule } from '@patchwork/service-train';

export const SERVICE_MODULES: Record<ServiceName, ServiceModule> = {
  compress: compressServiceModule,
  train: trainServiceModule,
  merge: mergeServiceModule,
  evaluate: evaluateServiceModule,
  retrieve: retrieveServiceModule,
};
