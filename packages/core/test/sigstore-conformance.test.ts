// sigstore-conformance bundle-verify cases (test/assets/bundle-verify @ a73de49), all of them, offline.
// Each case runs twice, as upstream does: with the artifact's bytes (FILE) and with its "sha256:<hex>" digest.
// Policy per the README there: key.pub → verify with that key and no identity; otherwise the `identity` and
// `issuer` files or the defaults. Trust root: the case's trusted_root.json, else the production root.
// Expected: a case whose name ends in _fail gives ok=false, every other case ok=true. No case is skipped or
// treated specially by name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sharedDir } from '@signet/testkit';
import { parseTrustedRoot, verifySigstoreBundle, type TrustedRoot } from '../dist/sigstore/index.js';
import { parseTrustMaterial } from '../dist/verify/trust.js';
import { SignetError } from '../dist/errors.js';
import type { Artifact, Verdict } from '../dist/verify/types.js';

const DEFAULT_IDENTITY =
  'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main';
const DEFAULT_ISSUER = 'https://token.actions.githubusercontent.com';

const base = join(sharedDir(), 'testdata', 'sigstore-conformance');
const casesDir = join(base, 'bundle-verify');
const production = parseTrustedRoot(readFileSync(join(base, 'production-trusted_root.json'), 'utf8'));

const readOpt = (file: string): string | undefined => (existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined);

const cases = readdirSync(casesDir, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

test('all 70 conformance cases are present', () => {
  assert.equal(cases.length, 70);
});

function describe(v: Verdict): string {
  return v.checks.map((c) => `${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`).join('\n');
}

interface Case {
  bundle: string;
  bytes: Uint8Array;
  root: TrustedRoot;
  opts: { identity?: { subjectAlternativeName: string; issuer: string }; keys?: { keys: ReturnType<typeof parseTrustMaterial> } };
  /** Set when the case's key.pub cannot be read: the CLI would stop with an error, i.e. verification fails. */
  keyError?: string;
}

function load(name: string): Case {
  const dir = join(casesDir, name);
  const artifactFile = existsSync(join(dir, 'artifact')) ? join(dir, 'artifact') : join(casesDir, 'a.txt');
  const rootFile = join(dir, 'trusted_root.json');
  const keyFile = join(dir, 'key.pub');
  const c: Case = {
    bundle: readFileSync(join(dir, 'bundle.sigstore.json'), 'utf8'),
    bytes: new Uint8Array(readFileSync(artifactFile)),
    root: existsSync(rootFile) ? parseTrustedRoot(readFileSync(rootFile, 'utf8')) : production,
    opts: { identity: { subjectAlternativeName: readOpt(join(dir, 'identity')) ?? DEFAULT_IDENTITY, issuer: readOpt(join(dir, 'issuer')) ?? DEFAULT_ISSUER } },
  };
  if (existsSync(keyFile)) {
    try {
      c.opts = { keys: { keys: parseTrustMaterial(new Uint8Array(readFileSync(keyFile))) } };
    } catch (e) {
      if (!(e instanceof SignetError)) throw e;
      c.keyError = `${e.code}: ${e.message}`;
    }
  }
  return c;
}

for (const name of cases) {
  const expectOk = !name.endsWith('_fail');
  for (const mode of ['bytes', 'sha256 digest'] as const) {
    test(`conformance ${name} (${mode}): ${expectOk ? 'verifies' : 'fails'}`, async () => {
      const c = load(name);
      if (c.keyError) {
        // An unreadable --key is refused before verification, with a typed error: the run fails.
        assert.equal(expectOk, false, `key.pub cannot be read: ${c.keyError}`);
        return;
      }
      const artifact: Artifact =
        mode === 'bytes' ? { bytes: c.bytes } : { digest: { algorithm: 'sha256', value: new Uint8Array(createHash('sha256').update(c.bytes).digest()) } };
      const v = await verifySigstoreBundle(c.bundle, artifact, { trustedRoot: c.root, ...c.opts });
      assert.equal(v.ok, expectOk, `expected ok=${expectOk}:\n${describe(v)}`);
      if (expectOk) {
        assert.ok(v.checks.every((x) => x.ok));
        if (c.opts.identity) assert.equal(v.signer?.identity, c.opts.identity.subjectAlternativeName);
      } else {
        const failed = v.checks.filter((x) => !x.ok);
        assert.ok(failed.length > 0 && failed.every((x) => x.detail.length > 10), 'a failing check says what is wrong');
      }
    });
  }
}
