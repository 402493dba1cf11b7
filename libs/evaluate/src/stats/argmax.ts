import { invalidArgument } from '@patchwork/errors';

/**
 * Index of the largest value; ties go to the first maximum, as numpy.argmax and torch.argmax
 * resolve them (lm-evaluation-harness scores multiple choice with np.argmax). A NaN counts as the
 * maximum, again like numpy, so a broken score can never pass silently as a real winner later on.
 */
export function argmax(values: ArrayLike<number>): number {
  if (values.length === 0) throw invalidArgument('values', 'argmax of an empty list is undefined');
  let best = 0;
  if (Number.isNaN(values[0])) return 0;
  for (let i = 1; i < values.length; i++) {
    const v = values[i];
    if (Number.isNaN(v)) return i;
    if (v > values[best]) best = i;
  }
  return best;
}
