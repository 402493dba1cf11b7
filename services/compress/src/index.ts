import { CompressService } from '@patchwork/contracts';
import { unimplementedServiceModule } from '@patchwork/platform';

/** The compress contract is served; its methods answer UNIMPLEMENTED until the compress library lands. */
export const compressServiceModule = unimplementedServiceModule('compress', 'patchwork.v1.Compress', CompressService);
