// @rapo/testbed: the persona world where RAPO's claim is tested on two CPU cores. See
// docs/testbed.md for its rules and the judge's and the metric's formulas.
export * from './lexicon.js';
export {
  generateWorld,
  drawCharacter,
  freshCharacter,
  toProfile,
  profileText,
  factValue,
  traitOf,
  styleOf,
  FACT_ATTRIBUTES,
  PROFILE_PHRASINGS,
  PHRASING_NAMES,
  KNOWLEDGE_LIMITS,
  MAX_CHARACTERS,
  type Character,
  type World,
  type WorldOptions,
  type FactAttribute,
} from './world.js';
export { OPEN_CATEGORIES, PARTS, valueSpace, drawValue, valueCount, article, type OpenCategory, type ValueSpace } from './values.js';
export {
  readingExample,
  readingValue,
  READING_TASKS,
  READING_FIELDS,
  READING_STAGES,
  DEFAULT_READING_MIX,
  type ReadingExample,
  type ReadingOptions,
  type ReadingTask,
  type ReadingStage,
  type ReadingField,
} from './reading.js';
export { generateTurn, classifyTurn, allUserTurns, DEFAULT_KIND_WEIGHTS, type UserTurn } from './turns.js';
export {
  referenceResponse,
  genericResponse,
  paddedResponse,
  foreignResponse,
  offStyleResponse,
  withBoilerplate,
  relevantFacts,
  RESPONSE_KINDS,
  type Response,
  type ResponseKind,
} from './responses.js';
export { LocalJudge, DEFAULT_JUDGE_WEIGHTS, type JudgeOptions, type JudgeScore, type JudgeWeights } from './judge.js';
export { fidelity, summarizeFidelity, FIDELITY_DIMENSIONS, type FidelityScore, type FidelitySummary, type FidelityDimension } from './fidelity.js';
export { genericCount, genericShare, foreignFacts, GENERIC_CORES } from './signals.js';
export { phraseRegex, mentions } from './text.js';
export {
  sftCorpus,
  sftExample,
  prompts,
  referenceFor,
  promptMessages,
  DEFAULT_MIX,
  SFT_STAGES,
  type Example,
  type Prompt,
  type CorpusOptions,
  type PromptOptions,
  type ResponseMix,
  type SftStage,
  type SftExampleOptions,
} from './corpus.js';
export { TestbedJudgeModel } from './judge-model.js';
