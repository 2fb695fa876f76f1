// @rapo/model: a tfjs decoder language model (Llama layout; Hugging Face Llama, Qwen2 and Qwen3
// checkpoints load and save in their own layouts) with a byte-level BPE tokenizer,
// safetensors checkpoints, KV-cached generation, a log-prob path on the fused kernels, and an
// OpenAI-compatible server. The only lib that imports tfjs. Importing it registers local
// checkpoints with @rapo/llm, so `local:<dir>` model specs work.
import { registerLocalModelFactory } from '@rapo/llm';
import { LocalChatModel } from './local-model.js';

export { NATIVE_BACKEND, registerNativeBackend, nativePoolStats } from './native-backend.js';
export { initBackend, describeBackend, resetBackendChoice, tf, TF_BACKENDS, type TfBackendInfo, type TfBackendName } from './backend.js';
export {
  parseConfig,
  toHfConfig,
  parameterCount,
  headDim,
  layerLayout,
  DEFAULT_CONFIG,
  MODEL_TYPES,
  ConfigError,
  type ModelConfig,
  type ModelType,
  type RopeScaling,
  type LayerLayout,
} from './config.js';
export { LlamaModel, ModelError, parameterShapes, rotaryFrequencies, type NamedTensor, type LayerCache, type ForwardResult } from './model.js';
export { tokenLogprobs, shiftTargets, type TokenLogprobOptions } from './logprob.js';
export { setFusedLayers, fusedLayersActive } from './fused.js';
export { generate, resolveEngine, sampleToken, type GenerateOptions, type GenerateEngine, type Generation, type FinishReason } from './generate.js';
export { renderChat, templateTokens, stripChatMarkers, CHATML_TEMPLATE, CHAT_SPECIAL_TOKENS, END_OF_TURN, PAD_TOKEN, type RenderChatOptions } from './chat.js';
export { saveCheckpoint, loadCheckpoint, CheckpointError, type Checkpoint, type GenerationConfig, type SaveOptions } from './checkpoint.js';
export { LocalChatModel, answerStopIds, type Completion, type CompletionChoice, type LocalCallOptions } from './local-model.js';
export { serve, isLoopbackHost, exposureProblem, checkApiKey, checkCorsOrigin, type ServeOptions, type RunningServer } from './server.js';
export * from './safetensors.js';
export * from './tokenizer/index.js';

registerLocalModelFactory((dir) => LocalChatModel.load(dir));
