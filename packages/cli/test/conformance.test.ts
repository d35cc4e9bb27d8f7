// `signet conformance verify-bundle`, run as the sigstore-conformance suite runs it (cli_protocol.md), on every
// case of test/assets/bundle-verify: exit 0 exactly for the cases not named *_fail. Cases without their own
// trusted_root.json use the production root, as the suite's default does. sigstore-js 3.1.1 gets 68 of 70 here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sharedDir } from '@signet/testkit';
import { signet, isCleanError } from './helpers.js';

const DEFAULT_IDENTITY =
  'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main';
const DEFAULT_ISSUER = 'https://token.actions.githubusercontent.com';
const base = join(sharedDir(), 'testdata', 'sigstore-conformance');
const casesDir = join(base, 'bundle-verify');
const cases = readdirSync(casesDir, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

const opt = (f: string): string | undefined => (existsSync(f) ? readFileSync(f, 'utf8').trim() : undefined);

test(`all ${cases.length} sigstore-conformance bundle-verify cases give the right exit code through the CLI`, async (t) => {
  assert.equal(cases.length, 70);
  let right = 0;
  const wrong: string[] = [];
  const queue = [...cases];
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      for (let name = queue.shift(); name; name = queue.shift()) {
        const dir = join(casesDir, name);
        const artifact = existsSync(join(dir, 'artifact')) ? join(dir, 'artifact') : join(casesDir, 'a.txt');
        const root = existsSync(join(dir, 'trusted_root.json')) ? join(dir, 'trusted_root.json') : join(base, 'production-trusted_root.json');
        const args = ['conformance', 'verify-bundle', '--bundle', join(dir, 'bundle.sigstore.json')];
        if (existsSync(join(dir, 'key.pub'))) args.push('--key', join(dir, 'key.pub'));
        else args.push('--certificate-identity', opt(join(dir, 'identity')) ?? DEFAULT_IDENTITY, '--certificate-oidc-issuer', opt(join(dir, 'issuer')) ?? DEFAULT_ISSUER);
        args.push('--trusted-root', root, artifact);
        const r = await signet(args);
        const expectOk = !name.endsWith('_fail');
        if ((r.code === 0) === expectOk && (expectOk || isCleanError(r))) right++;
        else wrong.push(`${name}: exit ${r.code} ${r.stderr.trim().split('\n')[0] ?? ''}`);
      }
    }),
  );
  t.diagnostic(`${right}/${cases.length} right`);
  assert.deepEqual(wrong, []);
  assert.equal(right, 70);
});

test("verify-blob with cosign's GitHub claim flags on a real GitHub Actions certificate (happy-path-v0.3)", async () => {
  const dir = join(casesDir, 'happy-path-v0.3');
  const common = ['verify-blob', '--trusted-root', join(base, 'production-trusted_root.json'), '--bundle', join(dir, 'bundle.sigstore.json')];
  const id = ['--certificate-identity', DEFAULT_IDENTITY, '--certificate-oidc-issuer', DEFAULT_ISSUER];
  const env = { SIGNET_SERVER: 'http://127.0.0.1:9' }; // nothing listens: the check is offline
  const ok = await signet([...common, ...id, '--certificate-github-workflow-repository', 'sigstore-conformance/extremely-dangerous-public-oidc-beacon', join(casesDir, 'a.txt')], { env });
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /Verified OK: Sigstore bundle by https:\/\/github\.com\/sigstore-conformance\//);
  const wrong = await signet([...common, ...id, '--certificate-github-workflow-repository', 'someone/else', join(casesDir, 'a.txt')], { env });
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /identity/);
  const re = await signet(
    [...common, '--certificate-identity-regexp', '^https://github\\.com/sigstore-conformance/.*$', '--certificate-oidc-issuer-regexp', '^https://token\\.actions\\.githubusercontent\\.com$', join(casesDir, 'a.txt')],
    { env },
  );
  assert.equal(re.code, 0, re.stderr);
  const badRe = await signet([...common, '--certificate-identity-regexp', '(', '--certificate-oidc-issuer', DEFAULT_ISSUER, join(casesDir, 'a.txt')], { env });
  assert.ok(isCleanError(badRe));
  assert.match(badRe.stderr, /not a valid regular expression/);
});
