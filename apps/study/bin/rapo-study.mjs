#!/usr/bin/env node
// `npx rapo-study` in the checkout: builds the bundle through Nx when it is missing or stale (quietly),
// then runs it, as the npm script does.
import { fileURLToPath } from 'node:url';
import { runApp } from '../../../tools/run-app.mjs';

await runApp('study-app:build', 'node', [fileURLToPath(new URL('../dist/rapo-study.mjs', import.meta.url)), ...process.argv.slice(2)]);
