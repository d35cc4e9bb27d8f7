import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  OID,
  buildCertificate,
  buildTimeStampReq,
  bytesEqual,
  createTimeStampResponse,
  extKeyUsage,
  generateKeyPair,
  keyUsage,
  randomSerial,
  derInteger,
  derOctetString,
  derOid,
  derSequence,
  parseCertificate,
  parsePemBlocks,
  parseTimeStampResponse,
  verifyTimeStampToken,
  type TsaHash,
} from '@signet/core';
import { RFC3161Timestamp, X509Certificate as SigstoreX509 } from '@sigstore/core';
import { verifyRFC3161Timestamp } from '@sigstore/verify/dist/timestamp/tsa.js';
import { requireTool, run, tempDir } from '@signet/testkit';
import { build, loadConfig } from '../dist/index.js';
import { PreparedTsaSigner, TSA_POLICY_OID } from '../dist/tsa/index.js';
import { testServer, type TestServer } from './helpers.js';

async function stamp(s: TestServer, body: string | Buffer, type: string): Promise<{ status: number; type: string; der: Buffer }> {
  const r = await s.app.inject({ method: 'POST', url: '/api/v1/timestamp', payload: body, headers: { 'content-type': type } });
  return { status: r.statusCode, type: String(r.headers['content-type']), der: r.rawPayload };
}

const json = (o: unknown): string => JSON.stringify(o);

function chainOf(s: TestServer): Uint8Array[] {
  return s.app.services.tsa.trustMaterial().tsaChain;
}

test('TSA: JSON requests (as sigstore-js sends them) get granted tokens that verify; nonce echoed; sha256/384/512', async (t) => {
  const s = await testServer(t);
  const data = randomBytes(64);
  for (const alg of ['sha256', 'sha384', 'sha512'] as TsaHash[]) {
    const digest = createHash(alg).update(data).digest();
    const nonce = 1234567890123n;
    const r = await stamp(s, json({ artifactHash: digest.toString('base64'), hashAlgorithm: alg, nonce: Number(nonce) }), 'application/json');
    assert.equal(r.status, 200);
    assert.match(r.type, /^application\/timestamp-reply/);
    const resp = parseTimeStampResponse(r.der);
    assert.equal(resp.status, 0);
    assert.ok(resp.token && resp.tstInfo && resp.signerInfo);
    assert.equal(resp.tstInfo.nonce, nonce);
    assert.equal(resp.tstInfo.hashAlgorithm, alg);
    assert.equal(resp.tstInfo.policy, TSA_POLICY_OID);
    assert.ok(bytesEqual(resp.tstInfo.hashedMessage, digest));
    assert.equal(resp.tstInfo.genTime.getUTCMilliseconds(), 0, 'genTime to the second');
    assert.ok(Math.abs(resp.tstInfo.genTime.getTime() - Date.now()) < 3_000);
    assert.ok('issuer' in resp.signerInfo.sid, 'sid is issuerAndSerialNumber');
    assert.equal(resp.signerInfo.signatureAlgorithm, OID.ecdsaWithSha256);
    assert.equal(resp.certificates.length, 0, 'no certificates unless asked');
    const v = await verifyTimeStampToken(resp.token, { data, tsaCertificates: chainOf(s), nonce });
    assert.ok(v.ok, JSON.stringify(v.checks.filter((c) => !c.ok)));
    // sigstore-js verifies the token against the TSA chain as a trusted root lists it (leaf first).
    const tsas = [{ certChain: chainOf(s).map((d) => SigstoreX509.parse(Buffer.from(d))), validFor: { start: new Date(0), end: new Date(8.64e15) } }];
    // (a bundle's signedTimestamp is the whole TimeStampResp, the body the TSA returns)
    verifyRFC3161Timestamp(RFC3161Timestamp.parse(Buffer.from(r.der)), data, tsas);
    assert.throws(() => verifyRFC3161Timestamp(RFC3161Timestamp.parse(Buffer.from(r.der)), Buffer.from('other bytes'), tsas));
  }
  // certificates: true embeds the chain; a large nonce as a decimal string.
  const digest = createHash('sha256').update(data).digest();
  const big = (1n << 100n) + 7n;
  const r = await stamp(s, json({ artifactHash: digest.toString('base64'), hashAlgorithm: 'sha256', certificates: true, nonce: big.toString() }), 'application/json');
  assert.equal(r.status, 200);
  const resp = parseTimeStampResponse(r.der);
  assert.equal(resp.tstInfo!.nonce, big);
  assert.equal(resp.certificates.length, 2);
  // Unique serials.
  const serials = new Set<bigint>();
  for (let i = 0; i < 20; i++) {
    const x = parseTimeStampResponse((await stamp(s, json({ artifactHash: digest.toString('base64'), hashAlgorithm: 'sha256' }), 'application/json')).der);
    serials.add(x.tstInfo!.serialNumber);
  }
  assert.equal(serials.size, 20);
});

test('TSA: DER requests, and openssl ts parses and verifies the replies', async (t) => {
  const s = await testServer(t);
  const data = randomBytes(100);
  const digest = createHash('sha256').update(data).digest();
  const nonce = 0x1234567890abcdefn;
  const q = buildTimeStampReq({ algorithm: 'sha256', digest, nonce, certReq: true });
  const r = await stamp(s, Buffer.from(q), 'application/timestamp-query');
  assert.equal(r.status, 200);
  const resp = parseTimeStampResponse(r.der);
  assert.equal(resp.tstInfo!.nonce, nonce);
  assert.equal(resp.certificates.length, 2, 'certReq includes the chain');
  const v = await verifyTimeStampToken(resp.token!, { digest: { algorithm: 'sha256', value: digest }, tsaCertificates: chainOf(s), nonce });
  assert.ok(v.ok, JSON.stringify(v.checks.filter((c) => !c.ok)));

  // The chain as served (PEM, leaf first) is the trust material, and has the TSA profile.
  const pem = await s.app.inject({ url: '/api/v1/timestamp/certchain' });
  assert.equal(pem.statusCode, 200);
  assert.match(String(pem.headers['content-type']), /^application\/pem-certificate-chain/);
  const blocks = parsePemBlocks(pem.body);
  assert.equal(blocks.length, 2);
  assert.ok(bytesEqual(blocks[0]!.der, chainOf(s)[0]!) && bytesEqual(blocks[1]!.der, chainOf(s)[1]!));
  const leaf = parseCertificate(blocks[0]!.der);
  const root = parseCertificate(blocks[1]!.der);
  assert.deepEqual(leaf.extKeyUsage, [OID.timeStamping]);
  assert.equal(leaf.extensions.find((e) => e.oid === OID.extKeyUsage)?.critical, true);
  assert.deepEqual(leaf.keyUsage, ['digitalSignature']);
  assert.ok((leaf.validity.notAfter.getTime() - leaf.validity.notBefore.getTime()) / 86_400_000 >= 3650);
  assert.equal(root.basicConstraints?.ca, true);
  const xl = new X509Certificate(Buffer.from(blocks[0]!.der));
  const xr = new X509Certificate(Buffer.from(blocks[1]!.der));
  assert.ok(xl.verify(xr.publicKey));
  assert.equal(xl.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  assert.equal(xr.publicKey.asymmetricKeyDetails?.namedCurve, 'secp384r1');
  // Separate from the keyless CA's root.
  assert.ok(!bytesEqual(blocks[1]!.der, s.app.services.ca.trustMaterial().caChain[1]!));
  assert.equal(s.app.services.tsa.trustMaterial().tsaValidFrom.getTime(), leaf.validity.notBefore.getTime());

  const openssl = requireTool(t, 'openssl');
  if (!openssl) return;
  const dir = tempDir(t, 'signet-tsa-');
  writeFileSync(join(dir, 'resp.der'), r.der);
  writeFileSync(join(dir, 'leaf.pem'), `-----BEGIN CERTIFICATE-----\n${Buffer.from(blocks[0]!.der).toString('base64')}\n-----END CERTIFICATE-----\n`);
  writeFileSync(join(dir, 'root.pem'), `-----BEGIN CERTIFICATE-----\n${Buffer.from(blocks[1]!.der).toString('base64')}\n-----END CERTIFICATE-----\n`);
  const text = await run(openssl, ['ts', '-reply', '-in', join(dir, 'resp.der'), '-text']);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /Status: Granted\./);
  assert.match(text.stdout, new RegExp(`Policy OID: ${TSA_POLICY_OID.replace(/\./g, '\\.')}`));
  assert.match(text.stdout, /Nonce: 0x1234567890ABCDEF/i);
  const verify = await run(openssl, ['ts', '-verify', '-digest', digest.toString('hex'), '-in', join(dir, 'resp.der'), '-CAfile', join(dir, 'root.pem'), '-untrusted', join(dir, 'leaf.pem')]);
  assert.equal(verify.code, 0, verify.stderr + verify.stdout);
  assert.match(verify.stdout, /Verification: OK/);

  // A query made by openssl itself (sha512, no nonce), and a JSON token without embedded certificates, verified
  // by openssl against the data file.
  writeFileSync(join(dir, 'data.bin'), data);
  const mk = await run(openssl, ['ts', '-query', '-data', join(dir, 'data.bin'), '-sha512', '-no_nonce', '-cert', '-out', join(dir, 'q.tsq')]);
  assert.equal(mk.code, 0, mk.stderr);
  const r2 = await stamp(s, readFileSync(join(dir, 'q.tsq')), 'application/timestamp-query');
  assert.equal(r2.status, 200);
  writeFileSync(join(dir, 'r2.der'), r2.der);
  const v2 = await run(openssl, ['ts', '-verify', '-data', join(dir, 'data.bin'), '-in', join(dir, 'r2.der'), '-CAfile', join(dir, 'root.pem')]);
  assert.equal(v2.code, 0, v2.stderr + v2.stdout);
  assert.match(v2.stdout, /Verification: OK/);
  const r3 = await stamp(s, json({ artifactHash: digest.toString('base64'), hashAlgorithm: 'sha256' }), 'application/json');
  writeFileSync(join(dir, 'r3.der'), r3.der);
  const v3 = await run(openssl, ['ts', '-verify', '-data', join(dir, 'data.bin'), '-in', join(dir, 'r3.der'), '-CAfile', join(dir, 'root.pem'), '-untrusted', join(dir, 'leaf.pem')]);
  assert.equal(v3.code, 0, v3.stderr + v3.stdout);
  assert.match(v3.stdout, /Verification: OK/);
});

test('TSA: bad requests get a rejection TimeStampResp with the right failure info and a 4xx, never a 500', async (t) => {
  const s = await testServer(t);
  const d32 = Buffer.alloc(32, 1).toString('base64');
  const sha1Req = derSequence(derInteger(1), derSequence(derSequence(derOid('1.3.14.3.2.26')), derOctetString(new Uint8Array(20))));
  const cases: Array<[string, string | Buffer, string, string, RegExp]> = [
    ['short sha256 digest (JSON)', json({ artifactHash: Buffer.alloc(20).toString('base64'), hashAlgorithm: 'sha256' }), 'application/json', 'badDataFormat', /sha256 digest is 32 bytes, got 20/],
    ['sha384 with a 32-byte digest', json({ artifactHash: d32, hashAlgorithm: 'sha384' }), 'application/json', 'badDataFormat', /sha384 digest is 48 bytes/],
    ['unknown algorithm (JSON)', json({ artifactHash: d32, hashAlgorithm: 'md5' }), 'application/json', 'badAlg', /unsupported hash algorithm "md5"/],
    ['not JSON', '{"artifactHash":', 'application/json', 'badDataFormat', /not valid JSON/],
    ['empty JSON body', '', 'application/json', 'badDataFormat', /not valid JSON/],
    ['JSON array', '[]', 'application/json', 'badDataFormat', /JSON object/],
    ['missing artifactHash', json({ hashAlgorithm: 'sha256' }), 'application/json', 'badRequest', /artifactHash is required/],
    ['artifactHash not base64', json({ artifactHash: '!!!', hashAlgorithm: 'sha256' }), 'application/json', 'badDataFormat', /not valid base64/],
    ['negative nonce', json({ artifactHash: d32, hashAlgorithm: 'sha256', nonce: -1 }), 'application/json', 'badRequest', /nonce must be a non-negative integer/],
    ['unknown field', json({ artifactHash: d32, hashAlgorithm: 'sha256', extra: 1 }), 'application/json', 'badRequest', /unknown field "extra"/],
    ['other policy', json({ artifactHash: d32, hashAlgorithm: 'sha256', tsaPolicyOID: '1.2.3.4' }), 'application/json', 'unacceptedPolicy', /policy 1\.2\.3\.4 is not offered/],
    ['garbage DER', Buffer.from('definitely not DER'), 'application/timestamp-query', 'badDataFormat', /malformed|DER/i],
    ['empty DER body', Buffer.alloc(0), 'application/timestamp-query', 'badDataFormat', /empty/],
    ['SHA-1 query (DER)', Buffer.from(sha1Req), 'application/timestamp-query', 'badAlg', /unsupported|SHA-1|1\.3\.14\.3\.2\.26/i],
    ['short digest (DER)', Buffer.from(derSequence(derInteger(1), derSequence(derSequence(derOid('2.16.840.1.101.3.4.2.1')), derOctetString(new Uint8Array(31))))), 'application/timestamp-query', 'badDataFormat', /32 bytes, got 31/],
  ];
  for (const [name, body, type, fail, re] of cases) {
    const r = await stamp(s, body, type);
    assert.equal(r.status, 400, name);
    assert.match(r.type, /^application\/timestamp-reply/, name);
    const resp = parseTimeStampResponse(r.der);
    assert.equal(resp.status, 2, `${name}: rejection`);
    assert.deepEqual(resp.failInfo, [fail], name);
    assert.match(resp.statusStrings.join(' '), re, name);
    assert.equal(resp.token, undefined);
  }
  const other = await s.app.inject({ method: 'POST', url: '/api/v1/timestamp', payload: 'x', headers: { 'content-type': 'text/plain' } });
  assert.equal(other.statusCode, 415);
  const huge = await stamp(s, Buffer.alloc(100_000), 'application/timestamp-query');
  assert.equal(huge.status, 413);
  const paths = Object.keys(((await s.app.inject({ url: '/openapi.json' })).json() as { paths: object }).paths);
  for (const p of ['/api/v1/timestamp', '/api/v1/timestamp/certchain']) assert.ok(paths.includes(p), p);
});

test('TSA: a restart reuses the same chain', async (t) => {
  const dir = tempDir(t, 'signet-tsa-restart-');
  const config = loadConfig({ data: dir, listen: '127.0.0.1:0' }, { SIGNET_LOG_LEVEL: 'silent' });
  const a = await build(config);
  const first = (await a.inject({ url: '/api/v1/timestamp/certchain' })).body;
  await a.close();
  const b = await build(config);
  t.after(() => b.close());
  assert.equal((await b.inject({ url: '/api/v1/timestamp/certchain' })).body, first);
});

test('TSA: the prepared signer writes what core\'s createTimeStampResponse writes (all but the ECDSA signature)', async () => {
  for (const kind of ['ecdsa-p256', 'ecdsa-p384'] as const) {
    const k = await generateKeyPair(kind);
    const name: Array<[string, string]> = [['CN', 'tsa test']];
    const cert = await buildCertificate({
      serialNumber: randomSerial(),
      subject: name,
      issuer: name,
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 86_400_000),
      publicKey: k.publicKey,
      extensions: [keyUsage(['digitalSignature']), extKeyUsage(['timeStamping'], true)],
      signingKey: k.privateKey,
    });
    const prepared = new PreparedTsaSigner(k.privateKey, cert, [], '1.2.3.4', 1);
    for (const [alg, nonce, certReq] of [
      ['sha256', 5n, true],
      ['sha512', undefined, false],
      ['sha384', (1n << 70n) + 3n, false],
    ] as Array<[TsaHash, bigint | undefined, boolean]>) {
      const common = { hashAlgorithm: alg, hashedMessage: createHash(alg).update('x').digest(), serialNumber: 0x7fn << 120n, genTime: new Date(), certReq, ...(nonce !== undefined ? { nonce } : {}) };
      const mine = parseTimeStampResponse(await prepared.response(common));
      const core = parseTimeStampResponse(await createTimeStampResponse({ ...common, policy: '1.2.3.4', accuracy: { seconds: 1 }, signer: { privateKey: k.privateKey, certificate: cert } }));
      assert.deepEqual(mine.tstInfo, core.tstInfo);
      assert.ok(bytesEqual(mine.signerInfo!.signedAttrs, core.signerInfo!.signedAttrs));
      assert.deepEqual({ ...mine.signerInfo!, signature: null }, { ...core.signerInfo!, signature: null });
      assert.deepEqual(mine.certificates, core.certificates);
      const v = await verifyTimeStampToken(mine.token!, { digest: { algorithm: alg, value: common.hashedMessage }, tsaCertificates: [cert], ...(nonce !== undefined ? { nonce } : {}) });
      assert.ok(v.ok, JSON.stringify(v.checks.filter((c) => !c.ok)));
    }
  }
  const other = await generateKeyPair('ecdsa-p256');
  const k = await generateKeyPair('ecdsa-p256');
  const cert = await buildCertificate({ serialNumber: 1n, subject: [['CN', 'x']], issuer: [['CN', 'x']], notBefore: new Date(), notAfter: new Date(Date.now() + 1e6), publicKey: k.publicKey, extensions: [], signingKey: k.privateKey });
  assert.throws(() => new PreparedTsaSigner(other.privateKey, cert, [], '1.2.3'), /does not belong/);
});
