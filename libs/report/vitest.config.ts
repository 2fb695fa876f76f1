import { projectConfig } from '../../vitest.shared.js';

export default projectConfig('report', { testTimeout: 30_000 });
