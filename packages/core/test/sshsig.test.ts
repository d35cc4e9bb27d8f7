import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import {
  formatSshPublicKey,
  isSshSignature,
  parseAllowedSigners,
  parseSshPrivateKey,
  parseSshPublicKey,
  parseSshSignature,
  parseSshTrust,
  principalMatches,
  signSshSig,
  sshPublicKeyFromKeyObject,
  verifySshSig,
} from '../dist/sshsig/index.js';
import { SignetError } from '../dist/errors.js';
import type { TrustMaterial, Verdict } from '../dist/verify/types.js';

const data = new TextEncoder().encode('release artifact v1.2.3\n');
const tampered = new TextEncoder().encode('release artifact v1.2.4\n');

const keys: Record<string, { privateKey: KeyObject; publicKey: KeyObject }> = {
  ed25519: generateKeyPairSync('ed25519'),
  p256: generateKeyPairSync('ec', { namedCurve: 'P-256' }),
  p384: generateKeyPairSync('ec', { namedCurve: 'P-384' }),
  p521: generateKeyPairSync('ec', { namedCurve: 'P-521' }),
  rsa: generateKeyPairSync('rsa', { modulusLength: 2048 }),
};

function trustFor(key: KeyObject, principals: string[] = [], extra: Record<string, unknown> = {}): TrustMaterial {
  return { keys: [{ kind: 'ssh', key: sshPublicKeyFromKeyObject(key), principals, ...extra }] };
}

function failed(v: Verdict): string[] {
  return v.checks.filter((c) => !c.ok).map((c) => c.name);
}

function assertSignetError(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => e instanceof SignetError && e.code === code);
}

async function assertRejectsCode(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => e instanceof SignetError && e.code === code);
}

// Minimal SSH wire helpers to build hostile signatures (RFC 4251 §5).
function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}
function str(x: Uint8Array | string): Buffer {
  const b = typeof x === 'string' ? Buffer.from(x) : Buffer.from(x);
  return Buffer.concat([u32(b.length), b]);
}
function readStrings(buf: Buffer, off: number, n: number): { items: Buffer[]; off: number } {
  const items: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const len = buf.readUInt32BE(off);
    items.push(buf.subarray(off + 4, off + 4 + len));
    off += 4 + len;
  }
  return { items, off };
}
/** Splits an armored signature into its fields. */
function fields(armored: string): { pub: Buffer; ns: Buffer; reserved: Buffer; hash: Buffer; sigAlg: Buffer; sigBlob: Buffer } {
  const blob = Buffer.from(armored.split('\n').filter((l) => l && !l.startsWith('-----')).join(''), 'base64');
  const { items } = readStrings(blob, 10, 5);
  const [pub, ns, reserved, hash, sig] = items as [Buffer, Buffer, Buffer, Buffer, Buffer];
  const inner = readStrings(sig, 0, 2).items as [Buffer, Buffer];
  return { pub, ns, reserved, hash, sigAlg: inner[0], sigBlob: inner[1] };
}
function build(f: ReturnType<typeof fields>): Uint8Array {
  const blob = Buffer.concat([
    Buffer.from('SSHSIG'),
    u32(1),
    str(f.pub),
    str(f.ns),
    str(f.reserved),
    str(f.hash),
    str(Buffer.concat([str(f.sigAlg), str(f.sigBlob)])),
  ]);
  return new TextEncoder().encode(`-----BEGIN SSH SIGNATURE-----\n${blob.toString('base64')}\n-----END SSH SIGNATURE-----\n`);
}

test('public keys: KeyObject → wire blob → line → parse round trip for every key type', () => {
  for (const [name, kp] of Object.entries(keys)) {
    const info = sshPublicKeyFromKeyObject(kp.privateKey, `${name}@example.test`);
    assert.match(info.fingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/, name);
    const line = formatSshPublicKey(info);
    const back = parseSshPublicKey(line);
    assert.equal(back.type, info.type);
    assert.deepEqual([...back.blob], [...info.blob]);
    assert.equal(back.comment, `${name}@example.test`);
    assert.equal(back.fingerprint, info.fingerprint);
    assert.ok(back.key.equals(kp.publicKey), name);
  }
  assert.equal(sshPublicKeyFromKeyObject(keys['p384']!.publicKey).type, 'ecdsa-sha2-nistp384');
  assert.equal(sshPublicKeyFromKeyObject(keys['rsa']!.publicKey).type, 'ssh-rsa');
});

test('public keys: garbage, bad base64, type mismatch and truncated blobs are KEY_PARSE_FAILED', () => {
  const line = formatSshPublicKey(sshPublicKeyFromKeyObject(keys['ed25519']!.publicKey));
  const b64 = line.split(' ')[1]!;
  assertSignetError(() => parseSshPublicKey('hello world'), 'KEY_PARSE_FAILED');
  assertSignetError(() => parseSshPublicKey(''), 'KEY_PARSE_FAILED');
  assertSignetError(() => parseSshPublicKey(`ssh-ed25519 ${b64.slice(0, 20)}`), 'KEY_PARSE_FAILED');
  assertSignetError(() => parseSshPublicKey(`ssh-rsa ${b64}`), 'KEY_PARSE_FAILED');
  assertSignetError(() => parseSshPublicKey('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA'), 'KEY_PARSE_FAILED');
  const dsa = `ssh-dss ${str('ssh-dss').toString('base64')}`;
  assertSignetError(() => parseSshPublicKey(dsa), 'UNSUPPORTED_ALGORITHM');
});

test('allowed_signers: principals, quoting, options, comments and times', () => {
  const ed = formatSshPublicKey(sshPublicKeyFromKeyObject(keys['ed25519']!.publicKey, 'laptop'));
  const ec = formatSshPublicKey(sshPublicKeyFromKeyObject(keys['p256']!.publicKey));
  const text = [
    '# release signers',
    '',
    `alice@example.test,alice@corp.test ${ed}`,
    `  "bob@example.test,*@ops.test" namespaces="git,file",valid-after="20240101",valid-before="20300101123000Z" ${ec}`,
    `*@example.test cert-authority ${ec}`,
  ].join('\n');
  const signers = parseAllowedSigners(text);
  assert.equal(signers.length, 3);
  assert.deepEqual(signers[0]!.principals, ['alice@example.test', 'alice@corp.test']);
  assert.equal(signers[0]!.key.comment, 'laptop');
  assert.equal(signers[0]!.certAuthority, false);
  assert.equal(signers[0]!.line, 3);
  assert.deepEqual(signers[1]!.principals, ['bob@example.test', '*@ops.test']);
  assert.deepEqual(signers[1]!.namespaces, ['git', 'file']);
  assert.equal(signers[1]!.validAfter?.getTime(), new Date(2024, 0, 1).getTime()); // local time without Z
  assert.equal(signers[1]!.validBefore?.toISOString(), '2030-01-01T12:30:00.000Z');
  assert.equal(signers[2]!.certAuthority, true);

  assertSignetError(() => parseAllowedSigners(`alice bogus-option ${ed}`), 'KEY_PARSE_FAILED');
  assertSignetError(() => parseAllowedSigners(`alice valid-before="2024" ${ed}`), 'KEY_PARSE_FAILED');
  assertSignetError(() => parseAllowedSigners(`alice valid-before="20240230" ${ed}`), 'KEY_PARSE_FAILED');
  assertSignetError(() => parseAllowedSigners(`"alice ${ed}`), 'KEY_PARSE_FAILED');
  assertSignetError(() => parseAllowedSigners('alice'), 'KEY_PARSE_FAILED');
  assertSignetError(() => parseAllowedSigners('alice ssh-ed25519 !!!!'), 'KEY_PARSE_FAILED');
});

test('principal patterns follow match_pattern_list: wildcards and negation', () => {
  assert.equal(principalMatches(['*@example.test'], 'alice@example.test'), true);
  assert.equal(principalMatches(['*@example.test'], 'alice@example.org'), false);
  assert.equal(principalMatches(['al?ce@*'], 'alice@x'), true);
  assert.equal(principalMatches(['*@example.test', '!mallory@example.test'], 'mallory@example.test'), false);
  assert.equal(principalMatches(['alice'], 'alice2'), false);
});

test('parseSshTrust: bare key lines and allowed_signers lines in one file', () => {
  const ed = formatSshPublicKey(sshPublicKeyFromKeyObject(keys['ed25519']!.publicKey, 'ci@build'));
  const rsa = formatSshPublicKey(sshPublicKeyFromKeyObject(keys['rsa']!.publicKey));
  const ec = formatSshPublicKey(sshPublicKeyFromKeyObject(keys['p256']!.publicKey));
  const trust = parseSshTrust(`${ed}\r\n# comment\nalice@example.test valid-before="20200101Z" ${rsa}\nca@example.test cert-authority ${ec}\n`);
  assert.equal(trust.length, 3);
  const [a, b, c] = trust as unknown as [Record<string, unknown>, Record<string, unknown>, Record<string, unknown>];
  assert.equal(a['kind'], 'ssh');
  assert.deepEqual(a['principals'], []);
  assert.equal(a['name'], 'ci@build');
  assert.deepEqual(b['principals'], ['alice@example.test']);
  assert.equal((b['validity'] as { notAfter: Date }).notAfter.toISOString(), '2020-01-01T00:00:00.000Z');
  assert.equal(c['certAuthority'], true);
  assert.equal(parseSshTrust(ed, 'named')[0]!.name, 'named');
  assertSignetError(() => parseSshTrust('# nothing\n\n'), 'KEY_PARSE_FAILED');
  assertSignetError(() => parseSshTrust('complete garbage here'), 'KEY_PARSE_FAILED');
});

test('sign and verify round trip for every key type, sha512 and sha256, from bytes and from a digest', async () => {
  for (const [name, kp] of Object.entries(keys)) {
    for (const hash of ['sha512', 'sha256'] as const) {
      const armored = await signSshSig(data, kp.privateKey, { namespace: 'file', hash });
      assert.ok(armored.startsWith('-----BEGIN SSH SIGNATURE-----\n'));
      assert.ok(armored.split('\n').every((l) => l.length <= 70));
      const sig = new TextEncoder().encode(armored);
      assert.equal(isSshSignature(sig), true);
      const parsed = parseSshSignature(armored);
      assert.equal(parsed.namespace, 'file');
      assert.equal(parsed.hashAlgorithm, hash);
      if (name === 'rsa') assert.equal(parsed.sigAlgorithm, 'rsa-sha2-512');
      const trust = trustFor(kp.publicKey, ['alice@example.test']);
      const v = await verifySshSig({ bytes: data }, sig, trust, { identity: 'alice@example.test' });
      assert.equal(v.ok, true, `${name}/${hash}: ${JSON.stringify(v.checks)}`);
      assert.equal(v.kind, 'sshsig');
      assert.equal(v.signer?.identity, 'alice@example.test');
      assert.equal(v.signer?.keyId, parsed.publicKey.fingerprint);
      for (const n of ['format', 'algorithm', 'namespace', 'key', 'identity', 'signature']) {
        assert.ok(v.checks.some((c) => c.name === n && c.ok), `${name}: check ${n}`);
      }
      const digest = { algorithm: hash, value: new Uint8Array(createHash(hash).update(data).digest()) };
      assert.equal((await verifySshSig({ digest }, sig, trust)).ok, true);
      const tamperedV = await verifySshSig({ bytes: tampered }, sig, trust);
      assert.equal(tamperedV.ok, false);
      assert.deepEqual(failed(tamperedV), ['signature']);
      assert.match(tamperedV.checks.find((c) => c.name === 'signature')!.detail, /does not match the artifact/);
    }
  }
});

test('signSshSig refuses misuse', async () => {
  await assertRejectsCode(signSshSig(data, keys['ed25519']!.publicKey, { namespace: 'file' }), 'INVALID_ARGUMENT');
  await assertRejectsCode(signSshSig(data, keys['ed25519']!.privateKey, { namespace: '' }), 'INVALID_ARGUMENT');
  const x448 = generateKeyPairSync('ed448').privateKey;
  await assertRejectsCode(signSshSig(data, x448, { namespace: 'file' }), 'UNSUPPORTED_ALGORITHM');
});

test('negatives: wrong key, namespace, identity, validity, digest algorithm', async () => {
  const kp = keys['ed25519']!;
  const sig = new TextEncoder().encode(await signSshSig(data, kp.privateKey, { namespace: 'file' }));

  const wrong = await verifySshSig({ bytes: data }, sig, trustFor(keys['p256']!.publicKey));
  assert.deepEqual(failed(wrong), ['key']);
  assert.match(wrong.checks.find((c) => c.name === 'key')!.detail, /^key SHA256:\S+ is not among the trusted keys$/);
  assert.equal(wrong.signer, undefined);

  const ns = await verifySshSig({ bytes: data }, sig, trustFor(kp.publicKey), { sshNamespace: 'git' });
  assert.deepEqual(failed(ns), ['namespace']);
  assert.match(ns.checks.find((c) => !c.ok)!.detail, /namespace "file" does not match the required namespace "git"/);

  const restricted = await verifySshSig({ bytes: data }, sig, trustFor(kp.publicKey, ['alice'], { namespaces: ['git'] }));
  assert.deepEqual(failed(restricted), ['namespace']);

  const id = await verifySshSig({ bytes: data }, sig, trustFor(kp.publicKey, ['alice@example.test']), { identity: 'bob@example.test' });
  assert.deepEqual(failed(id), ['identity']);
  assert.match(id.checks.find((c) => !c.ok)!.detail, /"bob@example.test" is not a principal/);

  const bare = await verifySshSig({ bytes: data }, sig, trustFor(kp.publicKey), { identity: 'bob@example.test' });
  assert.deepEqual(failed(bare), ['identity']);

  const expired = await verifySshSig({ bytes: data }, sig, trustFor(kp.publicKey, ['a'], { validity: { notAfter: new Date('2020-01-01T00:00:00Z') } }));
  assert.deepEqual(failed(expired), ['key-validity']);
  assert.match(expired.checks.find((c) => !c.ok)!.detail, /expired at 2020-01-01/);
  const notYet = await verifySshSig({ bytes: data }, sig, trustFor(kp.publicKey, ['a'], { validity: { notBefore: new Date('2030-01-01T00:00:00Z') } }), {
    now: new Date('2029-01-01T00:00:00Z'),
  });
  assert.deepEqual(failed(notYet), ['key-validity']);

  const otherDigest = await verifySshSig({ digest: { algorithm: 'sha256', value: new Uint8Array(32) } }, sig, trustFor(kp.publicKey));
  assert.deepEqual(failed(otherDigest), ['artifact']);

  // Two entries for one key: the one that fits the policy is used.
  const two: TrustMaterial = {
    keys: [...trustFor(kp.publicKey, ['bob'], { namespaces: ['git'] }).keys, ...trustFor(kp.publicKey, ['alice']).keys],
  };
  const fit = await verifySshSig({ bytes: data }, sig, two, { identity: 'alice' });
  assert.equal(fit.ok, true, JSON.stringify(fit.checks));
  assert.equal(fit.signer?.identity, 'alice');
});

test('negatives: cert-authority entries do not trust the key itself', async () => {
  const kp = keys['ed25519']!;
  const sig = new TextEncoder().encode(await signSshSig(data, kp.privateKey, { namespace: 'file' }));
  const v = await verifySshSig({ bytes: data }, sig, trustFor(kp.publicKey, ['*'], { certAuthority: true }));
  assert.deepEqual(failed(v), ['key']);
  assert.match(v.checks.find((c) => !c.ok)!.detail, /only as a cert-authority/);
});

test('negatives: SHA-1 ssh-rsa, unknown hash, mismatched algorithm, small RSA, certificates, unsupported key types', async () => {
  const rsaSig = await signSshSig(data, keys['rsa']!.privateKey, { namespace: 'file' });
  const trust = trustFor(keys['rsa']!.publicKey);
  const f = fields(rsaSig);
  const sha1 = await verifySshSig({ bytes: data }, build({ ...f, sigAlg: Buffer.from('ssh-rsa') }), trust);
  assert.equal(sha1.ok, false);
  assert.deepEqual(failed(sha1), ['algorithm']);
  assert.match(sha1.checks.find((c) => !c.ok)!.detail, /SHA-1/);
  const md5 = await verifySshSig({ bytes: data }, build({ ...f, hash: Buffer.from('md5') }), trust);
  assert.deepEqual(failed(md5), ['algorithm']);
  const edSig = fields(await signSshSig(data, keys['ed25519']!.privateKey, { namespace: 'file' }));
  const mixed = await verifySshSig({ bytes: data }, build({ ...edSig, sigAlg: Buffer.from('ecdsa-sha2-nistp256') }), trustFor(keys['ed25519']!.publicKey));
  assert.deepEqual(failed(mixed), ['algorithm']);

  const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const smallV = await verifySshSig({ bytes: data }, new TextEncoder().encode(await signSshSig(data, small.privateKey, { namespace: 'file' })), trustFor(small.publicKey));
  assert.deepEqual(failed(smallV), ['algorithm']);

  // An OpenSSH certificate wrapping the Ed25519 key (PROTOCOL.certkeys; the rest of the certificate is irrelevant here).
  const pk = readStrings(edSig.pub, 0, 2).items[1]!;
  const cert = Buffer.concat([str('ssh-ed25519-cert-v01@openssh.com'), str(Buffer.alloc(32)), str(pk), Buffer.alloc(40)]);
  const certV = await verifySshSig({ bytes: data }, build({ ...edSig, pub: cert }), trustFor(keys['ed25519']!.publicKey));
  assert.deepEqual(failed(certV), ['key']);
  assert.match(certV.checks.find((c) => !c.ok)!.detail, /SSH certificate/);

  const sk = Buffer.concat([str('sk-ssh-ed25519@openssh.com'), str(pk), str('ssh:')]);
  const skV = await verifySshSig({ bytes: data }, build({ ...edSig, pub: sk }), trustFor(keys['ed25519']!.publicKey));
  assert.equal(skV.ok, false);
  assert.deepEqual(failed(skV), ['algorithm']);
  assertSignetError(() => parseSshSignature(build({ ...edSig, pub: sk })), 'UNSUPPORTED_ALGORITHM');
});

test('negatives: tampered signature bytes, truncated and garbage input', async () => {
  const kp = keys['p256']!;
  const armored = await signSshSig(data, kp.privateKey, { namespace: 'file' });
  const trust = trustFor(kp.publicKey);
  const f = fields(armored);

  // Flip a bit inside r of the ECDSA signature.
  const blob = Buffer.from(f.sigBlob);
  blob[10] = blob[10]! ^ 1;
  const flipped = await verifySshSig({ bytes: data }, build({ ...f, sigBlob: blob }), trust);
  assert.deepEqual(failed(flipped), ['signature']);
  // Garbage where the mpints should be.
  const junk = await verifySshSig({ bytes: data }, build({ ...f, sigBlob: Buffer.from('nonsense') }), trust);
  assert.deepEqual(failed(junk), ['signature']);
  // A changed namespace is caught by the signature too (it is signed), besides the namespace check.
  const ns = await verifySshSig({ bytes: data }, build({ ...f, ns: Buffer.from('git') }), trust, { sshNamespace: 'git' });
  assert.deepEqual(failed(ns), ['signature']);
  // Ed25519 with a wrong-length signature.
  const ed = fields(await signSshSig(data, keys['ed25519']!.privateKey, { namespace: 'file' }));
  const short = await verifySshSig({ bytes: data }, build({ ...ed, sigBlob: ed.sigBlob.subarray(0, 63) }), trustFor(keys['ed25519']!.publicKey));
  assert.deepEqual(failed(short), ['signature']);

  const enc = new TextEncoder();
  const lines = armored.trimEnd().split('\n');
  const truncated = [...lines.slice(0, 3), lines[lines.length - 1]].join('\n');
  await assertRejectsCode(verifySshSig({ bytes: data }, enc.encode(truncated), trust), 'SIGNATURE_PARSE_FAILED');
  await assertRejectsCode(verifySshSig({ bytes: data }, enc.encode(armored.slice(0, 100)), trust), 'SIGNATURE_PARSE_FAILED');
  await assertRejectsCode(verifySshSig({ bytes: data }, enc.encode('not a signature at all'), trust), 'SIGNATURE_PARSE_FAILED');
  await assertRejectsCode(
    verifySshSig({ bytes: data }, enc.encode('-----BEGIN SSH SIGNATURE-----\n%%%%\n-----END SSH SIGNATURE-----\n'), trust),
    'SIGNATURE_PARSE_FAILED',
  );
  await assertRejectsCode(verifySshSig({ bytes: data }, new Uint8Array([0xff, 0xfe, 0, 1]), trust), 'SIGNATURE_PARSE_FAILED');
  // Huge declared lengths are bounds-checked, not allocated.
  const huge = Buffer.concat([Buffer.from('SSHSIG'), u32(1), u32(0xffffffff)]);
  assertSignetError(() => parseSshSignature(huge), 'SIGNATURE_PARSE_FAILED');
  // Wrong version, trailing bytes.
  const raw = Buffer.from(armored.split('\n').filter((l) => l && !l.startsWith('-----')).join(''), 'base64');
  const v2 = Buffer.from(raw);
  v2.writeUInt32BE(2, 6);
  assertSignetError(() => parseSshSignature(v2), 'SIGNATURE_PARSE_FAILED');
  assertSignetError(() => parseSshSignature(Buffer.concat([raw, Buffer.from([0])])), 'SIGNATURE_PARSE_FAILED');
  assert.equal(parseSshSignature(raw).namespace, 'file'); // the raw binary form is accepted too

  assert.equal(isSshSignature(enc.encode('hello')), false);
  assert.equal(isSshSignature(enc.encode('\n-----BEGIN SSH SIGNATURE-----\n')), true);
});

test('parseSshPrivateKey reads PKCS#8 PEM keys and refuses encrypted or garbage input', () => {
  for (const name of ['ed25519', 'p384', 'rsa']) {
    const kp = keys[name]!;
    const pem = kp.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const { privateKey, publicKey } = parseSshPrivateKey(pem);
    assert.equal(privateKey.type, 'private');
    assert.deepEqual([...publicKey.blob], [...sshPublicKeyFromKeyObject(kp.publicKey).blob]);
  }
  const rsa1 = keys['rsa']!.privateKey.export({ format: 'pem', type: 'pkcs1' }).toString();
  assert.equal(parseSshPrivateKey(rsa1).publicKey.type, 'ssh-rsa');
  const enc = keys['ed25519']!.privateKey.export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'pw' }).toString();
  assertSignetError(() => parseSshPrivateKey(enc), 'KEY_ENCRYPTED');
  assertSignetError(() => parseSshPrivateKey('garbage'), 'KEY_PARSE_FAILED');
  assertSignetError(() => parseSshPrivateKey('-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n'), 'KEY_PARSE_FAILED');
  assertSignetError(() => parseSshPrivateKey('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n'), 'KEY_PARSE_FAILED');
});
