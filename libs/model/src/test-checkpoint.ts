// For the model's tests: a small checkpoint on disk (a tokenizer trained on a few lines with the
// chat tokens, a randomly initialized decoder), as the local-model, server and streaming tests
// need one. Test-only: left out of the build (tsconfig.build.json).
import { CHAT_SPECIAL_TOKENS } from './chat.js';
import { saveCheckpoint } from './checkpoint.js';
import { parseConfig, type ModelConfig } from './config.js';
import { LlamaModel } from './model.js';
import { BpeTokenizer } from './tokenizer/index.js';

/** One layer, 16 wide: the smallest decoder the tests use. */
export const TINY_SHAPE = { hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, intermediate_size: 32 } as const;
/** Two layers, 32 wide, grouped-query attention with two heads per key. */
export const SMALL_SHAPE = { hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, intermediate_size: 64 } as const;

export interface TestCheckpointOptions {
  /** The lines the tokenizer is trained on. */
  corpus: string[];
  vocabSize: number;
  maxPositions: number;
  /** The init seed of the weights. */
  seed: number;
  /** generation_config.json's max_new_tokens. */
  maxNewTokens: number;
  shape?: Pick<ModelConfig, keyof typeof TINY_SHAPE>;
  metadata?: Record<string, string>;
}

/** Writes the checkpoint to `dir`; returns its tokenizer and model (the caller disposes the model). */
export function saveTestCheckpoint(dir: string, o: TestCheckpointOptions): { tokenizer: BpeTokenizer; model: LlamaModel } {
  const tokenizer = BpeTokenizer.train(o.corpus, { vocabSize: o.vocabSize, specialTokens: [...CHAT_SPECIAL_TOKENS] });
  const config = parseConfig({ vocab_size: tokenizer.vocabSize, ...(o.shape ?? TINY_SHAPE), max_position_embeddings: o.maxPositions });
  const model = LlamaModel.init(config, o.seed);
  saveCheckpoint(dir, model, tokenizer, { generation: { max_new_tokens: o.maxNewTokens }, ...(o.metadata ? { metadata: o.metadata } : {}) });
  return { tokenizer, model };
}
