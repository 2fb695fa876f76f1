import { projectConfig } from '../../vitest.shared.js';

export default projectConfig('cli', { testTimeout: 30_000 });
