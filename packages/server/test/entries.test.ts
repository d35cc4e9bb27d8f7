// Proposed log entries signed by certificates: the key and identities are read from the certificate's DER, and a
// current leaf of the log's own CA is recognised (issuedBy) without OpenSSL's certificate and key decoders.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { buildCertificate, parseCertificate, spkiFingerprint, subjectAltName, toPem } from '@signet/core';
import { canonicalizeProposedEntry } from '../dist/tlog/entries.js';
import { issuedBy } from '../dist/tlog/issued.js';
import { SharedDigestSet } from '../dist/workers/digest-set.js';

const MIN = 60_000;

interface Ca {
  name: string;
  key: KeyObject;
  der: Uint8Array;
}

async function ca(name: string): Promise<Ca> {
  const k = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const subject = [['O', 'signet'], ['CN', name]] as const;
  const der = await buildCertificate({ serialNumber: 1n, subject, issuer: subject, notBefore: new Date(Date.now() - MIN), notAfter: new Date(Date.now() + 60 * MIN), publicKey: k.publicKey, extensions: [], signingKey: k.privateKey });
  return { name, key: k.privateKey, der };
}

async function leaf(issuer: Ca, publicKey: KeyObject, opts: { email?: string; notBefore?: Date } = {}): Promise<Uint8Array> {
  const notBefore = opts.notBefore ?? new Date(Date.now() - MIN);
  return buildCertificate({
    serialNumber: 7n,
    subject: [],
    issuer: [['O', 'signet'], ['CN', issuer.name]],
    notBefore,
    notAfter: new Date(notBefore.getTime() + 10 * MIN),
    publicKey,
    extensions: [subjectAltName({ email: opts.email ?? 'Dev@Example.test' }, true)],
    signingKey: issuer.key,
  });
}

function hashedrekord(certDer: Uint8Array, privateKey: KeyObject, data = Buffer.from('artifact'), hash = 'sha256'): unknown {
  return {
    apiVersion: '0.0.1',
    kind: 'hashedrekord',
    spec: {
      data: { hash: { algorithm: 'sha256', value: createHash('sha256').update(data).digest('hex') } },
      signature: { content: sign(hash, data, privateKey).toString('base64'), publicKey: { content: Buffer.from(toPem('CERTIFICATE', certDer)).toString('base64') } },
    },
  };
}

test('a leaf of the trusted CA: recognised, with the same pk: key OpenSSL gives and its SAN as search keys', async () => {
  const inter = await ca('intermediate');
  const issued = issuedBy(inter.der);
  const k = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const der = await leaf(inter, k.publicKey);
  const e = await canonicalizeProposedEntry(hashedrekord(der, k.privateKey), (c) => issued(c));
  assert.equal(e.fromTrustedIssuer, true);
  assert.ok(e.indexKeys.includes(`pk:${spkiFingerprint(k.publicKey)}`), e.indexKeys.join(' '));
  assert.ok(e.indexKeys.includes('email:dev@example.test'));
  assert.ok(e.indexKeys.includes('subject:Dev@Example.test'));
  // Without a trust predicate (or with another CA's) the same entry is valid but not from a trusted issuer.
  assert.equal((await canonicalizeProposedEntry(hashedrekord(der, k.privateKey))).fromTrustedIssuer, false);
});

test('issuedBy refuses another CA with the same name, a changed signature, an expired or future leaf, another issuer name', async () => {
  const inter = await ca('intermediate');
  const impostor = await ca('intermediate'); // same subject bytes, another key
  const issued = issuedBy(inter.der);
  const k = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const good = parseCertificate(await leaf(inter, k.publicKey));
  assert.equal(issued(good), true);
  assert.equal(issued(parseCertificate(await leaf(impostor, k.publicKey))), false, 'signed by another key');
  const sig = good.signature.slice();
  sig[sig.length - 3]! ^= 1;
  assert.equal(issued({ ...good, signature: sig }), false, 'signature changed');
  const tbs = good.tbs.slice();
  tbs[tbs.length - 1]! ^= 1;
  assert.equal(issued({ ...good, tbs }), false, 'TBS changed');
  assert.equal(issued(good, new Date(good.validity.notAfter.getTime() + 2 * MIN)), false, 'expired');
  assert.equal(issued(good, new Date(good.validity.notBefore.getTime() - 2 * MIN)), false, 'not yet valid');
  assert.equal(issued(good, new Date(good.validity.notAfter.getTime() + 30_000)), true, 'within the clock skew allowance');
  const otherName = await buildCertificate({
    serialNumber: 8n,
    subject: [],
    issuer: [['O', 'signet'], ['CN', 'someone else']],
    notBefore: new Date(Date.now() - MIN),
    notAfter: new Date(Date.now() + 9 * MIN),
    publicKey: k.publicKey,
    extensions: [subjectAltName({ email: 'a@example.test' }, true)],
    signingKey: inter.key,
  });
  assert.equal(issued(parseCertificate(otherName)), false, 'issuer name differs');
});

test('issuedBy with the CA\'s set of issued leaves: a known leaf skips the signature check, never the name or validity checks', async () => {
  const inter = await ca('intermediate');
  const known = SharedDigestSet.create(16);
  const issued = issuedBy(inter.der, known);
  const k = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const good = parseCertificate(await leaf(inter, k.publicKey));
  assert.equal(issued(good), true, 'not in the set: verified');
  // A certificate whose signature bytes are broken passes only while the set holds its exact DER. (The CA adds only
  // what it signed, so this cannot happen for real; here it shows the signature check was skipped.)
  const der = good.der.slice();
  der[der.length - 3]! ^= 1;
  const broken = parseCertificate(der);
  assert.equal(issued(broken), false, 'unknown and badly signed');
  known.add(createHash('sha256').update(der).digest());
  assert.equal(issued(broken), true, 'known: no signature check');
  assert.equal(issued(broken, new Date(broken.validity.notAfter.getTime() + 2 * MIN)), false, 'known but expired');
  assert.equal(issued(broken, new Date(broken.validity.notBefore.getTime() - 2 * MIN)), false, 'known but not yet valid');
  const other = issuedBy((await ca('another')).der, known);
  assert.equal(other(broken), false, 'known, but the issuer name is another CA\'s');
});

test('certificates with other keys (RSA, P-384) verify through KeyObjects; bad certificates and signatures are clear errors', async () => {
  const inter = await ca('intermediate');
  const issued = issuedBy(inter.der);
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const rsaEntry = await canonicalizeProposedEntry(hashedrekord(await leaf(inter, rsa.publicKey), rsa.privateKey), (c) => issued(c));
  assert.equal(rsaEntry.fromTrustedIssuer, true);
  assert.ok(rsaEntry.indexKeys.includes(`pk:${spkiFingerprint(rsa.publicKey)}`));
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const e384 = await canonicalizeProposedEntry(hashedrekord(await leaf(inter, p384.publicKey), p384.privateKey, Buffer.from('artifact'), 'sha256'));
  assert.ok(e384.indexKeys.includes(`pk:${spkiFingerprint(p384.publicKey)}`));

  const k = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const der = await leaf(inter, k.publicKey);
  const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  await assert.rejects(canonicalizeProposedEntry(hashedrekord(der, other.privateKey)), /signature does not verify against the digest/);
  const ed = generateKeyPairSync('ed25519');
  await assert.rejects(canonicalizeProposedEntry(hashedrekord(await leaf(inter, ed.publicKey), ed.privateKey, Buffer.from('x'), null as unknown as string)), /a ed25519 key cannot sign a hashedrekord entry/);
  const truncated = hashedrekord(der.subarray(0, der.length - 5), k.privateKey);
  await assert.rejects(canonicalizeProposedEntry(truncated), /spec\.signature\.publicKey\.content is not a PEM certificate or public key: malformed/);
  const noBlock = hashedrekord(der, k.privateKey) as { spec: { signature: { publicKey: { content: string } } } };
  noBlock.spec.signature.publicKey.content = Buffer.from('-----BEGIN CERTIFICATE-----\n%%%\n').toString('base64');
  await assert.rejects(canonicalizeProposedEntry(noBlock), /is not a PEM certificate or public key/);
});
