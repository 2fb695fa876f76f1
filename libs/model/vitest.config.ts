import { projectConfig } from '../../vitest.shared.js';

export default projectConfig('model', { testTimeout: 120_000 });
