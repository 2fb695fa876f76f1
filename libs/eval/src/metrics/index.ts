// Overlap metrics reported beside judge scores (CoSER: BLEU and ROUGE-L of the simulated
// conversation against the original one).
export { bleu, bleuTokens, brevityPenalty, type BleuResult } from './bleu.js';
export { rougeL, rougeLSentences, lcsIndices, unionLcs, type RougeResult } from './rouge.js';
export { tokenize, splitSentences } from './tokenize.js';
