import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import {
  SignetError,
  dsseBundle,
  generateKeyPair,
  hashForKey,
  messageSignatureBundle,
  publicKeyPem,
  parseTrustMaterial,
  sha256,
  signData,
  signEnvelope,
  makeStatement,
  toBase64,
  utf8,
  verify,
  verifyPrehashed,
  verifyEcdsaPrehashed,
  ecPublicKeyFromSpki,
  INTOTO_PAYLOAD_TYPE,
  type KeyKind,
  type TrustMaterial,
  type Verdict,
} from '../dist/index.js';

const artifact = utf8('hello, signet\n');
const trustOf = (k: KeyObject, extra: Partial<{ notAfter: Date; revokedAt: Date }> = {}): TrustMaterial => {
  const [key] = parseTrustMaterial(utf8(publicKeyPem(k)), 'test key');
  if (key && (extra.notAfter || extra.revokedAt)) key.validity = extra;
  return { keys: key ? [key] : [] };
};
const failed = (v: Verdict): string | undefined => v.checks.find((c) => !c.ok)?.name;

const KINDS: KeyKind[] = ['ecdsa-p256', 'ecdsa-p384', 'ed25519', 'rsa-2048'];

for (const kind of KINDS) {
  test(`${kind}: raw cosign signature and v0.3 bundle verify; negatives name the failed check`, async () => {
    const { privateKey, publicKey } = await generateKeyPair(kind);
    const other = await generateKeyPair(kind);
    const sig = await signData(privateKey, artifact);
    const trust = trustOf(publicKey);

    const raw = await verify({ artifact: { bytes: artifact }, signature: toBase64(sig), trust });
    assert.equal(raw.ok, true, JSON.stringify(raw.checks));
    assert.equal(raw.kind, 'cosign');
    assert.match(raw.signer?.keyId ?? '', /^sha256:[0-9a-f]{64}$/);

    const alg = hashForKey(publicKey) ?? 'sha256';
    const digest = new Uint8Array(createHash(alg).update(artifact).digest());
    const bundle = JSON.stringify(messageSignatureBundle({ key: { hint: 'x' }, digest: { algorithm: alg, value: digest }, signature: sig }));
    const ok = await verify({ artifact: { bytes: artifact }, signature: bundle, trust });
    assert.equal(ok.ok, true, JSON.stringify(ok.checks));
    assert.equal(ok.kind, 'sigstore-bundle');

    const tampered = utf8('hello, signet!\n');
    assert.equal(failed(await verify({ artifact: { bytes: tampered }, signature: bundle, trust })), 'artifact');
    assert.equal(failed(await verify({ artifact: { bytes: tampered }, signature: toBase64(sig), trust })), 'signature');

    const badSig = Uint8Array.from(sig);
    badSig[badSig.length - 3]! ^= 0x01;
    assert.equal(failed(await verify({ artifact: { bytes: artifact }, signature: toBase64(badSig), trust })), 'signature');

    const wrongKey = await verify({ artifact: { bytes: artifact }, signature: bundle, trust: trustOf(other.publicKey) });
    assert.equal(wrongKey.ok, false);
    assert.equal(failed(wrongKey), 'signature');

    assert.equal(failed(await verify({ artifact: { bytes: artifact }, signature: bundle.slice(0, 60) + '"}', trust, kind: 'sigstore-bundle' })), 'format');
    assert.equal(failed(await verify({ artifact: { bytes: artifact }, signature: bundle, trust: trustOf(publicKey, { notAfter: new Date(Date.now() - 1000) }) })), 'key-validity');
    assert.equal(failed(await verify({ artifact: { bytes: artifact }, signature: bundle, trust: trustOf(publicKey, { revokedAt: new Date(Date.now() - 1000) }) })), 'key-validity');

    // Digest-only verification (a verifier holding "sha256:<hex>").
    const byDigest = await verify({ artifact: { digest: { algorithm: alg, value: digest } }, signature: bundle, trust });
    if (kind === 'ed25519') assert.equal(failed(byDigest), 'artifact');
    else assert.equal(byDigest.ok, true, JSON.stringify(byDigest.checks));
  });
}

test('garbage and empty signatures are refused with a typed error', async () => {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  await assert.rejects(verify({ artifact: { bytes: artifact }, signature: new Uint8Array([1, 2, 3, 0, 9]), trust: trustOf(publicKey) }), (e: unknown) => e instanceof SignetError && e.code === 'UNSUPPORTED_FORMAT');
  await assert.rejects(verify({ artifact: { bytes: artifact }, signature: '', trust: trustOf(publicKey) }), SignetError);
  const v = await verify({ artifact: { bytes: artifact }, signature: '{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}', trust: trustOf(publicKey) });
  assert.equal(failed(v), 'format');
});

test('no usable key in the trust material fails the key check', async () => {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const sig = await signData(privateKey, artifact);
  const v = await verify({ artifact: { bytes: artifact }, signature: toBase64(sig), trust: { keys: [] } });
  assert.equal(failed(v), 'key');
});

test('DSSE attestations: subject, predicate type, several signatures', async () => {
  const a = await generateKeyPair('ecdsa-p256');
  const b = await generateKeyPair('ed25519');
  const st = makeStatement({ subjects: [{ name: 'file.txt', digest: { sha256: sha256(artifact) } }], predicateType: 'https://slsa.dev/provenance/v1', predicate: { x: 1 } });
  let env = await signEnvelope(INTOTO_PAYLOAD_TYPE, utf8(JSON.stringify(st)), a.privateKey);
  const envB = await signEnvelope(INTOTO_PAYLOAD_TYPE, utf8(JSON.stringify(st)), b.privateKey);
  env = { ...env, signatures: [...env.signatures, ...envB.signatures] };
  const bundle = JSON.stringify(dsseBundle({ key: { hint: '' }, envelope: env }));

  for (const k of [a.publicKey, b.publicKey]) {
    const v = await verify({ artifact: { bytes: artifact }, signature: bundle, trust: trustOf(k), policy: { predicateType: 'https://slsa.dev/provenance/v1' } });
    assert.equal(v.ok, true, JSON.stringify(v.checks));
    assert.deepEqual((v.statement as { predicateType: string }).predicateType, 'https://slsa.dev/provenance/v1');
  }
  const bare = await verify({ artifact: { bytes: artifact }, signature: JSON.stringify(env), trust: trustOf(a.publicKey) });
  assert.equal(bare.ok, true);
  assert.equal(bare.kind, 'dsse');

  assert.equal(failed(await verify({ artifact: { bytes: utf8('other') }, signature: bundle, trust: trustOf(a.publicKey) })), 'subject');
  assert.equal(failed(await verify({ artifact: { bytes: artifact }, signature: bundle, trust: trustOf(a.publicKey), policy: { predicateType: 'https://spdx.dev/Document' } })), 'predicate-type');
  const c = await generateKeyPair('ecdsa-p256');
  assert.equal(failed(await verify({ artifact: { bytes: artifact }, signature: bundle, trust: trustOf(c.publicKey) })), 'signature');

  // Changing the payload breaks every signature.
  const forged = { ...env, payload: toBase64(utf8(JSON.stringify({ ...st, predicateType: 'https://evil' }))) };
  assert.equal(failed(await verify({ artifact: { bytes: artifact }, signature: JSON.stringify(forged), trust: trustOf(a.publicKey) })), 'signature');
});

test('prehashed ECDSA and RSA verification agrees with node:crypto', () => {
  for (const [curve, hash] of [['P-256', 'sha256'], ['P-384', 'sha384'], ['P-521', 'sha512']] as const) {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve });
    const other = generateKeyPairSync('ec', { namedCurve: curve }).publicKey;
    // Many random signatures: each exercises the modular inversions (Lehmer's algorithm) on fresh values.
    for (let i = 0; i < (curve === 'P-256' ? 200 : 40); i++) {
      const data = utf8(`message ${i} ${Math.random()}`);
      const sig = new Uint8Array(signDataSync(hash, data, privateKey));
      const d = createHash(hash).update(data).digest();
      assert.equal(verifyPrehashed(publicKey, hash, d, sig), true);
      assert.equal(verifyPrehashed(other, hash, d, sig), false, 'wrong key');
      const tampered = sig.slice();
      tampered[tampered.length - 1]! ^= 1;
      assert.equal(verifyPrehashed(publicKey, hash, d, tampered), false, 'tampered s');
      d[0]! ^= 1;
      assert.equal(verifyPrehashed(publicKey, hash, d, sig), false);
    }
  }
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const sig = signDataSync('sha256', artifact, rsa.privateKey);
  assert.equal(verifyPrehashed(rsa.publicKey, 'sha256', sha256(artifact), sig), true);
  assert.equal(verifyPrehashed(rsa.publicKey, 'sha256', sha256(utf8('x')), sig), false);
  // Malformed DER never throws.
  assert.equal(verifyPrehashed(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey, 'sha256', sha256(artifact), new Uint8Array([0x30, 0x81, 0x02])), false);
});

test('an ECDSA key read straight from its SPKI DER: the same point as OpenSSL\'s, the same verdicts; other forms are left to KeyObjects', () => {
  for (const [curve, hash, name] of [['P-256', 'sha256', 'prime256v1'], ['P-384', 'sha384', 'secp384r1'], ['P-521', 'sha512', 'secp521r1']] as const) {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: curve });
    const spki = new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
    const ec = ecPublicKeyFromSpki(spki);
    const jwk = publicKey.export({ format: 'jwk' });
    assert.ok(ec, curve);
    assert.equal(ec.curve, name);
    assert.equal(ec.x, BigInt(`0x${Buffer.from(jwk.x as string, 'base64url').toString('hex')}`));
    assert.equal(ec.y, BigInt(`0x${Buffer.from(jwk.y as string, 'base64url').toString('hex')}`));
    for (let i = 0; i < 20; i++) {
      const data = utf8(`spki message ${i}`);
      const sig = signDataSync(hash, data, privateKey);
      const d = createHash(hash).update(data).digest();
      assert.equal(verifyEcdsaPrehashed(ec, d, sig), true);
      d[5]! ^= 0x10;
      assert.equal(verifyEcdsaPrehashed(ec, d, sig), false, 'other digest');
    }
    // A point moved off the curve (one bit of y), a truncated key, one byte too many: not read.
    const off = spki.slice();
    off[off.length - 1]! ^= 1;
    assert.equal(ecPublicKeyFromSpki(off), undefined, `${curve} off-curve`);
    assert.equal(ecPublicKeyFromSpki(spki.subarray(0, spki.length - 1)), undefined);
    assert.equal(ecPublicKeyFromSpki(Buffer.concat([spki, Buffer.from([0])])), undefined);
  }
  const P256 = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d03010703420004', 'hex');
  const hex32 = (v: bigint): Buffer => Buffer.from(v.toString(16).padStart(64, '0'), 'hex');
  // A compressed point (SEC 1 §2.3.3) is a valid key, but not the form read here.
  const k = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
  const ky = Buffer.from(k.y as string, 'base64url');
  const compressed = Buffer.concat([Buffer.from('3039301306072a8648ce3d020106082a8648ce3d030107032200', 'hex'), Buffer.from([2 + (ky[31]! & 1)]), Buffer.from(k.x as string, 'base64url')]);
  assert.equal(createPublicKey({ key: compressed, format: 'der', type: 'spki' }).asymmetricKeyType, 'ec');
  assert.equal(ecPublicKeyFromSpki(compressed), undefined, 'compressed');
  // Coordinates must be below p (SEC 1 §3.2.2.1), even when y² = x³ + ax + b holds modulo p: take the curve
  // point with the smallest x, whose x + p still fits in 32 bytes.
  const p = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
  const b = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn;
  const pow = (a: bigint, e: bigint): bigint => {
    let r = 1n;
    for (a %= p; e > 0n; e >>= 1n, a = (a * a) % p) if (e & 1n) r = (r * a) % p;
    return r;
  };
  let x = 0n;
  let y = 0n;
  for (; ; x++) {
    const rhs = (((x * x * x - 3n * x + b) % p) + p) % p;
    y = pow(rhs, (p + 1n) / 4n); // p ≡ 3 (mod 4)
    if ((y * y) % p === rhs) break;
  }
  assert.ok(ecPublicKeyFromSpki(Buffer.concat([P256, hex32(x), hex32(y)])), `(${x}, y) is on the curve`);
  assert.equal(ecPublicKeyFromSpki(Buffer.concat([P256, hex32(x + p), hex32(y)])), undefined, 'x + p');
  assert.ok(ecPublicKeyFromSpki(Buffer.concat([P256, hex32(x), hex32(p - y)])), 'its negation');
  assert.equal(ecPublicKeyFromSpki(Buffer.concat([P256, hex32(x), hex32(y + 1n)])), undefined, 'y + 1');
  assert.equal(ecPublicKeyFromSpki(new Uint8Array(generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'der' }))), undefined);
  assert.equal(ecPublicKeyFromSpki(new Uint8Array(generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'der' }))), undefined);
  assert.equal(ecPublicKeyFromSpki(new Uint8Array(0)), undefined);
});

import { sign as nodeSign } from 'node:crypto';
function signDataSync(hash: string, data: Uint8Array, key: KeyObject): Uint8Array {
  return new Uint8Array(nodeSign(hash, data, key));
}

test('a truncated SSH / minisign / signify signature is a failed format check, not an exception', async () => {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const trust = trustOf(publicKey);
  const ssh = '-----BEGIN SSH SIGNATURE-----\nU1NIU0lHAAAAAQAAADMAAAALc3No\n-----END SSH SIGNATURE-----\n';
  assert.equal(failed(await verify({ artifact: { bytes: artifact }, signature: ssh, trust })), 'format');
  const mini = 'untrusted comment: x\nRUQAAAAAAAAAAA==\ntrusted comment: y\nAAAA\n';
  const v = await verify({ artifact: { bytes: artifact }, signature: mini, trust, kind: 'minisign' });
  assert.equal(v.ok, false);
  assert.equal(failed(v), 'format');
});

test('a base64 cosign signature whose text starts with "0" is read as base64, not as raw DER', async () => {
  const { privateKey, publicKey } = await generateKeyPair('ed25519');
  const trust = trustOf(publicKey);
  let tried = 0;
  for (let i = 0; i < 2000 && tried < 3; i++) {
    const data = utf8(`message ${i}`);
    const b64 = toBase64(await signData(privateKey, data));
    if (!b64.startsWith('0')) continue;
    tried++;
    const v = await verify({ artifact: { bytes: data }, signature: b64, trust });
    assert.equal(v.ok, true, JSON.stringify(v.checks));
  }
  assert.ok(tried > 0);
});
