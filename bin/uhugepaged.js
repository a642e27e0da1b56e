#!/usr/bin/env node
// The installed command. The program is compiled TypeScript: run `npm run build` first in a checkout.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  console.error('uhugepaged: dist/cli/main.js is missing; run `npm run build` in the project first');
  process.exit(1);
}
await import(entry.href);
