// For tests of the trainer and of what builds on it (@rapo/trainer/testing): the tiny decoder
// that trains in well under a second a step, as config and as rapo-train --set options.

/** A 16-wide, one-layer model from scratch: the `model` section of a test's config. */
export const TINY_MODEL = {
  init: 'scratch',
  vocab_size: 300,
  hidden_size: 16,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  num_key_value_heads: 1,
  intermediate_size: 32,
  max_position_embeddings: 1024,
} as const;

/** TINY_MODEL as `--set model.key=value` options of the command lines. */
export const TINY_MODEL_SETS: readonly string[] = Object.entries(TINY_MODEL).map(([k, v]) => `model.${k}=${v}`);
