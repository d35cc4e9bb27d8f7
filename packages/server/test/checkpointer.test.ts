// SQLite WAL checkpoints run in a worker thread: the server's own connection never checkpoints (so a commit
// never stalls the event loop copying pages), yet the WAL is still copied into the database.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'kysely';
import { tempDir } from '@signet/testkit';
import { openDatabase } from '../dist/storage/db.js';

const size = (p: string): number => {
  try {
    return statSync(p).size;
  } catch {
    return 0;
  }
};

test('the checkpointer copies a growing WAL into the database without the main connection checkpointing', async (t) => {
  const path = join(tempDir(t), 'signet.db');
  const database = await openDatabase(`sqlite:${path}`);
  t.after(() => database.close());
  const s = database.sqlite!;
  assert.equal(Number(s.pragma('wal_autocheckpoint', { simple: true })), 0, 'automatic checkpoints are off on the server connection');
  await sql`CREATE TABLE filler (id INTEGER PRIMARY KEY, data BLOB)`.execute(database.db);
  const before = size(path);
  // 6 MiB in 96 committed transactions, more than the 4 MiB threshold.
  const insert = s.prepare('INSERT INTO filler (data) VALUES (?)');
  for (let i = 0; i < 96; i++) insert.run(Buffer.alloc(64 * 1024, i));
  assert.ok(size(`${path}-wal`) >= 6 * 1024 * 1024, 'the commits are in the WAL');
  const deadline = Date.now() + 10_000;
  while (size(path) - before < 6 * 1024 * 1024 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.ok(size(path) - before >= 6 * 1024 * 1024, `the database file grew by ${size(path) - before} bytes: the checkpointer did not copy the WAL`);
  for (let i = 0; i < 8; i++) insert.run(Buffer.alloc(64 * 1024, i));
  assert.equal((s.prepare('SELECT count(*) AS n FROM filler').get() as { n: number }).n, 104);
});

test('closing the database stops the checkpointer and removes the WAL', async (t) => {
  const path = join(tempDir(t), 'signet.db');
  const database = await openDatabase(`sqlite:${path}`);
  database.sqlite!.prepare('CREATE TABLE x (v INTEGER)').run();
  database.sqlite!.prepare('INSERT INTO x VALUES (1)').run();
  await database.close();
  assert.equal(size(`${path}-wal`), 0);
});
