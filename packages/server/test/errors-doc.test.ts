import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { STATUS } from '../dist/http/errors.js';

test('docs/errors.md lists exactly the server error codes with their statuses', () => {
  const doc = readFileSync(fileURLToPath(new URL('../../../docs/errors.md', import.meta.url)), 'utf8');
  const section = doc.split('## signet-server')[1]?.split('\n## ')[0] ?? '';
  const documented = Object.fromEntries([...section.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1], Number(m[2])]));
  assert.deepEqual(documented, { ...STATUS });
});
