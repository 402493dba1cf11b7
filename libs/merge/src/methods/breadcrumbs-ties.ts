import { gtaMethod } from './gta-method';

/** Breadcrumbs sparsification followed by TIES sign election (mergekit's `breadcrumbs_ties`). */
export const breadcrumbsTies = gtaMethod('breadcrumbs_ties', { sparsifier: 'magnitude_outliers', consensus: true, normalize: 0, rescale: 0 });
