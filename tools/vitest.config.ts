import { projectConfig } from '../vitest.shared.js';

// One test file at a time: plain-node, build-lib and run-app each start Nx (and through it
// cmake-js and tsc) in this same checkout, and Nx processes running at once share its state
// (.nx/workspace-data, the native build folder, libs/*/dist). A CI run of main once failed one
// tools test that passed on every rerun; running the files in turn takes that overlap away.
export default projectConfig('tools', { fileParallelism: false });
