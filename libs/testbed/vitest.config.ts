import { projectConfig } from '../../vitest.shared.js';

export default projectConfig('testbed', { testTimeout: 60_000 });
