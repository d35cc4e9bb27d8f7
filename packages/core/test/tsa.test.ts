import { after, test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPrivateKey, generateKeyPairSync, X509Certificate, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireTool, run } from '@signet/testkit';
import {
  buildTimeStampReq,
  createTimeStampResponse,
  parseTimeStampReq,
  parseTimeStampResponse,
  parseTimeStampToken,
  timeStampErrorResponse,
  verifyTimeStampToken,
  type TimeStampResponseOptions,
  type TimeStampVerdict,
} from '../dist/tsa/index.js';
import { derInteger, derNull, derOctetString, derOid, derSequence } from '../dist/encoding/der-writer.js';
import { SignetError } from '../dist/errors.js';

// ---------------------------------------------------------------------------------------------
// A test PKI made with the openssl CLI: root CA, TSA leaves (good, P-384, non-critical EKU, no EKU),
// an intermediate CA, a non-CA "issuer", and a second unrelated root.

const DIR = mkdtempSync(join(tmpdir(), 'signet-tsa-'));
after(() => rmSync(DIR, { recursive: true, force: true }));

interface Cert {
  der: Uint8Array;
  pem: string;
  keyPath: string;
  key: KeyObject;
}
interface Pki {
  root: Cert;
  otherRoot: Cert;
  leaf: Cert;
  leaf384: Cert;
  nonCritical: Cert;
  noEku: Cert;
  strayLeaf: Cert;
  intermediate: Cert;
  viaIntermediate: Cert;
  notCa: Cert;
  underNotCa: Cert;
}

const TSA_EXT = 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=critical,timeStamping\nsubjectKeyIdentifier=hash\n';
const CA_EXT = 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n';

async function openssl(bin: string, args: string[]): Promise<void> {
  const r = await run(bin, args, { cwd: DIR });
  assert.equal(r.code, 0, `openssl ${args.join(' ')}: ${r.stderr}`);
}

function load(name: string): Cert {
  const pem = join(DIR, `${name}.pem`);
  const keyPath = join(DIR, `${name}.key`);
  return { der: new Uint8Array(new X509Certificate(readFileSync(pem)).raw), pem, keyPath, key: createPrivateKey(readFileSync(keyPath)) };
}

async function rootCa(bin: string, name: string, cn: string): Promise<Cert> {
  writeFileSync(
    join(DIR, `${name}.cnf`),
    `[req]\ndistinguished_name=dn\nx509_extensions=v3_ca\nprompt=no\n[dn]\nCN=${cn}\n[v3_ca]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n`,
  );
  await openssl(bin, ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`]);
  await openssl(bin, ['req', '-x509', '-new', '-config', `${name}.cnf`, '-key', `${name}.key`, '-days', '3650', '-sha256', '-out', `${name}.pem`]);
  return load(name);
}

let serial = 0x1000;
async function issue(bin: string, name: string, cn: string, ca: string, ext: string, curve = 'prime256v1'): Promise<Cert> {
  writeFileSync(join(DIR, `${name}.ext`), ext);
  await openssl(bin, ['ecparam', '-name', curve, '-genkey', '-noout', '-out', `${name}.key`]);
  await openssl(bin, ['req', '-new', '-config', 'root.cnf', '-key', `${name}.key`, '-subj', `/CN=${cn}`, '-out', `${name}.csr`]);
  await openssl(bin, [
    'x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-set_serial', String(++serial),
    '-days', '365', '-sha256', '-extfile', `${name}.ext`, '-out', `${name}.pem`,
  ]);
  return load(name);
}

let pkiPromise: Promise<Pki> | undefined;
function pki(bin: string): Promise<Pki> {
  pkiPromise ??= (async () => {
    const root = await rootCa(bin, 'root', 'Signet Test TSA Root');
    const otherRoot = await rootCa(bin, 'other', 'Someone Else Root');
    const intermediate = await issue(bin, 'inter', 'Signet Test TSA Intermediate', 'root', CA_EXT);
    const notCa = await issue(bin, 'notca', 'Not A CA', 'root', 'basicConstraints=critical,CA:FALSE\n');
    return {
      root,
      otherRoot,
      intermediate,
      notCa,
      leaf: await issue(bin, 'tsa', 'Signet Test TSA', 'root', TSA_EXT),
      leaf384: await issue(bin, 'tsa384', 'Signet Test TSA P-384', 'root', TSA_EXT, 'secp384r1'),
      nonCritical: await issue(bin, 'noncrit', 'TSA with non-critical EKU', 'root', 'extendedKeyUsage=timeStamping\n'),
      noEku: await issue(bin, 'noeku', 'TSA without EKU', 'root', 'keyUsage=critical,digitalSignature\n'),
      strayLeaf: await issue(bin, 'stray', 'Signet Test TSA', 'other', TSA_EXT),
      viaIntermediate: await issue(bin, 'tsa-int', 'TSA under intermediate', 'inter', TSA_EXT),
      underNotCa: await issue(bin, 'tsa-notca', 'TSA under non-CA', 'notca', TSA_EXT),
    };
  })();
  return pkiPromise;
}

async function setup(t: TestContext): Promise<Pki | undefined> {
  const bin = requireTool(t, 'openssl');
  if (!bin) return undefined;
  return pki(bin);
}

// ---------------------------------------------------------------------------------------------

const data = new TextEncoder().encode('signature bytes to time-stamp\n');
const sha = (h: string, b: Uint8Array): Uint8Array => new Uint8Array(createHash(h).update(b).digest());
const failed = (v: TimeStampVerdict): string[] => v.checks.filter((c) => !c.ok).map((c) => c.name);
const POLICY = '1.3.6.1.4.1.57264.2';

function options(signer: Cert, extra: Partial<TimeStampResponseOptions> = {}, chain: Cert[] = []): TimeStampResponseOptions {
  return {
    hashAlgorithm: 'sha256',
    hashedMessage: sha('sha256', data),
    certReq: true,
    policy: POLICY,
    serialNumber: 0x0102030405n,
    // Not earlier: the certificates' notBefore is the second they were made.
    genTime: new Date(),
    signer: { privateKey: signer.key, certificate: signer.der, chain: chain.map((c) => c.der) },
    ...extra,
  };
}

function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  const i = Buffer.from(hay).indexOf(Buffer.from(needle));
  assert.ok(i >= 0, 'needle not found');
  return i;
}
function flip(b: Uint8Array, at: number): Uint8Array {
  const c = Uint8Array.from(b);
  c[at]! ^= 0x01;
  return c;
}
const isCode = (code: string) => (e: unknown): boolean => e instanceof SignetError && e.code === code;

// ---------------------------------------------------------------------------------------------
// Requests

test('buildTimeStampReq ⇄ parseTimeStampReq round trip, DER defaults omitted', () => {
  for (const alg of ['sha256', 'sha384', 'sha512'] as const) {
    const digest = sha(alg, data);
    const der = buildTimeStampReq({ algorithm: alg, digest, nonce: 0x8899aabbccddeeffn, certReq: true, reqPolicy: '1.2.3.4' });
    const req = parseTimeStampReq(der);
    assert.deepEqual(req, { version: 1, hashAlgorithm: alg, hashedMessage: digest, reqPolicy: '1.2.3.4', nonce: 0x8899aabbccddeeffn, certReq: true });
  }
  const plain = buildTimeStampReq({ algorithm: 'sha256', digest: sha('sha256', data) });
  // version, messageImprint and nothing else: certReq FALSE is the DEFAULT and is not encoded.
  assert.equal(plain.length, 2 + 3 + 2 + 13 + 34);
  assert.deepEqual(parseTimeStampReq(plain), { version: 1, hashAlgorithm: 'sha256', hashedMessage: sha('sha256', data), certReq: false });
});

test('parseTimeStampReq is strict: lengths, hash OIDs, parameters, version, trailing bytes', () => {
  const imprint = (oid: string, digest: Uint8Array, params?: Uint8Array): Uint8Array =>
    derSequence(params ? derSequence(derOid(oid), params) : derSequence(derOid(oid)), derOctetString(digest));
  const req = (...parts: Uint8Array[]): Uint8Array => derSequence(derInteger(1), ...parts);
  const SHA256 = '2.16.840.1.101.3.4.2.1';
  // OpenSSL's form, NULL parameters, is accepted.
  assert.equal(parseTimeStampReq(req(imprint(SHA256, new Uint8Array(32), derNull()))).hashAlgorithm, 'sha256');
  assert.throws(() => parseTimeStampReq(req(imprint(SHA256, new Uint8Array(31)))), (e: unknown) => isCode('MALFORMED_INPUT')(e) && /32 bytes, got 31/.test((e as Error).message));
  assert.throws(() => parseTimeStampReq(req(imprint('1.3.14.3.2.26', new Uint8Array(20), derNull()))), (e: unknown) => isCode('UNSUPPORTED_ALGORITHM')(e) && /1\.3\.14\.3\.2\.26/.test((e as Error).message));
  assert.throws(() => parseTimeStampReq(req(imprint(SHA256, new Uint8Array(32), derInteger(5)))), isCode('MALFORMED_INPUT'));
  assert.throws(() => parseTimeStampReq(derSequence(derInteger(2), imprint(SHA256, new Uint8Array(32)))), /version must be 1/);
  const good = req(imprint(SHA256, new Uint8Array(32)));
  assert.throws(() => parseTimeStampReq(Uint8Array.from([...good, 0])), (e: unknown) => isCode('MALFORMED_INPUT')(e) && /trailing/.test((e as Error).message));
  assert.throws(() => parseTimeStampReq(good.subarray(0, good.length - 1)), isCode('MALFORMED_INPUT'));
  assert.throws(() => parseTimeStampReq(new TextEncoder().encode('GET / HTTP/1.1')), isCode('MALFORMED_INPUT'));
  assert.throws(() => parseTimeStampReq(req(imprint(SHA256, new Uint8Array(32)), derOctetString(new Uint8Array(1)))), /unexpected field/);
  assert.throws(() => buildTimeStampReq({ algorithm: 'sha1' as never, digest: new Uint8Array(20) }), isCode('UNSUPPORTED_ALGORITHM'));
  assert.throws(() => buildTimeStampReq({ algorithm: 'sha256', digest: new Uint8Array(20) }), isCode('INVALID_ARGUMENT'));
});

test('timeStampErrorResponse: PKIStatusInfo with failInfo as a minimal named BIT STRING', () => {
  assert.deepEqual([...timeStampErrorResponse('rejection', 'badAlg')], [0x30, 0x09, 0x30, 0x07, 0x02, 0x01, 0x02, 0x03, 0x02, 0x07, 0x80]);
  assert.deepEqual([...timeStampErrorResponse('rejection', 'badRequest')].slice(-4), [0x03, 0x02, 0x05, 0x20]);
  const r = parseTimeStampResponse(timeStampErrorResponse('rejection', ['badDataFormat', 'systemFailure'], 'cannot parse the request'));
  assert.equal(r.status, 2);
  assert.deepEqual(r.failInfo, ['badDataFormat', 'systemFailure']);
  assert.deepEqual(r.statusStrings, ['cannot parse the request']);
  assert.equal(r.token, undefined);
  assert.throws(() => timeStampErrorResponse('granted' as never), isCode('INVALID_ARGUMENT'));
});

// ---------------------------------------------------------------------------------------------
// Tokens

test('createTimeStampResponse → parse → verify (P-256 and P-384, certReq on and off, data and digest)', async (t) => {
  const p = await setup(t);
  if (!p) return;
  const genTime = new Date(Date.now() + 3_600_000);
  genTime.setUTCMilliseconds(678);
  for (const signer of [p.leaf, p.leaf384]) {
    const resp = await createTimeStampResponse(options(signer, { genTime, genTimePrecision: 'millis', nonce: 12345678901234567890n, accuracy: { seconds: 1, millis: 250 } }, [p.root]));
    const parsed = parseTimeStampResponse(resp);
    assert.equal(parsed.status, 0);
    assert.ok(parsed.token && parsed.tstInfo && parsed.signerInfo);
    assert.equal(parsed.tstInfo.policy, POLICY);
    assert.equal(parsed.tstInfo.serialNumber, 0x0102030405n);
    assert.equal(parsed.tstInfo.genTime.toISOString(), genTime.toISOString());
    assert.deepEqual(parsed.tstInfo.accuracy, { seconds: 1, millis: 250 });
    assert.equal(parsed.tstInfo.nonce, 12345678901234567890n);
    assert.deepEqual(parsed.tstInfo.hashedMessage, sha('sha256', data));
    assert.equal(parsed.certificates.length, 2);
    assert.equal(parsed.signerInfo.digestAlgorithm, signer === p.leaf ? 'sha256' : 'sha384');
    assert.equal(parsed.signerInfo.signatureAlgorithm, signer === p.leaf ? '1.2.840.10045.4.3.2' : '1.2.840.10045.4.3.3');
    const x = new X509Certificate(Buffer.from(signer.der));
    assert.ok('issuer' in parsed.signerInfo.sid);
    assert.equal(Buffer.from(parsed.signerInfo.sid.serialNumber.subarray(2)).toString('hex').toUpperCase().replace(/^0+/, ''), x.serialNumber.replace(/^0+/, ''));
    // The token alone parses the same; the ESSCertIDv2 omits its DEFAULT hashAlgorithm (first field is the hash).
    const tok = parseTimeStampToken(parsed.token);
    const ess = tok.signerInfo.attributes.find((a) => a.oid === '1.2.840.113549.1.9.16.2.47');
    assert.ok(ess);
    const certHash = sha('sha256', signer.der);
    assert.deepEqual([...ess.values[0]!.subarray(6, 8)], [0x04, 0x20]);
    assert.deepEqual(ess.values[0]!.subarray(8, 40), certHash);

    const now = new Date(genTime.getTime() + 60_000);
    const v = await verifyTimeStampToken(resp, { data, tsaCertificates: [p.root.der], nonce: 12345678901234567890n, now });
    assert.equal(v.ok, true, JSON.stringify(v.checks));
    assert.deepEqual(v.checks.map((c) => c.name), ['format', 'message-imprint', 'signature', 'signer', 'eku', 'validity', 'nonce']);
    assert.equal(v.genTime?.toISOString(), genTime.toISOString());
    // The bare token, and a digest instead of the data, verify too.
    assert.equal((await verifyTimeStampToken(parsed.token, { digest: { algorithm: 'sha256', value: sha('sha256', data) }, tsaCertificates: [p.root.der], now })).ok, true);
  }
  // Without certReq the token carries no certificates; the signer comes from the trusted list.
  const bare = await createTimeStampResponse(options(p.leaf, { certReq: false }));
  assert.equal(parseTimeStampResponse(bare).certificates.length, 0);
  assert.equal((await verifyTimeStampToken(bare, { data, tsaCertificates: [p.leaf.der, p.root.der] })).ok, true);
  const missing = await verifyTimeStampToken(bare, { data, tsaCertificates: [p.root.der] });
  assert.deepEqual(failed(missing), ['signer']);
  // By default genTime is truncated to the second; 'millis' drops trailing zeros of the fraction (DER).
  const half = new Date();
  half.setUTCMilliseconds(500);
  const trunc = parseTimeStampResponse(await createTimeStampResponse(options(p.leaf, { genTime: half }))).tstInfo!.genTime;
  assert.equal(trunc.getTime(), half.getTime() - 500);
  assert.ok(Buffer.from(await createTimeStampResponse(options(p.leaf, { genTime: half, genTimePrecision: 'millis' }))).includes(Buffer.from('.5Z')));
  // A whole-second genTime is written without a fraction; other hashes of the data work.
  const whole = new Date(Date.now() + 7_200_000);
  whole.setUTCMilliseconds(0);
  const stamp = whole.toISOString().replace(/[-:T]/g, '').replace('.000', '');
  const r512 = await createTimeStampResponse(options(p.leaf, { genTime: whole, hashAlgorithm: 'sha512', hashedMessage: sha('sha512', data) }));
  assert.ok(Buffer.from(r512).includes(Buffer.from(stamp)));
  assert.equal((await verifyTimeStampToken(r512, { data, tsaCertificates: [p.root.der], now: whole })).ok, true);
});

test('a chain through an intermediate CA verifies; a non-CA issuer does not', async (t) => {
  const p = await setup(t);
  if (!p) return;
  const good = await createTimeStampResponse(options(p.viaIntermediate, {}, [p.intermediate]));
  const v = await verifyTimeStampToken(good, { data, tsaCertificates: [p.root.der] });
  assert.equal(v.ok, true, JSON.stringify(v.checks));
  assert.match(v.checks.find((c) => c.name === 'signer')!.detail, /trusted root "CN=Signet Test TSA Root"/);
  const bad = await createTimeStampResponse(options(p.underNotCa, {}, [p.notCa]));
  const vb = await verifyTimeStampToken(bad, { data, tsaCertificates: [p.root.der] });
  assert.deepEqual(failed(vb), ['signer']);
  assert.match(vb.checks.find((c) => !c.ok)!.detail, /is not a CA/);
});

test('negatives: wrong data, tampered TSTInfo, signedAttrs and signature, wrong nonce', async (t) => {
  const p = await setup(t);
  if (!p) return;
  const resp = await createTimeStampResponse(options(p.leaf, { nonce: 42n }, [p.root]));
  const trust = { tsaCertificates: [p.root.der] };
  assert.equal((await verifyTimeStampToken(resp, { data, ...trust, nonce: 42n })).ok, true);

  const wrongData = await verifyTimeStampToken(resp, { data: new TextEncoder().encode('other'), ...trust });
  assert.deepEqual(failed(wrongData), ['message-imprint']);
  assert.match(wrongData.checks[1]!.detail, /does not match the data/);
  assert.equal(wrongData.genTime, undefined);
  const wrongAlg = await verifyTimeStampToken(resp, { digest: { algorithm: 'sha384', value: sha('sha384', data) }, ...trust });
  assert.deepEqual(failed(wrongAlg), ['message-imprint']);

  // TSTInfo: the serial number 01 02 03 04 05 becomes ...04.
  const tst = flip(resp, indexOf(resp, Uint8Array.from([0x02, 0x05, 1, 2, 3, 4, 5])) + 6);
  const vt = await verifyTimeStampToken(tst, { data, ...trust });
  assert.deepEqual(failed(vt), ['signature']);
  assert.match(vt.checks.find((c) => !c.ok)!.detail, /messageDigest attribute does not match the TSTInfo/);

  // signedAttrs: a byte of the signingCertificateV2 hash; the signature no longer covers them.
  const attrs = flip(resp, indexOf(resp, sha('sha256', p.leaf.der)) + 5);
  const va = await verifyTimeStampToken(attrs, { data, ...trust });
  assert.ok(failed(va).includes('signature'));
  assert.match(va.checks.find((c) => c.name === 'signature')!.detail, /signed attributes were changed/);

  const sig = parseTimeStampResponse(resp).signerInfo!.signature;
  const vs = await verifyTimeStampToken(flip(resp, indexOf(resp, sig) + sig.length - 1), { data, ...trust });
  assert.deepEqual(failed(vs), ['signature']);

  const vn = await verifyTimeStampToken(resp, { data, ...trust, nonce: 43n });
  assert.deepEqual(failed(vn), ['nonce']);
  const noNonce = await createTimeStampResponse(options(p.leaf));
  assert.deepEqual(failed(await verifyTimeStampToken(noNonce, { data, ...trust, nonce: 42n })), ['nonce']);
});

test('negatives: EKU not critical or missing, validity at genTime, future genTime, wrong root', async (t) => {
  const p = await setup(t);
  if (!p) return;
  const trust = { tsaCertificates: [p.root.der] };
  const nc = await verifyTimeStampToken(await createTimeStampResponse(options(p.nonCritical)), { data, ...trust });
  assert.deepEqual(failed(nc), ['eku']);
  assert.match(nc.checks.find((c) => !c.ok)!.detail, /not critical/);
  const ne = await verifyTimeStampToken(await createTimeStampResponse(options(p.noEku)), { data, ...trust });
  assert.deepEqual(failed(ne), ['eku']);
  assert.match(ne.checks.find((c) => !c.ok)!.detail, /no extendedKeyUsage/);

  // The leaf is valid for 365 days from today: a genTime before that, or 400 days on, is outside.
  const early = new Date('2001-01-01T00:00:00Z');
  const ve = await verifyTimeStampToken(await createTimeStampResponse(options(p.leaf, { genTime: early })), { data, ...trust, now: early });
  assert.deepEqual(failed(ve), ['validity']);
  assert.match(ve.checks.find((c) => !c.ok)!.detail, /"CN=Signet Test TSA" was not valid at genTime 2001-01-01T00:00:00.000Z/);
  const late = new Date(Date.now() + 400 * 86_400_000);
  const vl = await verifyTimeStampToken(await createTimeStampResponse(options(p.leaf, { genTime: late })), { data, ...trust, now: late });
  assert.deepEqual(failed(vl), ['validity']);

  const future = await verifyTimeStampToken(await createTimeStampResponse(options(p.leaf, { genTime: new Date(Date.now() + 3_600_000) })), { data, ...trust });
  assert.deepEqual(failed(future), ['gen-time']);

  const resp = await createTimeStampResponse(options(p.leaf));
  const wr = await verifyTimeStampToken(resp, { data, tsaCertificates: [p.otherRoot.der] });
  assert.deepEqual(failed(wr), ['signer']);
  assert.match(wr.checks.find((c) => !c.ok)!.detail, /not among the trusted TSA certificates/);
  // Same subject name, other root: the leaf's issuer is not trusted.
  const stray = await verifyTimeStampToken(await createTimeStampResponse(options(p.strayLeaf)), { data, ...trust });
  assert.deepEqual(failed(stray), ['signer']);
  // A trusted self-signed certificate that is not in the chain does not help, nor does trusting only the leaf.
  assert.deepEqual(failed(await verifyTimeStampToken(resp, { data, tsaCertificates: [p.leaf.der] })), ['signer']);
});

test('negatives: truncated, garbage and refused responses; misuse', async (t) => {
  const p = await setup(t);
  if (!p) return;
  const resp = await createTimeStampResponse(options(p.leaf));
  const trust = { tsaCertificates: [p.root.der] };
  for (const bad of [resp.subarray(0, resp.length - 7), resp.subarray(0, 40), Uint8Array.from([...resp, 0]), new TextEncoder().encode('<html>502</html>'), new Uint8Array(0)]) {
    assert.throws(() => parseTimeStampResponse(bad), isCode('MALFORMED_INPUT'));
    const v = await verifyTimeStampToken(bad, { data, ...trust });
    assert.equal(v.ok, false);
    assert.deepEqual(failed(v), ['format']);
    assert.match(v.checks[0]!.detail, /not a valid RFC 3161 time-stamp token/);
  }
  assert.throws(() => parseTimeStampToken(resp), isCode('MALFORMED_INPUT'));
  const refused = await verifyTimeStampToken(timeStampErrorResponse('rejection', 'badAlg'), { data, ...trust });
  assert.deepEqual(failed(refused), ['format']);
  assert.match(refused.checks[0]!.detail, /status rejection \(badAlg\)/);

  await assert.rejects(verifyTimeStampToken(resp, { tsaCertificates: [p.root.der] }), isCode('INVALID_ARGUMENT'));
  await assert.rejects(createTimeStampResponse(options(p.leaf, { hashAlgorithm: 'md5' as never })), isCode('UNSUPPORTED_ALGORITHM'));
  await assert.rejects(createTimeStampResponse(options(p.leaf, { hashedMessage: new Uint8Array(20) })), isCode('INVALID_ARGUMENT'));
  await assert.rejects(createTimeStampResponse({ ...options(p.leaf), signer: { privateKey: p.leaf384.key, certificate: p.leaf.der } }), /does not belong to the certificate/);
  const ed = generateKeyPairSync('ed25519').privateKey;
  await assert.rejects(createTimeStampResponse({ ...options(p.leaf), signer: { privateKey: ed, certificate: p.leaf.der } }), isCode('UNSUPPORTED_ALGORITHM'));
  await assert.rejects(createTimeStampResponse({ ...options(p.leaf), signer: { privateKey: p.leaf.key, certificate: new Uint8Array([0x30, 0]) } }), isCode('MALFORMED_INPUT'));
});
