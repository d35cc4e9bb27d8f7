// Signed entry timestamps are signed in a worker thread, one round trip per batch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, verify } from 'node:crypto';
import type { Worker } from 'node:worker_threads';
import { canonicalize, fromBase64, utf8 } from '@signet/core';
import { SetSigner } from '../dist/tlog/set-signer.js';

const logId = 'ab'.repeat(32);

test('SETs verify with the log key over Rekor\'s canonical payload, in the order given', async (t) => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const signer = new SetSigner(privateKey, logId);
  t.after(() => signer.close());
  const entries = Array.from({ length: 50 }, (_, i) => ({ idx: 1000 + i, body: Buffer.from(`body ${i}`).toString('base64') }));
  const sets = await signer.sign(1_700_000_000, entries);
  assert.equal(sets.length, entries.length);
  for (const [i, e] of entries.entries()) {
    const payload = utf8(canonicalize({ body: e.body, integratedTime: 1_700_000_000, logID: logId, logIndex: e.idx }));
    assert.ok(verify('sha256', payload, publicKey, fromBase64(sets[i] as string)), `SET ${i} verifies`);
    // Negatives: another index or another time does not verify.
    const other = utf8(canonicalize({ body: e.body, integratedTime: 1_700_000_000, logID: logId, logIndex: e.idx + 1 }));
    assert.equal(verify('sha256', other, publicKey, fromBase64(sets[i] as string)), false);
  }
  assert.deepEqual(await signer.sign(1, []), []);
});

test('a dead signer worker fails its batch with a clear error and the next batch gets a new worker', async (t) => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const signer = new SetSigner(privateKey, logId);
  t.after(() => signer.close());
  await signer.sign(1, [{ idx: 0, body: 'AA==' }]);
  const worker = (signer as unknown as { own: { slots: { worker: Worker }[] } }).own.slots[0]!.worker;
  const pending = signer.sign(1, Array.from({ length: 2000 }, (_, i) => ({ idx: i, body: 'AA==' })));
  await worker.terminate();
  await assert.rejects(pending, /entry timestamp signer worker exited/);
  const [set] = await signer.sign(5, [{ idx: 7, body: 'AA==' }]);
  assert.ok(verify('sha256', utf8(canonicalize({ body: 'AA==', integratedTime: 5, logID: logId, logIndex: 7 })), publicKey, fromBase64(set as string)));
});
