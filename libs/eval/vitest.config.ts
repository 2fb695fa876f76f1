import { projectConfig } from '../../vitest.shared.js';

export default projectConfig('eval', { testTimeout: 60_000 });
