// signet upload / signet download against a real signet-server: --sign with a PEM key (a Sigstore bundle beside the
// file) and with minisign, a large file streamed both ways, and --require-signature refusing unsigned and tampered
// files without leaving anything behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, readdirSync, readFileSync, writeFileSync, openSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { requireTool, run, startSignetServer, tempDir, type RunningServer } from '@signet/testkit';
import { isCleanError, signet } from './helpers.js';

async function call(srv: RunningServer, method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${srv.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${srv.adminToken}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

async function fileSha(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return h.digest('hex');
}

test('signet upload --sign and signet download --require-signature', async (t) => {
  const minisign = requireTool(t, 'minisign');
  if (!minisign) return;
  const srv = await startSignetServer(t);
  const dir = tempDir(t);
  const env = { SIGNET_SERVER: srv.url, SIGNET_TOKEN: srv.adminToken, SIGNET_NO_PROGRESS: '1' };
  await call(srv, 'POST', '/api/v1/repositories', { name: 'releases/tool', kind: 'generic' });
  const publisher = (await call(srv, 'POST', '/api/v1/tokens', { name: 'ci', role: 'publisher', repositories: ['releases/**'] })).token as string;
  const penv = { ...env, SIGNET_TOKEN: publisher };

  // A PEM key registered for the repository: upload --sign puts a Sigstore bundle beside the file.
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  writeFileSync(join(dir, 'ci.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  await call(srv, 'POST', '/api/v1/signing/keys', { name: 'ci', public_key: publicKey.export({ type: 'spki', format: 'pem' }).toString(), repositories: ['releases/**'] });
  writeFileSync(join(dir, 'tool.tar.gz'), randomBytes(200_000));
  const up = await signet(['upload', join(dir, 'tool.tar.gz'), 'releases/tool/1.0/tool.tar.gz', '--sign', '--key', join(dir, 'ci.key')], { env: penv });
  assert.equal(up.code, 0, up.stderr);
  const sha = await fileSha(join(dir, 'tool.tar.gz'));
  assert.equal(up.stdout.trim(), `sha256:${sha}`);
  assert.match(up.stderr, /Uploaded signature releases\/tool\/1.0\/tool.tar.gz.sigstore.json: valid/);
  const st = await call(srv, 'GET', '/api/v1/artifacts/generic/releases/tool/1.0/tool.tar.gz');
  assert.equal(st.summary.signed, true);
  assert.equal(st.signatures[0].kind, 'sigstore-bundle');

  const out = join(dir, 'got.tar.gz');
  const down = await signet(['download', 'releases/tool/1.0/tool.tar.gz', '-o', out, '--require-signature'], { env: penv });
  assert.equal(down.code, 0, down.stderr);
  assert.equal(await fileSha(out), sha);
  assert.match(down.stderr, /1 valid signature/);

  // minisign key: the .minisig suffix, verified with the registered minisign key.
  assert.equal((await run(minisign, ['-G', '-W', '-p', join(dir, 'm.pub'), '-s', join(dir, 'm.key')])).code, 0);
  await call(srv, 'POST', '/api/v1/signing/keys', { name: 'minisign', public_key: readFileSync(join(dir, 'm.pub'), 'utf8'), repositories: ['releases/**'] });
  writeFileSync(join(dir, 'notes.txt'), 'release notes\n');
  const ms = await signet(['upload', join(dir, 'notes.txt'), 'releases/tool/1.0/notes.txt', '--sign', '--key', join(dir, 'm.key')], { env: penv });
  assert.equal(ms.code, 0, ms.stderr);
  assert.match(ms.stderr, /notes.txt.minisig: valid/);

  // Unsigned: refused with --require-signature, nothing left behind; downloaded without it.
  writeFileSync(join(dir, 'unsigned.bin'), 'no signature here');
  assert.equal((await signet(['upload', join(dir, 'unsigned.bin'), 'releases/tool/1.0/unsigned.bin'], { env: penv })).code, 0);
  const before = readdirSync(dir).length;
  const refused = await signet(['download', 'releases/tool/1.0/unsigned.bin', '-o', join(dir, 'u.bin'), '--require-signature'], { env: penv });
  assert.ok(isCleanError(refused), refused.stderr);
  assert.match(refused.stderr, /no valid signature/);
  assert.equal(existsSync(join(dir, 'u.bin')), false);
  assert.equal(readdirSync(dir).length, before);
  const plain = await signet(['download', 'releases/tool/1.0/unsigned.bin', '-o', join(dir, 'u.bin')], { env: penv });
  assert.equal(plain.code, 0, plain.stderr);
  assert.equal(readFileSync(join(dir, 'u.bin'), 'utf8'), 'no signature here');

  // Tampered: the signed file replaced with other bytes; its signature no longer verifies and download refuses.
  writeFileSync(join(dir, 'evil.tar.gz'), 'tampered');
  assert.equal((await signet(['upload', join(dir, 'evil.tar.gz'), 'releases/tool/1.0/tool.tar.gz'], { env: penv })).code, 0);
  const tampered = await signet(['download', 'releases/tool/1.0/tool.tar.gz', '-o', join(dir, 't.tar.gz'), '--require-signature'], { env: penv });
  assert.ok(isCleanError(tampered), tampered.stderr);
  assert.match(tampered.stderr, /tool.tar.gz.sigstore.json: invalid/);
  assert.equal(existsSync(join(dir, 't.tar.gz')), false);

  // Bad input: clear one-line errors.
  for (const args of [
    ['upload', join(dir, 'missing.bin'), 'releases/tool/x'],
    ['upload', join(dir, 'notes.txt'), 'releases/../x'],
    ['upload', join(dir, 'notes.txt'), 'nowhere/x'],
    ['upload', join(dir, 'notes.txt'), 'releases/tool/x', '--sign'],
    ['download', 'releases/tool/1.0/none.bin', '-o', join(dir, 'none.bin')],
  ]) {
    const r = await signet(args, { env: penv });
    assert.ok(isCleanError(r), `${args.join(' ')}: ${r.stderr}`);
  }
  assert.equal(existsSync(join(dir, 'none.bin')), false);
  const reader = (await call(srv, 'POST', '/api/v1/tokens', { name: 'r', role: 'reader' })).token as string;
  const noWrite = await signet(['upload', join(dir, 'notes.txt'), 'releases/tool/x'], { env: { ...env, SIGNET_TOKEN: reader } });
  assert.ok(isCleanError(noWrite));
  assert.match(noWrite.stderr, /HTTP 403/);
});

test('a large file is streamed up and down', async (t) => {
  const srv = await startSignetServer(t);
  const dir = tempDir(t);
  const env = { SIGNET_SERVER: srv.url, SIGNET_TOKEN: srv.adminToken, SIGNET_NO_PROGRESS: '1' };
  await call(srv, 'POST', '/api/v1/repositories', { name: 'big/files', kind: 'generic' });
  const big = join(dir, 'big.bin');
  const fd = openSync(big, 'w');
  const chunk = randomBytes(1 << 20);
  for (let i = 0; i < 96; i++) {
    chunk[0] = i;
    writeSync(fd, chunk);
  }
  closeSync(fd);
  const sha = await fileSha(big);
  const up = await signet(['upload', big, 'big/files/disk.img'], { env });
  assert.equal(up.code, 0, up.stderr);
  assert.equal(up.stdout.trim(), `sha256:${sha}`);
  const out = join(dir, 'down.img');
  const down = await signet(['download', 'big/files/disk.img', '-o', out], { env });
  assert.equal(down.code, 0, down.stderr);
  assert.equal(await fileSha(out), sha);
});
