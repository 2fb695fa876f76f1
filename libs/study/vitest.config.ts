import { projectConfig } from '../../vitest.shared.js';

export default projectConfig('study', { testTimeout: 300_000 });
