// Public API of the byte-level BPE tokenizer.
export { BpeTokenizer, type DecodeOptions, type TrainOptions } from './bpe.js';
export { TokenizerError } from './errors.js';
export type { TokenizerConfig } from './foreign.js';
export type { AddedToken, ForeignTokenizerJson, TokenizerJson } from './hf-json.js';
