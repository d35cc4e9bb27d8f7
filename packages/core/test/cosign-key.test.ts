import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, scryptSync, type KeyObject } from 'node:crypto';
import nacl from 'tweetnacl';
import { decryptCosignKey, encryptCosignKey, isCosignEncryptedKey } from '../dist/keys/cosign.js';
import { SignetError } from '../dist/errors.js';

const LABEL = 'ENCRYPTED SIGSTORE PRIVATE KEY';
const MAXMEM = 256 * 1024 * 1024;

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');

function pkcs8(key: KeyObject): Uint8Array {
  return new Uint8Array(key.export({ format: 'der', type: 'pkcs8' }));
}

const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ed25519 = generateKeyPairSync('ed25519');
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });

/** PEM-wraps a JSON document by hand (independent of the library's toPem). */
function pemOf(json: string, label = LABEL): string {
  const body = Buffer.from(json, 'utf8').toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
}

interface DocOptions {
  kdfName?: string;
  N?: number;
  r?: number;
  p?: number;
  salt?: string;
  cipherName?: string;
  nonce?: string;
  ciphertext?: string;
}

/** A key file document with the given fields; defaults are well-formed random values. */
function docJson(o: DocOptions = {}): string {
  return JSON.stringify({
    kdf: { name: o.kdfName ?? 'scrypt', params: { N: o.N ?? 65536, r: o.r ?? 8, p: o.p ?? 1 }, salt: o.salt ?? b64(randomBytes(32)) },
    cipher: { name: o.cipherName ?? 'nacl/secretbox', nonce: o.nonce ?? b64(randomBytes(24)) },
    ciphertext: o.ciphertext ?? b64(randomBytes(100)),
  });
}

/**
 * Builds a cosign key file by the documented algorithm (oci-and-cosign.md §1.5) with node's scryptSync and
 * tweetnacl, independently of encryptCosignKey.
 */
function buildCosignPem(plaintext: Uint8Array, password: string, N = 65536, label = LABEL): string {
  const salt = randomBytes(32);
  const nonce = randomBytes(24);
  const key = scryptSync(Buffer.from(password, 'utf8'), salt, 32, { N, r: 8, p: 1, maxmem: MAXMEM });
  const box = nacl.secretbox(plaintext, nonce, key);
  return pemOf(docJson({ N, salt: b64(salt), nonce: b64(nonce), ciphertext: b64(box) }), label);
}

/** Opens a cosign key file by the documented algorithm, independently of decryptCosignKey. */
function openIndependently(pem: string, password: string): Uint8Array | null {
  const body = pem.split('\n').filter((l) => l && !l.startsWith('-----')).join('');
  const doc = JSON.parse(Buffer.from(body, 'base64').toString('utf8'));
  const key = scryptSync(Buffer.from(password, 'utf8'), Buffer.from(doc.kdf.salt, 'base64'), 32, {
    N: doc.kdf.params.N,
    r: doc.kdf.params.r,
    p: doc.kdf.params.p,
    maxmem: MAXMEM,
  });
  return nacl.secretbox.open(Buffer.from(doc.ciphertext, 'base64'), Buffer.from(doc.cipher.nonce, 'base64'), key);
}

async function rejectsWith(p: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof SignetError, `expected a SignetError, got ${String(e)}`);
    assert.equal(e.code, code, `expected ${code}, got ${e.code}: ${e.message}`);
    if (message) assert.match(e.message, message);
    return true;
  });
}

// One N=32768 file (cheap to derive), reused by the negative tests that need a real ciphertext.
const CHEAP_PASSWORD = 'hunter2';
const cheapPem = buildCosignPem(pkcs8(p256.privateKey), CHEAP_PASSWORD, 32768);

test('round trip: ECDSA P-256, Ed25519 (empty password) and RSA keys', async () => {
  const cases: Array<[string, KeyObject, KeyObject, string]> = [
    ['P-256', p256.privateKey, p256.publicKey, 'correct horse battery staple'],
    ['Ed25519', ed25519.privateKey, ed25519.publicKey, ''],
    ['RSA-2048', rsa.privateKey, rsa.publicKey, 'pässwörd ✓'],
  ];
  for (const [name, priv, pub, password] of cases) {
    const der = pkcs8(priv);
    const pem = await encryptCosignKey(der, password);
    assert.ok(isCosignEncryptedKey(pem), name);
    const back = await decryptCosignKey(pem, password);
    assert.deepEqual(back, der, `${name}: decrypted DER differs`);
    const reloaded = createPrivateKey({ key: Buffer.from(back), format: 'der', type: 'pkcs8' });
    assert.deepEqual(
      createPublicKey(reloaded).export({ format: 'der', type: 'spki' }),
      pub.export({ format: 'der', type: 'spki' }),
      `${name}: public key differs`,
    );
  }
});

test('output format: label, 64 columns, JSON key order and sizes, fresh salt and nonce; opens with the documented algorithm', async () => {
  const der = pkcs8(p256.privateKey);
  const pem = await encryptCosignKey(der, 'pw');
  const lines = pem.split('\n');
  assert.equal(lines[0], `-----BEGIN ${LABEL}-----`);
  assert.equal(lines.at(-2), `-----END ${LABEL}-----`);
  assert.equal(lines.at(-1), '', 'ends with a newline');
  const body = lines.slice(1, -2);
  assert.ok(body.length > 1);
  body.slice(0, -1).forEach((l, i) => assert.equal(l.length, 64, `line ${i + 1} is not 64 columns`));
  assert.ok(body.at(-1)!.length > 0 && body.at(-1)!.length <= 64);

  const json = Buffer.from(body.join(''), 'base64').toString('utf8');
  assert.match(
    json,
    /^\{"kdf":\{"name":"scrypt","params":\{"N":65536,"r":8,"p":1\},"salt":"[A-Za-z0-9+/]+=*"\},"cipher":\{"name":"nacl\/secretbox","nonce":"[A-Za-z0-9+/]+=*"\},"ciphertext":"[A-Za-z0-9+/]+=*"\}$/,
  );
  const doc = JSON.parse(json);
  assert.deepEqual(Object.keys(doc), ['kdf', 'cipher', 'ciphertext']);
  assert.deepEqual(Object.keys(doc.kdf), ['name', 'params', 'salt']);
  assert.deepEqual(Object.keys(doc.kdf.params), ['N', 'r', 'p']);
  assert.deepEqual(Object.keys(doc.cipher), ['name', 'nonce']);
  assert.equal(Buffer.from(doc.kdf.salt, 'base64').length, 32);
  assert.equal(Buffer.from(doc.cipher.nonce, 'base64').length, 24);
  assert.equal(Buffer.from(doc.ciphertext, 'base64').length, der.length + 16);

  // fresh randomness per file
  const again = JSON.parse(Buffer.from((await encryptCosignKey(der, 'pw')).split('\n').slice(1, -2).join(''), 'base64').toString());
  assert.notEqual(again.kdf.salt, doc.kdf.salt);
  assert.notEqual(again.cipher.nonce, doc.cipher.nonce);

  // the file opens with node's scrypt + tweetnacl, independently of decryptCosignKey
  const opened = openIndependently(pem, 'pw');
  assert.ok(opened, 'tweetnacl could not open the file we wrote');
  assert.deepEqual(new Uint8Array(opened), der);
});

test('a cosign-format key made by the documented algorithm in the test decrypts (N = 65536, 32768, 131072)', async () => {
  const der = pkcs8(ed25519.privateKey);
  for (const N of [65536, 32768, 131072]) {
    const pem = buildCosignPem(der, 'pw', N);
    assert.deepEqual(await decryptCosignKey(pem, 'pw'), der, `N=${N}`);
  }
});

test('the legacy ENCRYPTED COSIGN PRIVATE KEY label is accepted, and text around the block is ignored', async () => {
  const der = pkcs8(p256.privateKey);
  const pem = buildCosignPem(der, CHEAP_PASSWORD, 32768, 'ENCRYPTED COSIGN PRIVATE KEY');
  assert.ok(isCosignEncryptedKey(pem));
  assert.deepEqual(await decryptCosignKey(`comment line\n${pem}trailing\n`, CHEAP_PASSWORD), der);
});

test('wrong password, tampered ciphertext or tampered salt → DECRYPTION_FAILED with a clear message', async () => {
  const clear = /^wrong password, or the key file is corrupted$/;
  await rejectsWith(decryptCosignKey(cheapPem, 'hunter3'), 'DECRYPTION_FAILED', clear);
  await rejectsWith(decryptCosignKey(cheapPem, ''), 'DECRYPTION_FAILED', clear);

  const body = cheapPem.split('\n').filter((l) => l && !l.startsWith('-----')).join('');
  const doc = JSON.parse(Buffer.from(body, 'base64').toString());
  const ct = Buffer.from(doc.ciphertext, 'base64');
  ct[20] = ct[20]! ^ 0x01;
  await rejectsWith(decryptCosignKey(pemOf(JSON.stringify({ ...doc, ciphertext: b64(ct) })), CHEAP_PASSWORD), 'DECRYPTION_FAILED', clear);
  const salt = Buffer.from(doc.kdf.salt, 'base64');
  salt[0] = salt[0]! ^ 0x01;
  const tamperedSalt = { ...doc, kdf: { ...doc.kdf, salt: b64(salt) } };
  await rejectsWith(decryptCosignKey(pemOf(JSON.stringify(tamperedSalt)), CHEAP_PASSWORD), 'DECRYPTION_FAILED', clear);
  // a truncated ciphertext no longer authenticates
  const short = { ...doc, ciphertext: b64(Buffer.from(doc.ciphertext, 'base64').subarray(0, 40)) };
  await rejectsWith(decryptCosignKey(pemOf(JSON.stringify(short)), CHEAP_PASSWORD), 'DECRYPTION_FAILED', clear);
});

test('unsupported KDF, scrypt parameters or cipher → UNSUPPORTED_ALGORITHM naming the parameter (before any scrypt)', async () => {
  await rejectsWith(decryptCosignKey(pemOf(docJson({ N: 16384 })), 'pw'), 'UNSUPPORTED_ALGORITHM', /N=16384/);
  await rejectsWith(decryptCosignKey(pemOf(docJson({ N: 262144 })), 'pw'), 'UNSUPPORTED_ALGORITHM', /N=262144/);
  await rejectsWith(decryptCosignKey(pemOf(docJson({ r: 4 })), 'pw'), 'UNSUPPORTED_ALGORITHM', /r=4/);
  await rejectsWith(decryptCosignKey(pemOf(docJson({ p: 2 })), 'pw'), 'UNSUPPORTED_ALGORITHM', /p=2/);
  await rejectsWith(decryptCosignKey(pemOf(docJson({ cipherName: 'aes-256-gcm' })), 'pw'), 'UNSUPPORTED_ALGORITHM', /cipher "aes-256-gcm"/);
  await rejectsWith(decryptCosignKey(pemOf(docJson({ kdfName: 'pbkdf2' })), 'pw'), 'UNSUPPORTED_ALGORITHM', /"pbkdf2"/);
});

test('truncated PEM, garbage and malformed JSON fields → MALFORMED_INPUT; other PEM labels → UNSUPPORTED_FORMAT', async () => {
  // truncated: END line lost, or cut in the middle of the base64 body
  await rejectsWith(decryptCosignKey(cheapPem.slice(0, cheapPem.indexOf('-----END')), 'pw'), 'MALFORMED_INPUT', /no "ENCRYPTED SIGSTORE PRIVATE KEY" PEM block/);
  const lines = cheapPem.split('\n');
  const cut = [...lines.slice(0, 3), lines[3]!.slice(0, 30), ...lines.slice(-2)].join('\n');
  await rejectsWith(decryptCosignKey(cut, 'pw'), 'MALFORMED_INPUT');
  const cut2 = [...lines.slice(0, 4), ...lines.slice(-2)].join('\n');
  await rejectsWith(decryptCosignKey(cut2, 'pw'), 'MALFORMED_INPUT', /valid JSON/);

  await rejectsWith(decryptCosignKey('', 'pw'), 'MALFORMED_INPUT');
  await rejectsWith(decryptCosignKey('hello world', 'pw'), 'MALFORMED_INPUT');
  await rejectsWith(decryptCosignKey(`-----BEGIN ${LABEL}-----\n@@@@\n-----END ${LABEL}-----\n`, 'pw'), 'MALFORMED_INPUT', /base64/);
  await rejectsWith(decryptCosignKey(pemOf('not json at all {'), 'pw'), 'MALFORMED_INPUT', /valid JSON/);
  await rejectsWith(decryptCosignKey(pemOf('[1,2,3]'), 'pw'), 'MALFORMED_INPUT', /not an object/);
  await rejectsWith(decryptCosignKey(pemOf('{"cipher":{}}'), 'pw'), 'MALFORMED_INPUT', /no "kdf"/);
  await rejectsWith(
    decryptCosignKey(pemOf('{"kdf":{"name":"scrypt","params":{"N":"65536","r":8,"p":1},"salt":""}}'), 'pw'),
    'MALFORMED_INPUT',
    /kdf\.params\.N is not an integer/,
  );
  await rejectsWith(decryptCosignKey(pemOf(docJson({ salt: b64(randomBytes(16)) })), 'pw'), 'MALFORMED_INPUT', /salt must be 32 bytes, got 16/);
  await rejectsWith(decryptCosignKey(pemOf(docJson({ salt: '!!notbase64!!' })), 'pw'), 'MALFORMED_INPUT', /salt is not valid base64/);
  await rejectsWith(decryptCosignKey(pemOf(docJson({ nonce: b64(randomBytes(12)) })), 'pw'), 'MALFORMED_INPUT', /nonce must be 24 bytes, got 12/);
  await rejectsWith(decryptCosignKey(pemOf(docJson({ ciphertext: b64(randomBytes(10)) })), 'pw'), 'MALFORMED_INPUT', /shorter than the 16-byte authenticator/);
  await rejectsWith(decryptCosignKey('x'.repeat(300 * 1024), 'pw'), 'MALFORMED_INPUT', /too large/);

  const plainPem = p256.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  await rejectsWith(decryptCosignKey(plainPem, 'pw'), 'UNSUPPORTED_FORMAT', /"PRIVATE KEY"/);
  await rejectsWith(decryptCosignKey(undefined as unknown as string, 'pw'), 'INVALID_ARGUMENT');
  await rejectsWith(decryptCosignKey(cheapPem, null as unknown as string), 'INVALID_ARGUMENT');
});

test('a plaintext that is not PKCS#8 → KEY_PARSE_FAILED; encryptCosignKey refuses non-PKCS#8 input', async () => {
  const pem = buildCosignPem(new Uint8Array(randomBytes(64)), CHEAP_PASSWORD, 32768);
  await rejectsWith(decryptCosignKey(pem, CHEAP_PASSWORD), 'KEY_PARSE_FAILED');
  const spki = new Uint8Array(p256.publicKey.export({ format: 'der', type: 'spki' }));
  await rejectsWith(encryptCosignKey(spki, 'pw'), 'KEY_PARSE_FAILED');
  await rejectsWith(encryptCosignKey(new Uint8Array(0), 'pw'), 'KEY_PARSE_FAILED');
  await rejectsWith(encryptCosignKey('key' as unknown as Uint8Array, 'pw'), 'INVALID_ARGUMENT');
  await rejectsWith(encryptCosignKey(pkcs8(p256.privateKey), 42 as unknown as string), 'INVALID_ARGUMENT');
});

test('isCosignEncryptedKey', () => {
  assert.equal(isCosignEncryptedKey(cheapPem), true);
  assert.equal(isCosignEncryptedKey(cheapPem.replace(/SIGSTORE/g, 'COSIGN')), true);
  assert.equal(isCosignEncryptedKey(p256.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string), false);
  assert.equal(isCosignEncryptedKey('-----BEGIN ENCRYPTED PRIVATE KEY-----\n'), false);
  assert.equal(isCosignEncryptedKey(''), false);
  assert.equal(isCosignEncryptedKey(42 as unknown as string), false);
});
