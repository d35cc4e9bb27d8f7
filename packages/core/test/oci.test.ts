// OCI/cosign formats in core: the simple-signing payload, legacy layer annotations, manifest builders (shapes of
// reference §1.2–1.4), and verification of legacy `.sig`/`.att` layers and v3 bundles against keys, with the
// negatives a verifier must catch: tampered payload, another image's digest, another repository, the wrong key,
// garbage annotations, a statement about something else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  ANNOTATION_BUNDLE,
  ANNOTATION_RFC3161,
  ANNOTATION_SIGNATURE,
  COSIGN_SIGN_PREDICATE_TYPE,
  OCI_EMPTY_DIGEST,
  SIGSTORE_BUNDLE_V03_MEDIA_TYPE,
  SIMPLE_SIGNING_MEDIA_TYPE,
  addToReferrersIndex,
  appendLegacyLayer,
  bundleReferrerManifest,
  buildSimpleSigningPayload,
  checkImageStatement,
  descriptorFor,
  EMPTY_JSON,
  legacyManifest,
  legacyTag,
  parseDigest,
  parseManifest,
  parseSimpleSigningPayload,
  readCosignAnnotations,
  referrersTag,
  rekorBundleFromTlogEntry,
  tlogEntryFromRekorBundle,
  verifyImageBundle,
  verifyLegacyAttestation,
  verifyLegacySignature,
  writeCosignAnnotations,
} from '../dist/oci/index.js';
import { generateKeyPair, signData, spkiFingerprint, publicKeyPem } from '../dist/keys/index.js';
import { fromUtf8, toBase64, utf8 } from '../dist/encoding/index.js';
import { signEnvelope, INTOTO_PAYLOAD_TYPE } from '../dist/dsse/index.js';
import { dsseBundle, messageSignatureBundle } from '../dist/bundle/index.js';
import { parseTrustMaterial } from '../dist/verify/trust.js';
import { SignetError } from '../dist/errors.js';
import type { Verdict } from '../dist/verify/types.js';

const hex = (s: string): string => createHash('sha256').update(s).digest('hex');
const IMAGE = `sha256:${hex('image manifest')}`;
const OTHER = `sha256:${hex('another image')}`;
const REPO = '127.0.0.1:5000/test/hello';

const failed = (v: Verdict): string | undefined => v.checks.find((c) => !c.ok)?.name;

async function keys() {
  const kp = await generateKeyPair('ecdsa-p256');
  const other = await generateKeyPair('ecdsa-p256');
  return { kp, trust: { keys: parseTrustMaterial(utf8(publicKeyPem(kp.publicKey))) }, wrong: { keys: parseTrustMaterial(utf8(publicKeyPem(other.publicKey))) } };
}

test('simple-signing payload: cosign bytes, strict parse', () => {
  const p = buildSimpleSigningPayload({ dockerReference: REPO, manifestDigest: IMAGE });
  assert.equal(
    fromUtf8(p),
    `{"critical":{"identity":{"docker-reference":"${REPO}"},"image":{"docker-manifest-digest":"${IMAGE}"},"type":"cosign container image signature"},"optional":null}`,
  );
  const withOpt = buildSimpleSigningPayload({ dockerReference: REPO, manifestDigest: IMAGE, optional: { z: '1', a: '2' } });
  assert.match(fromUtf8(withOpt), /"optional":\{"a":"2","z":"1"\}\}$/);
  assert.deepEqual(parseSimpleSigningPayload(withOpt), { dockerReference: REPO, manifestDigest: IMAGE, optional: { a: '2', z: '1' } });
  assert.deepEqual(parseSimpleSigningPayload(p).optional, null);
  const critical = { identity: { 'docker-reference': REPO }, image: { 'docker-manifest-digest': IMAGE }, type: 'cosign container image signature' };
  for (const [bad, re] of [
    ['not json', /not valid JSON/],
    ['[]', /must be a JSON object/],
    [JSON.stringify({ optional: null }), /critical must be a JSON object/],
    [JSON.stringify({ critical: { ...critical, extra: 1 }, optional: null }), /unexpected field "extra"/],
    [JSON.stringify({ critical: { ...critical, type: 'atomic container signature' }, optional: null }), /critical\.type/],
    [JSON.stringify({ critical: { ...critical, image: { 'docker-manifest-digest': 'sha256:abc' } }, optional: null }), /not a digest/],
    [JSON.stringify({ critical: { ...critical, identity: { 'docker-reference': '' } }, optional: null }), /docker-reference must be a non-empty string/],
    [JSON.stringify({ critical, optional: [] }), /optional must be a JSON object/],
    [JSON.stringify({ critical, optional: null, more: true }), /unexpected top-level field "more"/],
  ] as const) {
    assert.throws(() => parseSimpleSigningPayload(utf8(bad)), (e: unknown) => e instanceof SignetError && e.code === 'MALFORMED_INPUT' && re.test(e.message), bad);
  }
  assert.throws(() => buildSimpleSigningPayload({ dockerReference: REPO, manifestDigest: 'latest' }), SignetError);
});

test('legacy annotations: write and read back, the Rekor bundle both ways, garbage refused', () => {
  const rb = { signedEntryTimestamp: utf8('set'), body: utf8('{"apiVersion":"0.0.1","kind":"hashedrekord"}'), integratedTime: 1700000000, logIndex: 42, logId: new Uint8Array(32).fill(7) };
  const ann = writeCosignAnnotations({ signature: toBase64(utf8('sig')), certificate: undefined, rekorBundle: rb, rfc3161Timestamp: utf8('tsr') });
  assert.deepEqual(JSON.parse(ann[ANNOTATION_BUNDLE]!), {
    SignedEntryTimestamp: toBase64(utf8('set')),
    Payload: { body: toBase64(rb.body), integratedTime: 1700000000, logIndex: 42, logID: '07'.repeat(32) },
  });
  assert.deepEqual(JSON.parse(ann[ANNOTATION_RFC3161]!), { SignedRFC3161Timestamp: toBase64(utf8('tsr')) });
  const back = readCosignAnnotations(ann);
  assert.deepEqual(back.rekorBundle, rb);
  assert.deepEqual(back.rfc3161Timestamp, utf8('tsr'));
  const entry = tlogEntryFromRekorBundle(rb);
  assert.deepEqual(entry['kindVersion'], { kind: 'hashedrekord', version: '0.0.1' });
  assert.deepEqual(rekorBundleFromTlogEntry(entry), rb);

  for (const [bad, re] of [
    [undefined, /no annotations object/],
    ['x', /no annotations object/],
    [{}, /signature is missing/],
    [{ [ANNOTATION_SIGNATURE]: 5 }, /must be a string/],
    [{ [ANNOTATION_SIGNATURE]: '!!!' }, /not valid base64/],
    [{ [ANNOTATION_SIGNATURE]: 'c2ln', 'dev.sigstore.cosign/certificate': 'not pem' }, /certificate/],
    [{ [ANNOTATION_SIGNATURE]: 'c2ln', [ANNOTATION_BUNDLE]: '{' }, /not JSON/],
    [{ [ANNOTATION_SIGNATURE]: 'c2ln', [ANNOTATION_BUNDLE]: '{"SignedEntryTimestamp":"c2V0","Payload":{"body":"Ym9keQ==","integratedTime":-1,"logIndex":1,"logID":"00"}}' }, /integratedTime/],
    [{ [ANNOTATION_SIGNATURE]: 'c2ln', [ANNOTATION_RFC3161]: '{"x":1}' }, /SignedRFC3161Timestamp/],
  ] as const) {
    assert.throws(() => readCosignAnnotations(bad), (e: unknown) => e instanceof SignetError && e.code === 'MALFORMED_INPUT' && re.test(e.message), JSON.stringify(bad));
  }
});

test('manifest builders: the @sigstore/oci referrer shape, legacy images, referrers index, tags', () => {
  const bundleBytes = utf8('{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}');
  const subject = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: IMAGE, size: 345 };
  const r = bundleReferrerManifest({
    bundle: descriptorFor(bundleBytes, SIGSTORE_BUNDLE_V03_MEDIA_TYPE),
    subject,
    predicateType: COSIGN_SIGN_PREDICATE_TYPE,
    created: '2026-01-01T00:00:00.000Z',
  });
  assert.deepEqual(Object.keys(JSON.parse(fromUtf8(r.bytes))), ['schemaVersion', 'mediaType', 'artifactType', 'config', 'layers', 'subject', 'annotations']);
  assert.deepEqual(JSON.parse(fromUtf8(r.bytes)), {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: OCI_EMPTY_DIGEST, size: 2 },
    layers: [{ mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json', digest: descriptorFor(bundleBytes, 'x').digest, size: bundleBytes.length }],
    subject,
    annotations: {
      'org.opencontainers.image.created': '2026-01-01T00:00:00.000Z',
      'dev.sigstore.bundle.content': 'dsse-envelope',
      'dev.sigstore.bundle.predicateType': COSIGN_SIGN_PREDICATE_TYPE,
    },
  });
  assert.equal(descriptorFor(EMPTY_JSON, 'x').digest, OCI_EMPTY_DIGEST);
  assert.equal(r.descriptor.digest, `sha256:${createHash('sha256').update(r.bytes).digest('hex')}`);
  assert.deepEqual(parseManifest(r.bytes).subject, subject);

  const payload = buildSimpleSigningPayload({ dockerReference: REPO, manifestDigest: IMAGE });
  const layer = { ...descriptorFor(payload, SIMPLE_SIGNING_MEDIA_TYPE), annotations: { [ANNOTATION_SIGNATURE]: 'c2ln' } };
  const l = legacyManifest([layer]);
  const m = JSON.parse(fromUtf8(l.bytes));
  assert.equal(m.config.mediaType, 'application/vnd.oci.image.config.v1+json');
  assert.equal(m.config.digest, l.config.descriptor.digest);
  assert.deepEqual(JSON.parse(fromUtf8(l.config.bytes)).rootfs, { type: 'layers', diff_ids: [layer.digest] });
  assert.deepEqual(m.layers, [{ mediaType: SIMPLE_SIGNING_MEDIA_TYPE, size: layer.size, digest: layer.digest, annotations: layer.annotations }]);
  assert.equal(appendLegacyLayer([layer], { ...layer }).added, false);
  assert.equal(appendLegacyLayer([layer], { ...layer, annotations: { [ANNOTATION_SIGNATURE]: 'b3RoZXI=' } }).layers.length, 2);

  const idx = addToReferrersIndex(undefined, { manifest: r.manifest, descriptor: r.descriptor });
  const again = addToReferrersIndex(parseManifest(idx.bytes), { manifest: r.manifest, descriptor: r.descriptor });
  const entries = JSON.parse(fromUtf8(again.bytes)).manifests;
  assert.equal(entries.length, 1);
  assert.equal(entries[0].artifactType, SIGSTORE_BUNDLE_V03_MEDIA_TYPE);
  assert.equal(entries[0].annotations['dev.sigstore.bundle.predicateType'], COSIGN_SIGN_PREDICATE_TYPE);

  assert.equal(legacyTag(IMAGE, 'sig'), `sha256-${IMAGE.slice(7)}.sig`);
  assert.equal(referrersTag(IMAGE), `sha256-${IMAGE.slice(7)}`);
  assert.equal(referrersTag(`sha512:${'a'.repeat(128)}`), `sha512-${'a'.repeat(64)}`);
  assert.throws(() => parseDigest('sha256:ABC'), SignetError);
  for (const bad of ['{', '{"schemaVersion":1}', '{"schemaVersion":2}', '{"schemaVersion":2,"config":{"mediaType":"x","digest":"sha256:12","size":1}}', '{"schemaVersion":2,"config":{"mediaType":"x","digest":"' + IMAGE + '","size":-1}}']) {
    assert.throws(() => parseManifest(utf8(bad)), (e: unknown) => e instanceof SignetError && e.code === 'MALFORMED_INPUT', bad);
  }
});

test('legacy .sig layers: key verification and the claims checks', async () => {
  const { kp, trust, wrong } = await keys();
  const payload = buildSimpleSigningPayload({ dockerReference: REPO, manifestDigest: IMAGE, optional: { env: 'prod' } });
  const annotations = writeCosignAnnotations({ signature: toBase64(await signData(kp.privateKey, payload)) });
  const ok = await verifyLegacySignature({ payload, annotations }, { digest: IMAGE, repository: REPO }, trust);
  assert.equal(ok.ok, true, JSON.stringify(ok.checks));
  assert.deepEqual(ok.checks.map((c) => c.name), ['format', 'key', 'signature', 'image-digest', 'docker-reference']);
  assert.equal(ok.signer?.keyId, `sha256:${spkiFingerprint(kp.publicKey)}`);
  // Several accepted repositories (a copied image keeps the name it was signed under).
  assert.equal((await verifyLegacySignature({ payload, annotations }, { digest: IMAGE, repository: ['x/y', REPO] }, trust)).ok, true);

  const tampered = buildSimpleSigningPayload({ dockerReference: REPO, manifestDigest: OTHER, optional: { env: 'prod' } });
  assert.equal(failed(await verifyLegacySignature({ payload: tampered, annotations }, { digest: OTHER, repository: REPO }, trust)), 'signature');
  const wrongDigest = await verifyLegacySignature({ payload, annotations }, { digest: OTHER, repository: REPO }, trust);
  assert.equal(failed(wrongDigest), 'image-digest');
  assert.match(wrongDigest.checks.find((c) => !c.ok)!.detail, /not the image digest/);
  assert.equal(failed(await verifyLegacySignature({ payload, annotations }, { digest: IMAGE, repository: '127.0.0.1:5000/test/other' }, trust)), 'docker-reference');
  assert.equal(failed(await verifyLegacySignature({ payload, annotations }, { digest: IMAGE, repository: REPO }, wrong)), 'signature');
  for (const bad of [undefined, {}, { [ANNOTATION_SIGNATURE]: 'not base64!' }, { ...annotations, [ANNOTATION_BUNDLE]: 'garbage' }]) {
    const v = await verifyLegacySignature({ payload, annotations: bad }, { digest: IMAGE, repository: REPO }, trust);
    assert.equal(v.ok, false);
    assert.equal(failed(v), 'format');
  }
  assert.equal(failed(await verifyLegacySignature({ payload: utf8('{"critical":{}}'), annotations }, { digest: IMAGE, repository: REPO }, trust)), 'format');
  // Keyless trust on a key-signed layer: no certificate, says so.
  const root = { mediaType: '', tlogs: [], certificateAuthorities: [], ctlogs: [], timestampAuthorities: [] } as never;
  const kl = await verifyLegacySignature({ payload, annotations }, { digest: IMAGE, repository: REPO }, { trustedRoot: root, identity: { subjectAlternativeName: 'a', issuer: 'b' } });
  assert.equal(failed(kl), 'certificate');
});

test('legacy .att layers and v3 bundles: subject digest, predicate type, key', async () => {
  const { kp, trust, wrong } = await keys();
  const statement = (digest: string, predicateType: string) =>
    utf8(JSON.stringify({ _type: 'https://in-toto.io/Statement/v1', subject: [{ digest: { sha256: digest.slice(7) } }], predicateType, predicate: {} }));
  const env = await signEnvelope(INTOTO_PAYLOAD_TYPE, statement(IMAGE, 'https://slsa.dev/provenance/v1'), kp.privateKey);
  const layer = { envelope: utf8(JSON.stringify(env)), annotations: writeCosignAnnotations({ signature: '', predicateType: 'https://slsa.dev/provenance/v1' }) };
  const ok = await verifyLegacyAttestation(layer, { digest: IMAGE }, trust, { predicateType: 'https://slsa.dev/provenance/v1' });
  assert.equal(ok.ok, true, JSON.stringify(ok.checks));
  assert.equal((ok.statement as { predicateType: string }).predicateType, 'https://slsa.dev/provenance/v1');
  assert.equal(failed(await verifyLegacyAttestation(layer, { digest: OTHER }, trust)), 'subject');
  assert.equal(failed(await verifyLegacyAttestation(layer, { digest: IMAGE }, trust, { predicateType: 'https://spdx.dev/Document' })), 'predicate-type');
  assert.equal(failed(await verifyLegacyAttestation(layer, { digest: IMAGE }, wrong)), 'signature');
  assert.equal(failed(await verifyLegacyAttestation({ ...layer, envelope: utf8('garbage') }, { digest: IMAGE }, trust)), 'format');

  const hint = { hint: toBase64(Buffer.from(spkiFingerprint(kp.publicKey), 'hex')) };
  const sigEnv = await signEnvelope(INTOTO_PAYLOAD_TYPE, statement(IMAGE, COSIGN_SIGN_PREDICATE_TYPE), kp.privateKey);
  const bundle = JSON.stringify(dsseBundle({ key: hint, envelope: sigEnv }));
  const good = await verifyImageBundle(bundle, { digest: IMAGE }, trust, { purpose: 'signature' });
  assert.equal(good.ok, true, JSON.stringify(good.checks));
  assert.deepEqual(checkImageStatement(good.statement as never, IMAGE, 'signature').map((c) => c.ok), [true, true]);
  assert.equal(failed(await verifyImageBundle(bundle, { digest: OTHER }, trust, { purpose: 'signature' })), 'subject');
  assert.equal(failed(await verifyImageBundle(bundle, { digest: IMAGE }, wrong, { purpose: 'signature' })), 'signature');
  // An attestation is not a signature.
  const attBundle = JSON.stringify(dsseBundle({ key: hint, envelope: env }));
  assert.equal(failed(await verifyImageBundle(attBundle, { digest: IMAGE }, trust, { purpose: 'signature' })), 'predicate-type');
  assert.equal((await verifyImageBundle(attBundle, { digest: IMAGE }, trust, { purpose: 'attestation' })).ok, true);
  // A message-signature bundle and garbage are refused as format problems.
  const msg = JSON.stringify(messageSignatureBundle({ key: hint, digest: { algorithm: 'sha256', value: Buffer.from(IMAGE.slice(7), 'hex') }, signature: await signData(kp.privateKey, utf8('x')) }));
  assert.equal(failed(await verifyImageBundle(msg, { digest: IMAGE }, trust, { purpose: 'signature' })), 'format');
  assert.equal(failed(await verifyImageBundle('{"mediaType":5}', { digest: IMAGE }, trust, { purpose: 'signature' })), 'format');
  assert.equal(failed(await verifyImageBundle(utf8('not json'), { digest: IMAGE }, trust, { purpose: 'signature' })), 'format');
});
