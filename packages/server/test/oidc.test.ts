import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeIssuer } from '@signet/testkit';
import { OidcVerifier } from '../dist/identity/oidc.js';
import { IdentityError } from '../dist/identity/errors.js';
import { testServer } from './helpers.js';

async function refused(p: Promise<unknown>, re: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => e instanceof IdentityError && e.code === 'UNAUTHENTICATED' && re.test(e.message));
}

test('OIDC: email and GitHub workflow identities; clear reasons for expired, wrong audience, unknown issuer, unverified email, bad signature', async (t) => {
  const email = await startFakeIssuer(t);
  const gh = await startFakeIssuer(t);
  const v = new OidcVerifier([
    { url: email.url, audience: 'sigstore', type: 'email' },
    { url: gh.url, audience: 'sigstore', type: 'github-workflow' },
  ]);
  const id = await v.verify(await email.mint({ sub: 'u-1', email: 'alice@example.test', email_verified: true }));
  assert.deepEqual(id.san, { type: 'email', value: 'alice@example.test' });
  assert.equal(id.principal, 'alice@example.test');
  assert.equal(id.issuer, email.url);
  const w = await v.verify(await gh.mint({ sub: 'repo:o/r:ref:refs/heads/main', job_workflow_ref: 'o/r/.github/workflows/rel.yml@refs/heads/main' }));
  assert.deepEqual(w.san, { type: 'uri', value: 'https://github.com/o/r/.github/workflows/rel.yml@refs/heads/main' });
  assert.equal(w.principal, 'repo:o/r:ref:refs/heads/main');

  await refused(v.verify(await email.mint({ sub: 'x', email: 'a@b.c', email_verified: true }, { expiresInSeconds: -120 })), /has expired/);
  await refused(v.verify(await email.mint({ sub: 'x', email: 'a@b.c', email_verified: true }, { audience: 'other' })), /audience is not "sigstore"/);
  await refused(v.verify(await email.mint({ sub: 'x', email: 'a@b.c', email_verified: true }, { issuer: 'https://evil.example' })), /unknown issuer "https:\/\/evil\.example"/);
  await refused(v.verify(await email.mint({ sub: 'x', email: 'a@b.c', email_verified: false })), /is not verified/);
  await refused(v.verify(await email.mint({ sub: 'x' })), /no "email" claim/);
  await refused(v.verify(await gh.mint({ sub: 'x' })), /no "job_workflow_ref" claim/);
  const good = await email.mint({ sub: 'x', email: 'a@b.c', email_verified: true });
  const [h, p, s] = good.split('.');
  await refused(v.verify(`${h}.${p}.${s!.slice(0, -4)}AAAA`), /signature does not verify/);
  await refused(v.verify('not a jwt'), /not a JWT/);
  await refused(v.verify(''), /required/);
});

test('OIDC: the issuer rotates its key and new tokens still verify (JWKS refetched)', async (t) => {
  const iss = await startFakeIssuer(t);
  const v = new OidcVerifier([{ url: iss.url, audience: 'sigstore', type: 'email' }]);
  const claims = { sub: 's', email: 'bob@example.test', email_verified: true };
  await v.verify(await iss.mint(claims));
  const before = iss.jwksFetches();
  await iss.rotate();
  await new Promise((r) => setTimeout(r, 5_100)); // jose's refetch cooldown
  const id = await v.verify(await iss.mint(claims));
  assert.equal(id.principal, 'bob@example.test');
  assert.ok(iss.jwksFetches() > before);
});

test('dev issuer: only with --dev; its tokens verify with the server\'s verifier', async (t) => {
  const off = await testServer(t);
  assert.equal((await off.app.inject({ method: 'POST', url: '/dev/oidc/token', payload: { email: 'a@b.c' } })).statusCode, 404);
  const s = await testServer(t, { SIGNET_DEV: 'true' });
  const r = await s.app.inject({ method: 'POST', url: '/dev/oidc/token', payload: { email: 'dev@example.test' } });
  assert.equal(r.statusCode, 200, r.body);
  const id = await s.app.services.oidc.verify(r.json().id_token);
  assert.equal(id.principal, 'dev@example.test');
  assert.equal(id.issuer, `${s.config.baseUrl}/dev/oidc`);
  const disc = (await s.app.inject({ url: '/dev/oidc/.well-known/openid-configuration' })).json();
  assert.equal(disc.issuer, `${s.config.baseUrl}/dev/oidc`);
  assert.equal((await s.app.inject({ url: '/dev/oidc/jwks' })).json().keys.length, 1);
  const other = await s.app.inject({ method: 'POST', url: '/dev/oidc/token', payload: { email: 'x@y.z', audience: 'other' } });
  await assert.rejects(s.app.services.oidc.verify(other.json().id_token), /audience/);
  assert.equal((await s.app.inject({ method: 'POST', url: '/dev/oidc/token', payload: {} })).statusCode, 400);
  assert.equal((await s.app.inject({ method: 'POST', url: '/dev/oidc/token', payload: { email: 'not-an-email' } })).statusCode, 400);
});
