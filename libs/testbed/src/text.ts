// Finding phrases in text the way the judge and the metric do: case-insensitive, whole words
// (a name like "Una" is not found inside "fortunately").

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const cache = new Map<string, RegExp>();

export function phraseRegex(phrase: string): RegExp {
  let re = cache.get(phrase);
  if (!re) {
    re = new RegExp(`(?<![\\p{L}\\p{N}])${escape(phrase.trim())}(?![\\p{L}\\p{N}])`, 'iu');
    cache.set(phrase, re);
  }
  return re;
}

export function mentions(text: string, phrase: string): boolean {
  return phraseRegex(phrase).test(text);
}

export function mentionsAny(text: string, phrases: readonly string[]): boolean {
  return phrases.some((p) => mentions(text, p));
}

/** Sentences of a reply (split after . ! ?), for the boilerplate share. */
export function sentences(text: string): string[] {
  return text
    .split(/(?<=[.!?])\s+/)
    .map((s) => s.trim())
    .filter((s) => /[\p{L}\p{N}]/u.test(s));
}

export function capitalize(s: string): string {
  return s.length ? s[0]!.toUpperCase() + s.slice(1) : s;
}
