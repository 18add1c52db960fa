#!/usr/bin/env node
// The `genlab` command. genlab is TypeScript; Node 20 cannot strip types itself, so tsx's loader
// is registered before the command line's module is imported.
import process from 'node:process';
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
