import { TrainService } from '@patchwork/contracts';
import { unimplementedServiceModule } from '@patchwork/platform';

/** The train contract is served; its methods answer UNIMPLEMENTED until the train library lands. */
export const trainServiceModule = unimplementedServiceModule('train', 'patchwork.v1.Train', TrainService);
