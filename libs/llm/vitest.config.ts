import { projectConfig } from '../../vitest.shared.js';

// Network tests: a hang is a bug, so each test gets 10 s.
export default projectConfig('llm', { testTimeout: 10_000 });
