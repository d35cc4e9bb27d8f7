import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPublicKey } from 'node:crypto';
import {
  KEY_KINDS,
  SignetError,
  describeKey,
  exportJwk,
  generateKeyPair,
  importJwk,
  parseChecksums,
  formatChecksums,
  parsePkixTrust,
  pkcs8Der,
  predicateTypeFor,
  buildPredicate,
  privateKeyFromPkcs8,
  publicKeyPem,
  spkiDer,
  spkiFingerprint,
  parseStatement,
  STATEMENT_V01,
} from '../dist/index.js';

test('every key kind generates, round-trips through PKCS#8, SPKI PEM and JWK, and is described by name', async () => {
  for (const kind of KEY_KINDS.filter((k) => k !== 'rsa-3072' && k !== 'rsa-4096')) {
    const { privateKey, publicKey } = await generateKeyPair(kind);
    assert.equal(describeKey(publicKey), kind);
    const again = privateKeyFromPkcs8(pkcs8Der(privateKey));
    assert.equal(spkiFingerprint(createPublicKey(again)), spkiFingerprint(publicKey));
    const [trusted] = parsePkixTrust(publicKeyPem(publicKey));
    assert.equal(trusted?.kind === 'pkix' && trusted.fingerprint, spkiFingerprint(publicKey));
    assert.equal(spkiFingerprint(importJwk(exportJwk(publicKey))), spkiFingerprint(publicKey));
    assert.equal(spkiFingerprint(createPublicKey(importJwk(exportJwk(privateKey)))), spkiFingerprint(publicKey));
    assert.equal(spkiFingerprint(publicKey), createHash('sha256').update(spkiDer(publicKey)).digest('hex'));
  }
  await assert.rejects(generateKeyPair('dsa' as never), (e: unknown) => e instanceof SignetError && e.code === 'INVALID_ARGUMENT');
  assert.throws(() => privateKeyFromPkcs8(new Uint8Array([1, 2, 3])), SignetError);
  assert.throws(() => importJwk({ kty: 'EC', crv: 'P-256', x: 'bad' }), SignetError);
});

test('trust material refuses private keys and garbage with clear errors', async () => {
  const { privateKey } = await generateKeyPair('ed25519');
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  assert.throws(() => parsePkixTrust(pem), /private key; verification takes the public key/);
  assert.throws(() => parsePkixTrust('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n'), (e: unknown) => e instanceof SignetError && e.code === 'KEY_PARSE_FAILED');
  assert.throws(() => parsePkixTrust('hello'), SignetError);
});

test("cosign's --type names map to predicate types; custom wraps text as cosign does", () => {
  assert.equal(predicateTypeFor('slsaprovenance'), 'https://slsa.dev/provenance/v0.2');
  assert.equal(predicateTypeFor('slsaprovenance1'), 'https://slsa.dev/provenance/v1');
  assert.equal(predicateTypeFor('spdxjson'), 'https://spdx.dev/Document');
  assert.equal(predicateTypeFor('cyclonedx'), 'https://cyclonedx.org/bom');
  assert.equal(predicateTypeFor('vuln'), 'https://cosign.sigstore.dev/attestation/vuln/v1');
  assert.equal(predicateTypeFor('openvex'), 'https://openvex.dev/ns');
  assert.equal(predicateTypeFor('link'), 'https://in-toto.io/Link/v1');
  assert.equal(predicateTypeFor('custom'), 'https://cosign.sigstore.dev/attestation/v1');
  assert.equal(predicateTypeFor('https://example.com/p/v1'), 'https://example.com/p/v1');
  assert.throws(() => predicateTypeFor('spdx json'), /unknown predicate type/);
  assert.deepEqual(buildPredicate('custom', 'abc', new Date('2026-01-02T03:04:05.678Z')), { Data: 'abc', Timestamp: '2026-01-02T03:04:05Z' });
  assert.throws(() => buildPredicate('slsaprovenance', 'not json'), /must be JSON/);
  const v01 = parseStatement({ _type: STATEMENT_V01, subject: [{ name: 'a', digest: { sha256: 'ab' } }], predicateType: 'x', predicate: {} });
  assert.equal(v01._type, STATEMENT_V01);
  assert.throws(() => parseStatement({ _type: 'https://in-toto.io/Statement/v9', subject: [], predicateType: 'x' }), /unknown _type/);
  assert.throws(() => parseStatement({ _type: STATEMENT_V01, subject: [], predicateType: 'x' }), /at least one subject/);
});

test('checksum lists: GNU and BSD forms, escaped names, malformed lines named', () => {
  const h = 'a'.repeat(64);
  const text = formatChecksums([{ name: 'plain.bin', digest: h }, { name: 'back\\slash', digest: h }, { name: 'new\nline', digest: h }]);
  assert.equal(text, `${h}  plain.bin\n\\${h}  back\\\\slash\n\\${h}  new\\nline\n`);
  assert.deepEqual(parseChecksums(text).map((e) => e.name), ['plain.bin', 'back\\slash', 'new\nline']);
  const parsed = parseChecksums(`# comment\n\n${h} *bin.exe\r\nSHA256 (tag.txt) = ${'B'.repeat(64)}\n${'c'.repeat(128)}  big\n`);
  assert.deepEqual(parsed, [
    { algorithm: 'sha256', digest: h, name: 'bin.exe', binary: true },
    { algorithm: 'sha256', digest: 'b'.repeat(64), name: 'tag.txt', binary: false },
    { algorithm: 'sha512', digest: 'c'.repeat(128), name: 'big', binary: false },
  ]);
  assert.throws(() => parseChecksums(`${h}  ok\nnonsense\n`), /line 2/);
  assert.throws(() => parseChecksums(`SHA256 (x) = abcd\n`), /wrong digest length/);
});
