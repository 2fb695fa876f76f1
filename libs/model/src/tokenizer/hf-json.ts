// The Hugging Face tokenizer.json shape, and a validating reader for it. Files whose pipeline is
// rapo's own (byte-level BPE: no normalizer, the GPT-2 ByteLevel pre-tokenizer, GPT-2 style merges)
// are read strictly, merges and all, and encoded by BpeTokenizer itself. Files that use anything
// more (a normalizer, Split/Sequence pre-tokenizers, byte fallback, stripping added tokens, ...)
// are encoded by @huggingface/tokenizers; for those the reader checks the vocabulary and added
// tokens and says which feature sent the file there. Every problem is a TokenizerError naming the field.
import { BYTE_TO_CHAR, CHAR_TO_BYTE } from './byte-level.js';
import { describe, TokenizerError } from './errors.js';

/** A token matched literally in the input before BPE (a tokenizer.json "added token"). */
export interface AddedToken {
  id: number;
  content: string;
  special: boolean;
}

/** What a tokenizer is made of; every id is an index into `tokens` ('' marks an id no token has). */
export interface BpeParts {
  tokens: string[];
  merges: Array<[number, number]>;
  added: AddedToken[];
  ignoreMerges: boolean;
}

/** What parseTokenizerJson found: the parts, and why the file needs @huggingface/tokenizers (or null). */
export interface ParsedTokenizerJson {
  parts: BpeParts;
  delegation: string | null;
}

interface ByteLevelJson {
  type: 'ByteLevel';
  add_prefix_space: boolean;
  trim_offsets: boolean;
  use_regex: boolean;
}

/** The tokenizer.json written by BpeTokenizer.toJSON. */
export interface TokenizerJson {
  version: '1.0';
  truncation: null;
  padding: null;
  added_tokens: Array<{
    id: number;
    content: string;
    single_word: boolean;
    lstrip: boolean;
    rstrip: boolean;
    normalized: boolean;
    special: boolean;
  }>;
  normalizer: null;
  pre_tokenizer: ByteLevelJson;
  post_processor: null;
  decoder: ByteLevelJson;
  model: {
    type: 'BPE';
    dropout: null;
    unk_token: null;
    continuing_subword_prefix: null;
    end_of_word_suffix: null;
    fuse_unk: boolean;
    byte_fallback: boolean;
    ignore_merges: boolean;
    vocab: Record<string, number>;
    merges: string[];
  };
}

/** A tokenizer.json beyond rapo's own pipeline (Qwen's, Llama's, ...), kept as it was read. */
export interface ForeignTokenizerJson {
  model: { type: 'BPE'; vocab: Record<string, number>; merges: Array<string | [string, string]>; [field: string]: unknown };
  added_tokens?: unknown[];
  [field: string]: unknown;
}

/** Ids at or above this are refused (a vocabulary that large is a corrupt file, not a model). */
const MAX_ID = 1 << 24;

function fail(message: string): never {
  throw new TokenizerError(`tokenizer.json: ${message}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isId(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0;
}

function typeOf(component: unknown): string {
  return isObject(component) ? `of type ${describe(component.type)}` : describe(component);
}

/** A null or ByteLevel component (post_processor, decoder): all rapo's own pipeline has there. */
function isByteLevelOrNull(component: unknown): boolean {
  return component == null || (isObject(component) && component.type === 'ByteLevel');
}

/**
 * The first feature of the file that rapo's own byte-level BPE does not implement, in words, or
 * null when the file is within it (then BpeTokenizer encodes it itself, exactly as the GPT-2 / Hugging
 * Face ByteLevel pipeline does).
 */
function beyondByteLevel(json: Record<string, unknown>, model: Record<string, unknown>): string | null {
  if (json.normalizer != null) return `normalizer is ${typeOf(json.normalizer)}`;
  const pre = json.pre_tokenizer;
  if (!isObject(pre) || pre.type !== 'ByteLevel') return `pre_tokenizer is ${typeOf(pre)}`;
  if (pre.add_prefix_space !== undefined && pre.add_prefix_space !== false) return `pre_tokenizer.add_prefix_space is ${describe(pre.add_prefix_space)}`;
  if (pre.use_regex !== undefined && pre.use_regex !== true) return `pre_tokenizer.use_regex is ${describe(pre.use_regex)}`;
  if (!isByteLevelOrNull(json.post_processor)) return `post_processor is ${typeOf(json.post_processor)}`;
  if (!isByteLevelOrNull(json.decoder)) return `decoder is ${typeOf(json.decoder)}`;
  if (model.byte_fallback !== undefined && model.byte_fallback !== false) return `model.byte_fallback is ${describe(model.byte_fallback)}`;
  for (const field of ['continuing_subword_prefix', 'end_of_word_suffix'] as const) {
    const value = model[field];
    if (value != null && value !== '') return `model.${field} is ${describe(value)}`;
  }
  const added = Array.isArray(json.added_tokens) ? (json.added_tokens as unknown[]) : [];
  for (const [i, entry] of added.entries()) {
    if (!isObject(entry)) continue; // reported as malformed below
    for (const flag of ['single_word', 'lstrip', 'rstrip'] as const) {
      if (entry[flag] === true) return `added_tokens[${i}].${flag} is true`;
    }
  }
  return null;
}

export function parseTokenizerJson(json: unknown): ParsedTokenizerJson {
  if (!isObject(json)) fail(`expected an object at the top level but received ${describe(json)}`);
  if (json.version !== undefined && json.version !== '1.0') fail(`version is ${describe(json.version)}, expected "1.0"`);
  const model = json.model;
  if (!isObject(model)) fail(`model is ${describe(model)}, expected an object`);
  if (model.type !== 'BPE') fail(`model.type is ${describe(model.type)}, expected "BPE"`);
  // Dropout makes encoding random; neither rapo nor the delegated path reproduces it.
  if (model.dropout != null) fail(`model.dropout is ${describe(model.dropout)}, expected null (encoding must be deterministic)`);
  if (model.ignore_merges !== undefined && typeof model.ignore_merges !== 'boolean') {
    fail(`model.ignore_merges is ${describe(model.ignore_merges)}, expected false or true`);
  }
  const delegation = beyondByteLevel(json, model);

  // Vocabulary: token -> id, then the added tokens, which may or may not repeat vocab entries.
  const vocab = model.vocab;
  if (!isObject(vocab)) fail(`model.vocab is ${describe(vocab)}, expected an object`);
  const ids = new Map<string, number>();
  const byId = new Map<number, string>();
  const claim = (token: string, id: number): void => {
    const holder = byId.get(id);
    if (holder !== undefined && holder !== token) fail(`id ${id} is given to both ${describe(holder)} and ${describe(token)}`);
    byId.set(id, token);
    ids.set(token, id);
  };
  for (const [token, id] of Object.entries(vocab)) {
    if (token === '') fail('model.vocab contains an empty token');
    if (!isId(id)) fail(`model.vocab[${describe(token)}] is ${describe(id)}, expected a non-negative integer id`);
    claim(token, id);
  }
  const rawAdded = json.added_tokens ?? [];
  if (!Array.isArray(rawAdded)) fail(`added_tokens is ${describe(rawAdded)}, expected an array`);
  const added: AddedToken[] = [];
  const addedContents = new Set<string>();
  rawAdded.forEach((entry: unknown, i) => {
    const at = `added_tokens[${i}]`;
    if (!isObject(entry)) fail(`${at} is ${describe(entry)}, expected an object`);
    const { id, content } = entry;
    if (typeof content !== 'string' || content === '') fail(`${at}.content is ${describe(content)}, expected a non-empty string`);
    if (!isId(id)) fail(`${at}.id is ${describe(id)}, expected a non-negative integer`);
    if (addedContents.has(content)) fail(`${at} repeats the added token ${describe(content)}`);
    const inVocab = ids.get(content);
    if (inVocab !== undefined && inVocab !== id) {
      fail(`${at} gives ${describe(content)} id ${id} but model.vocab gives it ${inVocab}`);
    }
    claim(content, id);
    addedContents.add(content);
    added.push({ id, content, special: entry.special === true });
  });
  const rawMerges = model.merges;
  if (!Array.isArray(rawMerges)) fail(`model.merges is ${describe(rawMerges)}, expected an array`);
  const mergePair = (entry: unknown, i: number): [string, string] => {
    const pair: unknown = typeof entry === 'string' ? entry.split(' ') : entry;
    if (!Array.isArray(pair) || pair.length !== 2 || pair.some((t) => typeof t !== 'string' || t === '')) {
      fail(`model.merges[${i}] is ${JSON.stringify(entry) ?? describe(entry)}, expected "left right" or ["left", "right"]`);
    }
    return pair as [string, string];
  };

  if (delegation !== null) {
    // @huggingface/tokenizers applies the merges; here only their shape is checked. Ids may have gaps.
    rawMerges.forEach((entry: unknown, i) => mergePair(entry, i));
    let top = -1;
    for (const id of byId.keys()) top = Math.max(top, id);
    if (top >= MAX_ID) fail(`${describe(byId.get(top))} has id ${top}, expected ids below ${MAX_ID}`);
    const tokens = Array.from({ length: top + 1 }, (_, id) => byId.get(id) ?? '');
    return { parts: { tokens, merges: [], added, ignoreMerges: model.ignore_merges === true }, delegation };
  }

  const size = byId.size;
  for (const [id, token] of byId) {
    if (id >= size) fail(`ids must run from 0 to ${size - 1} without gaps, but ${describe(token)} has id ${id}`);
  }
  const tokens = Array.from({ length: size }, (_, id) => byId.get(id) ?? '');

  // Byte-level BPE needs every byte symbol as a plain token, and plain tokens made only of them.
  BYTE_TO_CHAR.forEach((ch, b) => {
    if (!ids.has(ch)) fail(`model.vocab lacks the byte symbol ${describe(ch)} (byte ${b})`);
    if (addedContents.has(ch)) fail(`the byte symbol ${describe(ch)} (byte ${b}) is an added token`);
  });
  for (const token of tokens) {
    if (addedContents.has(token)) continue;
    for (const ch of token) {
      if (!CHAR_TO_BYTE.has(ch)) fail(`model.vocab token ${describe(token)} contains ${describe(ch)}, which is not a byte symbol`);
    }
  }

  // Merges in rank order; each must join two known tokens into a known token, once.
  const merges: Array<[number, number]> = [];
  const seen = new Map<string, number>();
  rawMerges.forEach((entry: unknown, i) => {
    const [left, right] = mergePair(entry, i);
    const label = `model.merges[${i}] (${describe(`${left} ${right}`)})`;
    const a = ids.get(left);
    const b = ids.get(right);
    if (a === undefined) fail(`${label} refers to ${describe(left)}, which is not in model.vocab`);
    if (b === undefined) fail(`${label} refers to ${describe(right)}, which is not in model.vocab`);
    if (!ids.has(left + right)) fail(`${label} makes ${describe(left + right)}, which is not in model.vocab`);
    const key = `${left} ${right}`;
    const first = seen.get(key);
    if (first !== undefined) fail(`${label} repeats model.merges[${first}]`);
    seen.set(key, i);
    merges.push([a, b]);
  });
  return { parts: { tokens, merges, added, ignoreMerges: model.ignore_merges === true }, delegation: null };
}
