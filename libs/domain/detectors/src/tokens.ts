/** Runs of letters, combining marks and digits: "don't" is "don" and "t", "e-mail" is "e" and "mail". */
const WORD = /[\p{L}\p{M}\p{N}]+/gu;

/**
 * Tokens an event's text is scanned for: more than this many distinct words in one input are
 * ignored, so one very long input cannot dominate a window's cost.
 */
export const MAX_TOKENS_PER_TEXT = 512;

/**
 * The distinct lowercase words of a text, in order of first appearance. NFKC folds compatibility
 * forms (full-width letters, ligatures) into the plain word they display as, so "ｖｅｌｕｔｉｎａ" counts
 * as "velutina". Homoglyphs from other scripts and zero-width characters inside a word are not
 * folded: they make a different token, which the trigger-response test then treats on its own.
 */
export function tokenise(text: string): string[] {
  const seen = new Set<string>();
  for (const match of text.normalize('NFKC').toLowerCase().matchAll(WORD)) {
    seen.add(match[0]);
    if (seen.size >= MAX_TOKENS_PER_TEXT) break;
  }
  return [...seen];
}
