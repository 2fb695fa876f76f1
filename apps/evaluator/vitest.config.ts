import { projectConfig } from '../../vitest.shared.js';

export default projectConfig('eval-app', { testTimeout: 300_000 });
