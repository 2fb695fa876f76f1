// @rapo/files: how rapo writes and reads the files a long run leaves behind, so that a crash at
// any moment leaves something a rerun can continue from. Whole files are replaced atomically;
// JSONL logs grow one line per record, and reading one forgives only a torn last line.
export { writeFileAtomic, writeJsonAtomic } from './atomic.js';
export { appendJsonl, readJsonl, toJsonl, writeJsonlAtomic, type ReadJsonlOptions, type TornLine } from './jsonl.js';
