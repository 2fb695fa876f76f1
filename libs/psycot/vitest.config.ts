import { projectConfig } from '../../vitest.shared.js';

export default projectConfig('psycot', { testTimeout: 30_000 });
