import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
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
