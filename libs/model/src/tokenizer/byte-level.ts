// The pieces of GPT-2 style byte-level tokenization shared by training and encoding: the
// 256-character alphabet that stands for the UTF-8 bytes, the regex that cuts text into words,
// the splitter that keeps special tokens whole, and a small binary heap.

/** BYTE_TO_CHAR[b] is the printable character that stands for byte b (the GPT-2 mapping). */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const chars: string[] = [];
  let shifted = 0;
  for (let b = 0; b < 256; b++) {
    // Printable Latin-1 bytes stand for themselves; the rest move to U+0100 and up, in byte order.
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    chars.push(String.fromCharCode(printable ? b : 256 + shifted++));
  }
  return chars;
})();

/** The inverse of BYTE_TO_CHAR. */
export const CHAR_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_CHAR.map((c, b) => [c, b]));

/** The 256 byte symbols in code-point order: the order they take in a freshly trained vocab. */
export const BYTE_SYMBOLS: readonly string[] = [...BYTE_TO_CHAR].sort((x, y) => x.charCodeAt(0) - y.charCodeAt(0));

/** The GPT-2 pre-tokenizer; its matches always cover the whole input. */
const WORD_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

export function pretokenize(text: string): string[] {
  return text.match(WORD_PATTERN) ?? [];
}

/** A pattern matching any of `specials`, longest first (so leftmost-longest overall), or null. */
export function specialPattern(specials: readonly string[]): RegExp | null {
  if (specials.length === 0) return null;
  const escaped = [...specials].sort((x, y) => y.length - x.length).map((s) => s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&'));
  return new RegExp(escaped.join('|'), 'g');
}

/** Cuts `text` into [piece, isSpecial] runs; the pieces concatenate back to `text`. */
export function* splitSpecials(text: string, pattern: RegExp | null): Generator<[string, boolean]> {
  let last = 0;
  if (pattern !== null) {
    for (const m of text.matchAll(pattern)) {
      if (m.index > last) yield [text.slice(last, m.index), false];
      yield [m[0], true];
      last = m.index + m[0].length;
    }
  }
  if (last < text.length) yield [last === 0 ? text : text.slice(last), false];
}

/** A binary heap; `before(x, y)` says whether x comes out before y. */
export class Heap<T> {
  readonly #items: T[] = [];
  constructor(private readonly before: (x: T, y: T) => boolean) {}

  get size(): number {
    return this.#items.length;
  }

  push(item: T): void {
    const items = this.#items;
    let i = items.push(item) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(item, items[parent] as T)) break;
      items[i] = items[parent] as T;
      i = parent;
    }
    items[i] = item;
  }

  pop(): T | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (items.length === 0 || last === undefined) return top;
    // Sift `last` down from the root.
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= items.length) break;
      const right = left + 1;
      const child = right < items.length && this.before(items[right] as T, items[left] as T) ? right : left;
      if (!this.before(items[child] as T, last)) break;
      items[i] = items[child] as T;
      i = child;
    }
    items[i] = last;
    return top;
  }
}
