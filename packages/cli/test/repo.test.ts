import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSignetServer } from '@signet/testkit';
import { isCleanError, signet } from './helpers.js';

test('signet repo create | list | show | grant | revoke | delete against a running server', async (t) => {
  const srv = await startSignetServer(t);
  const env = { SIGNET_SERVER: srv.url, SIGNET_TOKEN: srv.adminToken };
  const mk = async (name: string, role: string, repositories?: string): Promise<{ id: string; token: string }> => {
    const r = await signet(['token', 'create', '--name', name, '--role', role, '--output', 'json', ...(repositories ? ['--repositories', repositories] : [])], { env });
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as { id: string; token: string };
  };
  const ci = await mk('ci bot', 'reader', 'team-a/*');
  const other = await mk('other', 'publisher');

  const created = await signet(['repo', 'create', 'shared/tools', '--kind', 'oci', '--description', 'shared build tools'], { env });
  assert.equal(created.code, 0, created.stderr);
  assert.match(created.stderr, /Created oci repository shared\/tools/);
  const withGrant = await signet(['repo', 'create', 'shared/files', '--kind', 'generic', '--grant', 'other=reader', '--output', 'json'], { env });
  assert.equal(withGrant.code, 0, withGrant.stderr);
  assert.deepEqual(JSON.parse(withGrant.stdout).roles.map((r: { token_id: string; role: string }) => [r.token_id, r.role]), [[other.id, 'reader']]);

  // grant by name: the token's role there is publisher now
  const g = await signet(['repo', 'grant', 'shared/tools', '--token', 'ci bot', '--role', 'publisher'], { env });
  assert.equal(g.code, 0, g.stderr);
  assert.equal(g.stderr, `Granted publisher on shared/tools to token ci bot (${ci.id})\n`);
  const up = await signet(['repo', 'grant', 'shared/tools', '--token', ci.id, '--role', 'signer', '--output', 'json'], { env });
  assert.equal(up.code, 0, up.stderr);
  assert.deepEqual(JSON.parse(up.stdout), { repository: 'shared/tools', token_id: ci.id, token_name: 'ci bot', role: 'signer', previous: 'publisher' });
  // and the server enforces it: the widened reader may push to shared/tools
  const probe = await fetch(`${srv.url}/v2/shared/tools/blobs/uploads/`, { method: 'POST', headers: { authorization: `Bearer ${ci.token}` } });
  assert.equal(probe.status, 202);

  // show lists the grants to an admin …
  const shown = await signet(['repo', 'show', 'shared/tools'], { env });
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, /^name: +shared\/tools$/m);
  assert.match(shown.stdout, /^description: +shared build tools$/m);
  assert.match(shown.stdout, new RegExp(`^roles: +signer +ci bot \\(${ci.id}\\)$`, 'm'));
  // … and to the grantee its own grant only (here: the same one; to "other": none)
  const own = await signet(['repo', 'show', 'shared/tools', '--output', 'json', '--token', ci.token, '--server', srv.url]);
  assert.equal(own.code, 0, own.stderr);
  assert.deepEqual(JSON.parse(own.stdout).roles.map((r: { token_name: string }) => r.token_name), ['ci bot']);
  const theirs = await signet(['repo', 'show', 'shared/tools', '--output', 'json', '--api-token', other.token, '--server', srv.url]);
  assert.equal(theirs.code, 0, theirs.stderr);
  assert.deepEqual(JSON.parse(theirs.stdout).roles, []);
  // list: the reader limited to team-a/* sees what its grant opens
  const listed = await signet(['repo', 'list', '--api-token', ci.token, '--server', srv.url]);
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, /^shared\/tools +oci +private$/m);
  assert.doesNotMatch(listed.stdout, /shared\/files/);

  // errors: one clean line each, naming what is wrong
  const badRole = await signet(['repo', 'grant', 'shared/tools', '--token', 'ci bot', '--role', 'owner'], { env });
  assert.ok(isCleanError(badRole));
  assert.match(badRole.stderr, /--role must be one of admin, signer, publisher, reader \(got "owner"\)/);
  const unknown = await signet(['repo', 'grant', 'shared/tools', '--token', 'nobody', '--role', 'reader'], { env });
  assert.ok(isCleanError(unknown));
  assert.match(unknown.stderr, /no API token with id or name "nobody".*\(HTTP 400\)/);
  await mk('twin', 'reader');
  await mk('twin', 'reader');
  const twin = await signet(['repo', 'grant', 'shared/tools', '--token', 'twin', '--role', 'reader'], { env });
  assert.ok(isCleanError(twin));
  assert.match(twin.stderr, /token name "twin" is ambiguous: 2 live tokens have it/);
  const noRepo = await signet(['repo', 'grant', 'no/such', '--token', 'ci bot', '--role', 'reader'], { env });
  assert.ok(isCleanError(noRepo));
  assert.match(noRepo.stderr, /no repository "no\/such"/);
  const badName = await signet(['repo', 'show', 'Shared/Tools'], { env });
  assert.ok(isCleanError(badName));
  assert.match(badName.stderr, /"Shared\/Tools" is not a repository name/);
  const notAdmin = await signet(['repo', 'grant', 'shared/tools', '--token', 'other', '--role', 'admin', '--api-token', other.token, '--server', srv.url]);
  assert.ok(isCleanError(notAdmin));
  assert.match(notAdmin.stderr, /HTTP 403/);

  // revoke: the grant is gone from show, and the server refuses the push again
  const rv = await signet(['repo', 'revoke', 'shared/tools', '--token', 'ci bot'], { env });
  assert.equal(rv.code, 0, rv.stderr);
  assert.equal(rv.stderr, `Revoked the signer grant of token ci bot (${ci.id}) on shared/tools\n`);
  assert.match((await signet(['repo', 'show', 'shared/tools'], { env })).stdout, /^roles: +\(no per-repository grants/m);
  const denied = await fetch(`${srv.url}/v2/shared/tools/blobs/uploads/`, { method: 'POST', headers: { authorization: `Bearer ${ci.token}` } });
  assert.equal(denied.status, 403);
  const again = await signet(['repo', 'revoke', 'shared/tools', '--token', 'ci bot'], { env });
  assert.ok(isCleanError(again));
  assert.match(again.stderr, /token "ci bot" has no grant on repository "shared\/tools" \(HTTP 404\)/);

  // delete takes the repository's grants with it
  assert.equal((await signet(['repo', 'delete', 'shared/files'], { env })).code, 0);
  const gone = await signet(['repo', 'show', 'shared/files'], { env });
  assert.ok(isCleanError(gone));
  assert.match(gone.stderr, /HTTP 404/);
});
