// Kill the server (SIGKILL) during concurrent writes, restart it on the same storage, and check that every
// acknowledged entry is at its index and every checkpoint seen before the kill is consistent with the new tree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { fromHex, verifyConsistency } from '@signet/core';
import { startPostgres, startSignetServer, tempDir } from '@signet/testkit';
import { hashedrekord, newSigner } from './tlog-helpers.js';

interface Ack {
  index: number;
  uuid: string;
}

async function crashAndRecover(t: Parameters<typeof tempDir>[0], env: Record<string, string>): Promise<void> {
  const dataDir = tempDir(t);
  const first = await startSignetServer(t, { dataDir, env });
  const auth = { authorization: `Bearer ${first.adminToken}`, 'content-type': 'application/json' };
  const signer = newSigner();
  const acks: Ack[] = [];
  const checkpoints: { size: number; root: string }[] = [];
  let stop = false;
  let n = 0;
  const writer = async (): Promise<void> => {
    while (!stop) {
      const { entry } = hashedrekord(signer, `durable ${n++} ${Math.random()}`);
      try {
        const r = await fetch(`${first.url}/api/v1/log/entries`, { method: 'POST', headers: auth, body: JSON.stringify(entry) });
        if (r.status !== 201) continue;
        const body = (await r.json()) as Record<string, { logIndex: number; body: string }>;
        const [id, e] = Object.entries(body)[0]!;
        const leaf = createHash('sha256').update(Buffer.from([0])).update(Buffer.from(e.body, 'base64')).digest('hex');
        assert.equal(id.slice(16), leaf);
        acks.push({ index: e.logIndex, uuid: leaf });
      } catch {
        // the connection dies with the server
      }
    }
  };
  const watcher = async (): Promise<void> => {
    while (!stop) {
      try {
        const r = (await (await fetch(`${first.url}/api/v1/log`)).json()) as { treeSize: number; rootHash: string };
        if (r.treeSize > 0) checkpoints.push({ size: r.treeSize, root: r.rootHash });
      } catch {
        // ditto
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const loops = [...Array.from({ length: 24 }, writer), watcher()];
  // Kill once a good number of entries are acknowledged, while writes are in flight.
  const deadline = Date.now() + 20_000;
  while (acks.length < 400 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  first.child.kill('SIGKILL');
  await first.exit;
  stop = true;
  await Promise.all(loops);
  assert.ok(acks.length >= 400, `only ${acks.length} entries were acknowledged before the deadline`);

  const second = await startSignetServer(t, { dataDir, env });
  const info = (await (await fetch(`${second.url}/api/v1/log`)).json()) as { treeSize: number; rootHash: string };
  assert.ok(info.treeSize >= acks.length, `tree has ${info.treeSize} entries, ${acks.length} were acknowledged`);
  for (const a of acks) {
    const r = await fetch(`${second.url}/api/v1/log/entries?logIndex=${a.index}`);
    assert.equal(r.status, 200, `acknowledged entry ${a.index} is missing`);
    const [id] = Object.keys((await r.json()) as object);
    assert.equal(id!.slice(16), a.uuid, `entry ${a.index} changed`);
  }
  const sizes = [...new Map(checkpoints.map((c) => [c.size, c])).values()];
  for (const c of sizes) {
    assert.ok(c.size <= info.treeSize, `a tree head of size ${c.size} was published before the crash but the recovered tree has ${info.treeSize}`);
    const res = await fetch(`${second.url}/api/v1/log/proof?firstSize=${c.size}&lastSize=${info.treeSize}`);
    assert.equal(res.status, 200);
    const p = (await res.json()) as { hashes: string[] };
    assert.ok(
      verifyConsistency(c.size, info.treeSize, p.hashes.map((h) => fromHex(h)), fromHex(c.root), fromHex(info.rootHash)),
      `checkpoint of size ${c.size} seen before the crash is not consistent with the recovered tree`,
    );
  }
  assert.ok(sizes.length > 2, 'several checkpoints were observed');
  // and the log keeps working
  const more = await fetch(`${second.url}/api/v1/log/entries`, { method: 'POST', headers: { ...auth, authorization: `Bearer ${second.adminToken}` }, body: JSON.stringify(hashedrekord(signer, 'after the crash').entry) });
  assert.equal(more.status, 201);
  second.child.kill('SIGTERM');
  assert.equal(await second.exit, 0);
}

test('SIGKILL during concurrent writes loses no acknowledged entry (SQLite)', async (t) => {
  await crashAndRecover(t, {});
});

test('SIGKILL during concurrent writes loses no acknowledged entry (PostgreSQL)', async (t) => {
  const pg = await startPostgres(t);
  await crashAndRecover(t, { SIGNET_DATABASE: pg.url });
});
