import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// DESIGN.md: core never imports node:http, node:fs or fetch, and openpgp is reachable only through the
// @signet/core/pgp subpath.
const srcDir = fileURLToPath(new URL('../src', import.meta.url));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

test('core does no I/O: no node:fs, node:http(s), node:net, child_process or fetch', () => {
  const banned = /from ['"](node:)?(fs|fs\/promises|http|https|http2|net|tls|dgram|child_process)['"]|\bfetch\s*\(|import\(['"](node:)?(fs|http)/;
  const offenders = files(srcDir).filter((f) => banned.test(readFileSync(f, 'utf8')));
  assert.deepEqual(offenders, []);
});

test('openpgp is imported only under src/pgp/, and the main entry never loads it', () => {
  const all = files(srcDir);
  const importers = all.filter((f) => /from ['"]openpgp['"]/.test(readFileSync(f, 'utf8')));
  assert.ok(importers.length > 0, 'the pgp module should import openpgp');
  for (const f of importers) assert.match(f, /[/\\]src[/\\]pgp[/\\]/);
  // Nothing outside src/pgp may import the pgp module except its openpgp-free detector.
  const outside = all.filter((f) => !/[/\\]src[/\\]pgp[/\\]/.test(f));
  for (const f of outside) {
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(/from ['"]([^'"]*pgp\/[^'"]*)['"]/g)) assert.match(m[1]!, /pgp\/detect\.js$/, `${f} imports ${m[1]}`);
  }
});

test('the compiled main entry does not reach openpgp through any import chain', () => {
  const distDir = fileURLToPath(new URL('../dist', import.meta.url));
  const seen = new Set<string>();
  const bare = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?<![.\w])(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)) {
      const spec = m[1]!;
      if (spec.startsWith('.')) visit(join(file, '..', spec));
      else bare.add(spec);
    }
  };
  visit(join(distDir, 'index.js'));
  assert.ok(seen.size > 10, 'the walk should reach the core modules');
  assert.ok(!bare.has('openpgp'), 'openpgp is reachable from @signet/core');
  assert.ok([...bare].every((s) => s.startsWith('node:')), `unexpected runtime imports: ${[...bare].filter((s) => !s.startsWith('node:')).join(', ')}`);
  // and the subpath does reach it
  const pgpSeen = new Set<string>();
  const pgpBare = new Set<string>();
  const visitPgp = (file: string): void => {
    if (pgpSeen.has(file)) return;
    pgpSeen.add(file);
    for (const m of readFileSync(file, 'utf8').matchAll(/(?<![.\w])(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)) {
      if (m[1]!.startsWith('.')) visitPgp(join(file, '..', m[1]!));
      else pgpBare.add(m[1]!);
    }
  };
  visitPgp(join(distDir, 'pgp', 'index.js'));
  assert.ok(pgpBare.has('openpgp'));
});
