import { gtaMethod } from './gta-method';

/**
 * Model Breadcrumbs (Davari & Belilovsky): drop each task vector's largest magnitudes (gamma, the
 * outliers) and its smallest, keep density in between, then add, as mergekit's `breadcrumbs`.
 */
export const breadcrumbs = gtaMethod('breadcrumbs', { sparsifier: 'magnitude_outliers', consensus: false, normalize: 0, rescale: 0 });
