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
import { readSafetensors, writeSafetensors, type SafetensorsDtype, type StoredTensor } from './safetensors.js';
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

/**
 * The weights of checkpoint `dir`: model.safetensors, or the shards model.safetensors.index.json
 * lists (Hugging Face's layout for large models: `weight_map` names each tensor's file). Every
 * shard must hold exactly the tensors the index gives it. The metadata is the single file's, or
 * the first shard's.
 */
function readWeights(dir: string): { tensors: Map<string, StoredTensor>; metadata: Record<string, string>; where: string } {
  const single = join(dir, 'model.safetensors');
  if (existsSync(single)) return { ...readSafetensors(single), where: 'model.safetensors' };
  const indexName = 'model.safetensors.index.json';
  if (!existsSync(join(dir, indexName))) throw new CheckpointError(`checkpoint ${dir}: missing model.safetensors (and no ${indexName} listing shards)`);
  const index = readJson(dir, indexName) as { weight_map?: unknown };
  const map = index?.weight_map;
  if (typeof map !== 'object' || map === null || Array.isArray(map) || Object.keys(map).length === 0) {
    throw new CheckpointError(`checkpoint ${dir}: ${indexName} has no weight_map naming each tensor's file`);
  }
  const byFile = new Map<string, Set<string>>();
  for (const [name, file] of Object.entries(map as Record<string, unknown>)) {
    if (typeof file !== 'string' || file === '' || file.includes('/') || file.includes('\\') || file.startsWith('.')) {
      throw new CheckpointError(
        `checkpoint ${dir}: ${indexName} gives tensor ${name} the file ${JSON.stringify(file)}; expected a file name in the checkpoint folder`,
      );
    }
    if (!byFile.has(file)) byFile.set(file, new Set());
    byFile.get(file)!.add(name);
  }
  const tensors = new Map<string, StoredTensor>();
  let metadata: Record<string, string> = {};
  const files = [...byFile.keys()].sort();
  for (const file of files) {
    if (!existsSync(join(dir, file))) throw new CheckpointError(`checkpoint ${dir}: missing shard ${file}, which ${indexName} lists`);
  }
  for (const file of files) {
    const shard = readSafetensors(join(dir, file));
    if (file === files[0]) metadata = shard.metadata;
    const listed = byFile.get(file)!;
    for (const name of listed) {
      const t = shard.tensors.get(name);
      if (!t) throw new CheckpointError(`checkpoint ${dir}: shard ${file} lacks tensor ${name}, which ${indexName} puts there`);
      tensors.set(name, t);
    }
    for (const name of shard.tensors.keys()) {
      if (!listed.has(name)) throw new CheckpointError(`checkpoint ${dir}: shard ${file} holds tensor ${name}, which ${indexName} does not put there`);
    }
  }
  return { tensors, metadata, where: `the shards of ${indexName}` };
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
  const { tensors, metadata, where } = readWeights(dir);
  let model: LlamaModel;
  try {
    model = LlamaModel.fromTensors(
      config,
      [...tensors].map(([name, t]) => ({ name, shape: t.shape, data: t.data })),
      `checkpoint ${dir}: ${where}`,
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
