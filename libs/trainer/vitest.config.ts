import { projectConfig } from '../../vitest.shared.js';

export default projectConfig('trainer', { testTimeout: 300_000 });
