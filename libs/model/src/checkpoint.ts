// Checkpoints as a Hugging Face user expects them: a directory with config.json,
// model.safetensors, tokenizer.json, tokenizer_config.json (with the chat template) and
// generation_config.json. Every file is written atomically; loading checks each file and names
// the first problem.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonAtomic } from '@rapo/files';
import { CHATML_TEMPLATE, END_OF_TURN, PAD_TOKEN, templateTokens } from './chat.js';
import { ConfigError, parseConfig, toHfConfig, type ModelConfig } from './config.js';
import { LlamaModel, ModelError } from './model.js';
import { readSafetensors, writeSafetensors, type SafetensorsDtype } from './safetensors.js';
import { BpeTokenizer } from './tokenizer/index.js';

export interface GenerationConfig {
  /** One id, or several (Llama 3 lists its end-of-turn and end-of-text tokens). */
  eos_token_id?: number | number[];
  pad_token_id?: number;
  temperature?: number;
  top_p?: number;
  top_k?: number;
  max_new_tokens?: number;
}

export interface Checkpoint {
  dir: string;
  model: LlamaModel;
  tokenizer: BpeTokenizer;
  chatTemplate: string;
  /** tokenizer_config.json's bos_token and eos_token for the chat template, when it gives them. */
  bosToken?: string;
  eosToken?: string;
  generation: GenerationConfig;
  /** Free-form facts stored in model.safetensors' metadata (step, run id, ...). */
  metadata: Record<string, string>;
}

export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

export interface SaveOptions {
  chatTemplate?: string;
  generation?: GenerationConfig;
  metadata?: Record<string, string>;
  /** Storage dtype of the weights. Default F32. */
  dtype?: SafetensorsDtype;
}

export function saveCheckpoint(dir: string, model: LlamaModel, tokenizer: BpeTokenizer, options: SaveOptions = {}): void {
  mkdirSync(dir, { recursive: true });
  const eos = tokenizer.tokenToId(END_OF_TURN);
  const pad = tokenizer.tokenToId(PAD_TOKEN);
  const ids = { ...(eos !== undefined ? { eos_token_id: eos } : {}), ...(pad !== undefined ? { pad_token_id: pad } : {}) };
  writeSafetensors(
    join(dir, 'model.safetensors'),
    model.toTensors().map((t) => ({ ...t, dtype: options.dtype ?? 'F32' })),
    { format: 'pt', ...options.metadata },
  );
  tokenizer.save(join(dir, 'tokenizer.json'));
  // A foreign tokenizer (Qwen's, ...) keeps its own tokenizer_config.json: its chat template,
  // special tokens and the rest go back to Hugging Face tools as they came.
  const source = tokenizer.sourceConfig;
  writeJsonAtomic(
    join(dir, 'tokenizer_config.json'),
    source
      ? { ...source, ...(options.chatTemplate ? { chat_template: options.chatTemplate } : {}), model_max_length: model.config.max_position_embeddings }
      : {
          tokenizer_class: 'PreTrainedTokenizerFast',
          chat_template: options.chatTemplate ?? CHATML_TEMPLATE,
          eos_token: END_OF_TURN,
          pad_token: PAD_TOKEN,
          model_max_length: model.config.max_position_embeddings,
          clean_up_tokenization_spaces: false,
        },
  );
  writeJsonAtomic(join(dir, 'generation_config.json'), { ...ids, ...options.generation });
  // config.json last: its presence marks a complete checkpoint.
  writeJsonAtomic(join(dir, 'config.json'), toHfConfig(model.config, ids));
}

function readJson(dir: string, file: string): unknown {
  const path = join(dir, file);
  if (!existsSync(path)) throw new CheckpointError(`checkpoint ${dir}: missing ${file}`);
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new CheckpointError(`checkpoint ${dir}: ${file} is not valid JSON (${(e as Error).message})`);
  }
}

export function loadCheckpoint(dir: string): Checkpoint {
  if (!existsSync(dir)) throw new CheckpointError(`checkpoint ${dir}: no such directory`);
  let config: ModelConfig;
  try {
    config = parseConfig(readJson(dir, 'config.json'), `checkpoint ${dir}: config.json`);
  } catch (e) {
    if (e instanceof ConfigError) throw new CheckpointError(e.message);
    throw e;
  }
  const weightsPath = join(dir, 'model.safetensors');
  if (!existsSync(weightsPath)) {
    throw new CheckpointError(
      `checkpoint ${dir}: missing model.safetensors` +
        (existsSync(join(dir, 'model.safetensors.index.json'))
          ? ' (the weights are sharded, listed in model.safetensors.index.json; rapo reads one file: save the model again with transformers, save_pretrained(dir, max_shard_size="100GB"))'
          : ''),
    );
  }
  const { tensors, metadata } = readSafetensors(weightsPath);
  let model: LlamaModel;
  try {
    model = LlamaModel.fromTensors(
      config,
      [...tensors].map(([name, t]) => ({ name, shape: t.shape, data: t.data })),
      `checkpoint ${dir}: model.safetensors`,
    );
  } catch (e) {
    if (e instanceof ModelError) throw new CheckpointError(e.message);
    throw e;
  }
  if (!existsSync(join(dir, 'tokenizer.json'))) throw new CheckpointError(`checkpoint ${dir}: missing tokenizer.json`);
  const tcRaw = existsSync(join(dir, 'tokenizer_config.json')) ? readJson(dir, 'tokenizer_config.json') : {};
  if (typeof tcRaw !== 'object' || tcRaw === null || Array.isArray(tcRaw)) {
    throw new CheckpointError(`checkpoint ${dir}: tokenizer_config.json is ${Array.isArray(tcRaw) ? 'an array' : String(tcRaw)}, expected an object`);
  }
  const tc = tcRaw as Record<string, unknown>;
  const tokenizer = BpeTokenizer.load(join(dir, 'tokenizer.json'), tc);
  // rapo sizes the embedding to its tokenizer; Hugging Face models (Qwen's, ...) pad it past the last token id.
  if (tokenizer.delegation === null ? tokenizer.vocabSize !== config.vocab_size : tokenizer.vocabSize > config.vocab_size) {
    throw new CheckpointError(`checkpoint ${dir}: tokenizer.json has ${tokenizer.vocabSize} tokens but config.json says vocab_size ${config.vocab_size}`);
  }
  const chatTemplate = typeof tc.chat_template === 'string' ? tc.chat_template : CHATML_TEMPLATE;
  let chatTokens: { bosToken?: string; eosToken?: string };
  try {
    chatTokens = templateTokens(tc);
  } catch (e) {
    throw new CheckpointError(`checkpoint ${dir}: ${(e as Error).message}`);
  }
  const generation = existsSync(join(dir, 'generation_config.json')) ? (readJson(dir, 'generation_config.json') as GenerationConfig) : {};
  const { format: _format, ...rest } = metadata;
  return { dir, model, tokenizer, chatTemplate, ...chatTokens, generation, metadata: rest };
}
