// Signing key management: every key type from the real tools, fingerprints as the tools print them, OpenPGP
// subkeys and expiry, generate, repository globs, revoke/expiry/rotate/delete as trustedKeysFor sees them, the
// authorization matrix and bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireTool, run, tempDir } from '@signet/testkit';
import { checkValidity, verify } from '@signet/core';
import { bearer, testServer, type TestServer } from './helpers.js';
import { globMatches, globsIntersect } from '../dist/keys/globs.js';

const KEYS = '/api/v1/signing/keys';

async function sh(cmd: string, args: string[], opts: { cwd?: string; input?: string } = {}): Promise<string> {
  const r = await run(cmd, args, opts);
  assert.equal(r.code, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const sha256b64 = (b: Uint8Array): string => `SHA256:${createHash('sha256').update(b).digest('base64').replace(/=+$/, '')}`;

async function post(s: TestServer, payload: unknown, token = s.adminToken, url = KEYS): Promise<{ statusCode: number; json: () => any; body: string }> {
  return s.app.inject({ method: 'POST', url, headers: bearer(token), payload: payload as Record<string, unknown> });
}

async function importKey(s: TestServer, payload: Record<string, unknown>): Promise<any> {
  const r = await post(s, payload);
  assert.equal(r.statusCode, 201, r.body);
  return r.json();
}

async function newToken(s: TestServer, role: string, repositories?: string[]): Promise<string> {
  const r = await s.app.inject({ method: 'POST', url: '/api/v1/tokens', headers: bearer(s.adminToken), payload: { name: `${role} token`, role, ...(repositories ? { repositories } : {}) } });
  assert.equal(r.statusCode, 201, r.body);
  return r.json().token as string;
}

test('repository globs: matching and intersection', () => {
  assert.ok(globMatches('production/*', 'production/app'));
  assert.ok(!globMatches('production/*', 'production/app/web'));
  assert.ok(!globMatches('production/*', 'production'));
  assert.ok(globMatches('production/**', 'production'));
  assert.ok(globMatches('production/**', 'production/app/web'));
  assert.ok(globMatches('**', 'anything/at/all'));
  assert.ok(globMatches('a/**/z', 'a/z'));
  assert.ok(globMatches('a/**/z', 'a/b/c/z'));
  assert.ok(!globMatches('a/**/z', 'a/bz'));
  assert.ok(globMatches('team-*/app', 'team-red/app'));
  assert.ok(!globMatches('team-*/app', 'team-red/x/app'));
  assert.ok(globsIntersect('production/*', 'production/**'));
  assert.ok(globsIntersect('*/app', 'staging/**'));
  assert.ok(!globsIntersect('production/*', 'staging/**'));
  assert.ok(!globsIntersect('a/*', 'a/*/b'));
  assert.ok(globsIntersect('a-*', '*-b'));
  assert.ok(!globsIntersect('x/*', 'x'));
});

test('imports every key type; fingerprints are what the tools print', async (t) => {
  const tools = ['openssl', 'ssh-keygen', 'minisign', 'signify-openbsd', 'gpg'].map((n) => requireTool(t, n));
  if (tools.some((x) => !x)) return;
  const s = await testServer(t);
  const dir = tempDir(t);

  // PEM / cosign / X.509 with openssl; the fingerprint is SHA-256 over the SPKI DER (openssl pkey -outform DER).
  const pemCases: [string, string[], string, string | undefined][] = [
    ['p384', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384'], 'ecdsa-p384', undefined],
    ['p521', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-521'], 'ecdsa-p521', 'pem'],
    ['p256', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'], 'ecdsa-p256', 'cosign'],
    ['ed', ['-algorithm', 'ED25519'], 'ed25519', undefined],
    ['rsa', ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:3072'], 'rsa-3072', undefined],
  ];
  for (const [name, args, algorithm, type] of pemCases) {
    await sh('openssl', ['genpkey', ...args, '-out', join(dir, `${name}.key`)]);
    const pub = await sh('openssl', ['pkey', '-in', join(dir, `${name}.key`), '-pubout']);
    const der = (await run('openssl', ['pkey', '-pubin', '-outform', 'DER'], { input: pub })).stdoutBytes;
    const k = await importKey(s, { name, public_key: pub, repositories: ['production/*'], ...(type ? { type } : {}) });
    assert.equal(k.type, type ?? 'pem');
    assert.equal(k.algorithm, algorithm);
    assert.equal(k.fingerprint, sha256b64(der));
    assert.equal(k.custody, 'external');
    assert.equal(k.status, 'active');
    const pubText = await s.app.inject({ url: `${KEYS}/${k.id}/public`, headers: bearer(s.adminToken) });
    assert.match(pubText.headers['content-type'] as string, /^text\/plain/);
    assert.equal(pubText.body.trim(), pub.trim());
  }
  await sh('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'c.key'), '-subj', '/CN=signer', '-days', '30', '-out', join(dir, 'c.pem')]);
  const certPem = readFileSync(join(dir, 'c.pem'), 'utf8');
  const certDer = (await run('openssl', ['x509', '-in', join(dir, 'c.pem'), '-pubkey', '-noout'])).stdout;
  const x = await importKey(s, { name: 'cert', public_key: certPem });
  assert.equal(x.type, 'x509');
  assert.equal(x.fingerprint, sha256b64((await run('openssl', ['pkey', '-pubin', '-outform', 'DER'], { input: certDer })).stdoutBytes));
  const notAfter = Date.parse((await sh('openssl', ['x509', '-in', join(dir, 'c.pem'), '-noout', '-enddate'])).split('=')[1]!.trim());
  assert.equal(Date.parse(x.expires_at), notAfter, 'a certificate expires with its notAfter');

  // SSH: the fingerprint ssh-keygen -l prints, for a .pub line and for the authorized_keys form.
  for (const [kt, bits, algorithm] of [['ed25519', '', 'ed25519'], ['ecdsa', '384', 'ecdsa-p384'], ['rsa', '3072', 'rsa-3072']] as const) {
    const f = join(dir, `id_${kt}`);
    await sh('ssh-keygen', ['-q', '-t', kt, ...(bits ? ['-b', bits] : []), '-N', '', '-C', `${kt}@host`, '-f', f]);
    const line = readFileSync(`${f}.pub`, 'utf8');
    const printed = (await sh('ssh-keygen', ['-lf', `${f}.pub`])).split(' ')[1];
    const k = await importKey(s, { name: `ssh ${kt}`, public_key: kt === 'rsa' ? `from="10.0.0.0/8",no-pty ${line}` : line });
    assert.equal(k.type, 'ssh');
    assert.equal(k.algorithm, algorithm);
    assert.equal(k.fingerprint, printed);
  }

  // minisign and signify: same public key format; the type comes from the comment (or is stated).
  await sh('minisign', ['-G', '-W', '-p', join(dir, 'm.pub'), '-s', join(dir, 'm.key')]);
  await sh('signify-openbsd', ['-G', '-n', '-p', join(dir, 's.pub'), '-s', join(dir, 's.sec')]);
  for (const [file, type] of [['m.pub', 'minisign'], ['s.pub', 'signify']] as const) {
    const text = readFileSync(join(dir, file), 'utf8');
    const blob = Buffer.from(text.trim().split('\n')[1]!, 'base64');
    const k = await importKey(s, { name: type, public_key: text });
    assert.equal(k.type, type);
    assert.equal(k.algorithm, 'ed25519');
    assert.equal(k.fingerprint, sha256b64(blob));
  }
  const minisignKeyId = /minisign public key ([0-9A-F]+)/.exec(readFileSync(join(dir, 'm.pub'), 'utf8'))?.[1];
  assert.ok(minisignKeyId);

  // OpenPGP with gpg: a primary key expiring in 2 years, a signing subkey expiring in 30 days and an encryption subkey.
  const home = join(dir, 'gnupg');
  mkdirSync(home, { mode: 0o700 });
  const gpg = (args: string[]): Promise<string> => sh('gpg', ['--batch', '--homedir', home, '--passphrase', '', '--pinentry-mode', 'loopback', ...args]);
  await gpg(['--quick-gen-key', 'Alice <alice@example.com>', 'ed25519', 'sign', '2y']);
  const fpr = /^fpr:+([0-9A-F]{40}):/m.exec(await gpg(['--with-colons', '--list-keys']))![1]!;
  await gpg(['--quick-add-key', fpr, 'ed25519', 'sign', '30d']);
  await gpg(['--quick-add-key', fpr, 'cv25519', 'encr', '90d']);
  const colons = (await gpg(['--with-colons', '--list-keys', fpr])).split('\n').map((l) => l.split(':'));
  const caps: Record<string, string> = { s: 'sign', e: 'encrypt', a: 'authenticate', c: 'certify' };
  const expected = { pub: undefined as undefined | string, subs: [] as { fingerprint: string; expires_at: string | null; capabilities: string[] }[] };
  for (const [i, f] of colons.entries()) {
    const next = colons[i + 1];
    if (f[0] === 'pub') expected.pub = new Date(Number(f[6]) * 1000).toISOString();
    if (f[0] === 'sub' && next?.[0] === 'fpr') {
      expected.subs.push({ fingerprint: next[9]!, expires_at: f[6] ? new Date(Number(f[6]) * 1000).toISOString() : null, capabilities: [...(f[11] ?? '')].map((c) => caps[c]!).sort() });
    }
  }
  assert.equal(expected.subs.length, 2);
  const armored = await gpg(['--armor', '--export', fpr]);
  const g = await importKey(s, { name: 'release key', public_key: armored, repositories: ['debian/**'], metadata: { owner: 'security-team' } });
  assert.equal(g.type, 'gpg');
  assert.equal(g.fingerprint, fpr);
  assert.equal(g.algorithm, 'ed25519');
  assert.equal(g.expires_at, expected.pub);
  assert.deepEqual(
    g.subkeys.map((x: any) => ({ ...x, capabilities: [...x.capabilities].sort() })),
    expected.subs,
  );
  assert.deepEqual(g.metadata, { owner: 'security-team' });
  // The same key in binary (gpg --export), base64: a duplicate while the first is live, then accepted.
  const binary = (await run('gpg', ['--batch', '--homedir', home, '--export', fpr])).stdoutBytes.toString('base64');
  const dup = await post(s, { name: 'again', public_key: binary });
  assert.equal(dup.statusCode, 409);
  assert.equal(dup.json().code, 'KEY_EXISTS');
  assert.match(dup.json().message, new RegExp(g.id));
  assert.equal((await s.app.inject({ method: 'DELETE', url: `${KEYS}/${g.id}`, headers: bearer(s.adminToken) })).statusCode, 204);
  const gb = await importKey(s, { name: 'binary', public_key: binary, type: 'gpg' });
  assert.equal(gb.fingerprint, fpr);
  assert.equal(gb.subkeys.length, 2);
  // A keyring of two keys: the first names the entry, the second primary is listed with the subkeys.
  await gpg(['--quick-gen-key', 'Bob <bob@example.com>', 'rsa3072', 'sign', '0']);
  const bobFpr = [...(await gpg(['--with-colons', '--list-keys', 'bob@example.com'])).matchAll(/^fpr:+([0-9A-F]{40}):/gm)][0]![1]!;
  assert.equal((await s.app.inject({ method: 'DELETE', url: `${KEYS}/${gb.id}`, headers: bearer(s.adminToken) })).statusCode, 204);
  const ring = await importKey(s, { name: 'keyring', public_key: await gpg(['--armor', '--export', fpr, bobFpr]) });
  assert.equal(ring.fingerprint, fpr);
  assert.ok(ring.subkeys.some((x: any) => x.fingerprint === bobFpr && x.expires_at === null && x.capabilities.includes('sign')));

  // Secret keys pasted by mistake are refused, saying so, and nothing of them is echoed back.
  const secretArmored = await gpg(['--armor', '--export-secret-keys', fpr]);
  const secretBinary = (await run('gpg', ['--batch', '--homedir', home, '--passphrase', '', '--pinentry-mode', 'loopback', '--export-secret-keys', fpr])).stdoutBytes.toString('base64');
  const secrets: [string, RegExp][] = [
    [secretArmored, /OpenPGP private key/],
    [secretBinary, /OpenPGP secret key/],
    [readFileSync(join(dir, 'p256.key'), 'utf8'), /PKCS#8 private key/],
    [readFileSync(join(dir, 'id_ed25519'), 'utf8'), /OpenSSH private key/],
    [readFileSync(join(dir, 'm.key'), 'utf8'), /minisign secret key/],
    [readFileSync(join(dir, 's.sec'), 'utf8'), /signify secret key/],
  ];
  for (const [secret, what] of secrets) {
    const r = await post(s, { name: 'oops', public_key: secret });
    assert.equal(r.statusCode, 400, r.body);
    assert.equal(r.json().code, 'PRIVATE_KEY_REFUSED');
    assert.match(r.json().message, what);
    assert.match(r.json().message, /not stored/);
    const b64 = secret.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
    assert.ok(!r.body.includes(b64.slice(20, 60)), 'no part of the secret in the response');
  }

  // Weak keys: RSA below 2048 bits, from openssl and ssh-keygen.
  await sh('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024', '-out', join(dir, 'weak.key')]);
  await sh('ssh-keygen', ['-q', '-t', 'rsa', '-b', '1024', '-N', '', '-f', join(dir, 'weak_ssh')]);
  for (const weak of [await sh('openssl', ['pkey', '-in', join(dir, 'weak.key'), '-pubout']), readFileSync(join(dir, 'weak_ssh.pub'), 'utf8')]) {
    const r = await post(s, { name: 'weak', public_key: weak });
    assert.equal(r.statusCode, 400);
    assert.equal(r.json().code, 'KEY_ALGORITHM_REFUSED');
    assert.match(r.json().message, /at least 2048 bits \(this one has 1024\)/);
  }

  // Listing by repository matches the globs.
  const prod = (await s.app.inject({ url: `${KEYS}?repository=production/app`, headers: bearer(s.adminToken) })).json().keys;
  assert.deepEqual(prod.map((k: any) => k.name).sort(), ['ed', 'p256', 'p384', 'p521', 'rsa']);
  assert.deepEqual((await s.app.inject({ url: `${KEYS}?repository=production/app/x`, headers: bearer(s.adminToken) })).json().keys, []);
});

test('generate, revoke, expiry, rotate and delete as trustedKeysFor and the audit log see them', async (t) => {
  const s = await testServer(t);
  const keys = s.app.services.keys;
  const admin = bearer(s.adminToken);
  const signer = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = signer.publicKey.export({ type: 'spki', format: 'pem' }) as string;
  const artifact = Buffer.from('release 1.0');
  const signature = sign('sha256', artifact, signer.privateKey);
  const k = await importKey(s, { name: 'ci', public_key: pem, repositories: ['production/*'] });

  // Verifies through core with the trust material trustedKeysFor hands out.
  const trusted = await keys.trustedKeysFor('production/app');
  assert.deepEqual(trusted.map((r) => r.id), [k.id]);
  const v = await verify({ artifact: { bytes: artifact }, signature: Buffer.from(signature.toString('base64')), trust: { keys: trusted.map((r) => r.trust) } });
  assert.ok(v.ok, JSON.stringify(v.checks));
  assert.deepEqual(await keys.trustedKeysFor('staging/app'), []);

  // Generate: software custody, the private key sealed and never in a response.
  const gen = await importKey(s, { name: 'server key', generate: { algorithm: 'ed25519' }, repositories: ['production/*'] });
  assert.equal(gen.custody, 'software');
  assert.equal(gen.algorithm, 'ed25519');
  assert.match(gen.fingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);
  const pubOfGen = (await s.app.inject({ url: `${KEYS}/${gen.id}/public`, headers: admin })).body;
  assert.match(pubOfGen, /^-----BEGIN PUBLIC KEY-----/);
  assert.ok(!JSON.stringify(gen).includes('PRIVATE'));
  const priv = await keys.privateKey(gen.id);
  assert.equal(priv.asymmetricKeyType, 'ed25519');
  const sealed = await s.app.services.database.db.selectFrom('secrets').select('sealed').where('name', '=', `keys/${gen.id}/private`).executeTakeFirstOrThrow();
  assert.ok(!sealed.sealed.includes('MC4CAQAw'), 'the private key is sealed, not stored as PKCS#8');
  const p256 = await importKey(s, { name: 'default alg', generate: {} });
  assert.equal(p256.algorithm, 'ecdsa-p256');
  assert.deepEqual(p256.repositories, []);

  // Revoke: excluded from trust from that moment; with includeInvalid the validity says revoked.
  const revoked = (await post(s, { reason: 'laptop stolen' }, s.adminToken, `${KEYS}/${k.id}/revoke`)).json();
  assert.equal(revoked.status, 'revoked');
  assert.equal(revoked.revocation_reason, 'laptop stolen');
  assert.ok(!(await keys.trustedKeysFor('production/app')).some((r) => r.id === k.id));
  const all = await keys.trustedKeysFor('production/app', new Date(), { includeInvalid: true });
  const rec = all.find((r) => r.id === k.id)!;
  assert.ok(rec.validity.revokedAt);
  assert.match(checkValidity(rec.validity, new Date())!.detail, /revoked at/);
  const v2 = await verify({ artifact: { bytes: artifact }, signature: Buffer.from(signature.toString('base64')), trust: { keys: [rec.trust] } });
  assert.ok(!v2.ok, 'core refuses the revoked key too');
  assert.equal((await post(s, {}, s.adminToken, `${KEYS}/${k.id}/revoke`)).statusCode, 409);
  assert.equal((await post(s, {}, s.adminToken, `${KEYS}/${k.id}/rotate`)).statusCode, 409);

  // Expiry: a key expiring in a moment is active, then expired, and then no longer trusted.
  const short = await importKey(s, { name: 'short', public_key: generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }), repositories: ['production/**'], expires_at: new Date(Date.now() + 1500).toISOString() });
  assert.equal(short.status, 'active');
  assert.ok((await keys.trustedKeysFor('production/app')).some((r) => r.id === short.id));
  assert.ok(!(await keys.trustedKeysFor('production/app', new Date(Date.now() + 2000))).some((r) => r.id === short.id), 'expiry is judged at the given time');
  await new Promise((r) => setTimeout(r, 1600));
  assert.equal((await s.app.inject({ url: `${KEYS}/${short.id}`, headers: admin })).json().status, 'expired');
  assert.ok(!(await keys.trustedKeysFor('production/app')).some((r) => r.id === short.id));
  assert.deepEqual((await s.app.inject({ url: `${KEYS}?status=expired`, headers: admin })).json().keys.map((x: any) => x.id), [short.id]);

  // Rotate an external key: the new key takes over name, repositories and metadata; the old overlaps.
  const ext = await importKey(s, { name: 'team', public_key: generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ type: 'spki', format: 'pem' }), repositories: ['apps/*'], metadata: { team: 'web' } });
  const noKey = await post(s, { overlap: '1h' }, s.adminToken, `${KEYS}/${ext.id}/rotate`);
  assert.equal(noKey.statusCode, 400);
  assert.match(noKey.json().message, /public_key is required/);
  assert.equal((await post(s, { overlap: 'soon', public_key: pem }, s.adminToken, `${KEYS}/${ext.id}/rotate`)).statusCode, 400);
  const newPem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' });
  const rot = await post(s, { overlap: '1h', public_key: newPem }, s.adminToken, `${KEYS}/${ext.id}/rotate`);
  assert.equal(rot.statusCode, 201, rot.body);
  const next = rot.json();
  assert.equal(next.name, 'team');
  assert.deepEqual(next.repositories, ['apps/*']);
  assert.deepEqual(next.metadata, { team: 'web' });
  assert.equal(next.rotated_from, ext.id);
  const old = (await s.app.inject({ url: `${KEYS}/${ext.id}`, headers: admin })).json();
  assert.equal(old.status, 'rotated');
  assert.equal(old.rotated_to, next.id);
  assert.ok(Math.abs(Date.parse(old.expires_at) - (Date.now() + 3_600_000)) < 60_000);
  assert.deepEqual((await keys.trustedKeysFor('apps/web')).map((r) => r.id).sort(), [ext.id, next.id].sort());
  assert.deepEqual((await keys.trustedKeysFor('apps/web', new Date(Date.now() + 2 * 3_600_000))).map((r) => r.id), [next.id]);
  assert.equal((await post(s, { public_key: newPem }, s.adminToken, `${KEYS}/${ext.id}/rotate`)).statusCode, 409, 'a rotated key is not rotated twice');
  // A server-held key is rotated by generating; a public key is refused for it.
  assert.equal((await post(s, { public_key: newPem }, s.adminToken, `${KEYS}/${gen.id}/rotate`)).statusCode, 400);
  const genNext = (await post(s, {}, s.adminToken, `${KEYS}/${gen.id}/rotate`)).json();
  assert.equal(genNext.custody, 'software');
  assert.equal(genNext.algorithm, 'ed25519');
  assert.notEqual(genNext.fingerprint, gen.fingerprint);

  // Delete: gone from lists and trust, the row kept so the audit history and get() still name it.
  assert.equal((await s.app.inject({ method: 'DELETE', url: `${KEYS}/${next.id}`, headers: admin })).statusCode, 204);
  assert.ok(!(await s.app.inject({ url: KEYS, headers: admin })).json().keys.some((x: any) => x.id === next.id));
  const gone = await s.app.inject({ url: `${KEYS}/${next.id}`, headers: admin });
  assert.equal(gone.statusCode, 404);
  assert.match(gone.json().message, /was deleted at/);
  assert.equal((await s.app.inject({ method: 'DELETE', url: `${KEYS}/${next.id}`, headers: admin })).statusCode, 404);
  assert.ok(!(await keys.trustedKeysFor('apps/web')).some((r) => r.id === next.id));
  const tomb = await keys.get(next.id);
  assert.ok(tomb?.deletedAt);
  assert.equal(tomb?.info.fingerprint, next.fingerprint);
  const history = (await s.app.inject({ url: `/api/v1/audit?target=key:${next.id}`, headers: admin })).json().events;
  assert.deepEqual(history.map((e: any) => e.action), ['key.delete']);
  const history2 = (await s.app.inject({ url: `/api/v1/audit?target=key:${ext.id}`, headers: admin })).json().events;
  assert.deepEqual(history2.map((e: any) => e.action), ['key.import', 'key.rotate']);
  assert.equal(history2[1].details.rotated_to, next.id);
  const actions = (await s.app.inject({ url: '/api/v1/audit?limit=1000', headers: admin })).json().events.map((e: any) => e.action);
  for (const a of ['key.import', 'key.generate', 'key.revoke', 'key.rotate', 'key.delete']) assert.ok(actions.includes(a), a);
  // The same public key may be imported again once its old entry is deleted.
  assert.equal((await post(s, { name: 'back', public_key: newPem })).statusCode, 201);
});

test('authorization: admins manage keys; every role reads; repository-limited tokens see only their keys', async (t) => {
  const s = await testServer(t);
  const pem = (): string => generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }) as string;
  const prodKey = await importKey(s, { name: 'prod', public_key: pem(), repositories: ['production/*'] });
  const anyKey = await importKey(s, { name: 'any', public_key: pem(), repositories: ['**'] });
  const appKey = await importKey(s, { name: 'apps', public_key: pem(), repositories: ['*/app'] });
  const tokens: Record<string, string> = {};
  for (const role of ['reader', 'publisher', 'signer']) tokens[role] = await newToken(s, role);
  const limitedAdmin = await newToken(s, 'admin', ['production/**']);
  const stagingReader = await newToken(s, 'reader', ['staging/**']);

  const mutations: { method: 'POST' | 'DELETE'; url: string; payload?: Record<string, unknown> }[] = [
    { method: 'POST', url: KEYS, payload: { name: 'x', public_key: pem() } },
    { method: 'POST', url: KEYS, payload: { name: 'x', generate: {} } },
    { method: 'POST', url: `${KEYS}/${prodKey.id}/revoke`, payload: {} },
    { method: 'POST', url: `${KEYS}/${prodKey.id}/rotate`, payload: { public_key: pem() } },
    { method: 'DELETE', url: `${KEYS}/${prodKey.id}` },
  ];
  for (const m of mutations) {
    const none = await s.app.inject({ method: m.method, url: m.url, ...(m.payload ? { payload: m.payload } : {}) });
    assert.equal(none.statusCode, 401, `${m.method} ${m.url} without a token`);
    assert.equal(none.json().code, 'UNAUTHENTICATED');
    for (const token of [...Object.values(tokens), limitedAdmin]) {
      const r = await s.app.inject({ method: m.method, url: m.url, headers: bearer(token), ...(m.payload ? { payload: m.payload } : {}) });
      assert.equal(r.statusCode, 403, `${m.method} ${m.url}: ${r.body}`);
      assert.equal(r.json().code, 'FORBIDDEN');
    }
  }
  // Nothing changed, and each refusal is an audit event.
  assert.equal((await s.app.inject({ url: `${KEYS}/${prodKey.id}`, headers: bearer(s.adminToken) })).json().status, 'active');
  const denied = (await s.app.inject({ url: '/api/v1/audit?limit=1000', headers: bearer(s.adminToken) })).json().events.filter((e: any) => e.outcome === 'denied');
  assert.equal(denied.length, mutations.length * 4);
  assert.ok(denied.some((e: any) => e.action === 'key.revoke' && e.target === `key:${prodKey.id}` && e.actor_name === 'signer token'));

  // Reads: every role; no token is 401.
  for (const token of Object.values(tokens)) {
    assert.equal((await s.app.inject({ url: KEYS, headers: bearer(token) })).json().keys.length, 3);
    assert.equal((await s.app.inject({ url: `${KEYS}/${prodKey.id}`, headers: bearer(token) })).statusCode, 200);
    assert.equal((await s.app.inject({ url: `${KEYS}/${prodKey.id}/public`, headers: bearer(token) })).statusCode, 200);
  }
  for (const url of [KEYS, `${KEYS}/${prodKey.id}`, `${KEYS}/${prodKey.id}/public`]) assert.equal((await s.app.inject({ url })).statusCode, 401);
  // A token limited to staging/** sees the keys whose globs share a repository with it, and nothing else.
  const seen = (await s.app.inject({ url: KEYS, headers: bearer(stagingReader) })).json().keys.map((k: any) => k.id).sort();
  assert.deepEqual(seen, [anyKey.id, appKey.id].sort());
  assert.equal((await s.app.inject({ url: `${KEYS}/${prodKey.id}`, headers: bearer(stagingReader) })).statusCode, 404);
  assert.equal((await s.app.inject({ url: `${KEYS}/${prodKey.id}/public`, headers: bearer(stagingReader) })).statusCode, 404);
  assert.equal((await s.app.inject({ url: KEYS, headers: bearer(limitedAdmin) })).json().keys.length, 3);
  // The audit log is for unrestricted admins only.
  assert.equal((await s.app.inject({ url: '/api/v1/audit', headers: bearer(tokens['reader']!) })).statusCode, 403);
  assert.equal((await s.app.inject({ url: '/api/v1/audit', headers: bearer(limitedAdmin) })).statusCode, 403);
});

test('bad input is a clear 400 naming what is wrong', async (t) => {
  const s = await testServer(t);
  const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }) as string;
  const sshLine = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHhHSDoHbKRhvQ1qxtNAv5Z1jg0Ww3o6Sd6L1JZrLTDq me@host';
  const cases: [Record<string, unknown>, string, RegExp][] = [
    [{ name: 'x', public_key: 'hello world' }, 'KEY_INVALID', /not a recognised public key/],
    [{ name: 'x', public_key: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n' }, 'KEY_INVALID', /cannot be parsed/],
    [{ name: 'x', public_key: pem + pem }, 'KEY_INVALID', /exactly one PEM block/],
    [{ name: 'x', public_key: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHhH me' }, 'KEY_INVALID', /SSH public key cannot be read/],
    [{ name: 'x', public_key: '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQINBGabc\n-----END PGP PUBLIC KEY BLOCK-----\n' }, 'KEY_INVALID', /OpenPGP key cannot be read|not an OpenPGP/],
    [{ name: 'x', type: 'ssh', public_key: pem }, 'KEY_TYPE_MISMATCH', /type is "ssh" but public_key holds a PEM public key/],
    [{ name: 'x', type: 'x509', public_key: pem }, 'KEY_TYPE_MISMATCH', /X\.509|x509/],
    [{ name: 'x', type: 'gpg', public_key: sshLine }, 'KEY_TYPE_MISMATCH', /an SSH public key/],
    [{ name: 'x', type: 'rsa', public_key: pem }, 'BAD_REQUEST', /type/],
    [{ name: 'x'.repeat(129), public_key: pem }, 'BAD_REQUEST', /name/],
    [{ name: '  ', public_key: pem }, 'INVALID_KEY_REQUEST', /name/],
    [{ name: 'x', public_key: pem, repositories: ['a//b'] }, 'INVALID_KEY_REQUEST', /"a\/\/b" has an empty path segment/],
    [{ name: 'x', public_key: pem, repositories: ['/prod'] }, 'INVALID_KEY_REQUEST', /empty path segment/],
    [{ name: 'x', public_key: pem, repositories: ['prod/a**'] }, 'INVALID_KEY_REQUEST', /whole path segment/],
    [{ name: 'x', public_key: pem, repositories: ['prod app'] }, 'INVALID_KEY_REQUEST', /may hold only/],
    [{ name: 'x', public_key: pem, repositories: Array.from({ length: 101 }, (_, i) => `r${i}`) }, 'BAD_REQUEST', /repositories/],
    [{ name: 'x', public_key: pem, metadata: { owner: { team: 'x' } } }, 'BAD_REQUEST', /metadata/],
    [{ name: 'x', public_key: pem, metadata: { 'bad key!': 'v' } }, 'INVALID_KEY_REQUEST', /metadata key/],
    [{ name: 'x', public_key: pem, metadata: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v'])) }, 'BAD_REQUEST', /metadata/],
    [{ name: 'x', public_key: pem, expires_at: 'tomorrow' }, 'INVALID_KEY_REQUEST', /expires_at must be an ISO 8601/],
    [{ name: 'x', public_key: pem, expires_at: '2020-01-01T00:00:00Z' }, 'INVALID_KEY_REQUEST', /in the past/],
    [{ name: 'x', public_key: pem, generate: {} }, 'INVALID_KEY_REQUEST', /either public_key .* or generate/],
    [{ name: 'x' }, 'INVALID_KEY_REQUEST', /either public_key/],
    [{ name: 'x', generate: { algorithm: 'rsa-1024' } }, 'BAD_REQUEST', /algorithm/],
    [{ name: 'x', public_key: pem, owner: 'me' }, 'BAD_REQUEST', /additional properties/],
  ];
  for (const [payload, code, message] of cases) {
    const r = await post(s, payload);
    assert.equal(r.statusCode, 400, `${JSON.stringify(payload).slice(0, 80)} → ${r.body}`);
    assert.equal(r.json().code, code, r.body);
    assert.match(r.json().message, message);
  }
  const q = await s.app.inject({ url: `${KEYS}?repository=prod/*`, headers: bearer(s.adminToken) });
  assert.equal(q.statusCode, 400);
  assert.match(q.json().message, /repository name, not a glob/);
  assert.equal((await s.app.inject({ url: `${KEYS}?status=lost`, headers: bearer(s.adminToken) })).statusCode, 400);
  assert.equal((await s.app.inject({ url: `${KEYS}/nope`, headers: bearer(s.adminToken) })).statusCode, 404);
  assert.equal((await s.app.inject({ method: 'POST', url: `${KEYS}/nope/revoke`, headers: bearer(s.adminToken), payload: {} })).statusCode, 404);
  const notJson = await s.app.inject({ method: 'POST', url: KEYS, headers: { ...bearer(s.adminToken), 'content-type': 'application/json' }, payload: '{"name":' });
  assert.equal(notJson.statusCode, 400);
  assert.equal((await s.app.inject({ url: '/api/v1/audit?since=yesterday', headers: bearer(s.adminToken) })).json().code, 'INVALID_AUDIT_QUERY');
  assert.equal((await s.app.inject({ url: '/api/v1/audit?limit=1001', headers: bearer(s.adminToken) })).statusCode, 400);
});
