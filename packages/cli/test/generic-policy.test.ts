// signet upload / signet download against a real signet-server whose generic repository is under the seed's
// signing policy (rule require-gpg-signature for rpm/deb/apk, trusted_keys by name): an unsigned upload is refused
// with the seed's message; upload --sign with a real gpg key stores the signature first and is accepted; download
// refuses a file that does not satisfy the policy (for readers and for publishers alike), leaving nothing behind, and
// succeeds once it is signed; a repository without a policy downloads as before.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireTool, run, seedPolicyYaml, startSignetServer, tempDir, type RunningServer } from '@signet/testkit';
import { isCleanError, signet } from './helpers.js';

async function call(srv: RunningServer, method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<any> {
  const res = await fetch(`${srv.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${srv.adminToken}`, ...(body !== undefined ? { 'content-type': contentType } : {}) },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

const SEED_YAML = seedPolicyYaml({ repositories: ['production/*'], trustedKeys: ['release'] });

test('signet upload --sign into an enforced repository, and download refusing what fails the policy', async (t) => {
  if (!requireTool(t, 'gpg')) return;
  const srv = await startSignetServer(t);
  const dir = tempDir(t);
  const env = { SIGNET_SERVER: srv.url, SIGNET_NO_PROGRESS: '1' };
  await call(srv, 'POST', '/api/v1/repositories', { name: 'production/pkgs', kind: 'generic' });
  await call(srv, 'POST', '/api/v1/repositories', { name: 'scratch/files', kind: 'generic' });
  const publisher = (await call(srv, 'POST', '/api/v1/tokens', { name: 'ci', role: 'publisher', repositories: ['production/**', 'scratch/**'] })).token as string;
  const reader = (await call(srv, 'POST', '/api/v1/tokens', { name: 'deployer', role: 'reader' })).token as string;
  const penv = { ...env, SIGNET_TOKEN: publisher };
  const renv = { ...env, SIGNET_TOKEN: reader };

  // The release key: a real gpg key, its public half registered as "release", its secret half for upload --sign.
  const home = join(dir, 'gnupg');
  assert.equal((await run('mkdir', ['-m', '700', home])).code, 0);
  const gpg = async (args: string[]): Promise<string> => {
    const r = await run('gpg', ['--batch', '--homedir', home, '--passphrase', '', '--pinentry-mode', 'loopback', ...args]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };
  await gpg(['--quick-gen-key', 'Release Bot <release@example.com>', 'ed25519', 'sign', '1y']);
  writeFileSync(join(dir, 'release.asc'), await gpg(['--armor', '--export-secret-keys']));
  await call(srv, 'POST', '/api/v1/signing/keys', { name: 'release', public_key: await gpg(['--armor', '--export']), repositories: ['production/**'] });
  await call(srv, 'POST', '/api/v1/signing/policies', SEED_YAML, 'application/yaml');

  // Unsigned upload: refused with the seed's message; nothing stored.
  writeFileSync(join(dir, 'tool-1.0.rpm'), 'rpm bytes 1.0\n'.repeat(500));
  const refused = await signet(['upload', join(dir, 'tool-1.0.rpm'), 'production/pkgs/tool-1.0.rpm'], { env: penv });
  assert.ok(isCleanError(refused), refused.stderr);
  assert.match(refused.stderr, /Signature required for repository "production\/pkgs": policy "require-signatures" rule "require-gpg-signature"/);
  assert.match(refused.stderr, /HTTP 403/);

  // upload --sign: the signature goes first, so the enforced repository accepts the file.
  const up = await signet(['upload', join(dir, 'tool-1.0.rpm'), 'production/pkgs/tool-1.0.rpm', '--sign', '--key', join(dir, 'release.asc')], { env: penv });
  assert.equal(up.code, 0, up.stderr);
  assert.match(up.stderr, /Uploaded production\/pkgs\/tool-1.0.rpm/);
  assert.match(up.stderr, /Uploaded signature production\/pkgs\/tool-1.0.rpm.asc: valid/);
  const out = join(dir, 'got.rpm');
  const down = await signet(['download', 'production/pkgs/tool-1.0.rpm', '-o', out], { env: renv });
  assert.equal(down.code, 0, down.stderr);
  assert.equal(readFileSync(out, 'utf8'), readFileSync(join(dir, 'tool-1.0.rpm'), 'utf8'));
  assert.match(down.stderr, /policy "require-signatures" satisfied, 1 valid signature/);

  // A file stored before the policy covered it (an rpm under another name while the rule was only for .deb) fails
  // the policy now: download refuses it, for a reader (whom the server also refuses) and for a publisher (whom the
  // server serves, so the CLI's own check decides); nothing is left behind.
  await call(srv, 'PUT', '/api/v1/signing/policies/require-signatures', SEED_YAML.replace('["rpm", "deb", "apk"]', '["deb"]'), 'application/yaml');
  writeFileSync(join(dir, 'old-0.9.rpm'), 'rpm bytes 0.9\n');
  assert.equal((await signet(['upload', join(dir, 'old-0.9.rpm'), 'production/pkgs/old-0.9.rpm'], { env: penv })).code, 0);
  await call(srv, 'PUT', '/api/v1/signing/policies/require-signatures', SEED_YAML, 'application/yaml');
  const before = readdirSync(dir).length;
  for (const e of [renv, penv]) {
    const r = await signet(['download', 'production/pkgs/old-0.9.rpm', '-o', join(dir, 'old.rpm')], { env: e });
    assert.ok(isCleanError(r), r.stderr);
    assert.match(r.stderr, /refusing production\/pkgs\/old-0.9.rpm: it does not satisfy the signing policy of repository "production\/pkgs": policy "require-signatures" rule "require-gpg-signature" \(enforce\): missing a valid gpg signature/);
    assert.equal(existsSync(join(dir, 'old.rpm')), false);
    assert.equal(readdirSync(dir).length, before);
  }
  // ... and succeeds once it is signed (the signature uploaded beside it).
  await gpg(['--armor', '--detach-sign', '--output', join(dir, 'old-0.9.rpm.asc'), join(dir, 'old-0.9.rpm')]);
  assert.equal((await signet(['upload', join(dir, 'old-0.9.rpm.asc'), 'production/pkgs/old-0.9.rpm.asc'], { env: penv })).code, 0);
  const signedNow = await signet(['download', 'production/pkgs/old-0.9.rpm', '-o', join(dir, 'old.rpm')], { env: renv });
  assert.equal(signedNow.code, 0, signedNow.stderr);
  assert.equal(readFileSync(join(dir, 'old.rpm'), 'utf8'), 'rpm bytes 0.9\n');

  // No policy: downloaded as before; --require-signature still asks for a signature anyway.
  writeFileSync(join(dir, 'notes.txt'), 'notes');
  assert.equal((await signet(['upload', join(dir, 'notes.txt'), 'scratch/files/notes.txt'], { env: penv })).code, 0);
  const plain = await signet(['download', 'scratch/files/notes.txt', '-o', join(dir, 'n.txt')], { env: renv });
  assert.equal(plain.code, 0, plain.stderr);
  assert.equal(readFileSync(join(dir, 'n.txt'), 'utf8'), 'notes');
  const required = await signet(['download', 'scratch/files/notes.txt', '-o', join(dir, 'n2.txt'), '--require-signature'], { env: renv });
  assert.ok(isCleanError(required), required.stderr);
  assert.match(required.stderr, /no valid signature/);
  assert.equal(existsSync(join(dir, 'n2.txt')), false);

  // --help says what happens.
  const help = await signet(['download', '--help']);
  assert.match(help.stdout.replace(/\s+/g, ' '), /does not satisfy it .* the download is refused/);
  const uhelp = await signet(['upload', '--help']);
  assert.match(uhelp.stdout.replace(/\s+/g, ' '), /uploads the detached signature beside it FIRST, then the file/);
});
