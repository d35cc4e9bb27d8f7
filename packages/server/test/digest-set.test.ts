// The shared set of issued-certificate digests (workers/digest-set.ts): exact hits only, forgetting is allowed, and
// threads sharing the buffer see each other's digests without ever reading a digest that was not written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { SharedDigestSet } from '../dist/workers/digest-set.js';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** A digest whose first 4 bytes (the slot index, little-endian) are `slot`; the rest from `tag`. */
function inSlot(slot: number, tag: string): Uint8Array {
  const d = Uint8Array.from(digest(tag));
  new DataView(d.buffer).setUint32(0, slot, true);
  return d;
}

test('digest set: exact hits, misses, replacement in a slot, and clear errors for bad sizes', () => {
  const set = SharedDigestSet.create(8);
  const a = digest('a');
  assert.equal(set.has(a), false, 'empty');
  set.add(a);
  assert.equal(set.has(a), true);
  assert.equal(set.has(Buffer.from(a).subarray(0)), true, 'another buffer with the same bytes');
  const near = Uint8Array.from(a);
  near[31]! ^= 1;
  assert.equal(set.has(near), false, 'one bit differs');

  // Two digests for one slot: the later replaces the earlier (a cache, not a record).
  const x = inSlot(3, 'x');
  const y = inSlot(3 + 8 * 5, 'y');
  set.add(x);
  assert.equal(set.has(x), true);
  set.add(y);
  assert.equal(set.has(y), true);
  assert.equal(set.has(x), false, 'replaced');

  // An unaligned view is fine.
  const wide = new Uint8Array(40);
  wide.set(digest('b'), 3);
  set.add(wide.subarray(3, 35));
  assert.equal(set.has(digest('b')), true);

  assert.throws(() => set.add(new Uint8Array(31)), /32-byte digests/);
  assert.throws(() => SharedDigestSet.create(6), /power of two/);
  assert.throws(() => SharedDigestSet.from(new SharedArrayBuffer(10)), /power of two/);
});

test('digest set: workers add to one buffer concurrently; the main thread sees their digests and never a torn one', async () => {
  const set = SharedDigestSet.create(16);
  const url = new URL('../dist/workers/digest-set.js', import.meta.url).href;
  // Each worker writes 20,000 digests over the same 16 slots, so writers race on every slot while this thread reads.
  const code = `
    const { workerData, parentPort } = require('node:worker_threads');
    const { createHash } = require('node:crypto');
    import(workerData.url).then(({ SharedDigestSet }) => {
      const set = SharedDigestSet.from(workerData.buffer);
      for (let i = 0; i < 20000; i++) set.add(createHash('sha256').update(workerData.tag + i).digest());
      parentPort.postMessage('done');
    });`;
  const run = (tag: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const w = new Worker(code, { eval: true, workerData: { url, buffer: set.buffer, tag } });
      w.once('message', () => resolve());
      w.once('error', reject);
    });
  const written = new Set<string>();
  for (const tag of ['p', 'q']) for (let i = 0; i < 20000; i++) written.add(digest(tag + i).toString('hex'));
  const done = Promise.all([run('p'), run('q')]);
  let finished = false;
  void done.then(() => (finished = true));
  // While they write: every slot's content, read as the set reads it, is a digest some worker wrote.
  const words = new Int32Array(set.buffer);
  let checked = 0;
  while (!finished) {
    for (let slot = 0; slot < 16; slot++) {
      const b = slot * 9;
      const before = Atomics.load(words, b);
      if (before === 0 || before & 1) continue;
      const d = new Int32Array(8);
      for (let i = 0; i < 8; i++) d[i] = Atomics.load(words, b + 1 + i);
      if (Atomics.load(words, b) !== before) continue;
      const hex = Buffer.from(d.buffer).toString('hex');
      assert.ok(written.has(hex), `slot ${slot} holds a digest nobody wrote: ${hex}`);
      checked++;
    }
    await new Promise((r) => setImmediate(r));
  }
  await done;
  assert.ok(checked > 0);
  // After both finished, the last digest of each is found unless the other replaced it in its slot.
  let found = 0;
  for (const tag of ['p', 'q']) if (set.has(digest(tag + 19999))) found++;
  assert.ok(found >= 1, 'the last write to a slot stays');
});
