// @rapo/testbed: the persona world where RAPO's claim is tested on two CPU cores. See
// docs/testbed.md for its rules and the judge's and the metric's formulas.
export * from './lexicon.js';
export { Rng, hashString } from './rng.js';
export {
  generateWorld, toProfile, profileText, factValue, traitOf, styleOf, FACT_ATTRIBUTES, PROFILE_PHRASINGS, KNOWLEDGE_LIMITS,
  type Character, type World, type WorldOptions, type FactAttribute,
} from './world.js';
export { generateTurn, classifyTurn, allUserTurns, DEFAULT_KIND_WEIGHTS, type UserTurn } from './turns.js';
export {
  referenceResponse, genericResponse, foreignResponse, offStyleResponse, withBoilerplate, relevantFacts, RESPONSE_KINDS,
  type Response, type ResponseKind,
} from './responses.js';
export { LocalJudge, DEFAULT_JUDGE_WEIGHTS, type JudgeOptions, type JudgeScore, type JudgeWeights } from './judge.js';
export { fidelity, summarizeFidelity, FIDELITY_DIMENSIONS, type FidelityScore, type FidelitySummary, type FidelityDimension } from './fidelity.js';
export { genericCount, genericShare, foreignFacts, GENERIC_CORES } from './signals.js';
export { phraseRegex } from './text.js';
export {
  sftCorpus, prompts, referenceFor, toJsonl, promptMessages, DEFAULT_MIX,
  type Example, type Prompt, type CorpusOptions, type PromptOptions, type ResponseMix,
} from './corpus.js';
export { TestbedJudgeModel } from './judge-model.js';
