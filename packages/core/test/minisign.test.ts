import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import {
  blake2b,
  generateMinisignKeyPair,
  generateSignifyKeyPair,
  isMinisignSignature,
  isSignifySignature,
  minisignKeyIdHex,
  parseMinisignPublicKey,
  parseMinisignSecretKey,
  parseMinisignTrust,
  parseSignifySecretKey,
  scryptParams,
  signMinisign,
  signSignify,
  verifyMinisign,
  verifySignify,
} from '../dist/minisign/index.js';
import { SignetError } from '../dist/errors.js';
import type { TrustMaterial, Verdict } from '../dist/verify/types.js';

const enc = new TextEncoder();
const data = enc.encode('minisign and signify payload\n');
const tampered = enc.encode('minisign and signify payload!\n');

function failed(v: Verdict): string[] {
  return v.checks.filter((c) => !c.ok).map((c) => c.name);
}
function isCode(code: string) {
  return (e: unknown): boolean => e instanceof SignetError && e.code === code;
}
function lines(s: string): string[] {
  return s.trimEnd().split('\n');
}
function blake2b512(b: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('blake2b512').update(b).digest());
}

test('BLAKE2b: RFC 7693 Appendix A ("abc", 64 bytes)', () => {
  assert.equal(
    Buffer.from(blake2b(enc.encode('abc'))).toString('hex'),
    'ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1' +
      '7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923',
  );
});

test('BLAKE2b: RFC 7693 Appendix E self-test (keyed and unkeyed, digest lengths 20..64)', () => {
  // selftest_seq: a Fibonacci-like generator seeded with 0xDEAD4BAD * seed, taking the top byte.
  const seq = (len: number, seed: number): Uint8Array => {
    const out = new Uint8Array(len);
    let a = Math.imul(0xdead4bad, seed) >>> 0;
    let b = 1;
    for (let i = 0; i < len; i++) {
      const t = (a + b) >>> 0;
      a = b;
      b = t;
      out[i] = t >>> 24;
    }
    return out;
  };
  const parts: Uint8Array[] = [];
  for (const outLen of [20, 32, 48, 64]) {
    for (const inLen of [0, 3, 128, 129, 255, 1024]) {
      const input = seq(inLen, inLen);
      parts.push(blake2b(input, outLen));
      parts.push(blake2b(input, outLen, seq(outLen, outLen)));
    }
  }
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  assert.equal(Buffer.from(blake2b(all, 32)).toString('hex'), 'c23a7800d98123bd10f506c61e29da5603d763b8bbad2e737f5e765a7bccd475');
});

test('BLAKE2b-512 matches node:crypto blake2b512 on random inputs of many lengths', () => {
  for (const n of [0, 1, 63, 64, 127, 128, 129, 255, 256, 257, 1000, 4096, 10007]) {
    const d = randomBytes(n);
    assert.deepEqual(Buffer.from(blake2b(d)), createHash('blake2b512').update(d).digest(), `length ${n}`);
  }
  assert.throws(() => blake2b(data, 0), isCode('INVALID_ARGUMENT'));
  assert.throws(() => blake2b(data, 65), isCode('INVALID_ARGUMENT'));
});

test('scrypt parameters follow libsodium crypto_pwhash_scryptsalsa208sha256', () => {
  // minisign's default: OPSLIMIT_SENSITIVE / MEMLIMIT_SENSITIVE → N = 2^20, r = 8, p = 1 (1 GiB)
  assert.deepEqual(scryptParams(33554432n, 1073741824n), { N: 2 ** 20, r: 8, p: 1 });
  // INTERACTIVE: 524288 / 16777216 → N = 2^14
  assert.deepEqual(scryptParams(524288n, 16777216n), { N: 2 ** 14, r: 8, p: 1 });
  // opslimit-bound branch
  assert.deepEqual(scryptParams(32768n, 1n << 30n), { N: 2 ** 10, r: 8, p: 1 });
});

test('key ids print as minisign does (little-endian uppercase hex)', () => {
  assert.equal(minisignKeyIdHex(Uint8Array.from([0xc6, 0x1d, 0xe7, 0x90, 0x26, 0xb3, 0x15, 0x8f])), '8F15B32690E71DC6');
  assert.equal(minisignKeyIdHex(Uint8Array.from([1, 0, 0, 0, 0, 0, 0, 0])), '1');
  assert.throws(() => minisignKeyIdHex(new Uint8Array(4)), isCode('INVALID_ARGUMENT'));
});

test('public keys: .pub file, bare base64 line, signify .pub; garbage refused', () => {
  const pair = generateMinisignKeyPair();
  const k = parseMinisignPublicKey(pair.publicKeyText);
  assert.equal(minisignKeyIdHex(k.keyId), pair.keyId);
  assert.equal(k.untrustedComment, `minisign public key ${pair.keyId}`);
  const bare = parseMinisignPublicKey(lines(pair.publicKeyText)[1]!);
  assert.ok(bare.publicKey.equals(k.publicKey));
  assert.equal(bare.untrustedComment, undefined);
  const sPair = generateSignifyKeyPair();
  assert.equal(minisignKeyIdHex(parseMinisignPublicKey(sPair.publicKeyText).keyId), sPair.keyId);
  const t = parseMinisignTrust(pair.publicKeyText, 'release key');
  assert.equal(t.kind, 'minisign');
  assert.equal(t.name, 'release key');

  assert.throws(() => parseMinisignPublicKey(''), isCode('KEY_PARSE_FAILED'));
  assert.throws(() => parseMinisignPublicKey('hello world'), isCode('KEY_PARSE_FAILED'));
  assert.throws(() => parseMinisignPublicKey(`untrusted comment: x\n${lines(pair.publicKeyText)[1]!.slice(0, 40)}\n`), isCode('KEY_PARSE_FAILED'));
  const b = Buffer.from(lines(pair.publicKeyText)[1]!, 'base64');
  b[0] = 0x58;
  assert.throws(() => parseMinisignPublicKey(b.toString('base64')), isCode('UNSUPPORTED_ALGORITHM'));
  assert.throws(() => parseMinisignPublicKey(pair.secretKeyText), isCode('KEY_PARSE_FAILED'));
});

test('minisign: generate, sign (prehashed and legacy), verify from bytes and from a blake2b512 digest', async () => {
  const pair = generateMinisignKeyPair();
  const sk = await parseMinisignSecretKey(pair.secretKeyText);
  assert.equal(minisignKeyIdHex(sk.keyId), pair.keyId);
  const trust: TrustMaterial = { keys: [parseMinisignTrust(pair.publicKeyText, 'release')] };
  const now = new Date('2025-06-01T12:00:00Z');

  const sig = await signMinisign(data, sk, { fileName: 'app.tar.gz', now });
  const l = lines(sig);
  assert.equal(l.length, 4);
  assert.equal(Buffer.from(l[1]!, 'base64').subarray(0, 2).toString(), 'ED');
  assert.equal(l[2], `trusted comment: timestamp:${now.getTime() / 1000}\tfile:app.tar.gz\thashed`);
  const sigBytes = enc.encode(sig);
  assert.equal(isMinisignSignature(sigBytes), true);
  assert.equal(isSignifySignature(sigBytes), false);
  const v = await verifyMinisign({ bytes: data }, sigBytes, trust);
  assert.equal(v.ok, true, JSON.stringify(v.checks));
  assert.equal(v.signer?.keyId, pair.keyId);
  assert.equal(v.signer?.comment, `timestamp:${now.getTime() / 1000}\tfile:app.tar.gz\thashed`);
  assert.equal(v.signer?.timestamp, now.toISOString());
  assert.equal(v.signer?.identity, 'release');
  for (const n of ['format', 'key', 'signature', 'trusted-comment']) assert.ok(v.checks.some((c) => c.name === n && c.ok), n);
  const fromDigest = await verifyMinisign({ digest: { algorithm: 'blake2b512', value: blake2b512(data) } }, sigBytes, trust);
  assert.equal(fromDigest.ok, true);
  const sha = await verifyMinisign({ digest: { algorithm: 'sha256', value: new Uint8Array(32) } }, sigBytes, trust);
  assert.deepEqual(failed(sha), ['artifact']);

  const legacy = enc.encode(await signMinisign(data, sk, { legacy: true, trustedComment: 'release 1.0', untrustedComment: 'hi' }));
  assert.equal(Buffer.from(lines(new TextDecoder().decode(legacy))[1]!, 'base64').subarray(0, 2).toString(), 'Ed');
  assert.equal(isMinisignSignature(legacy), true);
  const lv = await verifyMinisign({ bytes: data }, legacy, trust);
  assert.equal(lv.ok, true);
  assert.equal(lv.signer?.comment, 'release 1.0');
  assert.equal(lv.signer?.timestamp, undefined);
  const ld = await verifyMinisign({ digest: { algorithm: 'blake2b512', value: blake2b512(data) } }, legacy, trust);
  assert.deepEqual(failed(ld), ['artifact']);

  const idOk = await verifyMinisign({ bytes: data }, sigBytes, trust, { identity: 'release' });
  assert.equal(idOk.ok, true);
  const idBad = await verifyMinisign({ bytes: data }, sigBytes, trust, { identity: 'someone else' });
  assert.deepEqual(failed(idBad), ['identity']);

  await assert.rejects(signMinisign(data, sk, { trustedComment: 'two\nlines' }), isCode('INVALID_ARGUMENT'));
  await assert.rejects(signMinisign(data, { keyId: new Uint8Array(8) } as never), isCode('INVALID_ARGUMENT'));
});

test('minisign negatives: tampered file, edited trusted comment, tampered signature, wrong key, expiry, truncated, garbage', async () => {
  const pair = generateMinisignKeyPair();
  const sk = await parseMinisignSecretKey(pair.secretKeyText);
  const trust: TrustMaterial = { keys: [parseMinisignTrust(pair.publicKeyText)] };
  const sig = await signMinisign(data, sk, { fileName: 'f' });
  const l = lines(sig);

  const t1 = await verifyMinisign({ bytes: tampered }, enc.encode(sig), trust);
  assert.deepEqual(failed(t1), ['signature']);
  assert.match(t1.checks.find((c) => !c.ok)!.detail, /does not match the artifact/);

  const edited = [l[0], l[1], l[2]!.replace('file:f', 'file:g'), l[3]].join('\n');
  const t2 = await verifyMinisign({ bytes: data }, enc.encode(edited), trust);
  assert.deepEqual(failed(t2), ['trusted-comment']);
  assert.equal(t2.signer, undefined);

  const raw = Buffer.from(l[1]!, 'base64');
  raw[40] = raw[40]! ^ 1;
  const t3 = await verifyMinisign({ bytes: data }, enc.encode([l[0], raw.toString('base64'), l[2], l[3]].join('\n')), trust);
  assert.deepEqual(failed(t3), ['signature', 'trusted-comment']);

  const gs = Buffer.from(l[3]!, 'base64');
  gs[5] = gs[5]! ^ 1;
  const t4 = await verifyMinisign({ bytes: data }, enc.encode([l[0], l[1], l[2], gs.toString('base64')].join('\n')), trust);
  assert.deepEqual(failed(t4), ['trusted-comment']);

  const other = generateMinisignKeyPair();
  const wrong = await verifyMinisign({ bytes: data }, enc.encode(sig), { keys: [parseMinisignTrust(other.publicKeyText)] });
  assert.deepEqual(failed(wrong), ['key']);
  assert.match(wrong.checks.find((c) => !c.ok)!.detail, new RegExp(`key id ${pair.keyId} is not among the trusted keys`));
  // Same key id, different key: the signature check fails.
  const forged = { keys: [{ ...parseMinisignTrust(other.publicKeyText), keyId: sk.keyId }] };
  const t5 = await verifyMinisign({ bytes: data }, enc.encode(sig), forged);
  assert.deepEqual(failed(t5), ['signature', 'trusted-comment']);

  const expiredTrust = { keys: [{ ...parseMinisignTrust(pair.publicKeyText), validity: { notAfter: new Date('2020-01-01T00:00:00Z') } }] };
  assert.deepEqual(failed(await verifyMinisign({ bytes: data }, enc.encode(sig), expiredTrust)), ['key-validity']);
  const revoked = { keys: [{ ...parseMinisignTrust(pair.publicKeyText), validity: { revokedAt: new Date('2020-01-01T00:00:00Z') } }] };
  assert.deepEqual(failed(await verifyMinisign({ bytes: data }, enc.encode(sig), revoked)), ['key-validity']);

  for (const bad of [
    l.slice(0, 3).join('\n'),
    l.slice(0, 2).join('\n'),
    [l[0], l[1]!.slice(0, 50), l[2], l[3]].join('\n'),
    [l[0], l[1], 'comment without prefix', l[3]].join('\n'),
    [l[0], l[1], l[2], l[3]!.slice(0, 30)].join('\n'),
    [l[0], l[1], l[2], l[3], 'extra'].join('\n'),
    ['no comment', l[1], l[2], l[3]].join('\n'),
    'garbage',
    '',
  ]) {
    await assert.rejects(verifyMinisign({ bytes: data }, enc.encode(bad), trust), isCode('SIGNATURE_PARSE_FAILED'), JSON.stringify(bad));
  }
  await assert.rejects(verifyMinisign({ bytes: data }, new Uint8Array([0xff, 0xfe, 0xfd]), trust), SignetError);
  const unknownAlg = Buffer.from(l[1]!, 'base64');
  unknownAlg[1] = 0x58;
  await assert.rejects(verifyMinisign({ bytes: data }, enc.encode([l[0], unknownAlg.toString('base64'), l[2], l[3]].join('\n')), trust), isCode('UNSUPPORTED_ALGORITHM'));
  assert.equal(isMinisignSignature(enc.encode('garbage')), false);
  assert.equal(isMinisignSignature(enc.encode(l.slice(0, 2).join('\n'))), false);
});

test('minisign secret keys: checksum, corruption and encryption', async () => {
  const pair = generateMinisignKeyPair();
  const l = lines(pair.secretKeyText);
  const raw = Buffer.from(l[1]!, 'base64');
  assert.equal(raw.length, 158);
  // The checksum is BLAKE2b-256("Ed" ‖ keynum ‖ sk) (not a truncated BLAKE2b-512: the digest length is in the parameter block).
  assert.deepEqual(Buffer.from(blake2b(Buffer.concat([raw.subarray(0, 2), raw.subarray(54, 126)]), 32)), raw.subarray(126));
  // minisign 0.11 writes an all-zero checksum for -W keys: accepted.
  const zero = Buffer.from(raw);
  zero.fill(0, 126);
  await parseMinisignSecretKey(`${l[0]}\n${zero.toString('base64')}\n`);
  // A wrong non-zero checksum is corruption.
  const badChk = Buffer.from(raw);
  badChk[130] = badChk[130]! ^ 1;
  await assert.rejects(parseMinisignSecretKey(`${l[0]}\n${badChk.toString('base64')}\n`), isCode('KEY_PARSE_FAILED'));
  // The public half of sk must match the seed.
  const badPk = Buffer.from(zero);
  badPk[100] = badPk[100]! ^ 1;
  await assert.rejects(parseMinisignSecretKey(`${l[0]}\n${badPk.toString('base64')}\n`), isCode('KEY_PARSE_FAILED'));
  // kdf "Sc" without a password.
  const scrypt = Buffer.from(raw);
  scrypt.write('Sc', 2, 'latin1');
  await assert.rejects(parseMinisignSecretKey(`${l[0]}\n${scrypt.toString('base64')}\n`), (e: unknown) => isCode('KEY_ENCRYPTED')(e) && /minisign -C/.test((e as Error).message));
  // Unknown KDF, truncated, garbage.
  const unk = Buffer.from(raw);
  unk.write('Zz', 2, 'latin1');
  await assert.rejects(parseMinisignSecretKey(`${l[0]}\n${unk.toString('base64')}\n`), isCode('UNSUPPORTED_ALGORITHM'));
  await assert.rejects(parseMinisignSecretKey(`${l[0]}\n${raw.subarray(0, 100).toString('base64')}\n`), isCode('KEY_PARSE_FAILED'));
  await assert.rejects(parseMinisignSecretKey('garbage'), isCode('KEY_PARSE_FAILED'));
  await assert.rejects(parseMinisignSecretKey(pair.publicKeyText), isCode('KEY_PARSE_FAILED'));
});

test('signify: generate, sign, verify; negatives', async () => {
  const pair = generateSignifyKeyPair();
  const sk = parseSignifySecretKey(pair.secretKeyText);
  assert.equal(minisignKeyIdHex(sk.keyId), pair.keyId);
  const trust: TrustMaterial = { keys: [parseMinisignTrust(pair.publicKeyText, 'signify key')] };
  const sig = await signSignify(data, sk);
  const l = lines(sig);
  assert.equal(l.length, 2);
  const sigBytes = enc.encode(sig);
  assert.equal(isSignifySignature(sigBytes), true);
  assert.equal(isMinisignSignature(sigBytes), false);
  const v = await verifySignify({ bytes: data }, sigBytes, trust);
  assert.equal(v.ok, true, JSON.stringify(v.checks));
  assert.equal(v.kind, 'signify');
  assert.equal(v.signer?.keyId, pair.keyId);
  assert.equal(v.signer?.identity, 'signify key');

  assert.deepEqual(failed(await verifySignify({ bytes: tampered }, sigBytes, trust)), ['signature']);
  assert.deepEqual(failed(await verifySignify({ digest: { algorithm: 'sha256', value: new Uint8Array(32) } }, sigBytes, trust)), ['artifact']);
  const other = generateSignifyKeyPair();
  assert.deepEqual(failed(await verifySignify({ bytes: data }, sigBytes, { keys: [parseMinisignTrust(other.publicKeyText)] })), ['key']);
  const raw = Buffer.from(l[1]!, 'base64');
  raw[20] = raw[20]! ^ 1;
  assert.deepEqual(failed(await verifySignify({ bytes: data }, enc.encode(`${l[0]}\n${raw.toString('base64')}\n`), trust)), ['signature']);
  const expired = { keys: [{ ...parseMinisignTrust(pair.publicKeyText), validity: { notAfter: new Date('2020-01-01T00:00:00Z') } }] };
  assert.deepEqual(failed(await verifySignify({ bytes: data }, sigBytes, expired)), ['key-validity']);

  // A minisign-made key works with signify signatures (same key format), and vice versa the detector tells them apart.
  const mPair = generateMinisignKeyPair();
  const mSk = await parseMinisignSecretKey(mPair.secretKeyText);
  const cross = await verifySignify({ bytes: data }, enc.encode(await signSignify(data, mSk)), { keys: [parseMinisignTrust(mPair.publicKeyText)] });
  assert.equal(cross.ok, true);

  for (const bad of [l[0]!, `${l[0]}\n${l[1]!.slice(0, 40)}`, 'garbage', `${l[1]}\n${l[0]}`]) {
    await assert.rejects(verifySignify({ bytes: data }, enc.encode(bad), trust), isCode('SIGNATURE_PARSE_FAILED'), bad);
  }
  await assert.rejects(verifySignify({ bytes: data }, enc.encode(`${sig}embedded message\n`), trust), isCode('UNSUPPORTED_FORMAT'));
  const minisig = await signMinisign(data, mSk);
  await assert.rejects(verifySignify({ bytes: data }, enc.encode(minisig), trust), SignetError);

  // Secret key negatives: checksum, encryption, garbage.
  const skRaw = Buffer.from(lines(pair.secretKeyText)[1]!, 'base64');
  assert.equal(skRaw.length, 104);
  const badChk = Buffer.from(skRaw);
  badChk[24] = badChk[24]! ^ 1;
  assert.throws(() => parseSignifySecretKey(`untrusted comment: x\n${badChk.toString('base64')}\n`), isCode('KEY_PARSE_FAILED'));
  const encrypted = Buffer.from(skRaw);
  encrypted.writeUInt32BE(42, 4);
  assert.throws(
    () => parseSignifySecretKey(`untrusted comment: x\n${encrypted.toString('base64')}\n`),
    (e: unknown) => isCode('KEY_ENCRYPTED')(e) && /signify -G -n/.test((e as Error).message),
  );
  assert.throws(() => parseSignifySecretKey('garbage'), isCode('KEY_PARSE_FAILED'));
  assert.throws(() => parseSignifySecretKey(mPair.secretKeyText), isCode('KEY_PARSE_FAILED'));
});
