import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalize, fromBase64, toBase64, parsePem, toPem, fromHex } from '../dist/encoding/index.js';
import { SignetError } from '../dist/errors.js';

test('base64 accepts standard and URL-safe alphabets, rejects garbage', () => {
  assert.deepEqual([...fromBase64('+/8=')], [0xfb, 0xff]);
  assert.deepEqual([...fromBase64('-_8')], [0xfb, 0xff]);
  assert.equal(toBase64(new Uint8Array([1, 2, 3])), 'AQID');
  assert.throws(() => fromBase64('ab$c'), SignetError);
  assert.throws(() => fromBase64('a'), SignetError);
});

test('hex rejects odd length and non-hex', () => {
  assert.throws(() => fromHex('abc'), SignetError);
  assert.throws(() => fromHex('zz'), SignetError);
});

test('PEM round trip wraps at 64 columns', () => {
  const der = new Uint8Array(100).map((_, i) => i);
  const pem = toPem('PUBLIC KEY', der);
  assert.ok(pem.split('\n').every((l) => l.length <= 64));
  assert.deepEqual(parsePem(pem, 'PUBLIC KEY').der, der);
  assert.throws(() => parsePem('nothing here'), SignetError);
});

test('JCS (RFC 8785) sorts keys by UTF-16 code units and formats numbers as ECMAScript does', () => {
  assert.equal(canonicalize({ b: 1, a: [true, null, 'x'], c: { z: 1e21, y: 0.1 } }), '{"a":[true,null,"x"],"b":1,"c":{"y":0.1,"z":1e+21}}');
  // RFC 8785 §3.2.3 example ordering: "\u20ac" (euro) sorts after "\r" and before "\ud83d\ude00"
  assert.equal(canonicalize({ '\u20ac': 1, '\r': 2, '\ud83d\ude00': 3, '1': 4 }), '{"\\r":2,"1":4,"€":1,"😀":3}');
  assert.throws(() => canonicalize({ a: Number.NaN }), SignetError);
});
