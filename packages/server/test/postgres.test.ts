// The storage paths (migrations, tokens, the log's group commit, restart) on PostgreSQL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startPostgres, tempDir } from '@signet/testkit';
import { build, loadConfig } from '../dist/index.js';
import { bearer } from './helpers.js';
import { hashedrekord, newSigner } from './tlog-helpers.js';

test('PostgreSQL: migrations, tokens, concurrent log writes, restart', async (t) => {
  const pg = await startPostgres(t);
  const dir = tempDir(t);
  const config = loadConfig({ data: dir, listen: '127.0.0.1:0', database: pg.url }, { SIGNET_LOG_LEVEL: 'silent', SIGNET_TLOG_BATCH_SIZE: '32' });
  const app = await build(config);
  assert.equal(app.services.database.kind, 'postgres');
  const admin = bearer(readFileSync(join(dir, 'admin-token'), 'utf8').trim());
  const tok = await app.inject({ method: 'POST', url: '/api/v1/tokens', headers: admin, payload: { name: 'w', role: 'signer', repositories: ['a/*'] } });
  assert.equal(tok.statusCode, 201);
  assert.equal((await app.inject({ url: '/api/v1/tokens', headers: admin })).json().tokens.length, 2);
  const signer = newSigner();
  const entries = Array.from({ length: 100 }, (_, i) => hashedrekord(signer, `pg ${i}`).entry);
  const rs = await Promise.all(entries.map((entry) => app.inject({ method: 'POST', url: '/api/v1/log/entries', headers: admin, payload: entry })));
  assert.ok(rs.every((r) => r.statusCode === 201), rs.find((r) => r.statusCode !== 201)?.body);
  const dup = await app.inject({ method: 'POST', url: '/api/v1/log/entries', headers: admin, payload: entries[0]! });
  assert.equal(dup.statusCode, 409);
  const info = (await app.inject({ url: '/api/v1/log' })).json() as { treeSize: number; rootHash: string };
  assert.equal(info.treeSize, 100);
  assert.equal((await app.inject({ method: 'POST', url: '/api/v1/index/retrieve', payload: { publicKey: { format: 'x509', content: signer.pemB64 } } })).json().length, 100);
  assert.equal((await app.inject({ url: '/tlog/tile/0/000.p/100' })).statusCode, 200);
  await app.close();
  const again = await build(config);
  try {
    assert.equal((await again.inject({ url: '/api/v1/log' })).json().rootHash, info.rootHash);
    assert.equal((await again.inject({ url: '/readyz' })).json().status, 'ready');
  } finally {
    await again.close();
  }
});
