import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSignetServer } from '@signet/testkit';
import { isCleanError, signet } from './helpers.js';

test('signet dev token prints a dev-issuer token; without --dev the server says how to get one', async (t) => {
  const srv = await startSignetServer(t, { args: ['--dev'] });
  const r = await signet(['dev', 'token', '--server', srv.url, '--email', 'dev@example.test']);
  assert.equal(r.code, 0, r.stderr);
  const [, payload] = r.stdout.trim().split('.');
  const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
  assert.equal(claims.email, 'dev@example.test');
  assert.equal(claims.iss, `${srv.url}/dev/oidc`);
  assert.equal(claims.aud, 'sigstore');
  const plain = await startSignetServer(t);
  const no = await signet(['dev', 'token', '--server', plain.url, '--email', 'x@y.z']);
  assert.ok(isCleanError(no));
  assert.match(no.stderr, /start it with signet-server --dev/);
  assert.ok(isCleanError(await signet(['dev', 'token', '--server', srv.url])));
});
