/**
 * Applies BPE's `fuse_unk`: consecutive unknown pieces of one word become a single unknown token.
 * The JavaScript library ignores the flag and emits one unknown token per piece. Each pre-token is
 * encoded on its own so that unknowns of neighbouring words stay separate, as in the Rust library.
 */
export function fuseUnknownRuns(encodeWord: (word: string) => string[], unkToken: string): (words: string[]) => string[] {
  return (words) => {
    const out: string[] = [];
    for (const word of words) {
      let previousUnknown = false;
      for (const token of encodeWord(word)) {
        const unknown = token === unkToken;
        if (!(unknown && previousUnknown)) out.push(token);
        previousUnknown = unknown;
      }
    }
    return out;
  };
}
