// Repositories API and generic file repositories: CRUD and its authorization matrix, PUT/GET/HEAD/DELETE with
// Range, checksums and path rules, garbage collection leaving files alone, and detached signatures made by the real
// tools (gpg, minisign) and by core (a Sigstore bundle) verified against the repository's registered keys, plus a
// signed SHA256SUMS vouching for the files it lists.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { requireTool, run, tempDir } from '@signet/testkit';
import { formatChecksums, fromHex, messageSignatureBundle, signData, spkiFingerprint, toBase64 } from '@signet/core';
import { bearer, testServer, type TestServer } from './helpers.js';
import { parseDigest } from '../dist/registry/index.js';

type Res = { statusCode: number; body: string; headers: Record<string, unknown>; rawPayload: Buffer; json: () => any };

async function token(s: TestServer, role: string, repositories?: string[]): Promise<string> {
  const r = await s.app.inject({ method: 'POST', url: '/api/v1/tokens', headers: bearer(s.adminToken), payload: { name: `${role}-${repositories?.join('+') ?? 'all'}`, role, ...(repositories ? { repositories } : {}) } });
  assert.equal(r.statusCode, 201, r.body);
  return r.json().token as string;
}

function createRepo(s: TestServer, body: Record<string, unknown>, tok: string | null = s.adminToken): Promise<Res> {
  return s.app.inject({ method: 'POST', url: '/api/v1/repositories', headers: tok ? bearer(tok) : {}, payload: body }) as Promise<Res>;
}

function put(s: TestServer, path: string, body: Buffer | string, tok: string | undefined, headers: Record<string, string> = {}): Promise<Res> {
  return s.app.inject({ method: 'PUT', url: `/files/${path}`, headers: { ...(tok ? bearer(tok) : {}), 'content-type': 'application/octet-stream', ...headers }, payload: typeof body === 'string' ? Buffer.from(body) : body }) as Promise<Res>;
}

function get(s: TestServer, url: string, tok?: string, headers: Record<string, string> = {}, method: 'GET' | 'HEAD' | 'DELETE' = 'GET'): Promise<Res> {
  return s.app.inject({ method, url, headers: { ...(tok ? bearer(tok) : {}), ...headers } }) as Promise<Res>;
}

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

/** Listens on an ephemeral loopback port (closed with the app). */
async function listen(s: TestServer): Promise<number> {
  await s.app.listen({ host: '127.0.0.1', port: 0 });
  return (s.app.server.address() as AddressInfo).port;
}

/** One request with the path sent exactly as given (node:http does not normalise it). */
function raw(port: number, method: string, path: string, tok: string, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: { authorization: `Bearer ${tok}`, ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}) } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function sh(cmd: string, args: string[], opts: { cwd?: string; input?: string } = {}): Promise<string> {
  const r = await run(cmd, args, opts);
  assert.equal(r.code, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function addKey(s: TestServer, body: Record<string, unknown>): Promise<string> {
  const r = await s.app.inject({ method: 'POST', url: '/api/v1/signing/keys', headers: bearer(s.adminToken), payload: body });
  assert.equal(r.statusCode, 201, r.body);
  return r.json().id as string;
}

async function status(s: TestServer, path: string, tok = s.adminToken): Promise<any> {
  const r = await get(s, `/api/v1/artifacts/generic/${path}`, tok);
  assert.equal(r.statusCode, 200, r.body);
  return r.json();
}

test('repositories API: create, read, list, update, delete, with its authorization matrix and audit', async (t) => {
  const s = await testServer(t);
  const publisher = await token(s, 'publisher');
  const reader = await token(s, 'reader', ['team/**']);
  const scopedAdmin = await token(s, 'admin', ['team/**']);

  // Mutations: no token 401, publisher 403, admin limited to other repositories 403.
  assert.equal((await createRepo(s, { name: 'dist/app', kind: 'generic' }, null)).statusCode, 401);
  const denied = await createRepo(s, { name: 'dist/app', kind: 'generic' }, publisher);
  assert.equal(denied.statusCode, 403);
  assert.equal(denied.json().code, 'FORBIDDEN');
  assert.equal((await createRepo(s, { name: 'dist/app', kind: 'generic' }, scopedAdmin)).statusCode, 403);
  const created = await createRepo(s, { name: 'dist/app', kind: 'generic', description: 'release files' });
  assert.equal(created.statusCode, 201, created.body);
  assert.deepEqual({ ...created.json(), created_at: undefined }, { name: 'dist/app', kind: 'generic', visibility: 'private', description: 'release files', created_at: undefined });
  assert.equal(created.headers['location'], '/api/v1/repositories/dist/app');
  assert.equal((await createRepo(s, { name: 'team/images', kind: 'oci' }, scopedAdmin)).statusCode, 201);

  // Bad input: clear 4xx answers.
  const dup = await createRepo(s, { name: 'dist/app', kind: 'oci' });
  assert.equal(dup.statusCode, 409);
  assert.equal(dup.json().code, 'REPOSITORY_EXISTS');
  for (const [body, code] of [
    [{ name: 'Dist/App', kind: 'generic' }, 'REPOSITORY_INVALID'],
    [{ name: 'a//b', kind: 'generic' }, 'REPOSITORY_INVALID'],
    [{ name: '../etc', kind: 'generic' }, 'REPOSITORY_INVALID'],
    [{ name: 'ok', kind: 'npm' }, 'BAD_REQUEST'],
    [{ name: 'ok', kind: 'generic', visibility: 'internal' }, 'BAD_REQUEST'],
    [{ name: 'ok', kind: 'generic', colour: 'red' }, 'BAD_REQUEST'],
    [{ name: 'ok', kind: 'generic', roles: { reader: ['x'] } }, 'REPOSITORY_INVALID'],
  ] as const) {
    const r = await createRepo(s, body);
    assert.equal(r.statusCode, 400, `${JSON.stringify(body)}: ${r.body}`);
    assert.equal(r.json().code, code, JSON.stringify(body));
  }

  // Reads: the reader limited to team/** sees team/images only; anonymous sees nothing private.
  const listed = (tok: string): Promise<string[]> => get(s, '/api/v1/repositories', tok).then((r) => r.json().repositories.map((x: { name: string }) => x.name));
  assert.deepEqual(await listed(reader), ['team/images']);
  assert.deepEqual(await listed(publisher), ['dist/app', 'team/images']);
  assert.deepEqual((await get(s, '/api/v1/repositories?kind=generic', publisher)).json().repositories.map((x: { name: string }) => x.name), ['dist/app']);
  assert.equal((await get(s, '/api/v1/repositories/dist/app', reader)).statusCode, 403);
  assert.equal((await get(s, '/api/v1/repositories/dist/app')).statusCode, 404);
  const one = await get(s, '/api/v1/repositories/dist/app', publisher);
  assert.equal(one.statusCode, 200);
  assert.deepEqual(one.json().contents, { files: 0, file_bytes: 0, manifests: 0, tags: 0, blobs: 0 });

  // Visibility public: anonymous reads; update needs an admin.
  assert.equal((await s.app.inject({ method: 'PATCH', url: '/api/v1/repositories/dist/app', headers: bearer(publisher), payload: { visibility: 'public' } })).statusCode, 403);
  const patched = await s.app.inject({ method: 'PATCH', url: '/api/v1/repositories/dist/app', headers: bearer(s.adminToken), payload: { visibility: 'public' } });
  assert.equal(patched.statusCode, 200, patched.body);
  assert.equal(patched.json().visibility, 'public');
  assert.equal((await get(s, '/api/v1/repositories/dist/app')).statusCode, 200);
  assert.ok((await put(s, 'dist/app/readme.txt', 'hello', publisher)).statusCode === 201);
  const anon = await get(s, '/files/dist/app/readme.txt');
  assert.equal(anon.statusCode, 200);
  assert.equal(anon.body, 'hello');
  assert.equal((await put(s, 'dist/app/x.txt', 'anonymous write', undefined)).statusCode, 401);

  // Delete: not without force while it holds a file; publisher refused; force removes it and its files.
  assert.equal((await get(s, '/api/v1/repositories/dist/app', publisher, {}, 'DELETE')).statusCode, 403);
  const notEmpty = await get(s, '/api/v1/repositories/dist/app', s.adminToken, {}, 'DELETE');
  assert.equal(notEmpty.statusCode, 409);
  assert.equal(notEmpty.json().code, 'REPOSITORY_NOT_EMPTY');
  assert.match(notEmpty.json().message, /1 files/);
  assert.equal((await get(s, '/api/v1/repositories/dist/app?force=true', s.adminToken, {}, 'DELETE')).statusCode, 204);
  assert.equal((await get(s, '/api/v1/repositories/dist/app', s.adminToken)).statusCode, 404);
  assert.equal((await get(s, '/files/dist/app/readme.txt', s.adminToken)).json().code, 'REPOSITORY_NOT_FOUND');
  assert.equal((await get(s, '/api/v1/repositories/team/images', s.adminToken, {}, 'DELETE')).statusCode, 204);

  const audit = await get(s, '/api/v1/audit?limit=100', s.adminToken);
  assert.equal(audit.statusCode, 200, audit.body);
  const events = (audit.json().events as { action: string; outcome: string; target: string }[]).filter((e) => e.action.startsWith('repository.') || e.action.startsWith('generic.'));
  const seen = events.map((e) => `${e.action}:${e.outcome}:${e.target}`);
  for (const want of [
    'repository.create:denied:repo:dist/app',
    'repository.create:allowed:repo:dist/app',
    'repository.create:allowed:repo:team/images',
    'repository.update:denied:repo:dist/app',
    'repository.update:allowed:repo:dist/app',
    'generic.upload:allowed:file:dist/app/readme.txt',
    'repository.delete:denied:repo:dist/app',
    'repository.delete:allowed:repo:dist/app',
    'repository.delete:allowed:repo:team/images',
  ]) {
    assert.ok(seen.includes(want), `audit has ${want}: ${seen.join(', ')}`);
  }
});

test('generic files: put/get/head/delete, range, checksums, listing, path rules, GC leaves files alone', async (t) => {
  const s = await testServer(t);
  const publisher = await token(s, 'publisher', ['dist/**']);
  const otherPublisher = await token(s, 'publisher', ['other/**']);
  const reader = await token(s, 'reader', ['dist/**']);
  assert.equal((await createRepo(s, { name: 'dist/app', kind: 'generic' })).statusCode, 201);
  assert.equal((await createRepo(s, { name: 'images/web', kind: 'oci' })).statusCode, 201);

  const data = Buffer.from(Array.from({ length: 100_000 }, (_, i) => i % 251));
  // Authorization: anonymous 401, reader 403, publisher of other repositories 403.
  assert.equal((await put(s, 'dist/app/v1/app.bin', data, undefined)).statusCode, 401);
  assert.equal((await put(s, 'dist/app/v1/app.bin', data, reader)).statusCode, 403);
  assert.equal((await put(s, 'dist/app/v1/app.bin', data, otherPublisher)).statusCode, 403);
  assert.equal((await get(s, '/files/dist/app/v1/app.bin')).statusCode, 401);

  const up = await put(s, 'dist/app/v1/app.bin', data, publisher, { 'x-checksum-sha256': sha(data) });
  assert.equal(up.statusCode, 201, up.body);
  assert.deepEqual({ ...up.json(), signatures: undefined }, { repository: 'dist/app', path: 'v1/app.bin', digest: `sha256:${sha(data)}`, size: data.length, created: true, signatures: undefined });

  const g = await get(s, '/files/dist/app/v1/app.bin', reader);
  assert.equal(g.statusCode, 200);
  assert.ok(g.rawPayload.equals(data));
  assert.equal(g.headers['etag'], `"sha256:${sha(data)}"`);
  assert.equal(g.headers['content-length'], String(data.length));
  assert.equal(g.headers['digest'], `sha-256=${createHash('sha256').update(data).digest('base64')}`);
  assert.equal(g.headers['x-checksum-sha256'], sha(data));
  assert.equal((await get(s, '/files/dist/app/v1/app.bin', reader, { 'if-none-match': `"sha256:${sha(data)}"` })).statusCode, 304);

  const h = await get(s, '/files/dist/app/v1/app.bin', reader, {}, 'HEAD');
  assert.equal(h.statusCode, 200);
  assert.equal(h.headers['content-length'], String(data.length));
  assert.equal(h.rawPayload.length, 0);

  // Range (RFC 9110 §14): a slice, an open end, a suffix; past the end 416.
  const r1 = await get(s, '/files/dist/app/v1/app.bin', reader, { range: 'bytes=10-19' });
  assert.equal(r1.statusCode, 206);
  assert.equal(r1.headers['content-range'], `bytes 10-19/${data.length}`);
  assert.ok(r1.rawPayload.equals(data.subarray(10, 20)));
  const r2 = await get(s, '/files/dist/app/v1/app.bin', reader, { range: `bytes=${data.length - 5}-` });
  assert.ok(r2.rawPayload.equals(data.subarray(data.length - 5)));
  const r3 = await get(s, '/files/dist/app/v1/app.bin', reader, { range: 'bytes=-7' });
  assert.ok(r3.rawPayload.equals(data.subarray(data.length - 7)));
  const r4 = await get(s, '/files/dist/app/v1/app.bin', reader, { range: `bytes=${data.length}-` });
  assert.equal(r4.statusCode, 416);
  assert.equal(r4.headers['content-range'], `bytes */${data.length}`);
  assert.equal(r4.json().code, 'RANGE_NOT_SATISFIABLE');

  // A declared checksum that does not match: 400 and nothing stored; Digest (RFC 3230) is checked too.
  const bad = await put(s, 'dist/app/v1/bad.bin', 'payload', publisher, { 'x-checksum-sha256': sha('other') });
  assert.equal(bad.statusCode, 400);
  assert.equal(bad.json().code, 'CHECKSUM_MISMATCH');
  assert.equal((await get(s, '/files/dist/app/v1/bad.bin', reader)).statusCode, 404);
  const badDigest = await put(s, 'dist/app/v1/bad.bin', 'payload', publisher, { digest: `sha-256=${createHash('sha256').update('other').digest('base64')}` });
  assert.equal(badDigest.json().code, 'CHECKSUM_MISMATCH');
  assert.equal((await put(s, 'dist/app/v1/bad.bin', 'payload', publisher, { 'x-checksum-sha256': 'xyz' })).statusCode, 400);
  const good = await put(s, 'dist/app/v1/ok.txt', 'payload', publisher, { digest: `sha-256=${createHash('sha256').update('payload').digest('base64')}`, 'content-type': 'text/plain' });
  assert.equal(good.statusCode, 201, good.body);
  assert.equal((await get(s, '/files/dist/app/v1/ok.txt', reader)).headers['content-type'], 'text/plain');

  // Replacing a file answers 200; an empty file is a file.
  const again = await put(s, 'dist/app/v1/ok.txt', 'payload 2', publisher);
  assert.equal(again.statusCode, 200);
  assert.equal(again.json().created, false);
  assert.equal((await get(s, '/files/dist/app/v1/ok.txt', reader)).body, 'payload 2');
  assert.equal((await put(s, 'dist/app/empty', '', publisher)).statusCode, 201);
  assert.equal((await get(s, '/files/dist/app/empty', reader)).headers['content-length'], '0');

  // Listings: trailing slash, and the API with ?prefix=.
  const ls = await get(s, '/files/dist/app/v1/', reader);
  assert.equal(ls.statusCode, 200, ls.body);
  assert.deepEqual(ls.json().files.map((f: { path: string }) => f.path), ['v1/app.bin', 'v1/ok.txt']);
  assert.deepEqual((await get(s, '/files/dist/app/', reader)).json().files.map((f: { path: string }) => f.path), ['empty', 'v1/app.bin', 'v1/ok.txt']);
  const api = await get(s, '/api/v1/repositories/dist/app/files?prefix=v1/a', reader);
  assert.equal(api.statusCode, 200, api.body);
  assert.deepEqual(api.json().files.map((f: { path: string; size: number }) => [f.path, f.size]), [['v1/app.bin', data.length]]);

  // Path rules: clear 400s. Sent over a real socket: an in-process inject would normalise "%2e%2e" as a URL does,
  // while HTTP clients (curl --path-as-is, scripts) send the path as written.
  const port = await listen(s);
  for (const p of [
    'dist/app/a/../b',
    'dist/app/a/%2e%2e/b',
    'dist/app/%2E%2E',
    'dist/app/./x',
    'dist/app/a//b',
    'dist/app/a%00b',
    'dist/app/a%0Ab',
    'dist/app/a%7Fb',
    'dist/app/a%2Fb',
    'dist/app/a%5Cb',
    `dist/app/${'s'.repeat(256)}`,
    `dist/app/${Array.from({ length: 9 }, () => 'x'.repeat(120)).join('/')}`,
  ]) {
    const r = await raw(port, 'PUT', `/files/${p}`, publisher, 'x');
    assert.equal(r.status, 400, `${p.slice(0, 60)}: ${r.body}`);
    assert.equal(JSON.parse(r.body).code, 'FILE_PATH_INVALID', p.slice(0, 60));
    assert.equal((await raw(port, 'GET', `/files/${p}`, reader)).status, 400);
  }
  // Broken percent-encoding is refused by the router itself, still as a 400.
  assert.equal((await raw(port, 'PUT', '/files/dist/app/%E0%A4%A', publisher, 'x')).status, 400);
  assert.equal((await put(s, `dist/app/${'s'.repeat(255)}`, 'x', publisher)).statusCode, 201);
  // Unknown repository (generic repositories are created first) and an OCI repository.
  assert.equal((await put(s, 'nowhere/file', 'x', s.adminToken)).json().code, 'REPOSITORY_NOT_FOUND');
  const oci = await put(s, 'images/web/file', 'x', s.adminToken);
  assert.equal(oci.statusCode, 409);
  assert.equal(oci.json().code, 'REPOSITORY_KIND_MISMATCH');
  assert.equal((await put(s, 'dist/app', 'x', s.adminToken)).json().code, 'REPOSITORY_NOT_FOUND');

  // Garbage collection with no grace period leaves every stored file's blob in place.
  const gc = await s.app.inject({ method: 'POST', url: '/api/v1/registry/gc', headers: bearer(s.adminToken) });
  assert.equal(gc.statusCode, 200);
  await s.app.services.registry.gc({ graceMs: 0 });
  assert.ok((await get(s, '/files/dist/app/v1/app.bin', reader)).rawPayload.equals(data));
  assert.equal((await get(s, '/files/dist/app/v1/ok.txt', reader)).body, 'payload 2');

  // Delete: reader refused; publisher deletes; then 404.
  assert.equal((await get(s, '/files/dist/app/v1/ok.txt', reader, {}, 'DELETE')).statusCode, 403);
  assert.equal((await get(s, '/files/dist/app/v1/ok.txt', publisher, {}, 'DELETE')).statusCode, 204);
  const gone = await get(s, '/files/dist/app/v1/ok.txt', reader);
  assert.equal(gone.statusCode, 404);
  assert.equal(gone.json().code, 'FILE_NOT_FOUND');
  assert.equal((await get(s, '/files/dist/app/v1/ok.txt', publisher, {}, 'DELETE')).statusCode, 404);
  // A deleted file's blob is garbage once nothing refers to it.
  await s.app.services.registry.gc({ graceMs: 0 });
  assert.equal(await s.app.services.registry.blobs.readAll(parseDigest(`sha256:${sha('payload 2')}`)), undefined);
});

test('detached signatures: gpg, minisign and a Sigstore bundle verified with registered keys; signed SHA256SUMS', async (t) => {
  const gpgBin = requireTool(t, 'gpg');
  const minisignBin = requireTool(t, 'minisign');
  if (!gpgBin || !minisignBin) return;
  const s = await testServer(t);
  const dir = tempDir(t, 'signet-generic-');
  const publisher = await token(s, 'publisher', ['releases/**']);
  assert.equal((await createRepo(s, { name: 'releases/tool', kind: 'generic' })).statusCode, 201);
  const artifact = Buffer.from('tool v1.0 binary\n'.repeat(1000));
  writeFileSync(join(dir, 'tool.tar.gz'), artifact);

  // OpenPGP: gpg --detach-sign --armor; the key registered for releases/**.
  const home = join(dir, 'gnupg');
  await sh('mkdir', ['-m', '700', home]);
  const gpg = (args: string[]): Promise<string> => sh('gpg', ['--batch', '--homedir', home, '--passphrase', '', '--pinentry-mode', 'loopback', ...args]);
  await gpg(['--quick-gen-key', 'Release Bot <release@example.com>', 'ed25519', 'sign', '1y']);
  await gpg(['--armor', '--detach-sign', '--output', join(dir, 'tool.tar.gz.asc'), join(dir, 'tool.tar.gz')]);
  const gpgKeyId = await addKey(s, { name: 'release bot', public_key: await gpg(['--armor', '--export']), repositories: ['releases/**'] });

  assert.equal((await put(s, 'releases/tool/1.0/tool.tar.gz', artifact, publisher)).statusCode, 201);
  const sigUp = await put(s, 'releases/tool/1.0/tool.tar.gz.asc', readFileSync(join(dir, 'tool.tar.gz.asc')), publisher);
  assert.equal(sigUp.statusCode, 201, sigUp.body);
  assert.equal(sigUp.json().signatures[0].status, 'valid', sigUp.body);
  let st = await status(s, 'releases/tool/1.0/tool.tar.gz');
  assert.equal(st.digest, `sha256:${sha(artifact)}`);
  assert.equal(st.size, artifact.length);
  assert.equal(st.summary.signed, true);
  assert.equal(st.signatures.length, 1);
  assert.equal(st.signatures[0].kind, 'pgp');
  assert.equal(st.signatures[0].signer.key_id, gpgKeyId);
  assert.match(st.signatures[0].signer.identity ?? '', /release@example.com/);

  // The same signature beside different bytes: invalid, with the failing check named.
  assert.equal((await put(s, 'releases/tool/1.0/evil.tar.gz', Buffer.concat([artifact, Buffer.from('x')]), publisher)).statusCode, 201);
  assert.equal((await put(s, 'releases/tool/1.0/evil.tar.gz.asc', readFileSync(join(dir, 'tool.tar.gz.asc')), publisher)).statusCode, 201);
  st = await status(s, 'releases/tool/1.0/evil.tar.gz');
  assert.equal(st.summary.signed, false);
  assert.equal(st.signatures[0].status, 'invalid');
  assert.ok(st.signatures[0].reason);
  // Replacing the signed file makes its old signature fail on the next read.
  assert.equal((await put(s, 'releases/tool/1.0/tool.tar.gz', Buffer.from('replaced'), publisher)).statusCode, 200);
  assert.equal((await status(s, 'releases/tool/1.0/tool.tar.gz')).summary.signed, false);
  assert.equal((await put(s, 'releases/tool/1.0/tool.tar.gz', artifact, publisher)).statusCode, 200);
  assert.equal((await status(s, 'releases/tool/1.0/tool.tar.gz')).summary.signed, true);

  // minisign: signature uploaded first (no file yet), verified when the file arrives.
  await sh('minisign', ['-G', '-W', '-p', join(dir, 'm.pub'), '-s', join(dir, 'm.key')]);
  writeFileSync(join(dir, 'cli.zip'), 'the cli zip');
  await sh('minisign', ['-S', '-s', join(dir, 'm.key'), '-m', join(dir, 'cli.zip')]);
  await addKey(s, { name: 'minisign', public_key: readFileSync(join(dir, 'm.pub'), 'utf8'), repositories: ['releases/tool'] });
  assert.equal((await put(s, 'releases/tool/1.0/cli.zip.minisig', readFileSync(join(dir, 'cli.zip.minisig')), publisher)).json().signatures.length, 0);
  const fileUp = await put(s, 'releases/tool/1.0/cli.zip', 'the cli zip', publisher);
  assert.equal(fileUp.json().signatures[0].status, 'valid', fileUp.body);
  assert.equal((await status(s, 'releases/tool/1.0/cli.zip')).signatures[0].kind, 'minisign');

  // A Sigstore bundle made with a P-256 key: unverified until the key is registered, then valid; revoked → invalid.
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const sbom = Buffer.from('{"sbom": true}');
  const bundle = messageSignatureBundle({
    key: { hint: toBase64(fromHex(spkiFingerprint(publicKey))) },
    digest: { algorithm: 'sha256', value: createHash('sha256').update(sbom).digest() },
    signature: await signData(privateKey, sbom),
  });
  assert.equal((await put(s, 'releases/tool/1.0/sbom.json', sbom, publisher)).statusCode, 201);
  const bUp = await put(s, 'releases/tool/1.0/sbom.json.sigstore.json', JSON.stringify(bundle), publisher);
  assert.equal(bUp.json().signatures[0].status, 'unverified', bUp.body);
  assert.match(bUp.json().signatures[0].reason, /no PEM\/cosign key is registered/);
  const pemId = await addKey(s, { name: 'ci key', public_key: publicKey.export({ type: 'spki', format: 'pem' }).toString(), repositories: ['releases/**'] });
  st = await status(s, 'releases/tool/1.0/sbom.json');
  assert.equal(st.signatures[0].status, 'valid', JSON.stringify(st));
  assert.equal(st.signatures[0].kind, 'sigstore-bundle');
  assert.equal(st.signatures[0].signer.key_id, pemId);
  const rev = await s.app.inject({ method: 'POST', url: `/api/v1/signing/keys/${pemId}/revoke`, headers: bearer(s.adminToken), payload: { reason: 'leaked' } });
  assert.equal(rev.statusCode, 200, rev.body);
  st = await status(s, 'releases/tool/1.0/sbom.json');
  assert.equal(st.summary.signed, false);
  assert.equal(st.signatures[0].status, 'invalid');
  assert.equal(st.signatures[0].signer.key_status, 'revoked');

  // SHA256SUMS signed with gpg vouches for what it lists with the right digest, not for a listed file whose bytes differ.
  const a = Buffer.from('asset a');
  const b = Buffer.from('asset b');
  const sums = formatChecksums([
    { name: 'a.bin', digest: sha(a) },
    { name: 'b.bin', digest: sha('something else') },
  ]);
  writeFileSync(join(dir, 'SHA256SUMS'), sums);
  await gpg(['--armor', '--detach-sign', '--output', join(dir, 'SHA256SUMS.asc'), join(dir, 'SHA256SUMS')]);
  for (const [p, body] of [
    ['a.bin', a],
    ['b.bin', b],
    ['c.bin', Buffer.from('unlisted')],
    ['SHA256SUMS', Buffer.from(sums)],
    ['SHA256SUMS.asc', readFileSync(join(dir, 'SHA256SUMS.asc'))],
  ] as const) {
    assert.equal((await put(s, `releases/tool/2.0/${p}`, body, publisher)).statusCode, 201);
  }
  const sa = await status(s, 'releases/tool/2.0/a.bin');
  assert.equal(sa.summary.signed, true, JSON.stringify(sa));
  assert.equal(sa.signatures[0].via, 'releases/tool/2.0/SHA256SUMS'.slice('releases/tool/'.length));
  assert.equal(sa.signatures[0].kind, 'checksums+pgp');
  assert.equal(sa.signatures[0].signer.key_id, gpgKeyId);
  const sb = await status(s, 'releases/tool/2.0/b.bin');
  assert.equal(sb.summary.signed, false);
  assert.equal(sb.signatures[0].status, 'invalid');
  assert.match(sb.signatures[0].reason, /lists b.bin with sha256/);
  const sc = await status(s, 'releases/tool/2.0/c.bin');
  assert.equal(sc.summary.signed, false);
  assert.equal(sc.signatures.length, 0);

  // Reading status follows read rules: anonymous on a private repository is refused.
  assert.equal((await get(s, '/api/v1/artifacts/generic/releases/tool/2.0/a.bin')).statusCode, 401);
  assert.equal((await get(s, '/api/v1/artifacts/generic/releases/tool/2.0/nope.bin', s.adminToken)).statusCode, 404);
});
