// The tokenizer's one error type, and how received values are named in its messages
// ("Expected <what> for <argument> but received <value>").

/** Any failure of the tokenizer: bad arguments, unknown ids, malformed tokenizer.json. */
export class TokenizerError extends Error {
  override name = 'TokenizerError';
}

/** A short rendering of a received value for error messages. */
export function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (v === null || v === undefined) return String(v);
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}
