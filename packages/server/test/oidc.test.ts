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
  // The payload is covered by the signature: a changed claim fails.
  const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), email: 'mallory@b.c' })).toString('base64url');
  await refused(v.verify(`${h}.${forged}.${s}`), /signature does not verify/);
  const hdr = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  const header = JSON.parse(Buffer.from(h!, 'base64url').toString()) as Record<string, unknown>;
  await refused(v.verify(`${hdr({ ...header, alg: 'none' })}.${p}.`), /algorithm none is not allowed/);
  await refused(v.verify(`${hdr({ ...header, alg: 'HS256' })}.${p}.${s}`), /algorithm HS256 is not allowed/);
  await refused(v.verify(`${hdr({ ...header, crit: ['exp'] })}.${p}.${s}`), /critical header/);
  // An RS256 key used under ES256 is refused before any signature check.
  await refused(v.verify(`${hdr({ ...header, alg: 'ES256' })}.${p}.${s}`), /(does not fit|no key)/);
  await refused(v.verify(`${h}.${Buffer.from('[1]').toString('base64url')}.${s}`), /not a JSON object/);
  const aud2 = await email.mint({ sub: 'x', email: 'a@b.c', email_verified: true }, { audience: ['other', 'sigstore'] as unknown as string });
  assert.equal((await v.verify(aud2)).principal, 'a@b.c');
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

test('dev issuer: authorization code + PKCE sign-in (loopback redirects only, single-use codes, verifier checked)', async (t) => {
  const { createHash, randomBytes } = await import('node:crypto');
  const s = await testServer(t, { SIGNET_DEV: 'true' });
  const disc = (await s.app.inject({ url: '/dev/oidc/.well-known/openid-configuration' })).json();
  assert.equal(disc.authorization_endpoint, `${s.config.baseUrl}/dev/oidc/authorize`);
  assert.deepEqual(disc.code_challenge_methods_supported, ['S256']);
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const redirect = 'http://127.0.0.1:45678/auth/callback';
  const q = new URLSearchParams({ response_type: 'code', client_id: 'sigstore', redirect_uri: redirect, state: 'st-1', code_challenge: challenge, code_challenge_method: 'S256', login_hint: 'who@example.test' });
  const form = await s.app.inject({ url: `/dev/oidc/authorize?${q}` });
  assert.equal(form.statusCode, 200);
  assert.match(form.body, /value="who@example\.test"/);
  assert.match(form.body, /--dev/);
  // Another host as redirect target, a missing challenge, or plain PKCE: refused before any form.
  for (const [k, v, re] of [
    ['redirect_uri', 'https://evil.example/cb', /redirect_uri/],
    ['code_challenge', '', /code_challenge/],
    ['code_challenge_method', 'plain', /S256/],
  ] as const) {
    const bad = new URLSearchParams(q);
    bad.set(k, v);
    const r = await s.app.inject({ url: `/dev/oidc/authorize?${bad}` });
    assert.equal(r.statusCode, 400);
    assert.match(r.body, re);
  }
  const fields = Object.fromEntries(q);
  delete fields['login_hint'];
  const post = (extra: Record<string, string>) =>
    s.app.inject({ method: 'POST', url: '/dev/oidc/authorize', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ ...fields, ...extra }).toString() });
  assert.equal((await post({ email: 'not an email' })).statusCode, 400);
  const ok = await post({ email: 'who@example.test' });
  assert.equal(ok.statusCode, 302);
  const loc = new URL(String(ok.headers['location']));
  assert.equal(`${loc.origin}${loc.pathname}`, redirect);
  assert.equal(loc.searchParams.get('state'), 'st-1');
  const code = loc.searchParams.get('code')!;
  const redeem = (c: string, v: string) =>
    s.app.inject({
      method: 'POST',
      url: '/dev/oidc/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ grant_type: 'authorization_code', code: c, redirect_uri: redirect, client_id: 'sigstore', code_verifier: v }).toString(),
    });
  const wrong = await redeem(code, randomBytes(32).toString('base64url'));
  assert.equal(wrong.statusCode, 400);
  assert.equal(wrong.json().error, 'invalid_grant');
  // A failed redemption burns the code: a guessed verifier gets one try.
  assert.equal((await redeem(code, verifier)).statusCode, 400);
  const again = new URL(String((await post({ email: 'who@example.test' })).headers['location'])).searchParams.get('code')!;
  const tok = await redeem(again, verifier);
  assert.equal(tok.statusCode, 200, tok.body);
  const id = await s.app.services.oidc.verify(tok.json().id_token);
  assert.equal(id.principal, 'who@example.test');
  assert.equal((await redeem(again, verifier)).statusCode, 400, 'a code is single-use');
});
