import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requireTool, run, tempDir } from '@signet/testkit';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  derBitString,
  derBoolean,
  derExplicit,
  derGeneralizedTime,
  derImplicit,
  derInteger,
  derNull,
  derOctetString,
  derOid,
  derSequence,
  derSetOf,
  derTime,
  derUtf8String,
  readChildren,
  readTlv,
  readUnsignedInteger,
} from '../dist/index.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

test('INTEGERs are minimal and unsigned values get a leading zero when the high bit is set', () => {
  assert.equal(hex(derInteger(0)), '020100');
  assert.equal(hex(derInteger(127)), '02017f');
  assert.equal(hex(derInteger(128)), '02020080');
  assert.equal(hex(derInteger(256n)), '02020100');
  assert.equal(hex(derInteger(Uint8Array.of(0, 0, 0xff))), '020200ff');
  assert.throws(() => derInteger(-1n));
  const big = 2n ** 159n + 12345n;
  const enc = derInteger(big);
  assert.equal(readUnsignedInteger(enc, readTlv(enc)), big);
});

test('OIDs, lengths, times, SET OF ordering and tagging', () => {
  assert.equal(hex(derOid('1.2.840.10045.4.3.2')), '06082a8648ce3d040302');
  assert.equal(hex(derOid('2.5.29.17')), '0603551d11');
  assert.equal(hex(derOid('1.3.6.1.4.1.11129.2.4.2')), '060a2b06010401d679020402');
  const long = derOctetString(new Uint8Array(300));
  assert.equal(hex(long.subarray(0, 4)), '0482012c');
  assert.equal(readTlv(long).end, long.length);
  assert.equal(Buffer.from(derTime(new Date(Date.UTC(2049, 11, 31, 23, 59, 59)))).subarray(2).toString(), '491231235959Z');
  assert.equal(Buffer.from(derTime(new Date(Date.UTC(2050, 0, 1)))).subarray(2).toString(), '20500101000000Z');
  assert.equal(Buffer.from(derGeneralizedTime(new Date(Date.UTC(2026, 10, 21, 1, 2, 3, 450)), true)).subarray(2).toString(), '20261121010203.45Z');
  assert.equal(hex(derSetOf(derInteger(2), derInteger(1))), '3106020101020102');
  assert.equal(hex(derExplicit(0, derNull())), 'a0020500');
  assert.equal(hex(derImplicit(2, derOctetString(Uint8Array.of(1)))), '820101');
  assert.equal(hex(derImplicit(1, derSequence(derNull()))), 'a1020500');
  assert.equal(hex(derBoolean(true)), '0101ff');
  assert.equal(hex(derBitString(Uint8Array.of(0xaa))), '030200aa');
  const seq = derSequence(derInteger(1), derUtf8String('é'), derNull());
  assert.equal(readChildren(seq, readTlv(seq)).length, 3);
});

test('openssl asn1parse reads what the writer wrote', async (t) => {
  const openssl = requireTool(t, 'openssl');
  if (!openssl) return;
  const dir = tempDir(t);
  const der = derSequence(derInteger(2n ** 100n), derOid('1.3.6.1.4.1.57264.1.8'), derUtf8String('https://token.actions.githubusercontent.com'), derTime(new Date(Date.UTC(2026, 0, 1))), derSetOf(derBoolean(false)));
  writeFileSync(join(dir, 'x.der'), der);
  const r = await run(openssl, ['asn1parse', '-inform', 'DER', '-in', join(dir, 'x.der')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /INTEGER +:10000000000000000000000000\n/);
  assert.match(r.stdout, /OBJECT +:1\.3\.6\.1\.4\.1\.57264\.1\.8/);
  assert.match(r.stdout, /UTF8STRING +:https:\/\/token\.actions\.githubusercontent\.com/);
  assert.match(r.stdout, /UTCTIME +:260101000000Z/);
});
