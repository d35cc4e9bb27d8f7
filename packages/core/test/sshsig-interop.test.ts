import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireTool, run, tempDir } from '@signet/testkit';
import {
  formatSshPublicKey,
  parseSshPrivateKey,
  parseSshPublicKey,
  parseSshSignature,
  parseSshTrust,
  signSshSig,
  verifySshSig,
} from '../dist/sshsig/index.js';
import { SignetError } from '../dist/errors.js';
import type { TrustMaterial, Verdict } from '../dist/verify/types.js';

const data = new TextEncoder().encode('interop payload: ssh-keygen ⇄ signet\n');
const tampered = new TextEncoder().encode('interop payload: ssh-keygen ⇄ signet!\n');
const ID = 'alice@example.test';

function failed(v: Verdict): string[] {
  return v.checks.filter((c) => !c.ok).map((c) => c.name);
}

async function keygen(bin: string, dir: string, name: string, args: string[]): Promise<string> {
  const path = join(dir, name);
  const r = await run(bin, ['-q', ...args, '-N', '', '-C', ID, '-f', path]);
  assert.equal(r.code, 0, r.stderr);
  return path;
}

async function toolSign(bin: string, keyPath: string, file: string, namespace = 'file', extra: string[] = []): Promise<Uint8Array> {
  rmSync(`${file}.sig`, { force: true }); // ssh-keygen would otherwise ask before overwriting
  const r = await run(bin, ['-Y', 'sign', '-f', keyPath, '-n', namespace, ...extra, file]);
  assert.equal(r.code, 0, r.stderr);
  return new Uint8Array(readFileSync(`${file}.sig`));
}

async function toolVerify(bin: string, allowed: string, identity: string, sigPath: string, input: Uint8Array, namespace = 'file'): Promise<number> {
  const r = await run(bin, ['-Y', 'verify', '-f', allowed, '-I', identity, '-n', namespace, '-s', sigPath], { input });
  return r.code;
}

const KEY_TYPES: Array<[string, string[], string]> = [
  ['ed25519', ['-t', 'ed25519'], 'ssh-ed25519'],
  ['ecdsa256', ['-t', 'ecdsa', '-b', '256'], 'ecdsa-sha2-nistp256'],
  ['ecdsa384', ['-t', 'ecdsa', '-b', '384'], 'ecdsa-sha2-nistp384'],
  ['ecdsa521', ['-t', 'ecdsa', '-b', '521'], 'ecdsa-sha2-nistp521'],
  ['rsa3072', ['-t', 'rsa', '-b', '3072'], 'rsa-sha2-512'],
];

for (const [name, args, sigAlg] of KEY_TYPES) {
  test(`ssh-keygen ⇄ signet with ${name} keys, both directions, tampered data rejected by both`, async (t: TestContext) => {
    const bin = requireTool(t, 'ssh-keygen');
    if (!bin) return;
    const dir = tempDir(t);
    const key = await keygen(bin, dir, `id_${name}`, args);
    const pubLine = readFileSync(`${key}.pub`, 'utf8');
    const allowed = join(dir, 'allowed_signers');
    writeFileSync(allowed, `${ID} ${pubLine}`);
    const file = join(dir, 'artifact.bin');
    writeFileSync(file, data);

    // ssh-keygen signs → signet verifies (bare .pub, and allowed_signers + identity)
    const sig = await toolSign(bin, key, file);
    const parsed = parseSshSignature(sig);
    assert.equal(parsed.sigAlgorithm, sigAlg);
    assert.equal(parsed.hashAlgorithm, 'sha512');
    const bare: TrustMaterial = { keys: parseSshTrust(pubLine) };
    const v1 = await verifySshSig({ bytes: data }, sig, bare);
    assert.equal(v1.ok, true, JSON.stringify(v1.checks));
    assert.equal(v1.signer?.identity, ID); // the key comment
    const signers: TrustMaterial = { keys: parseSshTrust(readFileSync(allowed, 'utf8')) };
    const v2 = await verifySshSig({ bytes: data }, sig, signers, { identity: ID });
    assert.equal(v2.ok, true, JSON.stringify(v2.checks));
    assert.equal(v2.signer?.keyId, parseSshPublicKey(pubLine).fingerprint);
    const bad = await verifySshSig({ bytes: tampered }, sig, signers, { identity: ID });
    assert.deepEqual(failed(bad), ['signature']);
    assert.notEqual(await toolVerify(bin, allowed, ID, `${file}.sig`, tampered), 0);

    // signet signs with the same private key file → ssh-keygen verifies
    const { privateKey, publicKey } = parseSshPrivateKey(readFileSync(key, 'utf8'));
    assert.equal(formatSshPublicKey(publicKey), pubLine.trim());
    const mine = await signSshSig(data, privateKey, { namespace: 'file' });
    assert.equal(parseSshSignature(mine).sigAlgorithm, sigAlg);
    const minePath = join(dir, 'signet.sig');
    writeFileSync(minePath, mine);
    assert.equal(await toolVerify(bin, allowed, ID, minePath, data), 0);
    assert.notEqual(await toolVerify(bin, allowed, ID, minePath, tampered), 0);
    const v3 = await verifySshSig({ bytes: data }, new TextEncoder().encode(mine), signers, { identity: ID });
    assert.equal(v3.ok, true);
  });
}

test('ssh-keygen ⇄ signet: sha256 signatures and the git namespace', async (t: TestContext) => {
  const bin = requireTool(t, 'ssh-keygen');
  if (!bin) return;
  const dir = tempDir(t);
  const key = await keygen(bin, dir, 'id_ed25519', ['-t', 'ed25519']);
  const pubLine = readFileSync(`${key}.pub`, 'utf8');
  const allowed = join(dir, 'allowed_signers');
  writeFileSync(allowed, `${ID} namespaces="git" ${pubLine}`);
  const file = join(dir, 'commit.txt');
  writeFileSync(file, data);
  const sig = await toolSign(bin, key, file, 'git', ['-O', 'hashalg=sha256']);
  assert.equal(parseSshSignature(sig).hashAlgorithm, 'sha256');
  const trust = { keys: parseSshTrust(readFileSync(allowed, 'utf8')) };
  assert.equal((await verifySshSig({ bytes: data }, sig, trust, { sshNamespace: 'git', identity: ID })).ok, true);

  const { privateKey } = parseSshPrivateKey(readFileSync(key, 'utf8'));
  const minePath = join(dir, 'mine.sig');
  writeFileSync(minePath, await signSshSig(data, privateKey, { namespace: 'git', hash: 'sha256' }));
  assert.equal(await toolVerify(bin, allowed, ID, minePath, data, 'git'), 0);
});

test('negatives with ssh-keygen: wrong namespace, wrong principal, wrong key, expired valid-before', async (t: TestContext) => {
  const bin = requireTool(t, 'ssh-keygen');
  if (!bin) return;
  const dir = tempDir(t);
  const key = await keygen(bin, dir, 'id_ed25519', ['-t', 'ed25519']);
  const other = await keygen(bin, dir, 'id_other', ['-t', 'ecdsa', '-b', '256']);
  const pubLine = readFileSync(`${key}.pub`, 'utf8');
  const file = join(dir, 'artifact.bin');
  writeFileSync(file, data);
  const allowed = join(dir, 'allowed_signers');
  writeFileSync(allowed, `${ID} ${pubLine}`);
  const trust = { keys: parseSshTrust(readFileSync(allowed, 'utf8')) };

  // Wrong namespace: signed for "git", verified as "file".
  const gitSig = await toolSign(bin, key, file, 'git');
  const ns = await verifySshSig({ bytes: data }, gitSig, trust);
  assert.deepEqual(failed(ns), ['namespace']);
  assert.notEqual(await toolVerify(bin, allowed, ID, `${file}.sig`, data, 'file'), 0);

  // Wrong principal.
  const sig = await toolSign(bin, key, file);
  const who = await verifySshSig({ bytes: data }, sig, trust, { identity: 'bob@example.test' });
  assert.deepEqual(failed(who), ['identity']);
  assert.notEqual(await toolVerify(bin, allowed, 'bob@example.test', `${file}.sig`, data), 0);

  // Wrong key: the allowed signer is a different key.
  const otherAllowed = join(dir, 'allowed_other');
  writeFileSync(otherAllowed, `${ID} ${readFileSync(`${other}.pub`, 'utf8')}`);
  const wrong = await verifySshSig({ bytes: data }, sig, { keys: parseSshTrust(readFileSync(otherAllowed, 'utf8')) }, { identity: ID });
  assert.deepEqual(failed(wrong), ['key']);
  assert.notEqual(await toolVerify(bin, otherAllowed, ID, `${file}.sig`, data), 0);

  // Expired: valid-before in the past.
  const expiredAllowed = join(dir, 'allowed_expired');
  writeFileSync(expiredAllowed, `${ID} valid-before="20200101Z" ${pubLine}`);
  const expired = await verifySshSig({ bytes: data }, sig, { keys: parseSshTrust(readFileSync(expiredAllowed, 'utf8')) }, { identity: ID });
  assert.deepEqual(failed(expired), ['key-validity']);
  assert.notEqual(await toolVerify(bin, expiredAllowed, ID, `${file}.sig`, data), 0);

  // Truncated and garbage signature files: ssh-keygen refuses them, signet throws a parse error.
  const text = new TextDecoder().decode(sig);
  const truncated = text.slice(0, Math.floor(text.length / 2));
  writeFileSync(join(dir, 'trunc.sig'), truncated);
  assert.notEqual(await toolVerify(bin, allowed, ID, join(dir, 'trunc.sig'), data), 0);
  await assert.rejects(verifySshSig({ bytes: data }, new TextEncoder().encode(truncated), trust), (e: unknown) => e instanceof SignetError && e.code === 'SIGNATURE_PARSE_FAILED');
  await assert.rejects(verifySshSig({ bytes: data }, new TextEncoder().encode('garbage\n'), trust), SignetError);
});

test('an SSH certificate signature is refused with a clear key detail, even with cert-authority', async (t: TestContext) => {
  const bin = requireTool(t, 'ssh-keygen');
  if (!bin) return;
  const dir = tempDir(t);
  const ca = await keygen(bin, dir, 'ca', ['-t', 'ed25519']);
  const user = await keygen(bin, dir, 'user', ['-t', 'ed25519']);
  const r = await run(bin, ['-q', '-s', ca, '-I', 'alice', '-n', ID, `${user}.pub`]);
  assert.equal(r.code, 0, r.stderr);
  const file = join(dir, 'artifact.bin');
  writeFileSync(file, data);
  const sig = await toolSign(bin, `${user}-cert.pub`, file);
  const allowed = join(dir, 'allowed_signers');
  writeFileSync(allowed, `${ID} cert-authority ${readFileSync(`${ca}.pub`, 'utf8')}`);
  assert.equal(await toolVerify(bin, allowed, ID, `${file}.sig`, data), 0); // it is a real, valid certificate signature
  assert.match(parseSshSignature(sig).publicKey.type, /-cert-v01@openssh\.com$/);
  const trust = { keys: [...parseSshTrust(readFileSync(allowed, 'utf8')), ...parseSshTrust(readFileSync(`${user}.pub`, 'utf8'))] };
  const v = await verifySshSig({ bytes: data }, sig, trust, { identity: ID });
  assert.equal(v.ok, false);
  assert.deepEqual(failed(v), ['key']);
  assert.match(v.checks.find((c) => !c.ok)!.detail, /SSH certificate/);

  // The CA key itself, trusted only as cert-authority, does not make its own signatures trusted.
  const caSig = await toolSign(bin, ca, file);
  const caV = await verifySshSig({ bytes: data }, caSig, { keys: parseSshTrust(readFileSync(allowed, 'utf8')) });
  assert.deepEqual(failed(caV), ['key']);
  assert.match(caV.checks.find((c) => !c.ok)!.detail, /cert-authority/);
});

test('encrypted OpenSSH private keys are refused with KEY_ENCRYPTED', async (t: TestContext) => {
  const bin = requireTool(t, 'ssh-keygen');
  if (!bin) return;
  const dir = tempDir(t);
  const path = join(dir, 'enc');
  const r = await run(bin, ['-q', '-t', 'ed25519', '-N', 'correct horse', '-f', path]);
  assert.equal(r.code, 0, r.stderr);
  assert.throws(
    () => parseSshPrivateKey(readFileSync(path, 'utf8')),
    (e: unknown) => e instanceof SignetError && e.code === 'KEY_ENCRYPTED' && /ssh-keygen -p/.test(e.message),
  );
  // A corrupted unencrypted key (checkints differ) is a parse error.
  const plain = await keygen(bin, dir, 'plain', ['-t', 'ed25519']);
  const text = readFileSync(plain, 'utf8');
  const lines = text.trimEnd().split('\n');
  const body = Buffer.from(lines.slice(1, -1).join(''), 'base64');
  // Locate the private section: magic(15) + cipher + kdf + kdfopts + nkeys + pubkey, then the string length.
  let off = 15;
  for (let i = 0; i < 3; i++) off += 4 + body.readUInt32BE(off);
  off += 4;
  off += 4 + body.readUInt32BE(off);
  const checkint = off + 4; // first checkint
  body[checkint] = body[checkint]! ^ 0xff;
  const corrupt = `${lines[0]}\n${body.toString('base64')}\n${lines[lines.length - 1]}\n`;
  assert.throws(() => parseSshPrivateKey(corrupt), (e: unknown) => e instanceof SignetError && e.code === 'KEY_PARSE_FAILED');
});
