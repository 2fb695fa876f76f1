// Model specs as strings, for command lines and configs:
//   openai:<baseURL>#<model>   any OpenAI-compatible endpoint; the API key comes from
//                              OPENAI_API_KEY, or from the variable named by apiKeyEnv
//   local:<checkpoint-dir>     a rapo checkpoint, served by the backend @rapo/model registers
import { OpenAICompatibleModel, type OpenAICompatibleOptions } from './openai.js';
import type { ChatModel } from './types.js';

export type ModelSpec = { kind: 'openai'; baseURL: string; model: string } | { kind: 'local'; dir: string };

const FORMS = '"openai:<baseURL>#<model>" or "local:<checkpoint-dir>"';

export function parseModelSpec(spec: string): ModelSpec {
  if (typeof spec !== 'string') throw new TypeError(`Expected a model spec ${FORMS} but received ${typeof spec}`);
  if (spec.startsWith('openai:')) {
    const rest = spec.slice('openai:'.length);
    const hash = rest.lastIndexOf('#');
    const baseURL = hash >= 0 ? rest.slice(0, hash) : '';
    const model = hash >= 0 ? rest.slice(hash + 1) : '';
    if (!/^https?:\/\/[^\s]+$/.test(baseURL) || model === '') {
      throw new TypeError(`Expected a model spec ${FORMS} but received "${spec}" (e.g. openai:http://localhost:8000/v1#Qwen/Qwen3-8B)`);
    }
    return { kind: 'openai', baseURL, model };
  }
  if (spec.startsWith('local:') && spec.length > 'local:'.length) return { kind: 'local', dir: spec.slice('local:'.length) };
  throw new TypeError(`Expected a model spec ${FORMS} but received "${spec}"`);
}

export type CreateOptions = Omit<OpenAICompatibleOptions, 'baseURL' | 'model' | 'apiKey'> & {
  /** Environment variable holding the API key (default OPENAI_API_KEY, which may be unset). */
  apiKeyEnv?: string;
};

export type LocalModelFactory = (dir: string, options: CreateOptions) => ChatModel;
let localFactory: LocalModelFactory | undefined;

/** How a local checkpoint becomes a ChatModel; @rapo/model registers its own. */
export function registerLocalModelFactory(factory: LocalModelFactory): void {
  localFactory = factory;
}

export function createChatModel(spec: string, options: CreateOptions = {}): ChatModel {
  const parsed = parseModelSpec(spec);
  if (parsed.kind === 'local') {
    if (!localFactory) {
      throw new Error(
        `${spec}: no backend for local checkpoints is registered. Import @rapo/model (it registers one ` +
          'with registerLocalModelFactory), or serve the checkpoint and use an openai: spec.',
      );
    }
    return localFactory(parsed.dir, options);
  }
  const { apiKeyEnv, ...rest } = options;
  const envName = apiKeyEnv ?? 'OPENAI_API_KEY';
  const apiKey = process.env[envName];
  if (apiKeyEnv !== undefined && !apiKey) {
    throw new Error(`Expected the API key in the environment variable ${apiKeyEnv} (from --api-key-env) but it is not set`);
  }
  return new OpenAICompatibleModel({ ...rest, baseURL: parsed.baseURL, model: parsed.model, apiKey });
}
