import type { JobHandler, ServiceModule } from '@patchwork/platform';
import { mergeServiceModule } from '@patchwork/service-merge';

/**
 * The real merge service with a pause after every tensor, so a test can act while a job is
 * mid-run (kill its worker, cancel it). The pause is injected through the job context; the
 * product code is unchanged.
 */
export function slowMergeModule(delayMs: number): ServiceModule {
  return {
    ...mergeServiceModule,
    handlers: (runtime) => {
      const handlers = mergeServiceModule.handlers(runtime);
      const slowed: Record<string, JobHandler> = {};
      for (const [kind, handler] of Object.entries(handlers)) {
        slowed[kind] = (request, context) =>
          handler(request, {
            ...context,
            progress: async (update) => {
              await context.progress(update);
              if (update.stage === 'merge') await new Promise((resolve) => setTimeout(resolve, delayMs));
            },
          });
      }
      return slowed;
    },
  };
}
