import { RetrieveService } from '@patchwork/contracts';
import { unimplementedServiceModule } from '@patchwork/platform';

/** The retrieve contract is served; its methods answer UNIMPLEMENTED until the retrieve library lands. */
export const retrieveServiceModule = unimplementedServiceModule('retrieve', 'patchwork.v1.Retrieve', RetrieveService);
