#!/usr/bin/env node
// Runs every compiled test file (packages/*/dist-test/**/*.test.js) with node's test runner.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const files = [];
function walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.js')) files.push(p);
  }
}
for (const pkg of readdirSync(join(root, 'packages'))) {
  const d = join(root, 'packages', pkg, 'dist-test');
  if (existsSync(d)) walk(d);
}
const filter = process.argv.slice(2);
const selected = filter.length ? files.filter((f) => filter.some((x) => f.includes(x))) : files;
if (selected.length === 0) {
  console.error('no test files found: run "npm run build" first');
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=3', ...selected], { stdio: 'inherit' });
process.exit(r.status ?? 1);
