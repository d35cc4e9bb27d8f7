// Signing policies over generic file repositories: push enforcement ("sign, then push": the seed's rule
// require-gpg-signature for rpm/deb/apk with real gpg signatures, trusted_keys by id and by name, untrusted and
// revoked keys), quarantine, warn, artifact types, pull enforcement for consumers vs writers, signature files and
// SHA256SUMS exempt, the verify API for {repository, path} with signature_type filters, and dry runs over files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireTool, run, seedPolicyYaml, tempDir } from '@signet/testkit';
import { fromHex, messageSignatureBundle, signData, spkiFingerprint, toBase64 } from '@signet/core';
import { bearer, testServer, type TestServer } from './helpers.js';

type Res = { statusCode: number; body: string; headers: Record<string, unknown>; rawPayload: Buffer; json: () => any };

const SEED_YAML = (trusted: string[]): string => seedPolicyYaml({ trustedKeys: trusted });

async function token(s: TestServer, role: string, repositories: string[]): Promise<string> {
  const r = await s.app.inject({ method: 'POST', url: '/api/v1/tokens', headers: bearer(s.adminToken), payload: { name: `${role}-${Math.random()}`, role, repositories } });
  assert.equal(r.statusCode, 201, r.body);
  return r.json().token as string;
}

async function repo(s: TestServer, name: string): Promise<void> {
  const r = await s.app.inject({ method: 'POST', url: '/api/v1/repositories', headers: bearer(s.adminToken), payload: { name, kind: 'generic' } });
  assert.equal(r.statusCode, 201, r.body);
}

const put = (s: TestServer, path: string, body: Buffer | string, tok: string): Promise<Res> =>
  s.app.inject({ method: 'PUT', url: `/files/${path}`, headers: { ...bearer(tok), 'content-type': 'application/octet-stream' }, payload: typeof body === 'string' ? Buffer.from(body) : body }) as Promise<Res>;

const get = (s: TestServer, path: string, tok?: string, method: 'GET' | 'HEAD' = 'GET'): Promise<Res> =>
  s.app.inject({ method, url: `/files/${path}`, headers: tok ? bearer(tok) : {} }) as Promise<Res>;

async function policy(s: TestServer, doc: Record<string, unknown> | string): Promise<void> {
  const yaml = typeof doc === 'string';
  const name = yaml ? /^name: "?([^"\n]+)"?/m.exec(doc)![1]! : (doc['name'] as string);
  const exists = (await s.app.inject({ method: 'GET', url: `/api/v1/signing/policies/${name}`, headers: bearer(s.adminToken) })).statusCode === 200;
  const r = await s.app.inject({
    method: exists ? 'PUT' : 'POST',
    url: exists ? `/api/v1/signing/policies/${name}` : '/api/v1/signing/policies',
    headers: { ...bearer(s.adminToken), ...(yaml ? { 'content-type': 'application/yaml' } : {}) },
    payload: doc,
  });
  assert.ok(r.statusCode === 200 || r.statusCode === 201, r.body);
}

async function addKey(s: TestServer, name: string, publicKey: string, repositories: string[]): Promise<string> {
  const r = await s.app.inject({ method: 'POST', url: '/api/v1/signing/keys', headers: bearer(s.adminToken), payload: { name, public_key: publicKey, repositories } });
  assert.equal(r.statusCode, 201, r.body);
  return r.json().id as string;
}

async function sh(cmd: string, args: string[]): Promise<string> {
  const r = await run(cmd, args);
  assert.equal(r.code, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function auditEvents(s: TestServer, action: string): Promise<{ action: string; outcome: string; target: string; details: any }[]> {
  const r = await s.app.inject({ method: 'GET', url: `/api/v1/audit?action=${action}&limit=100`, headers: bearer(s.adminToken) });
  assert.equal(r.statusCode, 200, r.body);
  return r.json().events;
}

/** A gpg home with two signing keys; sign(file, who) writes a detached armored signature and returns its bytes. */
async function gpgKeys(dir: string): Promise<{ exportKey: (who: string) => Promise<string>; sign: (file: string, who: string) => Promise<Buffer> }> {
  const home = join(dir, 'gnupg');
  await sh('mkdir', ['-m', '700', home]);
  const gpg = (args: string[]): Promise<string> => sh('gpg', ['--batch', '--homedir', home, '--passphrase', '', '--pinentry-mode', 'loopback', ...args]);
  await gpg(['--quick-gen-key', 'Release Bot <release@example.com>', 'ed25519', 'sign', '1y']);
  await gpg(['--quick-gen-key', 'Other Bot <other@example.com>', 'ed25519', 'sign', '1y']);
  return {
    exportKey: (who) => gpg(['--armor', '--export', who]),
    sign: async (file, who) => {
      const out = `${file}.${who.replace(/\W/g, '_')}.asc`;
      await gpg(['--yes', '--local-user', who, '--armor', '--detach-sign', '--output', out, file]);
      return readFileSync(out);
    },
  };
}

test("push enforcement with the seed's gpg rule: refused unsigned, signature first then file, untrusted and revoked keys, trusted_keys by id and by name", async (t) => {
  if (!requireTool(t, 'gpg')) return;
  const s = await testServer(t);
  const dir = tempDir(t, 'signet-gpol-');
  const publisher = await token(s, 'publisher', ['production/**']);
  const reader = await token(s, 'reader', ['production/**']);
  await repo(s, 'production/pkgs');
  const g = await gpgKeys(dir);
  const releaseId = await addKey(s, 'release bot', await g.exportKey('release@example.com'), ['production/**']);
  const otherId = await addKey(s, 'other bot', await g.exportKey('other@example.com'), ['production/**']);
  await policy(s, SEED_YAML([releaseId, 'key-456']));

  const rpm = Buffer.from('an rpm package, version 1.0\n'.repeat(200));
  writeFileSync(join(dir, 'tool-1.0.rpm'), rpm);

  // Unsigned: refused with the seed's message, naming the rule and what is missing; nothing at the path.
  const refused = await put(s, 'production/pkgs/tool-1.0.rpm', rpm, publisher);
  assert.equal(refused.statusCode, 403, refused.body);
  assert.equal(refused.json().code, 'POLICY_NOT_SATISFIED');
  assert.match(refused.json().message, /^Signature required for repository "production\/pkgs": policy "require-signatures" rule "require-gpg-signature": missing a valid gpg signature by key /);
  assert.doesNotMatch(refused.json().message, /require-cosign-signature/, 'the docker/oci rule does not apply to files');
  assert.equal((await get(s, 'production/pkgs/tool-1.0.rpm', s.adminToken)).statusCode, 404, 'nothing was recorded at the path');
  assert.deepEqual((await get(s, 'production/pkgs/', s.adminToken)).json().files, []);

  // A file that is not rpm/deb/apk is governed by neither rule.
  assert.equal((await put(s, 'production/pkgs/README.txt', 'read me', publisher)).statusCode, 201);

  // A signature by a key registered for the repository but not in trusted_keys does not satisfy the rule.
  const sigPut = await put(s, 'production/pkgs/tool-1.0.rpm.asc', await g.sign(join(dir, 'tool-1.0.rpm'), 'other@example.com'), publisher);
  assert.equal(sigPut.statusCode, 201, 'signature files are never refused by policy');
  const untrusted = await put(s, 'production/pkgs/tool-1.0.rpm', rpm, publisher);
  assert.equal(untrusted.statusCode, 403);
  assert.match(untrusted.json().message, /key "other bot" \([^)]+\) is not trusted by this rule/);

  // Sign, then push: the trusted key's signature first, then the file is accepted.
  assert.equal((await put(s, 'production/pkgs/tool-1.0.rpm.asc', await g.sign(join(dir, 'tool-1.0.rpm'), 'release@example.com'), publisher)).statusCode, 200);
  const accepted = await put(s, 'production/pkgs/tool-1.0.rpm', rpm, publisher);
  assert.equal(accepted.statusCode, 201, accepted.body);
  assert.equal(accepted.json().signatures[0].status, 'valid');
  assert.equal(accepted.json().signatures[0].signer.key_id, releaseId);
  assert.ok((await get(s, 'production/pkgs/tool-1.0.rpm', reader)).rawPayload.equals(rpm));

  // Other bytes at the same path (the signature does not match them): refused, and the stored file stays as it was.
  const tampered = await put(s, 'production/pkgs/tool-1.0.rpm', Buffer.concat([rpm, Buffer.from('x')]), publisher);
  assert.equal(tampered.statusCode, 403);
  assert.match(tampered.json().message, /the file already there is unchanged/);
  assert.ok((await get(s, 'production/pkgs/tool-1.0.rpm', reader)).rawPayload.equals(rpm));
  const st = await s.app.inject({ method: 'GET', url: '/api/v1/artifacts/generic/production/pkgs/tool-1.0.rpm', headers: bearer(reader) });
  assert.equal(st.json().summary.signed, true, 'the refused content left no verdict behind');

  // A .deb signed by the trusted key after it is revoked: refused; consumers lose the already stored rpm (the rule
  // is for push and pull) while publishers still read it, and the signature file stays readable.
  const deb = Buffer.from('a deb package\n');
  writeFileSync(join(dir, 'tool_1.0.deb'), deb);
  assert.equal((await put(s, 'production/pkgs/tool_1.0.deb.asc', await g.sign(join(dir, 'tool_1.0.deb'), 'release@example.com'), publisher)).statusCode, 201);
  const rev = await s.app.inject({ method: 'POST', url: `/api/v1/signing/keys/${releaseId}/revoke`, headers: bearer(s.adminToken), payload: { reason: 'leaked' } });
  assert.equal(rev.statusCode, 200, rev.body);
  const revoked = await put(s, 'production/pkgs/tool_1.0.deb', deb, publisher);
  assert.equal(revoked.statusCode, 403);
  assert.match(revoked.json().message, /rule "require-gpg-signature"/);
  assert.equal((await get(s, 'production/pkgs/tool_1.0.deb', s.adminToken)).statusCode, 404);
  const held = await get(s, 'production/pkgs/tool-1.0.rpm', reader);
  assert.equal(held.statusCode, 403);
  assert.equal(held.json().code, 'POLICY_NOT_SATISFIED');
  assert.match(held.json().message, /production\/pkgs\/tool-1.0.rpm is not released to consumers.*require-gpg-signature/);
  assert.equal((await get(s, 'production/pkgs/tool-1.0.rpm', reader, 'HEAD')).statusCode, 403);
  assert.equal((await get(s, 'production/pkgs/tool-1.0.rpm', publisher)).statusCode, 200, 'writers read what they must sign');
  assert.equal((await get(s, 'production/pkgs/tool-1.0.rpm.asc', reader)).statusCode, 200, 'signature files are exempt');
  assert.deepEqual((await get(s, 'production/pkgs/', reader)).json().files.map((f: { path: string }) => f.path), ['README.txt', 'tool-1.0.rpm', 'tool-1.0.rpm.asc', 'tool_1.0.deb.asc']);

  // trusted_keys by name: the other key, named in the policy, now satisfies the rule for the deb.
  await policy(s, SEED_YAML(['other bot']));
  assert.equal((await put(s, 'production/pkgs/tool_1.0.deb.asc', await g.sign(join(dir, 'tool_1.0.deb'), 'other@example.com'), publisher)).statusCode, 200);
  const byName = await put(s, 'production/pkgs/tool_1.0.deb', deb, publisher);
  assert.equal(byName.statusCode, 201, byName.body);
  assert.equal(byName.json().signatures[0].signer.key_id, otherId);
  assert.equal((await get(s, 'production/pkgs/tool_1.0.deb', reader)).statusCode, 200);

  // Every decision is audited.
  const refusals = await auditEvents(s, 'file.push.refused');
  assert.equal(refusals.length, 4, JSON.stringify(refusals));
  assert.ok(refusals.every((e) => e.outcome === 'denied' && e.target.startsWith('file:production/pkgs/')));
  assert.match(refusals[0]!.details.missing, /require-gpg-signature/);
  assert.equal((await auditEvents(s, 'file.push.allowed')).length, 2);
  assert.ok((await auditEvents(s, 'file.pull.refused')).length >= 2);
});

test('quarantine, warn, artifact types, pull rules for consumers vs writers, exempt signature files and checksum lists', async (t) => {
  const sshKeygen = requireTool(t, 'ssh-keygen');
  const minisign = requireTool(t, 'minisign');
  if (!sshKeygen || !minisign) return;
  const s = await testServer(t);
  const dir = tempDir(t, 'signet-gpol-');
  const publisher = await token(s, 'publisher', ['staging/**']);
  const reader = await token(s, 'reader', ['staging/**']);
  for (const r of ['staging/q', 'staging/w', 'staging/d', 'staging/p']) await repo(s, r);
  await sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ci@example.com', '-f', join(dir, 'id')]);
  await addKey(s, 'ssh ci', readFileSync(join(dir, 'id.pub'), 'utf8'), ['staging/**']);
  await sh('minisign', ['-G', '-W', '-p', join(dir, 'm.pub'), '-s', join(dir, 'm.key')]);
  await addKey(s, 'minisign ci', readFileSync(join(dir, 'm.pub'), 'utf8'), ['staging/**']);

  await policy(s, { name: 'held', repositories: ['staging/q'], rules: [{ name: 'ssh-signed', signature_type: 'ssh', mode: 'quarantine', on: ['push'] }] });
  await policy(s, { name: 'warned', repositories: ['staging/w'], rules: [{ name: 'any-signature', mode: 'warn' }] });
  await policy(s, { name: 'images-only', repositories: ['staging/d'], rules: [{ name: 'cosign-images', artifact_types: ['docker', 'oci'], signature_type: 'cosign' }] });
  await policy(s, { name: 'pull-only', repositories: ['staging/p'], rules: [{ name: 'minisigned', artifact_types: ['generic'], signature_type: 'minisign', on: ['pull'] }] });

  // quarantine (a push rule): stored with a Warning, held from consumers until the ssh signature arrives.
  writeFileSync(join(dir, 'app.tar'), 'the app tarball');
  const q = await put(s, 'staging/q/app.tar', 'the app tarball', publisher);
  assert.equal(q.statusCode, 201, q.body);
  assert.match(String(q.headers['warning']), /^299 - "quarantined: staging\/q\/app.tar is served to consumers once policy 'held' rule 'ssh-signed'/);
  const qHeld = await get(s, 'staging/q/app.tar', reader);
  assert.equal(qHeld.statusCode, 403);
  assert.match(qHeld.json().message, /rule "ssh-signed": missing a valid ssh signature/);
  assert.equal((await get(s, 'staging/q/app.tar', publisher)).body, 'the app tarball');
  await sh('ssh-keygen', ['-Y', 'sign', '-f', join(dir, 'id'), '-n', 'file', join(dir, 'app.tar')]);
  assert.equal((await put(s, 'staging/q/app.tar.sig', readFileSync(join(dir, 'app.tar.sig')), publisher)).statusCode, 201);
  const released = await get(s, 'staging/q/app.tar', reader);
  assert.equal(released.statusCode, 200, released.body);
  assert.equal(released.body, 'the app tarball');
  assert.equal((await auditEvents(s, 'file.push.quarantined')).length, 1);

  // warn: stored, Warning header, audit entry; consumers read it (the rule's warnings repeat on their reads).
  const w = await put(s, 'staging/w/tool.bin', 'tool', publisher);
  assert.equal(w.statusCode, 201);
  assert.match(String(w.headers['warning']), /^299 - "policy 'warned' rule 'any-signature': missing a valid signature by a key registered for the repository/);
  const warned = await auditEvents(s, 'file.push.warned');
  assert.equal(warned.length, 1);
  assert.equal(warned[0]!.outcome, 'warned');
  assert.equal(warned[0]!.target, 'file:staging/w/tool.bin');
  const wGet = await get(s, 'staging/w/tool.bin', reader);
  assert.equal(wGet.statusCode, 200);
  assert.match(String(wGet.headers['warning']), /any-signature/);

  // A rule for docker/oci does not apply to files: no refusal, no warning, no audit decision.
  const d = await put(s, 'staging/d/plain.bin', 'plain', publisher);
  assert.equal(d.statusCode, 201);
  assert.equal(d.headers['warning'], undefined);
  assert.equal((await get(s, 'staging/d/plain.bin', reader)).statusCode, 200);

  // A pull rule (generic: every file): pushes are not governed; consumers are refused until it is minisigned,
  // writers read it; signature files (even broken ones) and SHA256SUMS lists are exempt.
  writeFileSync(join(dir, 'data.bin'), 'data');
  assert.equal((await put(s, 'staging/p/data.bin', 'data', publisher)).statusCode, 201);
  assert.equal((await put(s, 'staging/p/other.bin', 'other', publisher)).statusCode, 201);
  const pHeld = await get(s, 'staging/p/data.bin', reader);
  assert.equal(pHeld.statusCode, 403);
  assert.match(pHeld.json().message, /policy "pull-only" rule "minisigned": missing a valid minisign signature/);
  assert.equal((await get(s, 'staging/p/data.bin', publisher)).statusCode, 200);
  assert.equal((await put(s, 'staging/p/other.bin.sig', 'not a signature', publisher)).statusCode, 201);
  assert.equal((await get(s, 'staging/p/other.bin.sig', reader)).statusCode, 200);
  assert.equal((await get(s, 'staging/p/other.bin', reader)).statusCode, 403);
  assert.equal((await put(s, 'staging/p/SHA256SUMS', `${createHash('sha256').update('data').digest('hex')}  data.bin\n`, publisher)).statusCode, 201);
  assert.equal((await get(s, 'staging/p/SHA256SUMS', reader)).statusCode, 200);
  await sh('minisign', ['-S', '-s', join(dir, 'm.key'), '-m', join(dir, 'data.bin')]);
  assert.equal((await put(s, 'staging/p/data.bin.minisig', readFileSync(join(dir, 'data.bin.minisig')), publisher)).statusCode, 201);
  assert.equal((await get(s, 'staging/p/data.bin', reader)).body, 'data');
  const pulls = await auditEvents(s, 'file.pull.refused');
  assert.ok(pulls.some((e) => e.target === 'file:staging/p/data.bin' && e.outcome === 'denied'));

  // Dry run: the files the policy governs, by path; signature files and checksum lists not counted.
  const dr = await s.app.inject({ method: 'POST', url: '/api/v1/signing/policies/dry-run', headers: bearer(s.adminToken), payload: { id: 'pull-only' } });
  assert.equal(dr.statusCode, 200, dr.body);
  assert.deepEqual(dr.json().repositories, ['staging/p']);
  assert.equal(dr.json().evaluated, 2);
  assert.equal(dr.json().failing, 1);
  assert.equal(dr.json().failures[0].repository, 'staging/p');
  assert.equal(dr.json().failures[0].path, 'other.bin');
  assert.equal(dr.json().failures[0].digest, `sha256:${createHash('sha256').update('other').digest('hex')}`);
  assert.equal(dr.json().failures[0].failures[0].rule, 'minisigned');
  const drInline = await s.app.inject({
    method: 'POST',
    url: '/api/v1/signing/policies/dry-run',
    headers: bearer(s.adminToken),
    payload: { policy: { name: 'x', repositories: ['staging/*'], rules: [{ name: 'gpg', signature_type: 'gpg' }] }, repositories: ['staging/q', 'staging/w'] },
  });
  assert.equal(drInline.statusCode, 200, drInline.body);
  assert.deepEqual(drInline.json().failures.map((f: { repository: string; path: string }) => `${f.repository}/${f.path}`), ['staging/q/app.tar', 'staging/w/tool.bin']);
});

test('verify API for a generic file: signature_type filters, policy verdict, and clear 4xx answers', async (t) => {
  const minisign = requireTool(t, 'minisign');
  if (!minisign) return;
  const s = await testServer(t);
  const dir = tempDir(t, 'signet-gpol-');
  const reader = await token(s, 'reader', ['rel/**']);
  const outsider = await token(s, 'reader', ['other/**']);
  await repo(s, 'rel/files');
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pemId = await addKey(s, 'ci pem', publicKey.export({ type: 'spki', format: 'pem' }).toString(), ['rel/**']);
  await sh('minisign', ['-G', '-W', '-p', join(dir, 'm.pub'), '-s', join(dir, 'm.key')]);
  const msId = await addKey(s, 'minisign ci', readFileSync(join(dir, 'm.pub'), 'utf8'), ['rel/**']);

  // sbom.json: a Sigstore bundle by the PEM key; data.bin: minisign; bare.bin: nothing.
  const sbom = Buffer.from('{"sbom": true}');
  const bundle = messageSignatureBundle({
    key: { hint: toBase64(fromHex(spkiFingerprint(publicKey))) },
    digest: { algorithm: 'sha256', value: createHash('sha256').update(sbom).digest() },
    signature: await signData(privateKey, sbom),
  });
  writeFileSync(join(dir, 'data.bin'), 'data');
  await sh('minisign', ['-S', '-s', join(dir, 'm.key'), '-m', join(dir, 'data.bin')]);
  for (const [p, body] of [
    ['sbom.json', sbom],
    ['sbom.json.sigstore.json', Buffer.from(JSON.stringify(bundle))],
    ['data.bin', Buffer.from('data')],
    ['data.bin.minisig', readFileSync(join(dir, 'data.bin.minisig'))],
    ['bare.bin', Buffer.from('bare')],
  ] as const) {
    assert.equal((await put(s, `rel/files/${p}`, body, s.adminToken)).statusCode, 201);
  }
  const verify = (artifact: Record<string, unknown>, extra: Record<string, unknown> = {}, tok = reader): Promise<Res> =>
    s.app.inject({ method: 'POST', url: '/api/v1/signing/verify', headers: bearer(tok), payload: { artifact, ...extra } }) as Promise<Res>;

  // No policy: valid with any trusted signature; the signature_type filter narrows what counts.
  let v = await verify({ repository: 'rel/files', path: 'sbom.json' });
  assert.equal(v.statusCode, 200, v.body);
  assert.equal(v.json().valid, true);
  assert.equal(v.json().signer.key_id, pemId);
  assert.deepEqual(v.json().artifact, { repository: 'rel/files', path: 'sbom.json', digest: `sha256:${createHash('sha256').update(sbom).digest('hex')}` });
  assert.equal(v.json().policy, undefined);
  for (const [type, valid] of [['sigstore', true], ['cosign', true], ['gpg', false], ['minisign', false], ['any', true]] as const) {
    assert.equal((await verify({ repository: 'rel/files', path: 'sbom.json' }, { signature_type: type })).json().valid, valid, `sbom.json as ${type}`);
  }
  v = await verify({ repository: 'rel/files', path: 'data.bin' }, { signature_type: 'minisign' });
  assert.equal(v.json().valid, true);
  assert.equal(v.json().signer.key_id, msId);
  v = await verify({ repository: 'rel/files', path: 'data.bin' }, { signature_type: 'ssh' });
  assert.equal(v.json().valid, false);
  assert.deepEqual(v.json().checks.filter((c: { ok: boolean }) => !c.ok).map((c: { name: string }) => c.name), ['signatures']);
  v = await verify({ repository: 'rel/files', path: 'bare.bin' });
  assert.equal(v.json().valid, false);
  assert.match(v.json().checks.find((c: { name: string }) => c.name === 'signatures').detail, /no signature is stored beside it/);

  // A policy for the repository: the verdict carries it; a minisign-only rule fails the bundle-signed sbom.
  await policy(s, { name: 'rel-minisign', repositories: ['rel/**'], rules: [{ name: 'minisigned', signature_type: 'minisign' }] });
  v = await verify({ repository: 'rel/files', path: 'sbom.json' });
  assert.equal(v.json().valid, false);
  assert.equal(v.json().policy.satisfied, false);
  assert.ok(v.json().checks.some((c: { name: string; ok: boolean }) => c.name === 'policy rel-minisign: minisigned' && !c.ok));
  v = await verify({ repository: 'rel/files', path: 'data.bin' });
  assert.equal(v.json().valid, true);
  assert.equal(v.json().policy.satisfied, true);
  // A named policy whose rules apply to no file.
  await policy(s, { name: 'images', repositories: ['nothing/*'], rules: [{ name: 'img', artifact_types: ['oci'] }] });
  v = await verify({ repository: 'rel/files', path: 'data.bin' }, { policy: 'images' });
  assert.equal(v.json().valid, true);
  assert.match(v.json().checks.find((c: { name: string }) => c.name === 'policy').detail, /applies to this file \(artifact types generic\)/);
  const audited = await auditEvents(s, 'artifact.verify');
  assert.ok(audited.some((e) => e.target === 'file:rel/files/data.bin' && e.outcome === 'valid'));

  // Clear 4xx answers.
  const missing = await verify({ repository: 'rel/files', path: 'nope.bin' });
  assert.equal(missing.statusCode, 404);
  assert.equal(missing.json().code, 'FILE_NOT_FOUND');
  assert.equal((await verify({ repository: 'rel/nothing', path: 'x' })).statusCode, 404);
  for (const [artifact, pattern] of [
    [{ repository: 'rel/files', path: '../etc/passwd' }, /artifact.path .* is not a valid file path/],
    [{ repository: 'rel/files', path: 'a//b' }, /empty segment/],
    [{ repository: 'rel/files', path: 'a\u0000b' }, /control characters/],
    [{ repository: 'rel/files', path: 'data.bin', version: '1.0' }, /with artifact.repository only/],
    [{ repository: 'Rel/Files', path: 'data.bin' }, /not a repository name/],
    [{ repository: 'rel/files', version: '1.0' }, /generic repository: name the file with artifact.path/],
  ] as const) {
    const r = await verify(artifact, {}, s.adminToken);
    assert.equal(r.statusCode, 400, `${JSON.stringify(artifact)}: ${r.body}`);
    assert.equal(r.json().code, 'INVALID_VERIFY_REQUEST');
    assert.match(r.json().message, pattern);
  }
  assert.equal((await verify({ repository: 'rel/files', path: 'x'.repeat(5000) })).statusCode, 400);
  assert.equal((await verify({ repository: 'rel/files', path: 'data.bin' }, {}, outsider)).statusCode, 403);
});
