import { projectConfig } from '../../vitest.shared.js';

export default projectConfig('study-app', { testTimeout: 300_000 });
