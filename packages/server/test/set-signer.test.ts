// Signed entry timestamps: Rekor's SET over the canonical {body, integratedTime, logID, logIndex}.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, verify } from 'node:crypto';
import { canonicalize, fromBase64, utf8 } from '@signet/core';
import { signEntryTimestamps } from '../dist/tlog/set-signer.js';

const logId = 'ab'.repeat(32);

test('SETs verify with the log key over Rekor\'s canonical payload, in the order given', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const entries = Array.from({ length: 50 }, (_, i) => ({ idx: 1000 + i, body: Buffer.from(`body ${i}`).toString('base64') }));
  const sets = signEntryTimestamps(privateKey, logId, 1_700_000_000, entries);
  assert.equal(sets.length, entries.length);
  for (const [i, e] of entries.entries()) {
    const payload = utf8(canonicalize({ body: e.body, integratedTime: 1_700_000_000, logID: logId, logIndex: e.idx }));
    assert.ok(verify('sha256', payload, publicKey, fromBase64(sets[i] as string)), `SET ${i} verifies`);
    // Negatives: another index, another time or another log does not verify.
    for (const other of [
      { body: e.body, integratedTime: 1_700_000_000, logID: logId, logIndex: e.idx + 1 },
      { body: e.body, integratedTime: 1_700_000_001, logID: logId, logIndex: e.idx },
      { body: e.body, integratedTime: 1_700_000_000, logID: 'cd'.repeat(32), logIndex: e.idx },
    ]) {
      assert.equal(verify('sha256', utf8(canonicalize(other)), publicKey, fromBase64(sets[i] as string)), false);
    }
  }
  assert.deepEqual(signEntryTimestamps(privateKey, logId, 1, []), []);
});
