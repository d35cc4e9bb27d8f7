// Embedded SCTs (RFC 6962 §3.2, §3.3): a log signs the precertificate, the final certificate embeds the SCT list,
// and verifiers reconstruct the precertificate TBS from the final certificate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate as SigstoreX509 } from '@sigstore/core';
import { verifySCTs } from '@sigstore/verify/dist/key/sct.js';
import { requireTool, run, tempDir } from '@signet/testkit';
import { generateKeyPair, isSignetError, spkiDer, toPem, type KeyPair } from '../dist/index.js';
import {
  authorityKeyIdentifier,
  basicConstraints,
  buildCertificate,
  ctLogId,
  ctPoison,
  embeddedScts,
  extKeyUsage,
  fulcioExtensions,
  keyUsage,
  parseCertificate,
  parseSct,
  parseSctList,
  precertTbsFromCertificate,
  randomSerial,
  sctListExtension,
  serializeSct,
  serializeSctList,
  signPrecertSct,
  subjectAltName,
  subjectKeyIdentifier,
  verifyEmbeddedScts,
  type CtLog,
  type Extension,
  type Name,
  type Sct,
} from '../dist/x509/index.js';

const NOW = new Date(Math.floor(Date.now() / 1000) * 1000);
const SCT_TIME = NOW.getTime() + 123;
const INTER: Name = [['O', 'signet-test'], ['CN', 'signet intermediate']];

interface Fixture {
  inter: Uint8Array;
  interKey: KeyPair;
  root: Uint8Array;
  log: KeyPair;
  log2: KeyPair;
  ctlogs: CtLog[];
  precert: Uint8Array;
  /** Builds the final certificate (same TBS as the precertificate) around a serialized SCT list. */
  finalWith: (list: Uint8Array) => Promise<Uint8Array>;
  sct: Sct;
}

let fixture: Promise<Fixture> | undefined;
function setup(): Promise<Fixture> {
  fixture ??= (async () => {
    const [rootKey, interKey, leafKey, log, log2] = await Promise.all([
      generateKeyPair('ecdsa-p384'),
      generateKeyPair('ecdsa-p384'),
      generateKeyPair('ecdsa-p256'),
      generateKeyPair('ecdsa-p256'),
      generateKeyPair('ecdsa-p256'),
    ]);
    const rootName: Name = [['CN', 'signet root']];
    const root = await buildCertificate({
      serialNumber: randomSerial(),
      subject: rootName,
      issuer: rootName,
      notBefore: new Date(NOW.getTime() - 86_400_000),
      notAfter: new Date(NOW.getTime() + 86_400_000),
      publicKey: rootKey.publicKey,
      extensions: [keyUsage(['keyCertSign', 'cRLSign']), basicConstraints(true, 1), subjectKeyIdentifier(rootKey.publicKey)],
      signingKey: rootKey.privateKey,
    });
    const inter = await buildCertificate({
      serialNumber: randomSerial(),
      subject: INTER,
      issuer: rootName,
      notBefore: new Date(NOW.getTime() - 86_400_000),
      notAfter: new Date(NOW.getTime() + 86_400_000),
      publicKey: interKey.publicKey,
      extensions: [
        keyUsage(['keyCertSign', 'cRLSign']),
        extKeyUsage(['codeSigning']),
        basicConstraints(true, 0),
        subjectKeyIdentifier(interKey.publicKey),
        authorityKeyIdentifier(rootKey.publicKey),
      ],
      signingKey: rootKey.privateKey,
    });
    const serialNumber = randomSerial();
    // The poison sits in the middle, so the SCT list replaces it there and extensions follow it.
    const leafExtensions = (ct: Extension): Extension[] => [
      keyUsage(['digitalSignature']),
      extKeyUsage(['codeSigning']),
      subjectKeyIdentifier(leafKey.publicKey),
      authorityKeyIdentifier(interKey.publicKey),
      subjectAltName({ email: 'alice@example.com' }, true),
      ct,
      ...fulcioExtensions({ issuer: 'https://accounts.example.com' }),
    ];
    const leaf = (ct: Extension): Promise<Uint8Array> =>
      buildCertificate({
        serialNumber,
        subject: [],
        issuer: INTER,
        notBefore: NOW,
        notAfter: new Date(NOW.getTime() + 600_000),
        publicKey: leafKey.publicKey,
        extensions: leafExtensions(ct),
        signingKey: interKey.privateKey,
      });
    const precert = await leaf(ctPoison());
    const sct = await signPrecertSct({
      logPrivateKey: log.privateKey,
      timestamp: SCT_TIME,
      issuerPublicKeySpki: spkiDer(interKey.publicKey),
      precertTbs: precertTbsFromCertificate(precert),
    });
    const ctlogs: CtLog[] = [
      { logId: ctLogId(log.publicKey), publicKey: log.publicKey, validFor: { start: new Date(NOW.getTime() - 1000) } },
      { logId: ctLogId(log2.publicKey), publicKey: log2.publicKey },
    ];
    return { inter, interKey, root, log, log2, ctlogs, precert, sct, finalWith: (list) => leaf(sctListExtension(list)) };
  })();
  return fixture;
}

const failedChecks = (r: { checks: { name: string; ok: boolean }[] }): string[] => r.checks.filter((c) => !c.ok).map((c) => c.name);

test('an SCT signed over the precertificate verifies when embedded in the final certificate', async () => {
  const f = await setup();
  const final = await f.finalWith(serializeSctList([f.sct]));
  // What the verifier reconstructs equals what the log signed.
  assert.deepEqual(precertTbsFromCertificate(final), precertTbsFromCertificate(f.precert));
  assert.notDeepEqual(precertTbsFromCertificate(f.precert), parseCertificate(f.precert).tbs, 'the poison was removed');
  const results = await verifyEmbeddedScts(final, f.inter, f.ctlogs);
  assert.equal(results.length, 1);
  assert.ok(results[0]!.ok, JSON.stringify(results[0]!.checks));
  assert.equal(results[0]!.timestamp!.getTime(), SCT_TIME);
  assert.deepEqual(results[0]!.checks.map((c) => c.name), ['log', 'log-validity', 'signature']);
  assert.equal(f.sct.hashAlgorithm, 4);
  assert.equal(f.sct.signatureAlgorithm, 3);
  assert.deepEqual(f.sct.logId, ctLogId(f.log.publicKey));
  // A certificate without SCTs has none to verify.
  assert.deepEqual(await verifyEmbeddedScts(f.inter, f.root, f.ctlogs), []);
});

test('sigstore-js verifySCTs accepts the embedded SCT', async () => {
  const f = await setup();
  const final = await f.finalWith(serializeSctList([f.sct]));
  const ctlogs = [
    {
      logID: Buffer.from(ctLogId(f.log.publicKey)),
      baseURL: 'https://ct.example',
      publicKey: f.log.publicKey,
      validFor: { start: new Date(0), end: new Date(8.64e15) },
    },
  ];
  const ids = verifySCTs(SigstoreX509.parse(Buffer.from(final)), SigstoreX509.parse(Buffer.from(f.inter)), ctlogs);
  assert.deepEqual(ids, [Buffer.from(ctLogId(f.log.publicKey))]);
});

test('several SCTs, one with CtExtensions (Static CT leaf index), each verified on its own', async () => {
  const f = await setup();
  const precertTbs = precertTbsFromCertificate(f.precert);
  const withExt = await signPrecertSct({
    logPrivateKey: f.log2.privateKey,
    timestamp: new Date(SCT_TIME + 5),
    issuerPublicKeySpki: spkiDer(f.interKey.publicKey),
    precertTbs,
    extensions: Uint8Array.of(0, 0, 5, 0, 0, 0, 0, 0x70),
  });
  const stranger = await generateKeyPair('ecdsa-p256');
  const unknown = await signPrecertSct({ logPrivateKey: stranger.privateKey, timestamp: SCT_TIME, issuerPublicKeySpki: spkiDer(f.interKey.publicKey), precertTbs });
  const final = await f.finalWith(serializeSctList([f.sct, withExt, unknown]));
  const r = await verifyEmbeddedScts(final, f.inter, f.ctlogs);
  assert.deepEqual(r.map((x) => x.ok), [true, true, false]);
  assert.deepEqual(r[1]!.extensions, Uint8Array.of(0, 0, 5, 0, 0, 0, 0, 0x70));
  assert.deepEqual(failedChecks(r[2]!), ['log']);
  assert.match(r[2]!.checks[0]!.detail, /not among the trusted CT logs/);
});

test('tampered timestamp, signature, extensions, wrong issuer → the SCT signature fails', async () => {
  const f = await setup();
  const cases: Array<[string, Sct]> = [
    ['timestamp', { ...f.sct, timestamp: f.sct.timestamp + 1 }],
    ['signature', { ...f.sct, signature: Uint8Array.from(f.sct.signature, (b, i) => (i === f.sct.signature.length - 3 ? b ^ 0x40 : b)) }],
    ['extensions', { ...f.sct, extensions: Uint8Array.of(1) }],
    ['algorithm', { ...f.sct, signatureAlgorithm: 1 }],
  ];
  for (const [what, sct] of cases) {
    const final = await f.finalWith(serializeSctList([sct]));
    const [r] = await verifyEmbeddedScts(final, f.inter, f.ctlogs);
    assert.equal(r!.ok, false, what);
    assert.deepEqual(failedChecks(r!), ['signature'], what);
  }
  const final = await f.finalWith(serializeSctList([f.sct]));
  const [wrongIssuer] = await verifyEmbeddedScts(final, f.root, f.ctlogs);
  assert.deepEqual(failedChecks(wrongIssuer!), ['signature']);
  assert.match(wrongIssuer!.checks.find((c) => c.name === 'signature')!.detail, /does not verify/);
  // The precertificate itself (poison instead of the list) has no SCTs to check.
  assert.deepEqual(await verifyEmbeddedScts(f.precert, f.inter, f.ctlogs), []);
});

test('unknown log, and a log whose validFor does not cover the SCT time → fail', async () => {
  const f = await setup();
  const final = await f.finalWith(serializeSctList([f.sct]));
  const [unknown] = await verifyEmbeddedScts(final, f.inter, [f.ctlogs[1]!]);
  assert.deepEqual(failedChecks(unknown!), ['log']);
  assert.deepEqual(await verifyEmbeddedScts(final, f.inter, []).then((r) => r.map((x) => x.ok)), [false]);
  const base = { logId: ctLogId(f.log.publicKey), publicKey: f.log.publicKey };
  const late = await verifyEmbeddedScts(final, f.inter, [{ ...base, validFor: { start: new Date(SCT_TIME + 1) } }]);
  assert.deepEqual(failedChecks(late[0]!), ['log-validity']);
  assert.match(late[0]!.checks.find((c) => c.name === 'log-validity')!.detail, /outside the log's validity/);
  const ended = await verifyEmbeddedScts(final, f.inter, [{ ...base, validFor: { end: new Date(SCT_TIME - 1) } }]);
  assert.deepEqual(failedChecks(ended[0]!), ['log-validity']);
  const inclusive = await verifyEmbeddedScts(final, f.inter, [{ ...base, validFor: { start: new Date(SCT_TIME), end: new Date(SCT_TIME) } }]);
  assert.ok(inclusive[0]!.ok, 'validFor bounds are inclusive');
  // A log key of another type than the SCT says.
  const rsa = await generateKeyPair('rsa-2048');
  const [mismatch] = await verifyEmbeddedScts(final, f.inter, [{ logId: base.logId, publicKey: rsa.publicKey }]);
  assert.deepEqual(failedChecks(mismatch!), ['signature']);
});

test('TLS encodings round-trip; malformed SCTs are SignetErrors or failed results', async () => {
  const f = await setup();
  const bytes = serializeSct(f.sct);
  assert.equal(bytes[0], 0);
  assert.equal(bytes.length, 1 + 32 + 8 + 2 + 2 + 2 + f.sct.signature.length);
  assert.deepEqual(parseSct(bytes), f.sct);
  const list = serializeSctList([f.sct, bytes]);
  assert.equal((list[0]! << 8) | list[1]!, list.length - 2);
  assert.deepEqual(parseSctList(list), [bytes, bytes]);
  const final = await f.finalWith(serializeSctList([f.sct]));
  assert.deepEqual(embeddedScts(final), [bytes]);

  const malformed = (e: unknown): boolean => isSignetError(e) && e.code === 'MALFORMED_INPUT';
  assert.throws(() => parseSct(bytes.subarray(0, bytes.length - 1)), malformed);
  assert.throws(() => parseSct(Uint8Array.of(...bytes, 0)), malformed);
  assert.throws(() => parseSct(Uint8Array.of(1, ...bytes.subarray(1))), malformed, 'only v1');
  assert.throws(() => parseSctList(list.subarray(0, list.length - 1)), malformed);
  assert.throws(() => parseSctList(Uint8Array.of(0, 0)), malformed);
  assert.throws(() => serializeSctList([]), (e) => isSignetError(e) && e.code === 'INVALID_ARGUMENT');

  // A garbage list embedded in a certificate is a failed result, not an exception.
  const garbage = await f.finalWith(Uint8Array.of(0, 5, 1, 2, 3));
  const r = await verifyEmbeddedScts(garbage, f.inter, f.ctlogs);
  assert.equal(r.length, 1);
  assert.deepEqual(failedChecks(r[0]!), ['format']);
  // A truncated SCT inside a well-formed list: a failed result for that entry.
  const short = await f.finalWith(serializeSctList([bytes.subarray(0, 40)]));
  assert.deepEqual(failedChecks((await verifyEmbeddedScts(short, f.inter, f.ctlogs))[0]!), ['format']);
  await assert.rejects(verifyEmbeddedScts(Uint8Array.of(1, 2, 3), f.inter, f.ctlogs), malformed);
});

test('openssl decodes the poison and the embedded SCT list', async (t) => {
  const openssl = requireTool(t, 'openssl');
  if (!openssl) return;
  const f = await setup();
  const dir = tempDir(t);
  const final = await f.finalWith(serializeSctList([f.sct]));
  writeFileSync(join(dir, 'pre.pem'), toPem('CERTIFICATE', f.precert));
  writeFileSync(join(dir, 'final.pem'), toPem('CERTIFICATE', final));
  const pre = await run(openssl, ['x509', '-noout', '-text', '-in', join(dir, 'pre.pem')]);
  assert.match(pre.stdout, /CT Precertificate Poison: critical/);
  const fin = await run(openssl, ['x509', '-noout', '-text', '-in', join(dir, 'final.pem')]);
  assert.equal(fin.code, 0, fin.stderr);
  assert.match(fin.stdout, /CT Precertificate SCTs:/);
  assert.match(fin.stdout, /Version\s+: v1 \(0x0\)/);
  const id = Buffer.from(f.sct.logId).toString('hex').toUpperCase().match(/../g)!.slice(0, 4).join(':');
  assert.ok(fin.stdout.includes(id), 'log ID shown');
  assert.match(fin.stdout, /Signature : ecdsa-with-SHA256/);
});
