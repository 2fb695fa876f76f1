// @rapo/psycot: character profiles, Psy-CoT and baseline prompts, the output parser and a
// Character agent. See docs/psycot.md.
export {
  parseProfile,
  renderProfile,
  profileText,
  displayName,
  DynamicProfile,
  ProfileError,
  StructuredProfileSchema,
  ProfileInputSchema,
  type Profile,
  type ProfileInput,
  type LearnedFact,
  type Lang,
} from './profile.js';
export { fromCoser, coserProfiles, fromCharacterBench, fromCharacterEval, type CoserItem, type CharacterBenchItem } from './importers.js';
export {
  buildChatPrompt,
  buildScenePrompt,
  styleInstructions,
  renderChatTemplate,
  REASONING_STYLES,
  PSY_COT_STEPS,
  type ReasoningStyle,
  type ChatTurn,
  type ChatPromptInput,
  type SceneLine,
  type ScenePromptInput,
} from './prompts.js';
export {
  parsePsyCot,
  parsePsyCotLenient,
  parseGenericCot,
  formatPsyCot,
  stripReasoning,
  containsTag,
  TAG_RE,
  PsyCotParseError,
  SECTIONS,
  type PsyCotOutput,
  type LenientResult,
  type ParseErrorCode,
  type Section,
  type GenericCot,
} from './parser.js';
export { Character, type CharacterOptions, type TurnResult } from './agent.js';
export {
  buildJudgeMessages,
  readJudgeRequest,
  parseJudgeScore,
  judgeMaterial,
  judgeAddressKinds,
  JudgeScoreError,
  JUDGE_RUBRIC,
  JUDGE_RESPONSE_BUDGET,
  type JudgeInput,
} from './judge-prompt.js';
