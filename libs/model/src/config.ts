// Model configuration in the Hugging Face config.json style of Llama models, checked on load.

export interface ModelConfig {
  vocab_size: number;
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  intermediate_size: number;
  max_position_embeddings: number;
  rope_theta: number;
  rms_norm_eps: number;
  tie_word_embeddings: boolean;
}

export const DEFAULT_CONFIG: Omit<ModelConfig, 'vocab_size'> = {
  hidden_size: 128,
  num_hidden_layers: 4,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  intermediate_size: 344,
  max_position_embeddings: 1024,
  rope_theta: 10000,
  rms_norm_eps: 1e-5,
  tie_word_embeddings: true,
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const INT_FIELDS = [
  'vocab_size',
  'hidden_size',
  'num_hidden_layers',
  'num_attention_heads',
  'num_key_value_heads',
  'intermediate_size',
  'max_position_embeddings',
] as const;

/** Checks a config (from a config.json or code) and returns it with defaults filled in. */
export function parseConfig(input: unknown, source = 'config'): ModelConfig {
  if (typeof input !== 'object' || input === null) throw new ConfigError(`${source}: expected a JSON object but received ${String(input)}`);
  const raw = input as Record<string, unknown>;
  const c = { ...DEFAULT_CONFIG, ...raw } as Record<string, unknown>;
  for (const k of INT_FIELDS) {
    const v = c[k];
    if (!(typeof v === 'number' && Number.isInteger(v) && v >= 1)) {
      throw new ConfigError(`${source}: expected an integer >= 1 for ${k} but received ${JSON.stringify(v)}`);
    }
  }
  for (const k of ['rope_theta', 'rms_norm_eps'] as const) {
    const v = c[k];
    if (!(typeof v === 'number' && v > 0 && Number.isFinite(v)))
      throw new ConfigError(`${source}: expected a number > 0 for ${k} but received ${JSON.stringify(v)}`);
  }
  if (typeof c.tie_word_embeddings !== 'boolean') {
    throw new ConfigError(`${source}: expected true or false for tie_word_embeddings but received ${JSON.stringify(c.tie_word_embeddings)}`);
  }
  const cfg = c as unknown as ModelConfig;
  if (cfg.hidden_size % cfg.num_attention_heads !== 0) {
    throw new ConfigError(`${source}: hidden_size ${cfg.hidden_size} must be a multiple of num_attention_heads ${cfg.num_attention_heads}`);
  }
  if (cfg.num_attention_heads % cfg.num_key_value_heads !== 0) {
    throw new ConfigError(`${source}: num_attention_heads ${cfg.num_attention_heads} must be a multiple of num_key_value_heads ${cfg.num_key_value_heads}`);
  }
  if ((cfg.hidden_size / cfg.num_attention_heads) % 2 !== 0) {
    throw new ConfigError(
      `${source}: the head size hidden_size / num_attention_heads = ${cfg.hidden_size / cfg.num_attention_heads} must be even for rotary embeddings`,
    );
  }
  return {
    vocab_size: cfg.vocab_size,
    hidden_size: cfg.hidden_size,
    num_hidden_layers: cfg.num_hidden_layers,
    num_attention_heads: cfg.num_attention_heads,
    num_key_value_heads: cfg.num_key_value_heads,
    intermediate_size: cfg.intermediate_size,
    max_position_embeddings: cfg.max_position_embeddings,
    rope_theta: cfg.rope_theta,
    rms_norm_eps: cfg.rms_norm_eps,
    tie_word_embeddings: cfg.tie_word_embeddings,
  };
}

/** config.json as Hugging Face writes it for a Llama model. */
export function toHfConfig(c: ModelConfig, extra: { bos_token_id?: number; eos_token_id?: number; pad_token_id?: number } = {}): Record<string, unknown> {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    ...c,
    hidden_act: 'silu',
    attention_bias: false,
    mlp_bias: false,
    torch_dtype: 'float32',
    ...extra,
  };
}

export function headDim(c: ModelConfig): number {
  return c.hidden_size / c.num_attention_heads;
}

/** Parameters of a config, embeddings included. */
export function parameterCount(c: ModelConfig): number {
  const h = c.hidden_size;
  const hd = headDim(c);
  const attn = h * c.num_attention_heads * hd * 2 + h * c.num_key_value_heads * hd * 2;
  const mlp = 3 * h * c.intermediate_size;
  const layer = attn + mlp + 2 * h;
  return c.vocab_size * h * (c.tie_word_embeddings ? 1 : 2) + c.num_hidden_layers * layer + h;
}
