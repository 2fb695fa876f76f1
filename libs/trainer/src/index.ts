// @rapo/trainer: SFT, GRPO and RAPO for role-playing agents. `train` runs a whole resumable run
// into a directory; the pieces (config, data, prompt formats, optimizer, RL objective, rewards,
// single steps, the HTML report) are exported for scripts and tests.
export {
  ConfigError,
  TrainConfigSchema,
  RewardSchema,
  parseTrainConfig,
  applySets,
  loadTrainConfig,
  configToYaml,
  configHelp,
  type TrainConfig,
  type RewardConfig,
} from './config.js';
export { loadDataset, toResponseFormat, sftStageAt, readingProbeSet, type Dataset, type PromptRecord, type SftRecord } from './data.js';
export {
  promptMessages,
  swapPartner,
  encodePrompt,
  encodeResponse,
  encodeExample,
  padBatch,
  type PromptFormat,
  type Ablation,
  type Sequence,
} from './format.js';
export { AdamW, clipGlobalNorm, learningRate, type AdamWOptions } from './optim.js';
export { groupAdvantages, ppoLoss, correlation, summary, type AdvScale, type LossAgg, type PpoInputs, type PpoOptions, type PpoStats } from './rl.js';
export {
  formatScore,
  makeRewardSource,
  scoreAll,
  judgeCacheDir,
  JudgeError,
  type RewardSource,
  type RewardFailure,
  type RewardSourceOptions,
  type ScoredBatch,
} from './rewards.js';
export { stepSeed, permutation, batchAt } from './batches.js';
export {
  sftLoss,
  sftStep,
  rlStep,
  evaluate,
  answerBudget,
  type Ctx,
  type RlSample,
  type RlMetrics,
  type RlState,
  type EvalResult,
  type SftMetrics,
} from './steps.js';
export {
  train,
  readMetricRows,
  scratchModel,
  initialModel,
  tokenizerCorpus,
  writeReport,
  formatProgress,
  rlLine,
  formatSeconds,
  RunError,
  type RunOptions,
  type RunResult,
  type Phase,
  type Progress,
} from './run.js';
export * from './report/index.js';
export { measurePmiSignal, measureCheckpointPmiSignal, PmiSignalError, auc, type AnswerPart, type PmiSignal, type PmiSignalOptions } from './pmi-signal.js';
export { labelSpans, tokenLabels, replyMask, TOKEN_LABELS, type TokenLabel, type Span } from './labels.js';
export {
  kernelParams,
  checkRapoSetup,
  scorerModel,
  ablatedPromptIds,
  logitRows,
  responseRows,
  neutralRows,
  oracleScores,
  rapoWeights,
  type RapoOptions,
  type RapoStepInputs,
} from './rapo.js';
export {
  profileProbe,
  readingProbe,
  scoreReadingAnswers,
  probeLine,
  weakSignalWarning,
  MIN_SIGNAL_AUC,
  type ProfileProbe,
  type ProbeSignal,
  type ReadingProbe,
} from './probe.js';
export { BASE_INIT, BASE_PATH, RECORDED_LOSSES, baseDir, resolveInit, pretrainConfig, readBaseInfo, installBase, type BaseInfo } from './base.js';
