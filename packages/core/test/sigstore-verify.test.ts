// Negative tests for the Sigstore bundle verifier: passing conformance bundles mutated one thing at a time
// (each must fail, naming the failing check), a synthetic keyless stack for what cannot be mutated in a real
// certificate (an SCT byte), trusted-root parsing, and misuse.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sharedDir } from '@signet/testkit';
import { parseTrustedRoot, verifySigstoreBundle, type SigstoreVerifyOptions, type TrustedRoot } from '../dist/sigstore/index.js';
import { generateKeyPair, spkiDer, signData, spkiFingerprint } from '../dist/keys/index.js';
import { canonicalize, toBase64, toHex, toPem, utf8 } from '../dist/encoding/index.js';
import { ecdsaNoteSigner, signCheckpoint } from '../dist/checkpoint/index.js';
import { leafHash } from '../dist/merkle/index.js';
import {
  authorityKeyIdentifier,
  basicConstraints,
  buildCertificate,
  ctLogId,
  ctPoison,
  extKeyUsage,
  fulcioExtensions,
  keyUsage,
  precertTbsFromCertificate,
  randomSerial,
  sctListExtension,
  serializeSctList,
  signPrecertSct,
  subjectAltName,
  subjectKeyIdentifier,
  type Extension,
  type Name,
} from '../dist/x509/index.js';
import { SignetError } from '../dist/errors.js';
import { parseBundle } from '../dist/bundle/index.js';
import { parseTrustMaterial } from '../dist/verify/trust.js';
import type { Artifact, Verdict } from '../dist/verify/types.js';

const IDENTITY =
  'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main';
const ISSUER = 'https://token.actions.githubusercontent.com';
const base = join(sharedDir(), 'testdata', 'sigstore-conformance');
const cases = join(base, 'bundle-verify');
const productionJson = JSON.parse(readFileSync(join(base, 'production-trusted_root.json'), 'utf8')) as Record<string, unknown>;
const production = parseTrustedRoot(productionJson);
const aTxt = new Uint8Array(readFileSync(join(cases, 'a.txt')));

type Json = Record<string, any>;
const bundleJson = (name: string): Json => JSON.parse(readFileSync(join(cases, name, 'bundle.sigstore.json'), 'utf8')) as Json;
const rootOf = (name: string): TrustedRoot => parseTrustedRoot(readFileSync(join(cases, name, 'trusted_root.json'), 'utf8'));
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
const keyless: Omit<SigstoreVerifyOptions, 'trustedRoot'> = { identity: { subjectAlternativeName: IDENTITY, issuer: ISSUER } };

function flipB64(s: string, at = -3): string {
  const b = Buffer.from(s, 'base64');
  const i = at < 0 ? b.length + at : at;
  b[i] = b[i]! ^ 0x01;
  return b.toString('base64');
}

const failed = (v: Verdict): string[] => v.checks.filter((c) => !c.ok).map((c) => c.name);
function assertFails(v: Verdict, check: string, only = false): void {
  const f = failed(v);
  const dump = v.checks.map((c) => `${c.ok ? 'ok' : 'FAIL'} ${c.name}: ${c.detail}`).join('\n');
  assert.equal(v.ok, false, dump);
  assert.ok(f.includes(check), `expected check "${check}" to fail:\n${dump}`);
  if (only) assert.deepEqual(f, [check], dump);
  for (const c of v.checks.filter((x) => !x.ok)) assert.ok(c.detail.length > 15, `failing check ${c.name} says what is wrong`);
}

const HAPPY = 'happy-path-v0.3';
const verifyHappy = (b: unknown, artifact: Artifact = { bytes: aTxt }, opts: Partial<SigstoreVerifyOptions> = {}): Promise<Verdict> =>
  verifySigstoreBundle(b, artifact, { trustedRoot: production, ...keyless, ...opts });

test('baseline: the unmodified bundle verifies, from JSON, text and bytes, and names the signer', async () => {
  const json = bundleJson(HAPPY);
  for (const form of [json, JSON.stringify(json), utf8(JSON.stringify(json))]) {
    const v = await verifyHappy(form);
    assert.equal(v.ok, true, JSON.stringify(v.checks, null, 1));
    assert.deepEqual(
      v.checks.map((c) => c.name),
      ['format', 'tlog', 'timestamp', 'certificate', 'sct', 'artifact', 'key', 'signature', 'identity'],
    );
    assert.equal(v.signer?.identity, IDENTITY);
    assert.equal((v.signer as { issuer?: string }).issuer, ISSUER);
    assert.equal(v.signer?.timestamp, '2024-03-19T17:26:26.000Z');
  }
  const parsed = await verifyHappy(parseBundle(json));
  assert.equal(parsed.ok, true, 'an already parsed bundle is taken as is');
  const d = await verifyHappy(json, { digest: { algorithm: 'sha256', value: new Uint8Array(createHash('sha256').update(aTxt).digest()) } });
  assert.equal(d.ok, true, 'a sha256 digest of the artifact is enough');
});

test('tampered artifact fails "artifact" (and the log entry no longer matches)', async () => {
  const v = await verifyHappy(bundleJson(HAPPY), { bytes: utf8('not the artifact\n') });
  assertFails(v, 'artifact');
  assertFails(v, 'tlog');
  const d = await verifyHappy(bundleJson(HAPPY), { digest: { algorithm: 'sha512', value: new Uint8Array(64) } });
  assertFails(d, 'artifact');
});

test('tampered signature fails "signature"', async () => {
  const b = bundleJson(HAPPY);
  b['messageSignature'].signature = flipB64(b['messageSignature'].signature);
  const v = await verifyHappy(b);
  assertFails(v, 'signature');
});

test('wrong identity, wrong issuer and a prefix-only regexp fail "identity" alone; full regexps pass', async () => {
  const b = bundleJson(HAPPY);
  assertFails(await verifyHappy(b, undefined, { identity: { subjectAlternativeName: `${IDENTITY}x`, issuer: ISSUER } }), 'identity', true);
  assertFails(await verifyHappy(b, undefined, { identity: { subjectAlternativeName: IDENTITY, issuer: 'https://accounts.google.com' } }), 'identity', true);
  const prefix = { subjectAlternativeNameRegExp: 'https://github\\.com/sigstore-conformance/', issuer: ISSUER };
  assertFails(await verifyHappy(b, undefined, { identity: prefix }), 'identity', true);
  assertFails(await verifyHappy(b, undefined, { identity: { subjectAlternativeName: IDENTITY, issuerRegExp: 'https://token' } }), 'identity', true);
  const full = { subjectAlternativeNameRegExp: 'https://github\\.com/sigstore-conformance/.*', issuerRegExp: 'https://token\\.actions\\.githubusercontent\\.com' };
  assert.equal((await verifyHappy(b, undefined, { identity: full })).ok, true);
  const claims = { ...keyless.identity, claims: { sourceRepositoryUri: 'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon' } };
  assert.equal((await verifyHappy(b, undefined, { identity: claims })).ok, true);
  const wrongClaim = { ...keyless.identity, claims: { buildTrigger: 'pull_request' } };
  assertFails(await verifyHappy(b, undefined, { identity: wrongClaim }), 'identity', true);
});

test('no identity policy fails "identity" for a certificate bundle', async () => {
  const v = await verifySigstoreBundle(bundleJson(HAPPY), { bytes: aTxt }, { trustedRoot: production });
  assertFails(v, 'identity', true);
  assert.match(v.checks.find((c) => c.name === 'identity')!.detail, /keyless verification needs an identity constraint/);
});

test('a tlog body swapped for another entry\'s fails "tlog"', async () => {
  const b = bundleJson(HAPPY);
  b['verificationMaterial'].tlogEntries[0].canonicalizedBody = bundleJson('happy-path-v0.1')['verificationMaterial'].tlogEntries[0].canonicalizedBody;
  assertFails(await verifyHappy(b), 'tlog');
});

test('a flipped inclusion proof hash fails "tlog"', async () => {
  const b = bundleJson(HAPPY);
  const p = b['verificationMaterial'].tlogEntries[0].inclusionProof;
  p.hashes[3] = flipB64(p.hashes[3], 0);
  assertFails(await verifyHappy(b), 'tlog', true);
});

test('a tampered SET fails "tlog" (and leaves no verified timestamp)', async () => {
  const b = bundleJson(HAPPY);
  const e = b['verificationMaterial'].tlogEntries[0];
  e.inclusionPromise.signedEntryTimestamp = flipB64(e.inclusionPromise.signedEntryTimestamp);
  const v = await verifyHappy(b);
  assertFails(v, 'tlog');
  assertFails(v, 'timestamp');
});

test('a checkpoint signed by another key fails "tlog", even when that key is another trusted log', async () => {
  const b = bundleJson(HAPPY);
  const p = b['verificationMaterial'].tlogEntries[0].inclusionProof;
  const other = await generateKeyPair('ecdsa-p256');
  p.checkpoint.envelope = await signCheckpoint(
    { origin: 'rekor.sigstore.dev - 2605736670972794746', size: BigInt(p.treeSize), rootHash: new Uint8Array(Buffer.from(p.rootHash, 'base64')) },
    [ecdsaNoteSigner('rekor.sigstore.dev', other.privateKey)],
  );
  assertFails(await verifyHappy(b), 'tlog', true);
  // The other key is a log of the trusted root (same host, its own logId): the checkpoint still belongs to
  // another log than the entry's.
  const rootJson = clone(productionJson) as Json;
  const spki = spkiDer(other.publicKey);
  rootJson['tlogs'].push({
    baseUrl: 'https://rekor.sigstore.dev',
    hashAlgorithm: 'SHA2_256',
    publicKey: { rawBytes: toBase64(spki), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start: '2021-01-01T00:00:00Z' } },
    logId: { keyId: toBase64(new Uint8Array(createHash('sha256').update(spki).digest())) },
  });
  assertFails(await verifyHappy(b, undefined, { trustedRoot: parseTrustedRoot(rootJson) }), 'tlog', true);
});

test('a trusted root without the CA fails "certificate"', async () => {
  const rootJson = clone(productionJson) as Json;
  rootJson['certificateAuthorities'] = [];
  assertFails(await verifyHappy(bundleJson(HAPPY), undefined, { trustedRoot: parseTrustedRoot(rootJson) }), 'certificate', true);
});

test('thresholds: 2 timestamps or 2 log entries when the bundle has one fail; ctlogThreshold 0 skips SCTs', async () => {
  assertFails(await verifyHappy(bundleJson(HAPPY), undefined, { timestampThreshold: 2 }), 'timestamp', true);
  assertFails(await verifyHappy(bundleJson(HAPPY), undefined, { tlogThreshold: 2 }), 'tlog', true);
  const noCt = clone(productionJson) as Json;
  noCt['ctlogs'] = [];
  assertFails(await verifyHappy(bundleJson(HAPPY), undefined, { trustedRoot: parseTrustedRoot(noCt) }), 'sct', true);
  assert.equal((await verifyHappy(bundleJson(HAPPY), undefined, { trustedRoot: parseTrustedRoot(noCt), ctlogThreshold: 0 })).ok, true);
});

test('a duplicated log entry or RFC 3161 timestamp is refused', async () => {
  const b = bundleJson(HAPPY);
  b['verificationMaterial'].tlogEntries.push(clone(b['verificationMaterial'].tlogEntries[0]));
  assertFails(await verifyHappy(b), 'tlog', true);
  const r2 = bundleJson('rekor2-happy-path');
  const ts = r2['verificationMaterial'].timestampVerificationData.rfc3161Timestamps;
  ts.push(clone(ts[0]));
  const v = await verifySigstoreBundle(r2, { bytes: aTxt }, { trustedRoot: rootOf('rekor2-happy-path'), ...keyless });
  assertFails(v, 'timestamp', true);
});

test('truncated bundle JSON and garbage fail "format" only', async () => {
  const text = JSON.stringify(bundleJson(HAPPY));
  for (const bad of [text.slice(0, text.length / 2), 'garbage', utf8('\u0000\u0001'), '{"mediaType":"nope"}', {}, null, 42, []]) {
    const v = await verifyHappy(bad);
    assertFails(v, 'format', true);
    assert.equal(v.checks.length, 1);
  }
  const noProof = bundleJson(HAPPY);
  delete noProof['verificationMaterial'].tlogEntries[0].inclusionProof;
  assertFails(await verifyHappy(noProof), 'format', true);
  const twoSigs = bundleJson('happy-path-intoto-in-dsse-v3');
  twoSigs['dsseEnvelope'].signatures.push(twoSigs['dsseEnvelope'].signatures[0]);
  assertFails(await verifyHappy(twoSigs), 'format', true);
});

test('DSSE: an artifact that is not a subject of the statement fails "subject"', async () => {
  const b = bundleJson('happy-path-intoto-in-dsse-v3');
  assert.equal((await verifyHappy(b)).ok, true);
  const v = await verifyHappy(b, { bytes: utf8('something else') });
  assertFails(v, 'subject', true);
});

test('public-key bundles: the key verifies; a wrong key, no log entry or an identity demand fail', async () => {
  const name = 'managed-key-happy-path';
  const keys = { keys: parseTrustMaterial(new Uint8Array(readFileSync(join(cases, name, 'key.pub')))) };
  const ok = await verifySigstoreBundle(bundleJson(name), { bytes: aTxt }, { trustedRoot: production, keys });
  assert.equal(ok.ok, true, JSON.stringify(ok.checks, null, 1));
  assert.equal(ok.signer?.keyId, `sha256:${keys.keys[0]!.kind === 'pkix' ? keys.keys[0]!.fingerprint : ''}`);

  const other = await generateKeyPair('ecdsa-p256');
  const wrong = { keys: [{ kind: 'pkix' as const, key: other.publicKey, fingerprint: spkiFingerprint(other.publicKey) }] };
  const w = await verifySigstoreBundle(bundleJson(name), { bytes: aTxt }, { trustedRoot: production, keys: wrong });
  assertFails(w, 'signature');
  assertFails(w, 'tlog');

  const noLog = bundleJson(name);
  noLog['verificationMaterial'].tlogEntries = [];
  assertFails(await verifySigstoreBundle(noLog, { bytes: aTxt }, { trustedRoot: production, keys }), 'tlog', true);

  const demand = await verifySigstoreBundle(bundleJson(name), { bytes: aTxt }, { trustedRoot: production, keys, ...keyless });
  assertFails(demand, 'identity', true);
});

test('misuse throws INVALID_ARGUMENT: no trusted root, bad regexp, bad threshold, bad artifact', async () => {
  const b = bundleJson(HAPPY);
  const code = (e: unknown): boolean => e instanceof SignetError && e.code === 'INVALID_ARGUMENT';
  await assert.rejects(verifySigstoreBundle(b, { bytes: aTxt }, {} as SigstoreVerifyOptions), code);
  await assert.rejects(verifyHappy(b, undefined, { identity: { subjectAlternativeNameRegExp: '(', issuer: ISSUER } }), code);
  await assert.rejects(verifyHappy(b, undefined, { tlogThreshold: -1 }), code);
  await assert.rejects(verifyHappy(b, {} as Artifact), code);
});

// ---------------------------------------------------------------------------------------------------------
// Trusted root parsing

test('parseTrustedRoot: a missing validFor.start makes that instance unusable, not the root; end null is open', () => {
  const r = rootOf('trust-root-tlog-missing-validity-start_fail');
  assert.equal(r.tlogs[0]!.unusable, undefined);
  assert.match(r.tlogs[1]!.unusable ?? '', /tlogs\[1\]\.publicKey\.validFor\.start is missing/);
  const e = rootOf('trust-root-tlog-validity-end-inclusive');
  assert.equal(e.tlogs[1]!.validFor.end, undefined);
  assert.equal(e.certificateAuthorities[0]!.validFor.end?.toISOString(), '2022-12-31T23:59:59.999Z');
  const staging = rootOf('rekor2-happy-path');
  assert.equal(staging.ctlogs[0]!.keyDetails, 'PKCS1_RSA_PKCS1V5');
  assert.equal(staging.ctlogs[0]!.publicKey?.asymmetricKeyType, 'rsa');
  assert.equal(staging.ctlogs.every((l) => !l.unusable), true);
  const v2 = clone(productionJson) as Json;
  v2['mediaType'] = 'application/vnd.dev.sigstore.trustedroot.v0.2+json';
  assert.equal(parseTrustedRoot(v2).tlogs.length, 2);
});

test('parseTrustedRoot: garbage throws MALFORMED_INPUT naming the field; an unknown media type UNSUPPORTED_FORMAT', () => {
  const expect = (v: unknown, code: string, re: RegExp): void =>
    assert.throws(() => parseTrustedRoot(v), (e: unknown) => e instanceof SignetError && e.code === code && re.test(e.message));
  expect('not json', 'MALFORMED_INPUT', /not valid JSON/);
  expect(42, 'MALFORMED_INPUT', /JSON object/);
  expect({ ...productionJson, mediaType: 'application/json' }, 'UNSUPPORTED_FORMAT', /mediaType/);
  const badKey = clone(productionJson) as Json;
  badKey['tlogs'][0].publicKey.rawBytes = '!!!';
  expect(badKey, 'MALFORMED_INPUT', /tlogs\[0\]\.publicKey\.rawBytes/);
  const badTime = clone(productionJson) as Json;
  badTime['certificateAuthorities'][1].validFor.start = 'yesterday';
  expect(badTime, 'MALFORMED_INPUT', /certificateAuthorities\[1\]\.validFor\.start/);
  const wrongDetails = clone(productionJson) as Json;
  wrongDetails['tlogs'][0].publicKey.keyDetails = 'PKIX_ED25519';
  assert.match(parseTrustedRoot(wrongDetails).tlogs[0]!.unusable ?? '', /not what keyDetails PKIX_ED25519 says/);
});

// ---------------------------------------------------------------------------------------------------------
// A synthetic keyless stack: CA, CT log and transparency log of our own, so that an SCT can be corrupted
// while the CA still signs the certificate (in a real certificate any change breaks the CA signature).

async function syntheticKeyless(tamperSct: boolean, integratedAfterSeconds = 60): Promise<{ bundle: Json; root: TrustedRoot; artifact: Uint8Array }> {
  const now = new Date(Math.floor(Date.now() / 1000) * 1000 - 3_600_000);
  const [caKey, leafKey, ctKey, logKey] = await Promise.all([
    generateKeyPair('ecdsa-p384'),
    generateKeyPair('ecdsa-p256'),
    generateKeyPair('ecdsa-p256'),
    generateKeyPair('ecdsa-p256'),
  ]);
  const caName: Name = [['O', 'signet-test'], ['CN', 'signet test CA']];
  const ca = await buildCertificate({
    serialNumber: randomSerial(),
    subject: caName,
    issuer: caName,
    notBefore: new Date(now.getTime() - 86_400_000),
    notAfter: new Date(now.getTime() + 86_400_000),
    publicKey: caKey.publicKey,
    extensions: [keyUsage(['keyCertSign', 'cRLSign']), basicConstraints(true, 1), subjectKeyIdentifier(caKey.publicKey)],
    signingKey: caKey.privateKey,
  });
  const serialNumber = randomSerial();
  const leaf = (ct: Extension): Promise<Uint8Array> =>
    buildCertificate({
      serialNumber,
      subject: [],
      issuer: caName,
      notBefore: now,
      notAfter: new Date(now.getTime() + 600_000),
      publicKey: leafKey.publicKey,
      extensions: [
        keyUsage(['digitalSignature']),
        extKeyUsage(['codeSigning']),
        subjectKeyIdentifier(leafKey.publicKey),
        authorityKeyIdentifier(caKey.publicKey),
        subjectAltName({ uri: 'https://example.test/workflow' }, true),
        ct,
        ...fulcioExtensions({ issuer: 'https://issuer.example.test' }),
      ],
      signingKey: caKey.privateKey,
    });
  const sct = await signPrecertSct({
    logPrivateKey: ctKey.privateKey,
    timestamp: now,
    issuerPublicKeySpki: spkiDer(caKey.publicKey),
    precertTbs: precertTbsFromCertificate(await leaf(ctPoison())),
  });
  const at = sct.signature.length - 2;
  if (tamperSct) sct.signature[at] = sct.signature[at]! ^ 0x01;
  const cert = await leaf(sctListExtension(serializeSctList([sct])));

  const artifact = utf8('synthetic artifact\n');
  const digest = new Uint8Array(createHash('sha256').update(artifact).digest());
  const signature = await signData(leafKey.privateKey, artifact);
  const body = utf8(
    canonicalize({
      apiVersion: '0.0.1',
      kind: 'hashedrekord',
      spec: {
        data: { hash: { algorithm: 'sha256', value: toHex(digest) } },
        signature: { content: toBase64(signature), publicKey: { content: toBase64(utf8(toPem('CERTIFICATE', cert))) } },
      },
    }),
  );
  const logSpki = spkiDer(logKey.publicKey);
  const logId = new Uint8Array(createHash('sha256').update(logSpki).digest());
  const integratedTime = Math.floor(now.getTime() / 1000) + integratedAfterSeconds;
  const set = await signData(logKey.privateKey, utf8(canonicalize({ body: toBase64(body), integratedTime, logID: toHex(logId), logIndex: 0 })));
  const root = leafHash(body);
  const checkpoint = await signCheckpoint({ origin: 'rekor.example.test - 1', size: 1, rootHash: root }, [ecdsaNoteSigner('rekor.example.test', logKey.privateKey)]);
  const bundle: Json = {
    mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    verificationMaterial: {
      certificate: { rawBytes: toBase64(cert) },
      tlogEntries: [
        {
          logIndex: '0',
          logId: { keyId: toBase64(logId) },
          kindVersion: { kind: 'hashedrekord', version: '0.0.1' },
          integratedTime: String(integratedTime),
          inclusionPromise: { signedEntryTimestamp: toBase64(set) },
          inclusionProof: { logIndex: '0', rootHash: toBase64(root), treeSize: '1', hashes: [], checkpoint: { envelope: checkpoint } },
          canonicalizedBody: toBase64(body),
        },
      ],
    },
    messageSignature: { messageDigest: { algorithm: 'SHA2_256', digest: toBase64(digest) }, signature: toBase64(signature) },
  };
  const start = new Date(now.getTime() - 86_400_000).toISOString();
  const ctSpki = spkiDer(ctKey.publicKey);
  const trustedRoot = parseTrustedRoot({
    mediaType: 'application/vnd.dev.sigstore.trustedroot.v0.2+json',
    tlogs: [
      {
        baseUrl: 'https://rekor.example.test',
        hashAlgorithm: 'SHA2_256',
        publicKey: { rawBytes: toBase64(logSpki), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start } },
        logId: { keyId: toBase64(logId) },
      },
    ],
    certificateAuthorities: [{ certChain: { certificates: [{ rawBytes: toBase64(ca) }] }, validFor: { start } }],
    ctlogs: [
      {
        baseUrl: 'https://ct.example.test',
        hashAlgorithm: 'SHA2_256',
        publicKey: { rawBytes: toBase64(ctSpki), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start } },
        logId: { keyId: toBase64(ctLogId(ctKey.publicKey)) },
      },
    ],
    timestampAuthorities: [],
  });
  return { bundle, root: trustedRoot, artifact };
}

test('synthetic keyless bundle: verifies; with one SCT byte changed (CA signature intact) only "sct" fails', async () => {
  const identity = { subjectAlternativeName: 'https://example.test/workflow', issuer: 'https://issuer.example.test' };
  const good = await syntheticKeyless(false);
  const v = await verifySigstoreBundle(good.bundle, { bytes: good.artifact }, { trustedRoot: good.root, identity });
  assert.equal(v.ok, true, JSON.stringify(v.checks, null, 1));
  const bad = await syntheticKeyless(true);
  const w = await verifySigstoreBundle(bad.bundle, { bytes: bad.artifact }, { trustedRoot: bad.root, identity });
  assertFails(w, 'sct', true);
  assert.match(w.checks.find((c) => c.name === 'sct')!.detail, /signature does not verify/);
});

test('a certificate used after its 10 minutes (integrated time outside its validity) fails "certificate"', async () => {
  const identity = { subjectAlternativeName: 'https://example.test/workflow', issuer: 'https://issuer.example.test' };
  const edge = await syntheticKeyless(false, 600);
  assert.equal((await verifySigstoreBundle(edge.bundle, { bytes: edge.artifact }, { trustedRoot: edge.root, identity })).ok, true, 'the last second is still valid');
  const late = await syntheticKeyless(false, 11 * 60);
  const v = await verifySigstoreBundle(late.bundle, { bytes: late.artifact }, { trustedRoot: late.root, identity });
  assertFails(v, 'certificate');
  const early = await syntheticKeyless(false, -5);
  assertFails(await verifySigstoreBundle(early.bundle, { bytes: early.artifact }, { trustedRoot: early.root, identity }), 'certificate');
});
