import { projectConfig } from '../../vitest.shared.js';

export default projectConfig('trainer-app', { testTimeout: 300_000 });
