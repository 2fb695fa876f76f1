// Byte-level BPE tokenizer (GPT-2 / Hugging Face ByteLevel style): training from raw text,
// encoding and decoding, and reading and writing Hugging Face `tokenizer.json` files. Files beyond
// the byte-level pipeline (Qwen's, Llama's, ...) load too; their encoding and decoding go through
// @huggingface/tokenizers (see foreign.ts), so their ids are exactly the Hugging Face ones.
import { readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { BYTE_SYMBOLS, BYTE_TO_CHAR, CHAR_TO_BYTE, Heap, pretokenize, specialPattern, splitSpecials } from './byte-level.js';
import { describe, TokenizerError } from './errors.js';
import { checkTokenizerConfig, ForeignCodec, type TokenizerConfig } from './foreign.js';
import { parseTokenizerJson, type AddedToken, type BpeParts, type ForeignTokenizerJson, type TokenizerJson } from './hf-json.js';

export { TokenizerError } from './errors.js';
export type { TokenizerConfig } from './foreign.js';
export type { AddedToken, ForeignTokenizerJson, TokenizerJson } from './hf-json.js';

export interface TrainOptions {
  /** Final vocabulary size, special tokens and the 256 byte symbols included. */
  vocabSize: number;
  /** Tokens kept whole, given ids 0..k-1 in this order. */
  specialTokens?: string[];
  /** A pair seen fewer times than this is never merged (default 2). */
  minFrequency?: number;
}

export interface DecodeOptions {
  /** Leave special tokens out of the text. */
  skipSpecialTokens?: boolean;
}

const MAX_VOCAB = 1 << 24;
const CACHE_LIMIT = 1 << 16;
const MAX_CACHED_WORD = 256;
const utf8 = new TextEncoder();
// ignoreBOM keeps a leading U+FEFF, which the default decoder would silently drop.
const utf8Decoder = new TextDecoder('utf-8', { ignoreBOM: true });

export class BpeTokenizer {
  readonly #tokens: string[];
  readonly #ids: Map<string, number>;
  readonly #added: AddedToken[];
  readonly #addedById: Map<number, AddedToken>;
  readonly #specials: ReadonlyMap<string, number>;
  readonly #pattern: RegExp | null;
  readonly #ignoreMerges: boolean;
  readonly #byteIds: Int32Array;
  /** merge rank -> left id, right id, merged id; and (left * vocab + right) -> rank. */
  readonly #left: Int32Array;
  readonly #right: Int32Array;
  readonly #result: Int32Array;
  readonly #ranks = new Map<number, number>();
  /** Encoded pre-tokenized words, keyed by the word's text. */
  readonly #cache = new Map<string, number[]>();
  /** Set for files beyond the byte-level pipeline: it encodes and decodes instead of the code below. */
  readonly #foreign: ForeignCodec | null;
  readonly #delegation: string | null;
  /**
   * A foreign tokenizer's tokenizer_config.json as it was read (chat template, special tokens,
   * ...), so a checkpoint saved after fine-tuning keeps it; undefined for rapo's own tokenizers.
   */
  readonly sourceConfig: TokenizerConfig | undefined;

  /** Use train, fromJSON or load; the parts must already be consistent. */
  private constructor(parts: BpeParts, foreign: { codec: ForeignCodec; reason: string; config?: TokenizerConfig } | null = null) {
    this.#foreign = foreign?.codec ?? null;
    this.#delegation = foreign?.reason ?? null;
    this.sourceConfig = foreign?.config;
    this.#tokens = parts.tokens;
    this.#ids = new Map(parts.tokens.flatMap((t, id): Array<[string, number]> => (t === '' ? [] : [[t, id]])));
    this.#added = [...parts.added].sort((x, y) => x.id - y.id);
    this.#addedById = new Map(this.#added.map((t) => [t.id, t]));
    this.#specials = new Map(this.#added.filter((t) => t.special).map((t) => [t.content, t.id]));
    this.#pattern = specialPattern(this.#added.map((t) => t.content));
    this.#ignoreMerges = parts.ignoreMerges;
    this.#byteIds = Int32Array.from(BYTE_TO_CHAR, (c) => this.#ids.get(c) ?? -1);
    const n = parts.merges.length;
    this.#left = new Int32Array(n);
    this.#right = new Int32Array(n);
    this.#result = new Int32Array(n);
    const size = this.#tokens.length;
    parts.merges.forEach(([a, b], rank) => {
      this.#left[rank] = a;
      this.#right[rank] = b;
      this.#result[rank] = this.#ids.get(this.#token(a) + this.#token(b)) ?? -1;
      const key = a * size + b;
      if (!this.#ranks.has(key)) this.#ranks.set(key, rank);
    });
  }

  /** Learns a vocabulary and merges from `texts` (see TrainOptions). Deterministic. */
  static train(texts: Iterable<string>, options: TrainOptions): BpeTokenizer {
    const { vocabSize, specials, minFrequency } = checkTrainOptions(texts, options);
    const tokens = [...specials, ...BYTE_SYMBOLS];
    const ids = new Map(tokens.map((t, id) => [t, id]));
    const byteIds = BYTE_TO_CHAR.map((c) => ids.get(c) ?? -1);

    // Each distinct word once, with how often it occurs; specials are cut out first.
    const wordCounts = new Map<string, number>();
    const pattern = specialPattern(specials);
    let index = 0;
    for (const text of texts) {
      if (typeof text !== 'string') {
        throw new TokenizerError(`Expected a string for texts item ${index} but received ${describe(text)}`);
      }
      for (const [piece, special] of splitSpecials(text, pattern)) {
        if (special) continue;
        for (const word of pretokenize(piece)) wordCounts.set(word, (wordCounts.get(word) ?? 0) + 1);
      }
      index++;
    }
    const words: number[][] = [];
    const counts: number[] = [];
    for (const [word, count] of wordCounts) {
      words.push(Array.from(utf8.encode(word), (b) => byteIds[b] ?? -1));
      counts.push(count);
    }

    // Pair counts over all words, and which words hold each pair. A pair (a, b) is a * vocabSize + b.
    const pairCounts = new Map<number, number>();
    const holders = new Map<number, Set<number>>();
    const hold = (key: number, word: number): void => {
      const set = holders.get(key);
      if (set === undefined) holders.set(key, new Set([word]));
      else set.add(word);
    };
    words.forEach((symbols, w) => {
      for (let j = 0; j + 1 < symbols.length; j++) {
        const key = (symbols[j] ?? 0) * vocabSize + (symbols[j + 1] ?? 0);
        pairCounts.set(key, (pairCounts.get(key) ?? 0) + (counts[w] ?? 0));
        hold(key, w);
      }
    });

    // Most frequent pair first; ties go to the smaller (left, right) token strings. Heap entries may be
    // stale: an entry's count is never below the pair's true count, and a stale one is re-queued.
    const pairBefore = (x: number, y: number): boolean => {
      const xl = tokens[Math.floor(x / vocabSize)] ?? '';
      const yl = tokens[Math.floor(y / vocabSize)] ?? '';
      if (xl !== yl) return xl < yl;
      return (tokens[x % vocabSize] ?? '') < (tokens[y % vocabSize] ?? '');
    };
    const heap = new Heap<{ key: number; count: number }>((x, y) => x.count > y.count || (x.count === y.count && pairBefore(x.key, y.key)));
    for (const [key, count] of pairCounts) heap.push({ key, count });

    const merges: Array<[number, number]> = [];
    const banned = new Set<number>();
    const specialSet = new Set(specials);
    while (tokens.length < vocabSize) {
      const top = heap.pop();
      if (top === undefined) break;
      const count = pairCounts.get(top.key) ?? 0;
      if (count !== top.count) {
        if (count > 0) heap.push({ key: top.key, count });
        continue;
      }
      if (count < minFrequency) break;
      if (banned.has(top.key)) continue;
      const a = Math.floor(top.key / vocabSize);
      const b = top.key % vocabSize;
      const merged = (tokens[a] ?? '') + (tokens[b] ?? '');
      // A learned token must never read like a special token (their vocab entries would collide).
      if (specialSet.has(merged)) {
        banned.add(top.key);
        continue;
      }
      // Two different pairs can spell the same string; they then share one id, as in Hugging Face.
      let id = ids.get(merged);
      if (id === undefined) {
        id = tokens.length;
        tokens.push(merged);
        ids.set(merged, id);
      }
      merges.push([a, b]);

      // Rewrite only the words holding the pair, collecting the net change of every pair count.
      const deltas = new Map<number, number>();
      const bump = (key: number, d: number): void => void deltas.set(key, (deltas.get(key) ?? 0) + d);
      const affected = holders.get(top.key) ?? new Set<number>();
      holders.delete(top.key);
      for (const w of affected) {
        const old = words[w] ?? [];
        const c = counts[w] ?? 0;
        const next: number[] = [];
        for (let j = 0; j < old.length; j++) {
          if (old[j] === a && old[j + 1] === b && j + 1 < old.length) {
            next.push(id);
            j++;
          } else next.push(old[j] ?? 0);
        }
        if (next.length === old.length) continue; // a stale holder: the pair is gone from this word
        for (let j = 0; j + 1 < old.length; j++) bump((old[j] ?? 0) * vocabSize + (old[j + 1] ?? 0), -c);
        for (let j = 0; j + 1 < next.length; j++) {
          const key = (next[j] ?? 0) * vocabSize + (next[j + 1] ?? 0);
          bump(key, c);
          hold(key, w);
        }
        words[w] = next;
      }
      for (const [key, d] of deltas) {
        if (d === 0) continue;
        const updated = (pairCounts.get(key) ?? 0) + d;
        if (updated > 0) {
          pairCounts.set(key, updated);
          if (d > 0) heap.push({ key, count: updated });
        } else {
          pairCounts.delete(key);
          holders.delete(key);
        }
      }
    }
    const added = specials.map((content, id) => ({ id, content, special: true }));
    return new BpeTokenizer({ tokens, merges, added, ignoreMerges: false });
  }

  /**
   * Reads a tokenizer.json (parsed); throws TokenizerError naming the first problem. A file within
   * the byte-level pipeline is encoded by this class; any other BPE file by @huggingface/tokenizers,
   * which also reads `config` (the tokenizer_config.json beside it, if any).
   */
  static fromJSON(json: unknown, config?: TokenizerConfig): BpeTokenizer {
    const checked = checkTokenizerConfig(config);
    const { parts, delegation } = parseTokenizerJson(json);
    if (delegation === null) return new BpeTokenizer(parts);
    const codec = new ForeignCodec(json as Record<string, unknown>, checked, delegation);
    return new BpeTokenizer(parts, { codec, reason: delegation, ...(config ? { config } : {}) });
  }

  /** Reads a tokenizer.json file (see fromJSON). */
  static load(path: string, config?: TokenizerConfig): BpeTokenizer {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new TokenizerError(`Could not read tokenizer file ${path}: ${(err as Error).message}`, { cause: err });
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new TokenizerError(`${path} is not valid JSON: ${(err as Error).message}`, { cause: err });
    }
    return BpeTokenizer.fromJSON(json, config);
  }

  /** Writes the tokenizer.json atomically: a temporary file first, then a rename over `path`. */
  save(path: string): void {
    const tmp = `${path}.tmp-${process.pid}`;
    try {
      writeFileSync(tmp, `${JSON.stringify(this.toJSON(), null, 2)}\n`);
      renameSync(tmp, path);
    } catch (err) {
      try {
        unlinkSync(tmp);
      } catch {
        // The temporary file may never have been created.
      }
      throw new TokenizerError(`Could not save tokenizer to ${path}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Ids run from 0 to vocabSize - 1 (a file from elsewhere may leave some unused). */
  get vocabSize(): number {
    return this.#tokens.length;
  }

  /**
   * Null when this class encodes by itself; otherwise the feature of the tokenizer.json that sent
   * encoding and decoding to @huggingface/tokenizers (e.g. 'normalizer is of type "NFC"').
   */
  get delegation(): string | null {
    return this.#delegation;
  }

  /** Special tokens and their ids. */
  get specialTokens(): ReadonlyMap<string, number> {
    return this.#specials;
  }

  tokenToId(token: string): number | undefined {
    return this.#ids.get(token);
  }

  idToToken(id: number): string | undefined {
    const token = Number.isInteger(id) ? this.#tokens[id] : undefined;
    return token === '' ? undefined : token;
  }

  encode(text: string): number[] {
    if (typeof text !== 'string') throw new TokenizerError(`Expected a string for text but received ${describe(text)}`);
    if (this.#foreign !== null) return this.#foreign.encode(text);
    const out: number[] = [];
    for (const [piece, special] of splitSpecials(text, this.#pattern)) {
      if (special) {
        out.push(this.#ids.get(piece) ?? -1);
        continue;
      }
      for (const word of pretokenize(piece)) {
        for (const id of this.#encodeWord(word)) out.push(id);
      }
    }
    return out;
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    if (!Array.isArray(ids)) throw new TokenizerError(`Expected an array of token ids for ids but received ${describe(ids)}`);
    const skip = options.skipSpecialTokens ?? false;
    ids.forEach((id: unknown, i) => {
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= this.#tokens.length) {
        throw new TokenizerError(`Expected a token id in [0, ${this.#tokens.length}) for ids[${i}] but received ${describe(id)}`);
      }
      if (this.#tokens[id] === '') throw new TokenizerError(`ids[${i}] is ${id}, which no token of this tokenizer has`);
    });
    if (this.#foreign !== null) return this.#foreign.decode(ids, skip);
    let text = '';
    let bytes: number[] = [];
    ids.forEach((id) => {
      const added = this.#addedById.get(id);
      if (added !== undefined) {
        if (skip && added.special) return;
        text += utf8Decoder.decode(Uint8Array.from(bytes)) + added.content;
        bytes = [];
        return;
      }
      for (const ch of this.#token(id)) bytes.push(CHAR_TO_BYTE.get(ch) ?? 0);
    });
    return text + utf8Decoder.decode(Uint8Array.from(bytes));
  }

  /** The Hugging Face tokenizer.json form (format "1.0"); a file beyond the byte-level pipeline as it was read. */
  toJSON(): TokenizerJson | ForeignTokenizerJson {
    if (this.#foreign !== null) return this.#foreign.json as ForeignTokenizerJson;
    const vocab: Record<string, number> = Object.create(null) as Record<string, number>;
    this.#tokens.forEach((token, id) => {
      vocab[token] = id;
    });
    const byteLevel = { type: 'ByteLevel', trim_offsets: true, use_regex: true } as const;
    return {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: this.#added.map((t) => ({
        id: t.id,
        content: t.content,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: t.special,
      })),
      normalizer: null,
      pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
      post_processor: null,
      decoder: { ...byteLevel, add_prefix_space: true },
      model: {
        type: 'BPE',
        dropout: null,
        unk_token: null,
        continuing_subword_prefix: null,
        end_of_word_suffix: null,
        fuse_unk: false,
        byte_fallback: false,
        ignore_merges: this.#ignoreMerges,
        vocab,
        merges: Array.from(this.#left, (a, rank) => `${this.#token(a)} ${this.#token(this.#right[rank] ?? 0)}`),
      },
    };
  }

  #token(id: number): string {
    return this.#tokens[id] ?? '';
  }

  #encodeWord(word: string): number[] {
    const cached = this.#cache.get(word);
    if (cached !== undefined) return cached;
    const symbols = Array.from(utf8.encode(word), (b) => this.#byteIds[b] ?? -1);
    let ids: number[] | undefined;
    if (this.#ignoreMerges) {
      const whole = this.#ids.get(symbols.map((id) => this.#token(id)).join(''));
      if (whole !== undefined) ids = [whole];
    }
    ids ??= this.#merge(symbols);
    if (word.length <= MAX_CACHED_WORD) {
      if (this.#cache.size >= CACHE_LIMIT) this.#cache.clear();
      this.#cache.set(word, ids);
    }
    return ids;
  }

  /**
   * Standard BPE on one word: repeatedly merge the adjacent pair of lowest rank (leftmost on ties).
   * Symbols form a linked list; a heap holds candidate merges as rank * n + position, and an entry
   * is dropped when the two symbols at that position are no longer the merge's pair.
   */
  #merge(symbols: number[]): number[] {
    const n = symbols.length;
    if (n < 2) return symbols;
    const sym = Int32Array.from(symbols);
    const next = new Int32Array(n);
    const prev = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      next[i] = i + 1 < n ? i + 1 : -1;
      prev[i] = i - 1;
    }
    const size = this.#tokens.length;
    const heap = new Heap<number>((x, y) => x < y);
    const consider = (pos: number): void => {
      const after = next[pos] ?? -1;
      if (after < 0) return;
      const rank = this.#ranks.get((sym[pos] ?? 0) * size + (sym[after] ?? 0));
      if (rank !== undefined) heap.push(rank * n + pos);
    };
    for (let i = 0; i + 1 < n; i++) consider(i);
    for (let key = heap.pop(); key !== undefined; key = heap.pop()) {
      const rank = Math.floor(key / n);
      const pos = key - rank * n;
      const after = next[pos] ?? -1;
      if (after < 0 || sym[pos] !== this.#left[rank] || sym[after] !== this.#right[rank]) continue;
      sym[pos] = this.#result[rank] ?? -1;
      sym[after] = -1;
      const following = next[after] ?? -1;
      next[pos] = following;
      if (following >= 0) prev[following] = pos;
      const before = prev[pos] ?? -1;
      if (before >= 0) consider(before);
      consider(pos);
    }
    const out: number[] = [];
    for (let i = 0; i >= 0; i = next[i] ?? -1) out.push(sym[i] ?? -1);
    return out;
  }
}

function checkTrainOptions(texts: unknown, options: unknown): { vocabSize: number; specials: string[]; minFrequency: number } {
  if (typeof texts === 'string' || texts === null || typeof (texts as { [Symbol.iterator]?: unknown })?.[Symbol.iterator] !== 'function') {
    const what = typeof texts === 'string' ? 'a string (wrap it in an array)' : describe(texts);
    throw new TokenizerError(`Expected an iterable of strings for texts but received ${what}`);
  }
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TokenizerError(`Expected an object for options but received ${describe(options)}`);
  }
  const { vocabSize, specialTokens = [], minFrequency = 2 } = options as Record<string, unknown>;
  if (!Array.isArray(specialTokens)) {
    throw new TokenizerError(`Expected an array of strings for specialTokens but received ${describe(specialTokens)}`);
  }
  const seen = new Map<string, number>();
  specialTokens.forEach((token: unknown, i) => {
    if (typeof token !== 'string' || token.length === 0) {
      throw new TokenizerError(`Expected a non-empty string for specialTokens[${i}] but received ${describe(token)}`);
    }
    if (CHAR_TO_BYTE.has(token)) {
      throw new TokenizerError(`Expected a token other than a byte symbol for specialTokens[${i}] but received ${describe(token)}`);
    }
    const first = seen.get(token);
    if (first !== undefined) {
      throw new TokenizerError(`Expected distinct specialTokens but specialTokens[${i}] repeats specialTokens[${first}] (${describe(token)})`);
    }
    seen.set(token, i);
  });
  const min = 256 + specialTokens.length;
  if (typeof vocabSize !== 'number' || !Number.isInteger(vocabSize) || vocabSize < min) {
    throw new TokenizerError(
      `Expected an integer >= ${min} (256 byte symbols + ${specialTokens.length} special tokens) for vocabSize but received ${describe(vocabSize)}`,
    );
  }
  if (vocabSize > MAX_VOCAB) {
    throw new TokenizerError(`Expected an integer <= ${MAX_VOCAB} for vocabSize but received ${vocabSize}`);
  }
  if (typeof minFrequency !== 'number' || !Number.isInteger(minFrequency) || minFrequency < 1) {
    throw new TokenizerError(`Expected an integer >= 1 for minFrequency but received ${describe(minFrequency)}`);
  }
  return { vocabSize, specials: specialTokens as string[], minFrequency };
}
