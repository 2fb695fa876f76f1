import { projectConfig } from '../../vitest.shared.js';

export default projectConfig('files', { testTimeout: 30_000 });
