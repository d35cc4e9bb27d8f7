import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireTool, run, tempDir } from '@signet/testkit';
import { isCleanError, signet } from './helpers.js';

const PW = { SIGNET_PASSWORD: 'correct horse' };

test('signet --help lists the commands', async () => {
  const r = await signet(['--help']);
  assert.equal(r.code, 0);
  for (const c of ['generate-key-pair', 'sign-blob', 'verify-blob', 'attest-blob', 'verify-blob-attestation', 'checksums']) assert.match(r.stdout, new RegExp(c));
});

test('generate-key-pair writes a cosign-format encrypted key (0600) and a PEM public key; never overwrites silently', async (t) => {
  const dir = tempDir(t);
  const r = await signet(['generate-key-pair', '--output-key-prefix', join(dir, 'k')], { env: PW });
  assert.equal(r.code, 0, r.stderr);
  const key = readFileSync(join(dir, 'k.key'), 'utf8');
  assert.match(key, /^-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n/);
  assert.equal(statSync(join(dir, 'k.key')).mode & 0o777, 0o600);
  assert.match(readFileSync(join(dir, 'k.pub'), 'utf8'), /^-----BEGIN PUBLIC KEY-----/);
  const again = await signet(['generate-key-pair', '--output-key-prefix', join(dir, 'k')], { env: PW });
  assert.ok(isCleanError(again), again.stderr);
  assert.match(again.stderr, /already exists; use --force/);
  assert.equal(readFileSync(join(dir, 'k.key'), 'utf8'), key, 'the old key is intact');
  const nopw = await signet(['generate-key-pair', '--output-key-prefix', join(dir, 'n')]);
  assert.ok(isCleanError(nopw), nopw.stderr);
  assert.match(nopw.stderr, /SIGNET_PASSWORD/);
  const badKind = await signet(['generate-key-pair', '--kind', 'dsa', '--output-key-prefix', join(dir, 'd')], { env: PW });
  assert.ok(isCleanError(badKind));
  assert.match(badKind.stderr, /unknown --kind "dsa"/);
});

for (const kind of ['ecdsa-p256', 'ed25519', 'rsa-4096']) {
  test(`sign-blob / verify-blob round trip with a ${kind} cosign key (bundle and bare signature)`, async (t) => {
    const dir = tempDir(t);
    const p = join(dir, 'k');
    assert.equal((await signet(['generate-key-pair', '--kind', kind, '--output-key-prefix', p], { env: { COSIGN_PASSWORD: '' } })).code, 0);
    const file = join(dir, 'artifact.bin');
    writeFileSync(file, 'release artifact\n');
    const s = await signet(['sign-blob', '--key', `${p}.key`, '--bundle', join(dir, 'b.json'), '--output-signature', join(dir, 'sig'), file], { env: { COSIGN_PASSWORD: '' } });
    assert.equal(s.code, 0, s.stderr);
    const bundle = JSON.parse(readFileSync(join(dir, 'b.json'), 'utf8'));
    assert.equal(bundle.mediaType, 'application/vnd.dev.sigstore.bundle.v0.3+json');
    assert.ok(bundle.verificationMaterial.publicKey.hint);

    const v = await signet(['verify-blob', '--key', `${p}.pub`, '--bundle', join(dir, 'b.json'), file]);
    assert.equal(v.code, 0, v.stderr);
    assert.match(v.stdout, /^Verified OK: Sigstore bundle by .*sha256:[0-9a-f]{64}/);
    const v2 = await signet(['verify-blob', '--key', `${p}.pub`, '--signature', join(dir, 'sig'), file]);
    assert.equal(v2.code, 0, v2.stderr);
    assert.match(v2.stdout, /Verified OK: cosign signature/);

    const json = await signet(['verify-blob', '--key', `${p}.pub`, '--bundle', join(dir, 'b.json'), '--output', 'json', file]);
    const verdict = JSON.parse(json.stdout);
    assert.equal(verdict.ok, true);
    assert.ok(verdict.checks.some((c: { name: string; ok: boolean }) => c.name === 'signature' && c.ok));

    writeFileSync(file, 'release artifact!\n');
    const bad = await signet(['verify-blob', '--key', `${p}.pub`, '--bundle', join(dir, 'b.json'), file]);
    assert.equal(bad.code, 1);
    assert.ok(isCleanError(bad), bad.stderr);
    assert.match(bad.stderr, /verification failed: artifact: /);
    const badJson = await signet(['verify-blob', '--key', `${p}.pub`, '--bundle', join(dir, 'b.json'), '--output', 'json', file]);
    assert.equal(badJson.code, 1);
    assert.equal(JSON.parse(badJson.stdout).ok, false);
  });
}

test('wrong password, wrong key, bad inputs: one clear line and a non-zero exit', async (t) => {
  const dir = tempDir(t);
  const p = join(dir, 'k');
  await signet(['generate-key-pair', '--output-key-prefix', p], { env: PW });
  await signet(['generate-key-pair', '--output-key-prefix', join(dir, 'other')], { env: PW });
  const file = join(dir, 'f');
  writeFileSync(file, 'x');
  const wrongPw = await signet(['sign-blob', '--key', `${p}.key`, file], { env: { SIGNET_PASSWORD: 'nope' } });
  assert.ok(isCleanError(wrongPw), wrongPw.stderr);
  assert.match(wrongPw.stderr, /wrong password/);

  await signet(['sign-blob', '--key', `${p}.key`, '--bundle', join(dir, 'b.json'), file], { env: PW });
  const wrongKey = await signet(['verify-blob', '--key', join(dir, 'other.pub'), '--bundle', join(dir, 'b.json'), file]);
  assert.ok(isCleanError(wrongKey), wrongKey.stderr);
  assert.match(wrongKey.stderr, /signature: signature does not verify/);

  const missing = await signet(['verify-blob', '--key', `${p}.pub`, '--bundle', join(dir, 'nope.json'), file]);
  assert.ok(isCleanError(missing));
  assert.match(missing.stderr, /bundle ".*nope.json" does not exist/);

  writeFileSync(join(dir, 'garbage.pub'), 'not a key at all');
  const badKey = await signet(['verify-blob', '--key', join(dir, 'garbage.pub'), '--bundle', join(dir, 'b.json'), file]);
  assert.ok(isCleanError(badKey));
  assert.match(badKey.stderr, /unrecognised public key/);

  const privAsPub = await signet(['verify-blob', '--key', `${p}.key`, '--bundle', join(dir, 'b.json'), file]);
  assert.ok(isCleanError(privAsPub), privAsPub.stderr);

  writeFileSync(join(dir, 'garbage.sig'), Buffer.from([0, 1, 2, 3, 255, 254]));
  const badSig = await signet(['verify-blob', '--key', `${p}.pub`, '--signature', join(dir, 'garbage.sig'), file]);
  assert.ok(isCleanError(badSig));
  assert.match(badSig.stderr, /unrecognised signature/);

  writeFileSync(join(dir, 'trunc.json'), readFileSync(join(dir, 'b.json'), 'utf8').slice(0, 80));
  const trunc = await signet(['verify-blob', '--key', `${p}.pub`, '--bundle', join(dir, 'trunc.json'), file]);
  assert.ok(isCleanError(trunc), trunc.stderr);

  const noSig = await signet(['verify-blob', '--key', `${p}.pub`, file]);
  assert.ok(isCleanError(noSig));
  const pubAsPriv = await signet(['sign-blob', '--key', `${p}.pub`, file]);
  assert.ok(isCleanError(pubAsPriv));
  assert.match(pubAsPriv.stderr, /public key; signing needs the private key/);
});

test('attest-blob / verify-blob-attestation with predicate types', async (t) => {
  const dir = tempDir(t);
  const p = join(dir, 'k');
  await signet(['generate-key-pair', '--output-key-prefix', p], { env: PW });
  const file = join(dir, 'app.tar');
  writeFileSync(file, 'tarball');
  writeFileSync(join(dir, 'prov.json'), JSON.stringify({ buildDefinition: { buildType: 'x' }, runDetails: { builder: { id: 'https://ci.example/builder' } } }));
  const a = await signet(['attest-blob', '--key', `${p}.key`, '--predicate', join(dir, 'prov.json'), '--type', 'slsaprovenance1', '--bundle', join(dir, 'att.json'), file], { env: PW });
  assert.equal(a.code, 0, a.stderr);
  const ok = await signet(['verify-blob-attestation', '--key', `${p}.pub`, '--bundle', join(dir, 'att.json'), '--type', 'slsaprovenance1', file]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /predicate type https:\/\/slsa\.dev\/provenance\/v1/);
  const wrongType = await signet(['verify-blob-attestation', '--key', `${p}.pub`, '--bundle', join(dir, 'att.json'), '--type', 'spdx', file]);
  assert.ok(isCleanError(wrongType));
  assert.match(wrongType.stderr, /predicate-type/);
  writeFileSync(join(dir, 'other'), 'other file');
  const wrongSubject = await signet(['verify-blob-attestation', '--key', `${p}.pub`, '--bundle', join(dir, 'att.json'), join(dir, 'other')]);
  assert.match(wrongSubject.stderr, /subject: /);
  const badType = await signet(['attest-blob', '--key', `${p}.key`, '--predicate', join(dir, 'prov.json'), '--type', 'nonsense', file], { env: PW });
  assert.ok(isCleanError(badType));
  assert.match(badType.stderr, /unknown predicate type "nonsense"/);
  // custom wraps raw text as cosign does
  writeFileSync(join(dir, 'note.txt'), 'free text');
  const c = await signet(['attest-blob', '--key', `${p}.key`, '--predicate', join(dir, 'note.txt'), '--output-signature', join(dir, 'env.json'), file], { env: PW });
  assert.equal(c.code, 0, c.stderr);
  const env = JSON.parse(readFileSync(join(dir, 'env.json'), 'utf8'));
  const st = JSON.parse(Buffer.from(env.payload, 'base64').toString());
  assert.equal(st.predicateType, 'https://cosign.sigstore.dev/attestation/v1');
  assert.equal(st.predicate.Data, 'free text');
  const v = await signet(['verify-blob-attestation', '--key', `${p}.pub`, '--signature', join(dir, 'env.json'), '--type', 'custom', file]);
  assert.equal(v.code, 0, v.stderr);
});

test('checksums create matches sha256sum -c; verify checks every file, with a cosign signature over the list', async (t) => {
  const sha256sum = requireTool(t, 'sha256sum');
  if (!sha256sum) return;
  const dir = tempDir(t);
  writeFileSync(join(dir, 'a.bin'), 'aaa');
  writeFileSync(join(dir, 'b b.bin'), 'bbb');
  const c = await signet(['checksums', 'create', 'a.bin', 'b b.bin'], { cwd: dir });
  assert.equal(c.code, 0, c.stderr);
  writeFileSync(join(dir, 'SHA256SUMS'), c.stdout);
  const gnu = await run(sha256sum, ['-c', 'SHA256SUMS'], { cwd: dir });
  assert.equal(gnu.code, 0, gnu.stdout + gnu.stderr);
  const theirs = await run(sha256sum, ['a.bin', 'b b.bin'], { cwd: dir });
  assert.equal(c.stdout, theirs.stdout, 'byte-identical to sha256sum output');

  const p = join(dir, 'k');
  await signet(['generate-key-pair', '--output-key-prefix', p], { env: PW });
  await signet(['sign-blob', '--key', `${p}.key`, '--output-signature', join(dir, 'SHA256SUMS.sig'), join(dir, 'SHA256SUMS')], { env: PW });
  const v = await signet(['checksums', 'verify', join(dir, 'SHA256SUMS'), '--signature', join(dir, 'SHA256SUMS.sig'), '--key', `${p}.pub`]);
  assert.equal(v.code, 0, v.stderr);
  assert.equal(v.stdout, 'a.bin: OK\nb b.bin: OK\n');

  writeFileSync(join(dir, 'b b.bin'), 'BBB');
  const bad = await signet(['checksums', 'verify', join(dir, 'SHA256SUMS'), '--signature', join(dir, 'SHA256SUMS.sig'), '--key', `${p}.pub`]);
  assert.equal(bad.code, 1);
  assert.match(bad.stdout, /b b\.bin: FAILED/);
  assert.ok(isCleanError(bad), bad.stderr);

  writeFileSync(join(dir, 'SHA256SUMS'), `${c.stdout}${'0'.repeat(64)}  gone.bin\n`);
  const tamperedList = await signet(['checksums', 'verify', join(dir, 'SHA256SUMS'), '--signature', join(dir, 'SHA256SUMS.sig'), '--key', `${p}.pub`]);
  assert.ok(isCleanError(tamperedList));
  assert.match(tamperedList.stderr, /signature does not verify/);
  const unsigned = await signet(['checksums', 'verify', join(dir, 'SHA256SUMS')]);
  assert.equal(unsigned.code, 1);
  assert.match(unsigned.stdout, /gone\.bin: MISSING/);
  assert.match(unsigned.stderr, /not signed/);
  writeFileSync(join(dir, 'BAD'), 'not a checksum line\n');
  const malformed = await signet(['checksums', 'verify', join(dir, 'BAD')]);
  assert.ok(isCleanError(malformed), malformed.stderr);
  assert.match(malformed.stderr, /line 1/);
});
