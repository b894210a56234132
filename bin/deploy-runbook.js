#!/usr/bin/env node
// The package's command: runs the TypeScript CLI through tsx, so an `npm ci` checkout needs no build.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
