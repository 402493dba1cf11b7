/**
 * Target lengths for right truncation with the Python library's default `longest_first` strategy.
 * For a pair, the shorter sequence is kept whole when the longer one can absorb the cut; otherwise
 * both are cut to half the budget, the second sequence getting the odd token.
 */
export function longestFirstLengths(first: number, second: number | undefined, maxLength: number): [number, number] {
  if (second === undefined) return [Math.min(first, maxLength), 0];
  if (first + second <= maxLength) return [first, second];
  let shorter = Math.min(first, second);
  let longer = shorter > maxLength ? shorter : Math.max(shorter, maxLength - shorter);
  if (shorter + longer > maxLength) {
    shorter = Math.floor(maxLength / 2);
    longer = shorter + (maxLength % 2);
  }
  return first > second ? [longer, shorter] : [shorter, longer];
}
