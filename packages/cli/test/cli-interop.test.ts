// The CLI against the real tools, as a user would chain them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireTool, run, tempDir } from '@signet/testkit';
import { isCleanError, signet } from './helpers.js';

async function gpgHome(t: Parameters<typeof tempDir>[0], gpg: string): Promise<{ home: string; env: Record<string, string> }> {
  const home = tempDir(t, 'signet-gpg-');
  const env = { GNUPGHOME: home };
  writeFileSync(join(home, 'batch'), '%no-protection\nKey-Type: eddsa\nKey-Curve: ed25519\nKey-Usage: sign\nName-Real: Release Bot\nName-Email: release@example.test\nExpire-Date: 0\n%commit\n');
  const r = await run(gpg, ['--batch', '--gen-key', join(home, 'batch')], { env });
  assert.equal(r.code, 0, r.stderr);
  t.after(() => run('gpgconf', ['--kill', 'gpg-agent'], { env }).catch(() => undefined));
  return { home, env };
}

test('gpg clearsigned SHA256SUMS: signet checksums verify checks the signature and every file', async (t) => {
  const gpg = requireTool(t, 'gpg');
  if (!gpg) return;
  const { home, env } = await gpgHome(t, gpg);
  const dir = tempDir(t);
  writeFileSync(join(dir, 'tool-linux'), 'linux build');
  writeFileSync(join(dir, 'tool-mac'), 'mac build');
  const list = await signet(['checksums', 'create', 'tool-linux', 'tool-mac'], { cwd: dir });
  writeFileSync(join(dir, 'SHA256SUMS'), list.stdout);
  const cs = await run(gpg, ['--batch', '--yes', '-u', 'release@example.test', '--clearsign', '-o', join(dir, 'SHA256SUMS.asc'), join(dir, 'SHA256SUMS')], { env });
  assert.equal(cs.code, 0, cs.stderr);
  writeFileSync(join(home, 'pub.asc'), (await run(gpg, ['--armor', '--export', 'release@example.test'], { env })).stdout);

  const ok = await signet(['checksums', 'verify', join(dir, 'SHA256SUMS.asc'), '--key', join(home, 'pub.asc')]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout, 'tool-linux: OK\ntool-mac: OK\n');
  assert.match(ok.stderr, /Release Bot <release@example\.test>/);

  // detached armored signature over the plain list
  await run(gpg, ['--batch', '--yes', '-u', 'release@example.test', '--armor', '--detach-sign', '-o', join(dir, 'SHA256SUMS.sig.asc'), join(dir, 'SHA256SUMS')], { env });
  const det = await signet(['checksums', 'verify', join(dir, 'SHA256SUMS'), '--signature', join(dir, 'SHA256SUMS.sig.asc'), '--key', join(home, 'pub.asc')]);
  assert.equal(det.code, 0, det.stderr);

  writeFileSync(join(dir, 'tool-mac'), 'evil build');
  const bad = await signet(['checksums', 'verify', join(dir, 'SHA256SUMS.asc'), '--key', join(home, 'pub.asc')]);
  assert.equal(bad.code, 1);
  assert.match(bad.stdout, /tool-mac: FAILED/);

  const noKey = await signet(['checksums', 'verify', join(dir, 'SHA256SUMS.asc')]);
  assert.ok(isCleanError(noKey));
  assert.match(noKey.stderr, /pass --key/);
});

test('signet sign-blob with a gpg secret key: gpg --verify accepts; signet verify-blob accepts gpg signatures', async (t) => {
  const gpg = requireTool(t, 'gpg');
  if (!gpg) return;
  const { home, env } = await gpgHome(t, gpg);
  const file = join(home, 'data.bin');
  writeFileSync(file, 'payload bytes');
  writeFileSync(join(home, 'sec.asc'), (await run(gpg, ['--armor', '--export-secret-keys', 'release@example.test'], { env })).stdout);
  writeFileSync(join(home, 'pub.asc'), (await run(gpg, ['--armor', '--export', 'release@example.test'], { env })).stdout);
  const s = await signet(['sign-blob', '--key', join(home, 'sec.asc'), '--output-signature', join(home, 'data.bin.asc'), file]);
  assert.equal(s.code, 0, s.stderr);
  const v = await run(gpg, ['--batch', '--status-fd', '1', '--verify', join(home, 'data.bin.asc'), file], { env });
  assert.equal(v.code, 0, v.stderr);
  assert.match(v.stdout, /\[GNUPG:\] VALIDSIG /);

  const g = await run(gpg, ['--batch', '--yes', '-u', 'release@example.test', '--detach-sign', '-o', join(home, 'data.bin.sig'), file], { env });
  assert.equal(g.code, 0, g.stderr);
  const mine = await signet(['verify-blob', '--key', join(home, 'pub.asc'), '--signature', join(home, 'data.bin.sig'), file]);
  assert.equal(mine.code, 0, mine.stderr);
  assert.match(mine.stdout, /^Verified OK: OpenPGP signature by Release Bot <release@example\.test>/);
  writeFileSync(file, 'payload bytes!');
  const bad = await signet(['verify-blob', '--key', join(home, 'pub.asc'), '--signature', join(home, 'data.bin.sig'), file]);
  assert.ok(isCleanError(bad));
  assert.match(bad.stderr, /verification failed: signature: /);
});

test('SSH: signet signs with an OpenSSH key for ssh-keygen -Y verify, and verifies ssh-keygen signatures against allowed_signers', async (t) => {
  const sshKeygen = requireTool(t, 'ssh-keygen');
  if (!sshKeygen) return;
  const dir = tempDir(t);
  const key = join(dir, 'id_ed25519');
  assert.equal((await run(sshKeygen, ['-q', '-t', 'ed25519', '-N', '', '-C', 'alice@example.test', '-f', key])).code, 0);
  const pub = readFileSync(`${key}.pub`, 'utf8').trim();
  writeFileSync(join(dir, 'allowed_signers'), `alice@example.test ${pub}\n`);
  const file = join(dir, 'release.tar');
  writeFileSync(file, 'tar bytes');

  const s = await signet(['sign-blob', '--key', key, '--output-signature', join(dir, 'release.tar.sig'), file]);
  assert.equal(s.code, 0, s.stderr);
  const v = await run(sshKeygen, ['-Y', 'verify', '-f', join(dir, 'allowed_signers'), '-I', 'alice@example.test', '-n', 'file', '-s', join(dir, 'release.tar.sig')], { input: readFileSync(file) });
  assert.equal(v.code, 0, v.stdout + v.stderr);

  const theirs = join(dir, 'theirs.sig');
  const sig = await run(sshKeygen, ['-Y', 'sign', '-f', key, '-n', 'file'], { input: readFileSync(file) });
  assert.equal(sig.code, 0, sig.stderr);
  writeFileSync(theirs, sig.stdout);
  const ok = await signet(['verify-blob', '--key', join(dir, 'allowed_signers'), '--identity', 'alice@example.test', '--signature', theirs, file]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /SSH signature by alice@example\.test/);
  const wrongNs = await signet(['verify-blob', '--key', join(dir, 'allowed_signers'), '--namespace', 'git', '--signature', theirs, file]);
  assert.ok(isCleanError(wrongNs));
  assert.match(wrongNs.stderr, /namespace/);
  const wrongId = await signet(['verify-blob', '--key', join(dir, 'allowed_signers'), '--identity', 'mallory@example.test', '--signature', theirs, file]);
  assert.ok(isCleanError(wrongId));
  assert.match(wrongId.stderr, /identity/);
});

test('minisign: signet verifies minisign signatures (also over a checksum list); minisign -V accepts signet signatures', async (t) => {
  const minisign = requireTool(t, 'minisign');
  if (!minisign) return;
  const dir = tempDir(t);
  const gen = await run(minisign, ['-G', '-W', '-p', join(dir, 'mk.pub'), '-s', join(dir, 'mk.key')]);
  assert.equal(gen.code, 0, gen.stderr);
  writeFileSync(join(dir, 'f.bin'), 'minisign payload');
  assert.equal((await run(minisign, ['-S', '-s', join(dir, 'mk.key'), '-m', join(dir, 'f.bin'), '-t', 'release 1.0'])).code, 0);
  const v = await signet(['verify-blob', '--key', join(dir, 'mk.pub'), '--signature', join(dir, 'f.bin.minisig'), join(dir, 'f.bin')]);
  assert.equal(v.code, 0, v.stderr);
  assert.match(v.stdout, /minisign signature .*trusted comment: release 1\.0/);

  const s = await signet(['sign-blob', '--key', join(dir, 'mk.key'), '--trusted-comment', 'signed by signet', '--output-signature', join(dir, 'g.minisig'), join(dir, 'f.bin')]);
  assert.equal(s.code, 0, s.stderr);
  const mv = await run(minisign, ['-V', '-p', join(dir, 'mk.pub'), '-m', join(dir, 'f.bin'), '-x', join(dir, 'g.minisig')]);
  assert.equal(mv.code, 0, mv.stdout + mv.stderr);
  assert.match(mv.stdout, /signed by signet/);

  writeFileSync(join(dir, 'SHA256SUMS'), (await signet(['checksums', 'create', 'f.bin'], { cwd: dir })).stdout);
  assert.equal((await run(minisign, ['-S', '-s', join(dir, 'mk.key'), '-m', join(dir, 'SHA256SUMS')])).code, 0);
  const cv = await signet(['checksums', 'verify', join(dir, 'SHA256SUMS'), '--signature', join(dir, 'SHA256SUMS.minisig'), '--key', join(dir, 'mk.pub')]);
  assert.equal(cv.code, 0, cv.stderr);
  assert.equal(cv.stdout, 'f.bin: OK\n');
});

test('signify: signet verifies signify-openbsd signatures and signify-openbsd -V accepts signet signatures', async (t) => {
  const signify = requireTool(t, 'signify-openbsd');
  if (!signify) return;
  const dir = tempDir(t);
  assert.equal((await run(signify, ['-G', '-n', '-p', join(dir, 'sk.pub'), '-s', join(dir, 'sk.sec')])).code, 0);
  writeFileSync(join(dir, 'f'), 'signify payload');
  assert.equal((await run(signify, ['-S', '-s', join(dir, 'sk.sec'), '-m', join(dir, 'f'), '-x', join(dir, 'f.sig')])).code, 0);
  const v = await signet(['verify-blob', '--key', join(dir, 'sk.pub'), '--signature', join(dir, 'f.sig'), join(dir, 'f')]);
  assert.equal(v.code, 0, v.stderr);
  assert.match(v.stdout, /signify signature/);
  const s = await signet(['sign-blob', '--key', join(dir, 'sk.sec'), '--output-signature', join(dir, 'g.sig'), join(dir, 'f')]);
  assert.equal(s.code, 0, s.stderr);
  const sv = await run(signify, ['-V', '-p', join(dir, 'sk.pub'), '-m', join(dir, 'f'), '-x', join(dir, 'g.sig')]);
  assert.equal(sv.code, 0, sv.stdout + sv.stderr);
  writeFileSync(join(dir, 'f'), 'signify payload?');
  const bad = await signet(['verify-blob', '--key', join(dir, 'sk.pub'), '--signature', join(dir, 'f.sig'), join(dir, 'f')]);
  assert.ok(isCleanError(bad));
});
