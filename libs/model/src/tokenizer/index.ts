// Public API of the byte-level BPE tokenizer.
export { BpeTokenizer, type DecodeOptions, type TrainOptions } from './bpe.js';
export { TokenizerError } from './errors.js';
export type { AddedToken, TokenizerJson } from './hf-json.js';
