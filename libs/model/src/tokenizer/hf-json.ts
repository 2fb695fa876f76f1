// The Hugging Face tokenizer.json shape for byte-level BPE, and a validating reader for it. The
// reader accepts what BpeTokenizer.toJSON writes and other GPT-2 style files (merges as "a b"
// strings or [a, b] pairs), and throws a TokenizerError naming the first problem it finds.
import { BYTE_TO_CHAR, CHAR_TO_BYTE } from './byte-level.js';
import { describe, TokenizerError } from './errors.js';

/** A token matched literally in the input before BPE (a tokenizer.json "added token"). */
export interface AddedToken {
  id: number;
  content: string;
  special: boolean;
}

/** What a tokenizer is made of; every id is an index into `tokens`. */
export interface BpeParts {
  tokens: string[];
  merges: Array<[number, number]>;
  added: AddedToken[];
  ignoreMerges: boolean;
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

function fail(message: string): never {
  throw new TokenizerError(`tokenizer.json: ${message}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isId(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0;
}

/** A component must be a ByteLevel one (or, where `optional`, null or missing). */
function checkByteLevel(component: unknown, name: string, optional: boolean): void {
  if (component == null && optional) return;
  if (!isObject(component)) fail(`${name} is ${describe(component)}, expected a ByteLevel ${name}`);
  if (component.type !== 'ByteLevel') {
    fail(`${name}.type is ${describe(component.type)}, expected "ByteLevel"${optional ? ` or a null ${name}` : ''}`);
  }
}

export function parseTokenizerJson(json: unknown): BpeParts {
  if (!isObject(json)) fail(`expected an object at the top level but received ${describe(json)}`);
  if (json.version !== undefined && json.version !== '1.0') fail(`version is ${describe(json.version)}, expected "1.0"`);
  const model = json.model;
  if (!isObject(model)) fail(`model is ${describe(model)}, expected an object`);
  if (model.type !== 'BPE') fail(`model.type is ${describe(model.type)}, expected "BPE"`);

  // The pipeline around the model must be the byte-level one this class implements.
  const normalizer = json.normalizer;
  if (normalizer != null) {
    fail(`normalizer is ${isObject(normalizer) ? `of type ${describe(normalizer.type)}` : describe(normalizer)}, expected null`);
  }
  checkByteLevel(json.pre_tokenizer, 'pre_tokenizer', false);
  const pre = json.pre_tokenizer as Record<string, unknown>;
  if (pre.add_prefix_space !== undefined && pre.add_prefix_space !== false) {
    fail(`pre_tokenizer.add_prefix_space is ${describe(pre.add_prefix_space)}, expected false`);
  }
  if (pre.use_regex !== undefined && pre.use_regex !== true) {
    fail(`pre_tokenizer.use_regex is ${describe(pre.use_regex)}, expected true`);
  }
  checkByteLevel(json.post_processor, 'post_processor', true);
  checkByteLevel(json.decoder, 'decoder', true);
  for (const [field, allowed] of [
    ['dropout', [null]],
    ['continuing_subword_prefix', [null, '']],
    ['end_of_word_suffix', [null, '']],
    ['byte_fallback', [false]],
    ['ignore_merges', [false, true]],
  ] as const) {
    const value = model[field];
    if (value !== undefined && !(allowed as readonly unknown[]).includes(value)) {
      fail(`model.${field} is ${describe(value)}, expected ${allowed.map((v) => describe(v)).join(' or ')}`);
    }
  }

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
    for (const flag of ['single_word', 'lstrip', 'rstrip'] as const) {
      if (entry[flag] === true) fail(`${at}.${flag} is true, which is not supported`);
    }
    if (addedContents.has(content)) fail(`${at} repeats the added token ${describe(content)}`);
    const inVocab = ids.get(content);
    if (inVocab !== undefined && inVocab !== id) {
      fail(`${at} gives ${describe(content)} id ${id} but model.vocab gives it ${inVocab}`);
    }
    claim(content, id);
    addedContents.add(content);
    added.push({ id, content, special: entry.special === true });
  });
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
  const rawMerges = model.merges;
  if (!Array.isArray(rawMerges)) fail(`model.merges is ${describe(rawMerges)}, expected an array`);
  const merges: Array<[number, number]> = [];
  const seen = new Map<string, number>();
  rawMerges.forEach((entry: unknown, i) => {
    const at = `model.merges[${i}]`;
    const pair: unknown = typeof entry === 'string' ? entry.split(' ') : entry;
    if (!Array.isArray(pair) || pair.length !== 2 || pair.some((t) => typeof t !== 'string' || t === '')) {
      fail(`${at} is ${JSON.stringify(entry) ?? describe(entry)}, expected "left right" or ["left", "right"]`);
    }
    const [left, right] = pair as [string, string];
    const label = `${at} (${describe(`${left} ${right}`)})`;
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
  return { tokens, merges, added, ignoreMerges: model.ignore_merges === true };
}
