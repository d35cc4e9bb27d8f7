// X.509 builder, parser, Fulcio profile and chain verification (RFC 5280; Fulcio certificate-specification.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate as SigstoreX509 } from '@sigstore/core';
import { verifyCertificateChain as sigstoreVerifyChain } from '@sigstore/verify/dist/key/certificate.js';
import { requireTool, run, tempDir } from '@signet/testkit';
import { generateKeyPair, spkiDer, toPem, isSignetError, type KeyKind, type KeyPair } from '../dist/index.js';
import {
  OID,
  authorityKeyIdentifier,
  basicConstraints,
  buildCertificate,
  ctPoison,
  extKeyUsage,
  fulcioExtensions,
  fulcioIdentity,
  githubWorkflowClaims,
  keyIdentifier,
  keyUsage,
  parseCertificate,
  randomSerial,
  rawExtension,
  subjectAltName,
  subjectKeyIdentifier,
  verifyCertificateChain,
  type Extension,
  type Name,
} from '../dist/x509/index.js';

const ISSUER = 'https://accounts.example.com';
const EMAIL = 'alice@example.com';
const MIN = 60_000;
const DAY = 86_400_000;
const NOW = new Date(Math.floor(Date.now() / 1000) * 1000);

/** One key per (kind, slot), generated once for the whole file. */
const keys = new Map<string, Promise<KeyPair>>();
const key = (kind: KeyKind, slot = ''): Promise<KeyPair> => {
  const id = `${kind}/${slot}`;
  if (!keys.has(id)) keys.set(id, generateKeyPair(kind));
  return keys.get(id)!;
};

interface CaOptions {
  name: Name;
  key: KeyPair;
  issuerName?: Name;
  issuerKey?: KeyPair;
  ca?: boolean;
  pathLen?: number;
  eku?: string[];
  notBefore?: Date;
  notAfter?: Date;
  /** Claim this key's identifier as the SKI (to forge one). */
  skiOf?: KeyObject;
}

function ca(o: CaOptions): Promise<Uint8Array> {
  const issuerKey = o.issuerKey ?? o.key;
  const ext: Extension[] = [keyUsage(['keyCertSign', 'cRLSign']), basicConstraints(o.ca ?? true, o.ca === false ? undefined : o.pathLen)];
  if (o.eku) ext.push(extKeyUsage(o.eku));
  ext.push(subjectKeyIdentifier(o.skiOf ?? o.key.publicKey));
  if (o.issuerKey) ext.push(authorityKeyIdentifier(o.issuerKey.publicKey));
  return buildCertificate({
    serialNumber: randomSerial(),
    subject: o.name,
    issuer: o.issuerName ?? o.name,
    notBefore: o.notBefore ?? new Date(NOW.getTime() - DAY),
    notAfter: o.notAfter ?? new Date(NOW.getTime() + 3650 * DAY),
    publicKey: o.key.publicKey,
    extensions: ext,
    signingKey: issuerKey.privateKey,
  });
}

const ROOT_NAME: Name = [['C', 'US'], ['O', 'signet-test'], ['CN', 'signet test root']];
const INTER_NAME: Name = [['O', 'signet-test'], ['CN', 'signet test intermediate']];

interface LeafOptions {
  extensions?: Extension[];
  notBefore?: Date;
  notAfter?: Date;
  issuerName?: Name;
  issuerKey?: KeyPair;
}

async function fulcioLeaf(o: LeafOptions = {}): Promise<{ der: Uint8Array; key: KeyPair }> {
  const leafKey = await key('ecdsa-p256', 'leaf');
  const inter = o.issuerKey ?? (await key('ecdsa-p384', 'inter'));
  const claims = {
    issuer: ISSUER,
    buildSignerUri: 'https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1',
    sourceRepositoryUri: 'https://github.com/acme/app',
    sourceRepositoryDigest: '0123456789abcdef0123456789abcdef01234567',
    runInvocationUri: 'https://github.com/acme/app/actions/runs/42/attempts/1',
    subject: 'repo:acme/app:ref:refs/tags/v1',
  };
  const extensions = o.extensions ?? [
    keyUsage(['digitalSignature']),
    extKeyUsage(['codeSigning']),
    subjectKeyIdentifier(leafKey.publicKey),
    authorityKeyIdentifier(keyIdentifier(inter.publicKey)),
    subjectAltName({ email: EMAIL }, true),
    ...fulcioExtensions(claims),
  ];
  const der = await buildCertificate({
    serialNumber: randomSerial(),
    subject: [],
    issuer: o.issuerName ?? INTER_NAME,
    notBefore: o.notBefore ?? NOW,
    notAfter: o.notAfter ?? new Date(NOW.getTime() + 10 * MIN),
    publicKey: leafKey.publicKey,
    extensions,
    signingKey: inter.privateKey,
  });
  return { der, key: leafKey };
}

async function pki(): Promise<{ root: Uint8Array; inter: Uint8Array; leaf: Uint8Array; rootKey: KeyPair; interKey: KeyPair; leafKey: KeyPair }> {
  const rootKey = await key('ecdsa-p384', 'root');
  const interKey = await key('ecdsa-p384', 'inter');
  const root = await ca({ name: ROOT_NAME, key: rootKey, pathLen: 1 });
  const inter = await ca({ name: INTER_NAME, key: interKey, issuerName: ROOT_NAME, issuerKey: rootKey, pathLen: 0, eku: ['codeSigning'] });
  const { der: leaf, key: leafKey } = await fulcioLeaf();
  return { root, inter, leaf, rootKey, interKey, leafKey };
}

const pem = (der: Uint8Array): string => toPem('CERTIFICATE', der);
const failed = (r: { checks: { name: string; ok: boolean }[] }): string[] => r.checks.filter((c) => !c.ok).map((c) => c.name);
const inTenMinutes = new Date(NOW.getTime() + 5 * MIN);

test('node:crypto parses the root, intermediate and Fulcio-style leaf, and verify() links them', async () => {
  const { root, inter, leaf, rootKey, interKey } = await pki();
  const [r, i, l] = [root, inter, leaf].map((d) => new X509Certificate(Buffer.from(d))) as [X509Certificate, X509Certificate, X509Certificate];
  assert.ok(r.verify(rootKey.publicKey));
  assert.ok(i.verify(rootKey.publicKey));
  assert.ok(l.verify(interKey.publicKey));
  assert.ok(!l.verify(rootKey.publicKey));
  assert.ok(l.checkIssued(i) && i.checkIssued(r));
  assert.ok(r.ca && i.ca && !l.ca);
  assert.ok(!l.subject, 'empty subject');
  assert.equal(l.subjectAltName, `email:${EMAIL}`);
  assert.deepEqual(l.keyUsage, [OID.codeSigning]);
  assert.equal(new Date(l.validTo).getTime() - new Date(l.validFrom).getTime(), 10 * MIN);
  assert.match(r.subject, /CN=signet test root/);
});

test('sigstore-js (@sigstore/core strict DER parser, @sigstore/verify chain check) accepts the chain', async () => {
  const { root, inter, leaf } = await pki();
  const [r, i, l] = [root, inter, leaf].map((d) => SigstoreX509.parse(Buffer.from(d))) as [SigstoreX509, SigstoreX509, SigstoreX509];
  assert.ok(l.verify(i) && i.verify(r) && r.verify());
  assert.equal(l.subjectAltName, EMAIL);
  assert.ok(l.extSubjectAltName?.critical);
  assert.equal(i.extBasicConstraints?.pathLenConstraint, 0n);
  assert.ok(i.extKeyUsage?.keyCertSign && !l.isCA);
  assert.equal(l.extension(OID.fulcioIssuerV2)?.value.subarray(2).toString(), ISSUER);
  const path = sigstoreVerifyChain(inTenMinutes, l, [{ certChain: [i, r], validFor: { start: new Date(0), end: new Date(8.64e15) } }]);
  assert.equal(path.length, 3);
});

test('parseCertificate reads back what buildCertificate wrote', async () => {
  const { inter, leaf, leafKey, interKey } = await pki();
  const p = parseCertificate(leaf);
  assert.equal(p.version, 3);
  assert.ok(p.serialNumber > 0n && p.serialNumber < 2n ** 160n);
  assert.deepEqual(p.subject, Uint8Array.of(0x30, 0x00));
  assert.deepEqual(p.issuer, parseCertificate(inter).subject);
  assert.deepEqual(p.spki, spkiDer(leafKey.publicKey));
  assert.equal(p.validity.notBefore.getTime(), NOW.getTime());
  assert.equal(p.validity.notAfter.getTime(), NOW.getTime() + 10 * MIN);
  assert.equal(p.signatureAlgorithm, OID.ecdsaWithSha384, 'a P-384 issuer signs with SHA-384');
  assert.deepEqual(p.keyUsage, ['digitalSignature']);
  assert.deepEqual(p.extKeyUsage, [OID.codeSigning]);
  assert.deepEqual(p.subjectKeyId, keyIdentifier(leafKey.publicKey));
  assert.deepEqual(p.authorityKeyId, parseCertificate(inter).subjectKeyId);
  assert.deepEqual(parseCertificate(inter).subjectKeyId, keyIdentifier(interKey.publicKey));
  assert.deepEqual(parseCertificate(inter).basicConstraints, { ca: true, pathLen: 0 });
  const san = p.extensions.find((e) => e.oid === OID.subjectAltName)!;
  assert.ok(san.critical);
  assert.deepEqual(p.subjectAltNames, [{ type: 'email', value: EMAIL }]);
  assert.ok(p.extensions.some((e) => e.oid === OID.fulcioIssuer && Buffer.from(e.value).toString() === ISSUER), '.1 is raw bytes');
  // The TBS and extension offsets point at the right bytes.
  const ext = p.tbsParts.extensions!;
  assert.equal(ext.items.length, p.extensions.length);
  assert.equal(p.tbs[ext.start], 0xa3);
  assert.equal(ext.end, p.tbs.length);
  // A P-256 signer uses SHA-256, an RSA signer sha256WithRSAEncryption.
  const rsa = await key('rsa-2048');
  const ecRoot = parseCertificate(await ca({ name: [['CN', 'p256']], key: await key('ecdsa-p256', 'r') }));
  assert.equal(ecRoot.signatureAlgorithm, OID.ecdsaWithSha256);
  const rsaDer = await ca({ name: [['CN', 'rsa']], key: rsa });
  assert.equal(parseCertificate(rsaDer).signatureAlgorithm, OID.sha256WithRsa);
  assert.ok(new X509Certificate(Buffer.from(rsaDer)).verify(rsa.publicKey));
});

test('openssl shows the Fulcio extensions and verifies the chain', async (t) => {
  const openssl = requireTool(t, 'openssl');
  if (!openssl) return;
  const { root, inter, leaf } = await pki();
  const dir = tempDir(t);
  writeFileSync(join(dir, 'root.pem'), pem(root));
  writeFileSync(join(dir, 'inter.pem'), pem(inter));
  writeFileSync(join(dir, 'leaf.pem'), pem(leaf));
  const text = await run(openssl, ['x509', '-noout', '-text', '-in', join(dir, 'leaf.pem')]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /X509v3 Subject Alternative Name: critical\s+email:alice@example\.com/);
  assert.match(text.stdout, /X509v3 Extended Key Usage:\s*\n\s*Code Signing/);
  assert.match(text.stdout, /X509v3 Key Usage: critical\s+Digital Signature/);
  assert.match(text.stdout, /1\.3\.6\.1\.4\.1\.57264\.1\.8:/);
  assert.match(text.stdout, /1\.3\.6\.1\.4\.1\.57264\.1\.1:\s*\n\s*https:\/\/accounts\.example\.com/);
  assert.match(text.stdout, /1\.3\.6\.1\.4\.1\.57264\.1\.21:/);
  assert.match(text.stdout, /Signature Algorithm: ecdsa-with-SHA384/);
  const interText = await run(openssl, ['x509', '-noout', '-text', '-in', join(dir, 'inter.pem')]);
  assert.match(interText.stdout, /CA:TRUE, pathlen:0/);
  const v = await run(openssl, ['verify', '-CAfile', join(dir, 'root.pem'), '-untrusted', join(dir, 'inter.pem'), join(dir, 'leaf.pem')]);
  assert.equal(v.code, 0, v.stderr + v.stdout);
  assert.match(v.stdout, /leaf\.pem: OK/);
  // openssl's strict ASN.1 parser reads every certificate end to end.
  for (const f of ['root.pem', 'inter.pem', 'leaf.pem']) {
    const a = await run(openssl, ['asn1parse', '-in', join(dir, f)]);
    assert.equal(a.code, 0, a.stderr);
  }
});

test('fulcioIdentity reads the SAN (email, URI, username) and the issuer (.8, else .1)', async () => {
  const { leaf } = await pki();
  const id = fulcioIdentity(leaf);
  assert.deepEqual(id.san, { type: 'email', value: EMAIL });
  assert.equal(id.issuer, ISSUER);
  assert.equal(id.extensions[OID.fulcioIssuer], ISSUER);
  assert.equal(id.extensions[OID.fulcioIssuerV2], ISSUER);
  assert.equal(id.extensions['1.3.6.1.4.1.57264.1.12'], 'https://github.com/acme/app');
  assert.equal(id.extensions['1.3.6.1.4.1.57264.1.24'], 'repo:acme/app:ref:refs/tags/v1');

  const base = [keyUsage(['digitalSignature']), extKeyUsage(['codeSigning'])];
  const uri = await fulcioLeaf({ extensions: [...base, subjectAltName({ uri: 'https://github.com/acme/app/.github/workflows/x.yml@refs/heads/main' }, true), ...fulcioExtensions({ issuer: 'https://token.actions.githubusercontent.com' })] });
  assert.deepEqual(fulcioIdentity(uri.der).san, { type: 'uri', value: 'https://github.com/acme/app/.github/workflows/x.yml@refs/heads/main' });
  const user = await fulcioLeaf({ extensions: [...base, subjectAltName({ otherNameUsername: 'bob!example.com' }, true), ...fulcioExtensions({ issuer: ISSUER })] });
  assert.deepEqual(fulcioIdentity(user.der).san, { type: 'othername', value: 'bob!example.com' });
  assert.equal(parseCertificate(user.der).subjectAltNames?.[0]?.oid, OID.fulcioOtherNameSan);
  const legacy = await fulcioLeaf({ extensions: [...base, subjectAltName({ email: EMAIL }, true), rawExtension(OID.fulcioIssuer, 'https://legacy.example.com')] });
  assert.equal(fulcioIdentity(legacy.der).issuer, 'https://legacy.example.com');
  const none = await fulcioLeaf({ extensions: [...base, subjectAltName({ email: EMAIL }, true)] });
  assert.equal(fulcioIdentity(none.der).issuer, undefined);
  const noSan = await fulcioLeaf({ extensions: base });
  assert.throws(() => fulcioIdentity(noSan.der), (e) => isSignetError(e) && e.code === 'MALFORMED_INPUT');
});

test('githubWorkflowClaims maps a GitHub Actions token to .2–.6 and .9–.24 as Fulcio does', () => {
  const claims = githubWorkflowClaims({
    iss: 'https://token.actions.githubusercontent.com',
    sub: 'repo:acme/app:ref:refs/heads/main',
    event_name: 'push',
    sha: 'abc',
    workflow: 'Release',
    repository: 'acme/app',
    ref: 'refs/heads/main',
    job_workflow_ref: 'acme/app/.github/workflows/release.yml@refs/heads/main',
    job_workflow_sha: 'def',
    runner_environment: 'github-hosted',
    repository_id: '1234',
    repository_owner: 'acme',
    repository_owner_id: 99,
    workflow_ref: 'acme/app/.github/workflows/release.yml@refs/heads/main',
    workflow_sha: 'def',
    run_id: '777',
    run_attempt: '2',
    repository_visibility: 'public',
    environment: 'prod',
  });
  const ext = new Map(fulcioExtensions(claims).map((e) => [e.oid.split('.').pop()!, e.value]));
  const der = (n: string): string => Buffer.from(ext.get(n)!).subarray(2).toString();
  assert.equal(Buffer.from(ext.get('1')!).toString(), 'https://token.actions.githubusercontent.com');
  assert.equal(Buffer.from(ext.get('2')!).toString(), 'push');
  assert.equal(ext.get('8')![0], 0x0c, '.8 is a DER UTF8String');
  assert.equal(der('9'), 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main');
  assert.equal(der('12'), 'https://github.com/acme/app');
  assert.equal(der('16'), 'https://github.com/acme');
  assert.equal(der('17'), '99');
  assert.equal(der('21'), 'https://github.com/acme/app/actions/runs/777/attempts/2');
  assert.equal(der('23'), 'prod');
  assert.equal(der('24'), 'repo:acme/app:ref:refs/heads/main');
  assert.equal(ext.has('7'), false);
  assert.throws(() => githubWorkflowClaims({ iss: 'x' }), (e) => isSignetError(e) && e.code === 'INVALID_ARGUMENT');
});

test('verifyCertificateChain accepts the Fulcio-style chain inside the leaf validity', async () => {
  const { root, inter, leaf } = await pki();
  const r = verifyCertificateChain(leaf, [inter, root], inTenMinutes);
  assert.ok(r.ok, JSON.stringify(r.checks));
  assert.equal(r.chain.length, 3);
  assert.deepEqual(r.chain[2], root);
  for (const n of ['path', 'signature', 'validity', 'ca', 'path-length', 'leaf-key-usage', 'leaf-eku']) {
    assert.ok(r.checks.some((c) => c.name === n && c.ok), n);
  }
  // Pool order and extra unrelated certificates do not matter.
  const other = await ca({ name: [['CN', 'unrelated']], key: await key('ecdsa-p256', 'other') });
  assert.ok(verifyCertificateChain(leaf, [other, root, inter], inTenMinutes).ok);
});

test('chain negatives: expired, wrong root, tampered signature, issuer not a CA, leaf without codeSigning', async () => {
  const { root, inter, leaf, rootKey, interKey } = await pki();

  const late = verifyCertificateChain(leaf, [inter, root], new Date(NOW.getTime() + 11 * MIN));
  assert.equal(late.ok, false);
  assert.deepEqual(failed(late), ['validity']);
  assert.match(late.checks.find((c) => c.name === 'validity')!.detail, /not valid at/);
  assert.deepEqual(failed(verifyCertificateChain(leaf, [inter, root], new Date(NOW.getTime() - 1000))), ['validity']);

  // A root with the same name but another key: its SKI is not the intermediate's AKI.
  const impostorKey = await key('ecdsa-p384', 'impostor');
  const impostor = await ca({ name: ROOT_NAME, key: impostorKey });
  const wrong = verifyCertificateChain(leaf, [inter, impostor], inTenMinutes);
  assert.equal(wrong.ok, false);
  assert.deepEqual(failed(wrong), ['path']);
  assert.match(wrong.checks[0]!.detail, /subject key identifier/);
  // The same, with the real root's SKI forged: the intermediate's signature does not verify.
  const forged = await ca({ name: ROOT_NAME, key: impostorKey, skiOf: rootKey.publicKey });
  const wrong2 = verifyCertificateChain(leaf, [inter, forged], inTenMinutes);
  assert.deepEqual(failed(wrong2), ['signature']);
  assert.match(wrong2.checks[0]!.detail, /signature of "O=signet-test, CN=signet test intermediate".* does not verify/);
  // A root with another name: no path.
  const stranger = await ca({ name: [['CN', 'someone else']], key: rootKey });
  assert.deepEqual(failed(verifyCertificateChain(leaf, [inter, stranger], inTenMinutes)), ['path']);
  // No root at all: the intermediate is in the pool but is not self-signed.
  assert.deepEqual(failed(verifyCertificateChain(leaf, [inter], inTenMinutes)), ['path']);

  const tampered = Uint8Array.from(leaf);
  tampered[tampered.length - 1] = tampered[tampered.length - 1]! ^ 0x01;
  const t = verifyCertificateChain(tampered, [inter, root], inTenMinutes);
  assert.equal(t.ok, false);
  assert.deepEqual(failed(t), ['signature']);

  const notCa = await ca({ name: INTER_NAME, key: interKey, issuerName: ROOT_NAME, issuerKey: rootKey, ca: false, eku: ['codeSigning'] });
  const nc = verifyCertificateChain(leaf, [notCa, root], inTenMinutes);
  assert.equal(nc.ok, false);
  assert.deepEqual(failed(nc), ['ca']);
  assert.match(nc.checks.find((c) => c.name === 'ca')!.detail, /not a CA/);

  const serverLeaf = await fulcioLeaf({
    extensions: [keyUsage(['digitalSignature']), extKeyUsage(['serverAuth']), subjectAltName({ email: EMAIL }, true), ...fulcioExtensions({ issuer: ISSUER })],
  });
  const se = verifyCertificateChain(serverLeaf.der, [inter, root], inTenMinutes);
  assert.deepEqual(failed(se), ['leaf-eku']);
  assert.match(se.checks.find((c) => c.name === 'leaf-eku')!.detail, /lacks extended key usage codeSigning/);
  const noDs = await fulcioLeaf({ extensions: [keyUsage(['keyEncipherment']), extKeyUsage(['codeSigning']), subjectAltName({ email: EMAIL }, true)] });
  assert.deepEqual(failed(verifyCertificateChain(noDs.der, [inter, root], inTenMinutes)), ['leaf-key-usage']);

  // An intermediate that forbids codeSigning.
  const tlsInter = await ca({ name: INTER_NAME, key: interKey, issuerName: ROOT_NAME, issuerKey: rootKey, pathLen: 0, eku: ['serverAuth'] });
  assert.deepEqual(failed(verifyCertificateChain(leaf, [tlsInter, root], inTenMinutes)), ['issuer-eku']);

  // pathLen 0 on the intermediate forbids another intermediate below it.
  const subName: Name = [['CN', 'sub-intermediate']];
  const subKey = await key('ecdsa-p256', 'sub');
  const sub = await ca({ name: subName, key: subKey, issuerName: INTER_NAME, issuerKey: interKey, eku: ['codeSigning'] });
  const deepLeaf = await fulcioLeaf({ issuerName: subName, issuerKey: subKey });
  const deep = verifyCertificateChain(deepLeaf.der, [sub, inter, root], inTenMinutes);
  assert.deepEqual(failed(deep), ['path-length']);
  assert.equal(deep.chain.length, 4);

  // A precertificate (CT poison) is not a usable leaf.
  const pre = await fulcioLeaf({ extensions: [keyUsage(['digitalSignature']), extKeyUsage(['codeSigning']), subjectAltName({ email: EMAIL }, true), ctPoison()] });
  assert.deepEqual(failed(verifyCertificateChain(pre.der, [inter, root], inTenMinutes)), ['critical-extensions']);
});

test('garbage, truncated and non-strict DER are SignetErrors, never other crashes', async () => {
  const { root, inter, leaf } = await pki();
  const isMalformed = (e: unknown): boolean => isSignetError(e) && e.code === 'MALFORMED_INPUT';
  assert.throws(() => parseCertificate(leaf.subarray(0, leaf.length - 5)), isMalformed);
  assert.throws(() => parseCertificate(Uint8Array.of(...leaf, 0)), isMalformed);
  assert.throws(() => parseCertificate(new TextEncoder().encode('not a certificate at all')), isMalformed);
  assert.throws(() => parseCertificate(new Uint8Array(0)), isMalformed);
  // A non-minimal length (0x82 00 xx for a short body) is rejected.
  const nonMinimal = Uint8Array.of(0x30, 0x82, 0x00, 0x03, 0x02, 0x01, 0x00);
  assert.throws(() => parseCertificate(nonMinimal), isMalformed);
  assert.throws(() => verifyCertificateChain(leaf.subarray(0, 100), [inter, root], NOW), isMalformed);
  assert.throws(() => verifyCertificateChain(leaf, [inter, Uint8Array.of(1, 2, 3)], NOW), isMalformed);
  assert.throws(() => fulcioIdentity(Uint8Array.of(0x30, 0x00)), isMalformed);
});

test('builder arguments are validated; randomSerial is positive and at most 20 octets', async () => {
  const k = await key('ecdsa-p256', 'leaf');
  const base = { subject: [], issuer: [['CN', 'x']] as Name, notBefore: NOW, notAfter: NOW, publicKey: k.publicKey, extensions: [], signingKey: k.privateKey };
  const invalid = (e: unknown): boolean => isSignetError(e) && e.code === 'INVALID_ARGUMENT';
  await assert.rejects(buildCertificate({ ...base, serialNumber: 0n }), invalid);
  await assert.rejects(buildCertificate({ ...base, serialNumber: -5n }), invalid);
  await assert.rejects(buildCertificate({ ...base, serialNumber: 2n ** 159n }), invalid, '2^159 needs 21 octets');
  await assert.rejects(buildCertificate({ ...base, serialNumber: 1n, signingKey: k.publicKey as KeyObject }), invalid);
  await assert.rejects(buildCertificate({ ...base, serialNumber: 1n, notAfter: new Date(NOW.getTime() - 1) }), invalid);
  await assert.rejects(buildCertificate({ ...base, serialNumber: 1n, extensions: [ctPoison(), ctPoison()] }), invalid);
  await assert.rejects(buildCertificate({ ...base, serialNumber: 1n, subject: [['C', 'USA']] }), invalid);
  assert.throws(() => subjectAltName({ email: 'a@b', uri: 'x' } as never, true), invalid);
  assert.throws(() => basicConstraints(false, 0), invalid);
  assert.ok(await buildCertificate({ ...base, serialNumber: 2n ** 159n - 1n }));
  for (let i = 0; i < 50; i++) {
    const s = randomSerial();
    assert.ok(s > 0n && s < 2n ** 159n);
  }
  // Key usage bits are DER named bits: digitalSignature alone is 03 02 07 80.
  assert.deepEqual(keyUsage(['digitalSignature']).value, Uint8Array.of(0x03, 0x02, 0x07, 0x80));
  assert.deepEqual(keyUsage(['keyCertSign', 'cRLSign']).value, Uint8Array.of(0x03, 0x02, 0x01, 0x06));
  assert.deepEqual(keyUsage(['digitalSignature', 'decipherOnly']).value, Uint8Array.of(0x03, 0x03, 0x07, 0x80, 0x80));
});
