// Model configuration in the Hugging Face config.json style, checked on load: rapo's own Llama
// models, and the config.json of a Hugging Face Llama, Qwen2 or Qwen3 checkpoint (the fields that
// change the arithmetic are read or refused; the rest is kept and written back on save).

/** The Hugging Face model families whose checkpoints rapo reads, by config.json's model_type. */
export type ModelType = 'llama' | 'qwen2' | 'qwen3';
export const MODEL_TYPES: readonly ModelType[] = ['llama', 'qwen2', 'qwen3'];

/** The class a family's config.json lists in `architectures`. */
const ARCHITECTURES: Record<ModelType, string> = { llama: 'LlamaForCausalLM', qwen2: 'Qwen2ForCausalLM', qwen3: 'Qwen3ForCausalLM' };

/** The rotary scalings rapo implements (each only changes the rotary frequencies). */
export type RopeScaling =
  | { rope_type: 'linear'; factor: number }
  | { rope_type: 'llama3'; factor: number; low_freq_factor: number; high_freq_factor: number; original_max_position_embeddings: number };

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
  /** The family's layout; absent means llama (rapo's own models). */
  model_type?: ModelType;
  /** Width of one attention head; absent means hidden_size / num_attention_heads. */
  head_dim?: number;
  /** llama and qwen3: biases on q_proj, k_proj, v_proj and o_proj. (qwen2 always has q/k/v biases and none on o_proj.) */
  attention_bias?: boolean;
  /** llama: biases on gate_proj, up_proj and down_proj. */
  mlp_bias?: boolean;
  /** Rotary scaling; absent means none (config.json's `rope_scaling: null`). */
  rope_scaling?: RopeScaling;
  /** The other fields of the config.json the model came from (token ids, sliding-window settings, ...), written back on save. */
  hf_fields?: Record<string, unknown>;
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

/** Fields a config's layout is read from; every other field of a config.json is kept in hf_fields. */
const READ_FIELDS = new Set<string>([
  ...INT_FIELDS,
  'rope_theta',
  'rms_norm_eps',
  'tie_word_embeddings',
  'model_type',
  'architectures',
  'head_dim',
  'rope_scaling',
  'rope_parameters',
  'hidden_act',
  'torch_dtype',
  'dtype',
]);
/** Bias switches each family reads (Qwen2's attention biases are fixed by the family, not by a field). */
const BIAS_FIELDS: Record<ModelType, readonly ('attention_bias' | 'mlp_bias')[]> = {
  llama: ['attention_bias', 'mlp_bias'],
  qwen2: [],
  qwen3: ['attention_bias'],
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function parseModelType(raw: Record<string, unknown>, source: string): ModelType | undefined {
  const t = raw.model_type;
  if (t === undefined) return undefined;
  if (typeof t !== 'string' || !(MODEL_TYPES as readonly string[]).includes(t)) {
    throw new ConfigError(
      `${source}: model_type ${JSON.stringify(t)} is not supported; rapo reads the layouts of ${MODEL_TYPES.map((m) => `"${m}"`).join(', ')} (${Object.values(ARCHITECTURES).join(', ')})`,
    );
  }
  const arch = raw.architectures;
  if (arch !== undefined && arch !== null) {
    if (!Array.isArray(arch) || !arch.every((a) => typeof a === 'string')) {
      throw new ConfigError(`${source}: expected a list of class names for architectures but received ${JSON.stringify(arch)}`);
    }
    if (arch.length > 0 && !arch.includes(ARCHITECTURES[t as ModelType])) {
      throw new ConfigError(
        `${source}: architectures ${JSON.stringify(arch)} has no ${ARCHITECTURES[t as ModelType]}; rapo reads causal language models only (a classification or other head has other tensors)`,
      );
    }
  }
  return t as ModelType;
}

const positiveNumber = (v: unknown): v is number => typeof v === 'number' && v > 0 && Number.isFinite(v);

/** rope_scaling (or transformers 5's rope_parameters, less rope_theta) as rapo implements it, or a clear refusal. */
function parseRopeScaling(value: unknown, field: string, source: string): RopeScaling | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) throw new ConfigError(`${source}: expected an object or null for ${field} but received ${JSON.stringify(value)}`);
  const type = value.rope_type ?? value.type;
  if (type === undefined || type === 'default') return undefined;
  const num = (key: string): number => {
    const v = value[key];
    if (!positiveNumber(v))
      throw new ConfigError(`${source}: ${field} of type "${String(type)}" needs a number > 0 for ${key} but received ${JSON.stringify(v)}`);
    return v;
  };
  if (type === 'linear') return { rope_type: 'linear', factor: num('factor') };
  if (type === 'llama3') {
    const s = {
      rope_type: 'llama3' as const,
      factor: num('factor'),
      low_freq_factor: num('low_freq_factor'),
      high_freq_factor: num('high_freq_factor'),
      original_max_position_embeddings: num('original_max_position_embeddings'),
    };
    if (s.high_freq_factor <= s.low_freq_factor) {
      throw new ConfigError(`${source}: ${field}: high_freq_factor ${s.high_freq_factor} must be greater than low_freq_factor ${s.low_freq_factor}`);
    }
    return s;
  }
  throw new ConfigError(
    `${source}: ${field} type ${JSON.stringify(type)} is not supported; rapo implements none (null or "default"), "linear" and "llama3" ` +
      '("dynamic" changes the frequencies with the sequence length, and yarn, longrope and the others also rescale the attention)',
  );
}

/**
 * Qwen2 and Qwen3 may restrict some layers to a sliding window of keys. rapo attends to every
 * earlier position, which is the same arithmetic while the context fits in the window; a window
 * shorter than the context is refused.
 */
function checkSlidingWindow(raw: Record<string, unknown>, layers: number, maxPositions: number, source: string): void {
  const types = raw.layer_types;
  if (types !== undefined && types !== null) {
    if (!Array.isArray(types) || types.some((t) => t !== 'full_attention' && t !== 'sliding_attention')) {
      throw new ConfigError(`${source}: expected a list of "full_attention" or "sliding_attention" for layer_types but received ${JSON.stringify(types)}`);
    }
  }
  if (raw.use_sliding_window !== true) return;
  const window = raw.sliding_window;
  if (window === undefined || window === null) return;
  if (!(typeof window === 'number' && Number.isInteger(window) && window >= 1)) {
    throw new ConfigError(`${source}: expected an integer >= 1 or null for sliding_window but received ${JSON.stringify(window)}`);
  }
  // Layers from max_window_layers on use the window (transformers' default: 28).
  const firstWindowed = typeof raw.max_window_layers === 'number' ? raw.max_window_layers : 28;
  const windowed = Array.isArray(types) ? types.includes('sliding_attention') : firstWindowed < layers;
  if (windowed && window < maxPositions) {
    throw new ConfigError(
      `${source}: use_sliding_window is true and sliding_window ${window} is shorter than max_position_embeddings ${maxPositions}; ` +
        `rapo has no sliding-window attention. Lower max_position_embeddings to ${window} in config.json (the window then never cuts), ` +
        'or set use_sliding_window to false to attend to the whole context (which the model was not trained with)',
    );
  }
}

/** Checks a config (from a config.json or code) and returns it with defaults filled in. */
export function parseConfig(input: unknown, source = 'config'): ModelConfig {
  if (!isObject(input)) throw new ConfigError(`${source}: expected a JSON object but received ${JSON.stringify(input) ?? String(input)}`);
  // A parsed config's hf_fields are fields of the file it came from: read them back as such.
  const { hf_fields: kept, ...given } = input;
  if (kept !== undefined && !isObject(kept)) throw new ConfigError(`${source}: expected an object for hf_fields but received ${JSON.stringify(kept)}`);
  const raw: Record<string, unknown> = { ...kept, ...given };
  const modelType = parseModelType(raw, source);
  // A Hugging Face config.json leaves out fields at transformers' defaults, which differ from rapo's.
  const familyDefaults =
    modelType === undefined
      ? {}
      : { rms_norm_eps: 1e-6, tie_word_embeddings: false, num_key_value_heads: raw.num_attention_heads ?? DEFAULT_CONFIG.num_attention_heads };
  let rope = raw;
  let scalingField = 'rope_scaling';
  if (raw.rope_parameters !== undefined && raw.rope_parameters !== null) {
    // transformers 5 keeps rope_theta and the scaling in one object.
    const rp = raw.rope_parameters;
    if (!isObject(rp)) throw new ConfigError(`${source}: expected an object for rope_parameters but received ${JSON.stringify(rp)}`);
    if (raw.rope_scaling !== undefined && raw.rope_scaling !== null) throw new ConfigError(`${source}: give rope_scaling or rope_parameters, not both`);
    if (raw.rope_theta !== undefined && rp.rope_theta !== undefined && raw.rope_theta !== rp.rope_theta) {
      throw new ConfigError(`${source}: rope_theta ${JSON.stringify(raw.rope_theta)} and rope_parameters.rope_theta ${JSON.stringify(rp.rope_theta)} differ`);
    }
    rope = { rope_theta: rp.rope_theta ?? raw.rope_theta, rope_scaling: rp };
    scalingField = 'rope_parameters';
  }
  const c = { ...DEFAULT_CONFIG, ...familyDefaults, ...raw, rope_theta: rope.rope_theta ?? DEFAULT_CONFIG.rope_theta } as Record<string, unknown>;
  for (const k of INT_FIELDS) {
    const v = c[k];
    if (!(typeof v === 'number' && Number.isInteger(v) && v >= 1)) {
      throw new ConfigError(`${source}: expected an integer >= 1 for ${k} but received ${JSON.stringify(v)}`);
    }
  }
  for (const k of ['rope_theta', 'rms_norm_eps'] as const) {
    const v = c[k];
    if (!positiveNumber(v)) throw new ConfigError(`${source}: expected a number > 0 for ${k} but received ${JSON.stringify(v)}`);
  }
  if (typeof c.tie_word_embeddings !== 'boolean') {
    throw new ConfigError(`${source}: expected true or false for tie_word_embeddings but received ${JSON.stringify(c.tie_word_embeddings)}`);
  }
  if (raw.hidden_act !== undefined && raw.hidden_act !== 'silu') {
    throw new ConfigError(`${source}: hidden_act ${JSON.stringify(raw.hidden_act)} is not supported; rapo's MLP is SwiGLU ("silu")`);
  }
  const core = c as unknown as ModelConfig;
  const explicitHead = raw.head_dim ?? undefined;
  if (explicitHead !== undefined && !(typeof explicitHead === 'number' && Number.isInteger(explicitHead) && explicitHead >= 1)) {
    throw new ConfigError(`${source}: expected an integer >= 1 or null for head_dim but received ${JSON.stringify(explicitHead)}`);
  }
  if (explicitHead === undefined && core.hidden_size % core.num_attention_heads !== 0) {
    throw new ConfigError(
      `${source}: hidden_size ${core.hidden_size} must be a multiple of num_attention_heads ${core.num_attention_heads} (or give head_dim)`,
    );
  }
  if (core.num_attention_heads % core.num_key_value_heads !== 0) {
    throw new ConfigError(`${source}: num_attention_heads ${core.num_attention_heads} must be a multiple of num_key_value_heads ${core.num_key_value_heads}`);
  }
  const hd = explicitHead ?? core.hidden_size / core.num_attention_heads;
  if (hd % 2 !== 0) {
    throw new ConfigError(
      explicitHead === undefined
        ? `${source}: the head size hidden_size / num_attention_heads = ${hd} must be even for rotary embeddings`
        : `${source}: head_dim ${hd} must be even for rotary embeddings`,
    );
  }
  const out: ModelConfig = {
    vocab_size: core.vocab_size,
    hidden_size: core.hidden_size,
    num_hidden_layers: core.num_hidden_layers,
    num_attention_heads: core.num_attention_heads,
    num_key_value_heads: core.num_key_value_heads,
    intermediate_size: core.intermediate_size,
    max_position_embeddings: core.max_position_embeddings,
    rope_theta: core.rope_theta,
    rms_norm_eps: core.rms_norm_eps,
    tie_word_embeddings: core.tie_word_embeddings,
  };
  const family = modelType ?? 'llama';
  if (modelType !== undefined) out.model_type = modelType;
  if (explicitHead !== undefined) out.head_dim = explicitHead as number;
  for (const k of BIAS_FIELDS[family]) {
    const v = raw[k];
    if (v === undefined) continue;
    if (typeof v !== 'boolean') throw new ConfigError(`${source}: expected true or false for ${k} but received ${JSON.stringify(v)}`);
    if (v) out[k] = true;
  }
  const scaling = parseRopeScaling(rope.rope_scaling, scalingField, source);
  if (scaling) out.rope_scaling = scaling;
  if (family !== 'llama') checkSlidingWindow(raw, out.num_hidden_layers, out.max_position_embeddings, source);
  const read = new Set<string>([...READ_FIELDS, ...BIAS_FIELDS[family]]);
  const rest = Object.fromEntries(Object.entries(raw).filter(([k]) => !read.has(k)));
  if (Object.keys(rest).length > 0) out.hf_fields = rest;
  return out;
}

/** config.json as Hugging Face writes it for the config's family (LlamaForCausalLM unless model_type says otherwise). */
export function toHfConfig(c: ModelConfig, extra: { bos_token_id?: number; eos_token_id?: number; pad_token_id?: number } = {}): Record<string, unknown> {
  const family = c.model_type ?? 'llama';
  const { model_type: _t, head_dim, attention_bias, mlp_bias, rope_scaling, hf_fields, ...core } = c;
  return {
    ...hf_fields,
    architectures: [ARCHITECTURES[family]],
    model_type: family,
    ...core,
    ...(head_dim !== undefined ? { head_dim } : {}),
    hidden_act: 'silu',
    ...(BIAS_FIELDS[family].includes('attention_bias') ? { attention_bias: attention_bias ?? false } : {}),
    ...(BIAS_FIELDS[family].includes('mlp_bias') ? { mlp_bias: mlp_bias ?? false } : {}),
    rope_scaling: rope_scaling ?? null,
    torch_dtype: 'float32',
    ...extra,
  };
}

export function headDim(c: ModelConfig): number {
  return c.head_dim ?? c.hidden_size / c.num_attention_heads;
}

/** Which optional tensors a config's layers have. */
export interface LayerLayout {
  /** Biases on q_proj, k_proj and v_proj. */
  qkvBias: boolean;
  /** A bias on o_proj. */
  outputBias: boolean;
  /** Qwen3's RMSNorm of each query and key head (q_norm, k_norm), before rotary. */
  qkNorm: boolean;
  /** Biases on gate_proj, up_proj and down_proj. */
  mlpBias: boolean;
}

export function layerLayout(c: ModelConfig): LayerLayout {
  const family = c.model_type ?? 'llama';
  const attn = c.attention_bias === true;
  return {
    qkvBias: family === 'qwen2' || attn,
    outputBias: family !== 'qwen2' && attn,
    qkNorm: family === 'qwen3',
    mlpBias: family === 'llama' && c.mlp_bias === true,
  };
}

/** Parameters of a config, embeddings included. */
export function parameterCount(c: ModelConfig): number {
  const h = c.hidden_size;
  const hd = headDim(c);
  const l = layerLayout(c);
  const q = c.num_attention_heads * hd;
  const kv = c.num_key_value_heads * hd;
  const attn = 2 * h * q + 2 * h * kv + (l.qkvBias ? q + 2 * kv : 0) + (l.outputBias ? h : 0) + (l.qkNorm ? 2 * hd : 0);
  const mlp = 3 * h * c.intermediate_size + (l.mlpBias ? 2 * c.intermediate_size + h : 0);
  const layer = attn + mlp + 2 * h;
  return c.vocab_size * h * (c.tie_word_embeddings ? 1 : 2) + c.num_hidden_layers * layer + h;
}
