// RFC 3161 both ways with real tools: OpenSSL's `ts` command (client and TSA) and sigstore-js
// (@sigstore/verify 3.1.x), which checks a bundle's rfc3161Timestamps against trusted_root.json TSAs.
import { after, test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireTool, run } from '@signet/testkit';
import { Verifier, toSignedEntity, toTrustMaterial } from '@sigstore/verify';
import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import {
  createTimeStampResponse,
  parseTimeStampReq,
  parseTimeStampResponse,
  verifyTimeStampToken,
  type TimeStampVerdict,
} from '../dist/tsa/index.js';
import { fromHex, generateKeyPair, messageSignatureBundle, signData, spkiFingerprint, toBase64 } from '../dist/index.js';

const DIR = mkdtempSync(join(tmpdir(), 'signet-tsa-interop-'));
after(() => rmSync(DIR, { recursive: true, force: true }));
const path = (name: string): string => join(DIR, name);

interface Cert {
  der: Uint8Array;
  pem: string;
  keyPath: string;
  key: KeyObject;
}

async function openssl(bin: string, args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  return run(bin, args, { cwd: DIR });
}
async function ok(bin: string, args: string[]): Promise<string> {
  const r = await openssl(bin, args);
  assert.equal(r.code, 0, `openssl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}
function load(name: string): Cert {
  return { der: new Uint8Array(new X509Certificate(readFileSync(path(`${name}.pem`))).raw), pem: path(`${name}.pem`), keyPath: path(`${name}.key`), key: createPrivateKey(readFileSync(path(`${name}.key`))) };
}

let pkiPromise: Promise<{ root: Cert; leaf: Cert; leaf384: Cert }> | undefined;
function pki(bin: string): Promise<{ root: Cert; leaf: Cert; leaf384: Cert }> {
  pkiPromise ??= (async () => {
    writeFileSync(
      path('root.cnf'),
      '[req]\ndistinguished_name=dn\nx509_extensions=v3_ca\nprompt=no\n[dn]\nCN=Interop TSA Root\nO=Signet Tests\n[v3_ca]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n',
    );
    writeFileSync(path('tsa.ext'), 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=critical,timeStamping\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n');
    await ok(bin, ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'root.key']);
    await ok(bin, ['req', '-x509', '-new', '-config', 'root.cnf', '-key', 'root.key', '-days', '3650', '-sha256', '-out', 'root.pem']);
    let serial = 0x7000;
    for (const [name, curve, md] of [['tsa', 'prime256v1', '-sha256'], ['tsa384', 'secp384r1', '-sha256']] as const) {
      await ok(bin, ['ecparam', '-name', curve, '-genkey', '-noout', '-out', `${name}.key`]);
      await ok(bin, ['req', '-new', '-config', 'root.cnf', '-key', `${name}.key`, '-subj', `/O=Signet Tests/CN=Interop ${name}`, '-out', `${name}.csr`]);
      await ok(bin, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'root.pem', '-CAkey', 'root.key', '-set_serial', String(++serial), '-days', '365', md, '-extfile', 'tsa.ext', '-out', `${name}.pem`]);
    }
    return { root: load('root'), leaf: load('tsa'), leaf384: load('tsa384') };
  })();
  return pkiPromise;
}

const data = new TextEncoder().encode('bytes time-stamped by openssl and signet\n');
writeFileSync(path('data.bin'), data);
writeFileSync(path('other.bin'), 'something else\n');
const sha = (h: string, b: Uint8Array): Uint8Array => new Uint8Array(createHash(h).update(b).digest());
const failed = (v: TimeStampVerdict): string[] => v.checks.filter((c) => !c.ok).map((c) => c.name);

function flipAt(b: Uint8Array, needle: Uint8Array, offset: number): Uint8Array {
  const i = Buffer.from(b).indexOf(Buffer.from(needle));
  assert.ok(i >= 0);
  const c = Uint8Array.from(b);
  c[i + offset]! ^= 0x01;
  return c;
}

let n = 0;
async function query(bin: string, args: string[]): Promise<{ file: string; der: Uint8Array; text: string }> {
  const file = `q${++n}.tsq`;
  await ok(bin, ['ts', '-query', '-data', 'data.bin', ...args, '-out', file]);
  const text = await ok(bin, ['ts', '-query', '-in', file, '-text']);
  return { file, der: new Uint8Array(readFileSync(path(file))), text };
}

test('openssl ts -query requests parse with parseTimeStampReq', async (t) => {
  const bin = requireTool(t, 'openssl');
  if (!bin) return;
  const q1 = await query(bin, ['-sha256', '-cert', '-no_nonce']);
  assert.deepEqual(parseTimeStampReq(q1.der), { version: 1, hashAlgorithm: 'sha256', hashedMessage: sha('sha256', data), certReq: true });
  for (const alg of ['sha256', 'sha384', 'sha512'] as const) {
    const q = await query(bin, [`-${alg}`, '-tspolicy', '1.2.3.4.99']);
    const req = parseTimeStampReq(q.der);
    assert.equal(req.hashAlgorithm, alg);
    assert.deepEqual(req.hashedMessage, sha(alg, data));
    assert.equal(req.certReq, false);
    assert.equal(req.reqPolicy, '1.2.3.4.99');
    const nonce = /Nonce: 0x([0-9A-F]+)/.exec(q.text)?.[1];
    assert.ok(nonce, q.text);
    assert.equal(req.nonce, BigInt(`0x${nonce}`));
  }
  const sha1 = await query(bin, ['-sha1', '-no_nonce']);
  assert.throws(() => parseTimeStampReq(sha1.der), (e: unknown) => (e as { code?: string }).code === 'UNSUPPORTED_ALGORITHM');
});

test('signet responses to openssl requests pass `openssl ts -verify`; tampered ones fail', async (t) => {
  const bin = requireTool(t, 'openssl');
  if (!bin) return;
  const { root, leaf, leaf384 } = await pki(bin);
  let i = 0;
  for (const [args, signer] of [
    [['-sha256', '-cert', '-no_nonce'], leaf],
    [['-sha256', '-cert'], leaf],
    [['-sha384'], leaf],
    [['-sha512', '-cert'], leaf384],
  ] as const) {
    const q = await query(bin, [...args]);
    const req = parseTimeStampReq(q.der);
    const resp = await createTimeStampResponse({
      hashAlgorithm: req.hashAlgorithm,
      hashedMessage: req.hashedMessage,
      ...(req.nonce !== undefined ? { nonce: req.nonce } : {}),
      certReq: req.certReq,
      policy: '1.3.6.1.4.1.57264.2',
      serialNumber: BigInt(++i) << 64n,
      genTime: new Date(),
      accuracy: { seconds: 1 },
      signer: { privateKey: signer.key, certificate: signer.der, chain: [root.der] },
    });
    const file = `r${i}.tsr`;
    writeFileSync(path(file), resp);
    const v = await openssl(bin, ['ts', '-verify', '-in', file, '-queryfile', q.file, '-CAfile', root.pem, '-untrusted', signer.pem]);
    assert.match(v.stdout, /Verification: OK/, `${args.join(' ')}: ${v.stdout}${v.stderr}`);
    const vd = await openssl(bin, ['ts', '-verify', '-in', file, '-data', 'data.bin', '-CAfile', root.pem, '-untrusted', signer.pem]);
    assert.match(vd.stdout, /Verification: OK/, vd.stderr);
    // Another file, and a response whose TSTInfo serial was changed, fail.
    const vo = await openssl(bin, ['ts', '-verify', '-in', file, '-data', 'other.bin', '-CAfile', root.pem, '-untrusted', signer.pem]);
    assert.doesNotMatch(vo.stdout, /Verification: OK/);
    writeFileSync(path(`bad${file}`), flipAt(resp, Uint8Array.from([0x02, 0x09, i, 0, 0, 0, 0, 0, 0, 0, 0]), 10));
    const vt = await openssl(bin, ['ts', '-verify', '-in', `bad${file}`, '-queryfile', q.file, '-CAfile', root.pem, '-untrusted', signer.pem]);
    assert.doesNotMatch(vt.stdout, /Verification: OK/);
    assert.notEqual(vt.code, 0);
    // And signet agrees with itself on the same response.
    assert.equal((await verifyTimeStampToken(resp, { data, tsaCertificates: [signer.der, root.der], ...(req.nonce !== undefined ? { nonce: req.nonce } : {}) })).ok, true);
  }
});

function tsaConfig(name: string, signer: Cert, root: Cert, extra: string): string {
  const file = `${name}.cnf`;
  writeFileSync(
    path(file),
    [
      '[tsa]',
      'default_tsa = tsa_config',
      '[tsa_config]',
      `serial = ${path(`${name}.serial`)}`,
      'crypto_device = builtin',
      `signer_cert = ${signer.pem}`,
      `signer_key = ${signer.keyPath}`,
      `certs = ${root.pem}`,
      'signer_digest = sha256',
      'default_policy = 1.2.3.4.1',
      'other_policies = 1.2.3.4.99',
      'digests = sha1, sha256, sha384, sha512',
      'accuracy = secs:1, millisecs:500, microsecs:100',
      'ordering = yes',
      'tsa_name = yes',
      'ess_cert_id_chain = no',
      extra,
      '',
    ].join('\n'),
  );
  writeFileSync(path(`${name}.serial`), '0A\n');
  return file;
}

test('`openssl ts -reply` responses and tokens verify with verifyTimeStampToken', async (t) => {
  const bin = requireTool(t, 'openssl');
  if (!bin) return;
  const { root, leaf, leaf384 } = await pki(bin);
  const trust = { tsaCertificates: [root.der] };
  for (const [cfgName, signer, extra] of [
    ['v2', leaf, 'ess_cert_id_alg = sha256\nclock_precision_digits = 3'],
    ['v2-384', leaf384, 'ess_cert_id_alg = sha384\nclock_precision_digits = 0'],
    ['v1', leaf, ''],
  ] as const) {
    const cfg = tsaConfig(cfgName, signer, root, extra);
    const q = await query(bin, ['-sha256', '-cert']);
    const nonce = parseTimeStampReq(q.der).nonce;
    await ok(bin, ['ts', '-reply', '-config', cfg, '-queryfile', q.file, '-out', `${cfgName}.tsr`]);
    await ok(bin, ['ts', '-reply', '-config', cfg, '-queryfile', q.file, '-token_out', '-out', `${cfgName}.tst`]);
    const resp = new Uint8Array(readFileSync(path(`${cfgName}.tsr`)));
    const parsed = parseTimeStampResponse(resp);
    assert.equal(parsed.status, 0);
    assert.equal(parsed.tstInfo?.policy, '1.2.3.4.1');
    assert.equal(parsed.tstInfo?.ordering, true);
    assert.deepEqual(parsed.tstInfo?.accuracy, { seconds: 1, millis: 500, micros: 100 });
    assert.ok(parsed.tstInfo?.tsaName);

    const v = await verifyTimeStampToken(resp, { data, ...trust, ...(nonce !== undefined ? { nonce } : {}) });
    assert.equal(v.ok, true, `${cfgName}: ${JSON.stringify(v.checks)}`);
    assert.match(v.checks.find((c) => c.name === 'signer')!.detail, /Interop tsa/);
    const tok = new Uint8Array(readFileSync(path(`${cfgName}.tst`)));
    assert.equal((await verifyTimeStampToken(tok, { data, ...trust })).ok, true);

    assert.deepEqual(failed(await verifyTimeStampToken(resp, { data: new TextEncoder().encode('x'), ...trust })), ['message-imprint']);
    assert.deepEqual(failed(await verifyTimeStampToken(resp, { data, ...trust, nonce: (nonce ?? 0n) + 1n })), ['nonce']);
    // The TSTInfo serial (0x0B: openssl increments the serial file before use) changed to 0x0A.
    const tampered = flipAt(resp, Uint8Array.from([0x02, 0x01, 0x0b, 0x18]), 2);
    assert.deepEqual(failed(await verifyTimeStampToken(tampered, { data, ...trust })), ['signature']);
  }
  // A SHA-1 message imprint is refused as an algorithm, not a parse error.
  const q1 = await query(bin, ['-sha1', '-cert']);
  await ok(bin, ['ts', '-reply', '-config', 'v2.cnf', '-queryfile', q1.file, '-out', 'sha1.tsr']);
  const v1 = await verifyTimeStampToken(new Uint8Array(readFileSync(path('sha1.tsr'))), { data, ...trust });
  assert.deepEqual(failed(v1), ['algorithm']);
  assert.match(v1.checks[0]!.detail, /unsupported hash algorithm 1\.3\.14\.3\.2\.26/);
});

test('sigstore-js (@sigstore/verify) accepts a signet TSA timestamp in a bundle; one over other bytes is refused', async (t) => {
  const bin = requireTool(t, 'openssl');
  if (!bin) return;
  const { root, leaf } = await pki(bin);
  const { privateKey, publicKey } = await generateKeyPair('ecdsa-p256');
  const hint = toBase64(fromHex(spkiFingerprint(publicKey)));
  const signature = await signData(privateKey, data);
  // sigstore-js sends {artifactHash: sha256(signature bytes), hashAlgorithm: "sha256"} (reference §4.1).
  // A genTime whose milliseconds end in zero: @sigstore/core parses only 3-digit fractions, so this
  // passes only because createTimeStampResponse writes whole seconds by default.
  const genTime = new Date();
  genTime.setUTCMilliseconds(500);
  const stamp = (over: Uint8Array): Promise<Uint8Array> =>
    createTimeStampResponse({
      hashAlgorithm: 'sha256',
      hashedMessage: sha('sha256', over),
      certReq: false,
      policy: '1.3.6.1.4.1.57264.2',
      serialNumber: 0xdeadbeefn,
      genTime,
      signer: { privateKey: leaf.key, certificate: leaf.der },
    });
  const trustedRoot = TrustedRoot.fromJSON({
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [],
    certificateAuthorities: [],
    ctlogs: [],
    timestampAuthorities: [
      {
        subject: { organization: 'Signet Tests', commonName: 'Interop tsa' },
        uri: 'https://tsa.example.test',
        certChain: { certificates: [{ rawBytes: toBase64(leaf.der) }, { rawBytes: toBase64(root.der) }] },
        validFor: { start: '2000-01-01T00:00:00Z' },
      },
    ],
  });
  const trust = toTrustMaterial(trustedRoot, {
    [hint]: { rawBytes: publicKey.export({ type: 'spki', format: 'der' }), keyDetails: 'PKIX_ECDSA_P256_SHA_256' as never, validFor: { start: new Date(0) } },
  });
  const verifier = new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 1 });
  const bundle = (ts: Uint8Array): ReturnType<typeof bundleFromJSON> =>
    bundleFromJSON(messageSignatureBundle({ key: { hint }, digest: { algorithm: 'sha256', value: sha('sha256', data) }, signature, rfc3161Timestamps: [ts] }));
  const good = await stamp(signature);
  verifier.verify(toSignedEntity(bundle(good), Buffer.from(data)));
  assert.equal((await verifyTimeStampToken(good, { data: signature, tsaCertificates: [leaf.der, root.der] })).ok, true);
  const wrong = await stamp(data);
  assert.throws(() => verifier.verify(toSignedEntity(bundle(wrong), Buffer.from(data))), /timestamp/i);
});
