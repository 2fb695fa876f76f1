import { projectConfig } from '../../vitest.shared.js';

export default projectConfig('random', { testTimeout: 30_000 });
