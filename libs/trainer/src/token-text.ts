// The text of each token of a sampled response, for samples.jsonl and the report's heatmap. A
// token decoded alone can end with part of a character's bytes (byte-level BPE splits many
// non-ASCII characters), which decodes to U+FFFD; so such a token is decoded together with the
// tokens after it until their bytes end on a whole character. The joined text goes to the last
// token of the group and the others get '': one string per token still (the per-token scores stay
// aligned), their concatenation is the decoded response, and no U+FFFD appears for valid UTF-8.

const REPLACEMENT = '\uFFFD';

/** The most tokens one group may join (a character is at most 4 bytes; this leaves room for tokens that end one and start the next). */
const MAX_GROUP = 8;

/** One text per id, in order, split only between whole characters (see above); `decode` turns ids into text. */
export function tokenTexts(ids: readonly number[], decode: (ids: readonly number[]) => string): string[] {
  const out: string[] = [];
  let start = 0;
  for (let j = 0; j < ids.length; j++) {
    const text = decode(ids.slice(start, j + 1));
    // Held while the text ends in U+FFFD (an unfinished character), unless nothing follows or the group is full.
    if (text.endsWith(REPLACEMENT) && j < ids.length - 1 && j - start + 1 < MAX_GROUP) continue;
    for (let k = start; k < j; k++) out.push('');
    out.push(text);
    start = j + 1;
  }
  return out;
}
