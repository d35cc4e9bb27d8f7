import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import nacl from 'tweetnacl';
import {
  hsalsa20,
  poly1305,
  salsa20Block,
  secretboxOpen,
  secretboxSeal,
  xsalsa20Xor,
} from '../dist/keys/secretbox.js';
import { SignetError } from '../dist/errors.js';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Deterministic test bytes: SHA-256 in counter mode over a fixed seed, so failures reproduce. */
function testBytes(seed: string): (n: number) => Uint8Array {
  let counter = 0;
  let pool = new Uint8Array(0);
  return (n) => {
    while (pool.length < n) {
      const block = createHash('sha256').update(`${seed}/${counter++}`).digest();
      const next = new Uint8Array(pool.length + block.length);
      next.set(pool);
      next.set(block, pool.length);
      pool = next;
    }
    const out = pool.slice(0, n);
    pool = pool.slice(n);
    return out;
  };
}

// NaCl's classic secretbox test (NaCl tests/secretbox.c; libsodium test/default/secretbox.c, secretbox_easy.exp).
const FIRSTKEY = hex('1b27556473e985d462cd51197a9a46c76009549eac6474f206c4ee0844f68389');
const NONCE = hex('69696ee955b62b73cd62bda875fc73d68219e0036b7a0b37');
const MESSAGE = hex(`
  be075fc53c81f2d5cf141316ebeb0c7b5228c52a4c62cbd44b66849b64244ffce5ecbaaf33bd751a1ac728d45e6c61296cdc3c01233561f41db66cce314adb31
  0e3be8250c46f06dceea3a7fa1348057e2f6556ad6b1318a024a838f21af1fde048977eb48f59ffd4924ca1c60902e52f0a089bc76897040e082f937763848645e0705`);
const BOX = hex(`
  f3ffc7703f9400e52a7dfb4b3d3305d98e993b9f48681273c29650ba32fc76ce48332ea7164d96a4476fb8c531a1186ac0dfc17c98dce87b4da7f011ec48c972
  71d2c20f9b928fe2270d6fb863d51738b48eeee314a7cc8ab932164548e526ae90224368517acfeabd6bb3732bc0e9da99832b61ca01b6de56244a9e88d5f9b3
  7973f622a43d14a6599b1f654cb45a74e355a5`);

test('vector sizes are as published', () => {
  assert.equal(MESSAGE.length, 131);
  assert.equal(BOX.length, 147);
});

test('Salsa20 expansion function: Salsa20 spec §9 example (k0=1..16, k1=201..216, n=101..116)', () => {
  const key = new Uint8Array(32).map((_, i) => (i < 16 ? 1 + i : 201 + (i - 16)));
  const n = new Uint8Array(16).map((_, i) => 101 + i);
  assert.equal(
    toHex(salsa20Block(key, n)),
    '45254427290f6bc1ff8b7a06aae9d9625990b66a1533c841ef31de22d772287e68c507e1c5991f02664e4cb054f5f6b8b1a0858206489577c0c384ecea67f64a',
  );
});

test('HSalsa20: NaCl core1 and core2 vectors', () => {
  // core1: shared secret → firstkey, zero input
  const shared = hex('4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742');
  assert.equal(toHex(hsalsa20(shared, new Uint8Array(16))), toHex(FIRSTKEY));
  // core2: firstkey, first 16 nonce bytes → secondkey
  assert.equal(
    toHex(hsalsa20(FIRSTKEY, NONCE.subarray(0, 16))),
    'dc908dda0b9344a953629b733820778880f3ceb421bb61b91cbd4c3e66256ce4',
  );
});

test('XSalsa20 stream: NaCl stream3 (first 64 bytes) and stream (SHA-256 of 4 MiB)', () => {
  assert.equal(
    toHex(xsalsa20Xor(new Uint8Array(64), NONCE, FIRSTKEY)),
    'eea6a7251c1e72916d11c2cb214d3c252539121d8e234e652d651fa4c8cff880309e645a74e9e0a60d8243acd9177ab51a1beb8d5a2f5d700c093c5e55855796',
  );
  const stream = xsalsa20Xor(new Uint8Array(4194304), NONCE, FIRSTKEY);
  assert.equal(
    createHash('sha256').update(stream).digest('hex'),
    '662b9d0e3463029156069b12f918691a98f7dfb2ca0393c96bbfc6b1fbd630a2',
  );
  // XOR is its own inverse, on any length (block boundaries included)
  const data = testBytes('xsalsa20')(200);
  assert.deepEqual(xsalsa20Xor(xsalsa20Xor(data, NONCE, FIRSTKEY), NONCE, FIRSTKEY), data);
});

test('Poly1305: RFC 8439 §2.5.2 vector and NaCl onetimeauth vector', () => {
  const key = hex('85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b');
  const msg = new TextEncoder().encode('Cryptographic Forum Research Group');
  assert.equal(toHex(poly1305(msg, key)), 'a8061dc1305136c6c22b8baf0c0127a9');
  // NaCl tests/onetimeauth.c: the secretbox one-time key over the secretbox ciphertext gives the box tag
  const otk = hex('eea6a7251c1e72916d11c2cb214d3c252539121d8e234e652d651fa4c8cff880');
  assert.equal(toHex(poly1305(BOX.subarray(16), otk)), toHex(BOX.subarray(0, 16)));
  // empty message: tag = s
  assert.equal(toHex(poly1305(new Uint8Array(0), key)), toHex(key.subarray(16)));
  assert.throws(() => poly1305(msg, key.subarray(0, 31)), (e: unknown) => e instanceof SignetError && e.code === 'INVALID_ARGUMENT');
});

test('secretbox: NaCl secretbox vector seals and opens', () => {
  assert.equal(toHex(secretboxSeal(MESSAGE, NONCE, FIRSTKEY)), toHex(BOX));
  const opened = secretboxOpen(BOX, NONCE, FIRSTKEY);
  assert.ok(opened);
  assert.equal(toHex(opened), toHex(MESSAGE));
  // subarray inputs (non-zero byteOffset) behave the same
  const padded = new Uint8Array(BOX.length + 3);
  padded.set(BOX, 3);
  assert.equal(toHex(secretboxOpen(padded.subarray(3), NONCE, FIRSTKEY) ?? new Uint8Array(0)), toHex(MESSAGE));
});

test('secretbox agrees with tweetnacl on 200 deterministic random (key, nonce, message) triples, both ways', () => {
  const rnd = testBytes('secretbox-vs-tweetnacl');
  for (let i = 0; i < 200; i++) {
    const key = rnd(32);
    const nonce = rnd(24);
    const lenBytes = rnd(2);
    const len = ((lenBytes[0]! << 8) | lenBytes[1]!) % 3001; // 0..3000
    const msg = rnd(len);
    const ours = secretboxSeal(msg, nonce, key);
    const theirs = nacl.secretbox(msg, nonce, key);
    assert.equal(toHex(ours), toHex(theirs), `seal differs at triple ${i} (length ${len})`);
    const a = secretboxOpen(theirs, nonce, key);
    assert.ok(a, `our open rejected tweetnacl's box at triple ${i}`);
    assert.equal(toHex(a), toHex(msg));
    const b = nacl.secretbox.open(ours, nonce, key);
    assert.ok(b, `tweetnacl rejected our box at triple ${i}`);
    assert.equal(toHex(b), toHex(msg));
  }
});

test('secretboxOpen returns undefined for a tampered box, wrong key, wrong nonce or truncated box', () => {
  const box = secretboxSeal(MESSAGE, NONCE, FIRSTKEY);
  for (const pos of [0, 15, 16, 80, box.length - 1]) {
    const t = box.slice();
    t[pos] = t[pos]! ^ 0x01;
    assert.equal(secretboxOpen(t, NONCE, FIRSTKEY), undefined, `bit flip at byte ${pos} was accepted`);
  }
  const wrongKey = FIRSTKEY.slice();
  wrongKey[31] = wrongKey[31]! ^ 0x80;
  assert.equal(secretboxOpen(box, NONCE, wrongKey), undefined);
  const wrongNonce = NONCE.slice();
  wrongNonce[23] = wrongNonce[23]! ^ 0x01;
  assert.equal(secretboxOpen(box, wrongNonce, FIRSTKEY), undefined);
  assert.equal(secretboxOpen(box.subarray(0, box.length - 1), NONCE, FIRSTKEY), undefined);
  assert.equal(secretboxOpen(box.subarray(0, 16), NONCE, FIRSTKEY), undefined);
  assert.equal(secretboxOpen(box.subarray(0, 15), NONCE, FIRSTKEY), undefined);
  assert.equal(secretboxOpen(new Uint8Array(0), NONCE, FIRSTKEY), undefined);
  assert.equal(secretboxOpen(testBytes('garbage')(64), NONCE, FIRSTKEY), undefined);
  // the empty message has a valid 16-byte box
  const empty = secretboxSeal(new Uint8Array(0), NONCE, FIRSTKEY);
  assert.equal(empty.length, 16);
  assert.equal(secretboxOpen(empty, NONCE, FIRSTKEY)?.length, 0);
});

test('secretbox rejects wrong key and nonce sizes with INVALID_ARGUMENT', () => {
  const isInvalid = (e: unknown): boolean => e instanceof SignetError && e.code === 'INVALID_ARGUMENT';
  assert.throws(() => secretboxSeal(MESSAGE, NONCE, FIRSTKEY.subarray(0, 31)), isInvalid);
  assert.throws(() => secretboxSeal(MESSAGE, NONCE.subarray(0, 23), FIRSTKEY), isInvalid);
  assert.throws(() => secretboxOpen(BOX, NONCE, new Uint8Array(33)), isInvalid);
  assert.throws(() => secretboxOpen(BOX, new Uint8Array(0), FIRSTKEY), isInvalid);
  assert.throws(() => secretboxOpen(BOX, NONCE, 'key' as unknown as Uint8Array), isInvalid);
});

test('secretbox of a 2 KiB key takes well under a millisecond', () => {
  const rnd = testBytes('speed');
  const key = rnd(32);
  const nonce = rnd(24);
  const msg = rnd(2048);
  for (let i = 0; i < 50; i++) secretboxOpen(secretboxSeal(msg, nonce, key), nonce, key); // warm up
  const rounds = 200;
  const start = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) secretboxOpen(secretboxSeal(msg, nonce, key), nonce, key);
  const perOp = Number(process.hrtime.bigint() - start) / 1e6 / (2 * rounds);
  assert.ok(perOp < 1, `secretbox on 2 KiB took ${perOp.toFixed(3)} ms per operation`);
});
