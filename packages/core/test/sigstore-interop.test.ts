// Bundles that Signet writes must verify in sigstore-js (@sigstore/verify 3.1.x, the newest line on Node 20)
// with a trust root that holds the key, selected by the bundle's public key hint, and thresholds 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, type KeyObject } from 'node:crypto';
import { Verifier, toSignedEntity, toTrustMaterial } from '@sigstore/verify';
import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import {
  INTOTO_PAYLOAD_TYPE,
  dsseBundle,
  fromHex,
  generateKeyPair,
  hashForKey,
  makeStatement,
  messageSignatureBundle,
  sha256,
  signData,
  signEnvelope,
  spkiFingerprint,
  toBase64,
  utf8,
  type KeyKind,
} from '../dist/index.js';

const EMPTY_ROOT = TrustedRoot.fromJSON({
  mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
  tlogs: [],
  certificateAuthorities: [],
  ctlogs: [],
  timestampAuthorities: [],
});

/** A trust root holding the key under the bundle's hint, as sigstore-js's toTrustMaterial takes keys. */
function sigstoreVerifier(hint: string, publicKey: KeyObject): Verifier {
  const keyDetails = { ec: 'PKIX_ECDSA_P256_SHA_256', rsa: 'PKIX_RSA_PKCS1V15_2048_SHA256', ed25519: 'PKIX_ED25519' }[publicKey.asymmetricKeyType as string];
  const trust = toTrustMaterial(EMPTY_ROOT, {
    [hint]: { rawBytes: publicKey.export({ type: 'spki', format: 'der' }), keyDetails: keyDetails as never, validFor: { start: new Date(0) } },
  });
  return new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 });
}

const artifact = utf8('artifact bytes for sigstore-js\n');

// Ed25519 is left out of the message-signature case: @sigstore/verify 3.1.1 passes the bundle's digest name to
// crypto.verify, which Node refuses for Ed25519 keys, so no Ed25519 message-signature bundle verifies there.
for (const kind of ['ecdsa-p256', 'ecdsa-p384', 'rsa-2048', 'rsa-4096'] as KeyKind[]) {
  test(`${kind}: signet message-signature bundle verifies in @sigstore/verify; a tampered artifact does not`, async () => {
    const { privateKey, publicKey } = await generateKeyPair(kind);
    const hint = toBase64(fromHex(spkiFingerprint(publicKey)));
    const sig = await signData(privateKey, artifact);
    const alg = hashForKey(publicKey) ?? 'sha256';
    const json = messageSignatureBundle({ key: { hint }, digest: { algorithm: alg, value: new Uint8Array(createHash(alg).update(artifact).digest()) }, signature: sig });
    const v = sigstoreVerifier(hint, publicKey);
    v.verify(toSignedEntity(bundleFromJSON(json), Buffer.from(artifact)));
    assert.throws(() => v.verify(toSignedEntity(bundleFromJSON(json), Buffer.from('tampered'))));
  });
}

for (const kind of ['ecdsa-p256', 'ed25519'] as KeyKind[]) test(`${kind}: signet DSSE bundle (in-toto statement) verifies in @sigstore/verify; a forged payload does not`, async () => {
  const { privateKey, publicKey } = await generateKeyPair(kind);
  const hint = toBase64(fromHex(spkiFingerprint(publicKey)));
  const st = makeStatement({ subjects: [{ name: 'a.txt', digest: { sha256: sha256(artifact) } }], predicateType: 'https://slsa.dev/provenance/v1', predicate: {} });
  const envelope = await signEnvelope(INTOTO_PAYLOAD_TYPE, utf8(JSON.stringify(st)), privateKey);
  const json = dsseBundle({ key: { hint }, envelope });
  const v = sigstoreVerifier(hint, publicKey);
  v.verify(toSignedEntity(bundleFromJSON(json)));
  const forged = { ...json, dsseEnvelope: { ...envelope, payload: toBase64(utf8(JSON.stringify({ ...st, predicate: { evil: true } }))) } };
  assert.throws(() => v.verify(toSignedEntity(bundleFromJSON(forged))));
});
