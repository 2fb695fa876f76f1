// Encoding and decoding for tokenizer.json files beyond rapo's own byte-level pipeline (Qwen's,
// Llama's, Mistral's, ...), handed to @huggingface/tokenizers so that ids are exactly the ones the
// Hugging Face tokenizer gives: normalizers, Split/Sequence pre-tokenizers with their regexes, byte
// fallback, added tokens with lstrip/rstrip. rapo's own BPE stays in charge of the files it trains.
import { Tokenizer } from '@huggingface/tokenizers';
import { describe, TokenizerError } from './errors.js';

/** The fields of tokenizer_config.json that change how @huggingface/tokenizers encodes or decodes. */
export interface TokenizerConfig {
  /** Tidy spaces before punctuation when decoding. rapo's default is false, so text round trips. */
  clean_up_tokenization_spaces?: boolean;
  /** Tokens to leave out when decoding with skipSpecialTokens, besides the special added tokens. */
  additional_special_tokens?: Array<string | { content: string }>;
  [field: string]: unknown;
}

/** Checks the tokenizer_config.json fields the Hugging Face tokenizer reads; returns what to pass it. */
export function checkTokenizerConfig(config: unknown): TokenizerConfig {
  if (config === undefined) return { clean_up_tokenization_spaces: false, additional_special_tokens: [] };
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new TokenizerError(`Expected an object (tokenizer_config.json) for config but received ${describe(config)}`);
  }
  const c = config as Record<string, unknown>;
  const clean = c.clean_up_tokenization_spaces;
  if (clean !== undefined && clean !== null && typeof clean !== 'boolean') {
    throw new TokenizerError(`tokenizer_config.json: clean_up_tokenization_spaces is ${describe(clean)}, expected true or false`);
  }
  const extra = c.additional_special_tokens;
  let specials: string[] = [];
  if (extra !== undefined && extra !== null) {
    // Older files list them as {"content": ...} objects; the tokenizer wants the strings.
    if (!Array.isArray(extra)) throw new TokenizerError(`tokenizer_config.json: additional_special_tokens is ${describe(extra)}, expected an array`);
    specials = extra.map((t: unknown, i) => {
      const content = typeof t === 'object' && t !== null ? (t as { content?: unknown }).content : t;
      if (typeof content !== 'string') {
        throw new TokenizerError(`tokenizer_config.json: additional_special_tokens[${i}] is ${describe(t)}, expected a string or {"content": string}`);
      }
      return content;
    });
  }
  return { ...c, clean_up_tokenization_spaces: clean ?? false, additional_special_tokens: specials };
}

/** A tokenizer.json encoded and decoded by @huggingface/tokenizers. */
export class ForeignCodec {
  readonly #tokenizer: Tokenizer;

  /** `json` must already have passed parseTokenizerJson; `config` is a checked tokenizer_config.json. */
  constructor(
    readonly json: Record<string, unknown>,
    config: TokenizerConfig,
    delegation: string,
  ) {
    checkSplits(json.pre_tokenizer, 'pre_tokenizer');
    // @huggingface/tokenizers matches an added token anywhere, ignoring single_word.
    const added = Array.isArray(json.added_tokens) ? (json.added_tokens as Array<Record<string, unknown>>) : [];
    const single = added.findIndex((t) => t.single_word === true);
    if (single >= 0) {
      throw new TokenizerError(
        `tokenizer.json: added_tokens[${single}].single_word is true, which @huggingface/tokenizers ignores (it would match the token inside words too)`,
      );
    }
    try {
      this.#tokenizer = new Tokenizer(json, config);
    } catch (err) {
      throw new TokenizerError(`tokenizer.json: ${delegation}, so @huggingface/tokenizers encodes it, and it cannot load the file: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  /**
   * The ids of `text`, added tokens matched whole. The post-processor's tokens (a BOS, say) are not
   * added: a chat template writes them itself, as Hugging Face's apply_chat_template does.
   */
  encode(text: string): number[] {
    return this.#tokenizer.encode(text, { add_special_tokens: false }).ids;
  }

  /** The text of `ids`, which the caller has checked are ids of tokens. */
  decode(ids: readonly number[], skipSpecialTokens: boolean): string {
    // The Hugging Face decoder refuses an empty list; its text is the empty string.
    if (ids.length === 0) return '';
    return this.#tokenizer.decode([...ids], { skip_special_tokens: skipSpecialTokens });
  }
}

/**
 * The Split pre-tokenizers (at any depth of Sequence) must be ones @huggingface/tokenizers splits as
 * the Rust library does: behavior "Isolated", or "Removed" with a regex without capturing groups
 * (it splits with String.split, which keeps what groups capture, and it wraps a String pattern in
 * one), and when inverted only "Removed". It treats the others ("MergedWithPrevious",
 * "MergedWithNext", "Contiguous") as "Isolated". Any of these would give other ids than the model
 * was trained on, so such files are refused.
 */
function checkSplits(pre: unknown, at: string): void {
  if (typeof pre !== 'object' || pre === null) return;
  const p = pre as Record<string, unknown>;
  if (p.type === 'Sequence' && Array.isArray(p.pretokenizers)) {
    p.pretokenizers.forEach((inner: unknown, i) => checkSplits(inner, `${at}.pretokenizers[${i}]`));
    return;
  }
  if (p.type !== 'Split') return;
  const behavior = typeof p.behavior === 'string' ? p.behavior.toLowerCase() : p.behavior;
  const pattern = (typeof p.pattern === 'object' && p.pattern !== null ? p.pattern : {}) as { Regex?: unknown; String?: unknown };
  if (p.invert !== true && behavior === 'removed') {
    const regex = pattern.Regex;
    // An unescaped "(" that does not open a (?...) group captures.
    if (typeof regex !== 'string' || /(^|[^\\])\((?!\?)/.test(regex)) {
      const what = typeof regex === 'string' ? `the regex ${describe(regex)}, which has a capturing group` : 'a String pattern';
      throw new TokenizerError(
        `tokenizer.json: ${at} is a Split with behavior "Removed" and ${what}; @huggingface/tokenizers would keep the removed text ` +
          '(write the pattern as a Regex without capturing groups, e.g. (?:...))',
      );
    }
  }
  const exact = p.invert === true ? behavior === 'removed' : behavior === 'isolated' || behavior === 'removed';
  if (!exact) {
    throw new TokenizerError(
      `tokenizer.json: ${at} is a Split with behavior ${describe(p.behavior)}${p.invert === true ? ' and invert true' : ''}, which @huggingface/tokenizers ` +
        'does not split as the Hugging Face (Rust) library does; rapo supports "Isolated" and "Removed" (inverted: "Removed" only)',
    );
  }
}
