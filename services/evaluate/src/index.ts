import { EvaluateService } from '@patchwork/contracts';
import { unimplementedServiceModule } from '@patchwork/platform';

/** The evaluate contract is served; its methods answer UNIMPLEMENTED until the evaluate library lands. */
export const evaluateServiceModule = unimplementedServiceModule('evaluate', 'patchwork.v1.Evaluate', EvaluateService);
