import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSignetServer, tempDir } from '@signet/testkit';
import { isCleanError, signet } from './helpers.js';

test('signet log info | get | search | verify-consistency against a running log, verifying every proof', async (t) => {
  const srv = await startSignetServer(t);
  const dir = tempDir(t);
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const pem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
  writeFileSync(join(dir, 'key.pub'), pem);
  const digests: string[] = [];
  for (let i = 0; i < 10; i++) {
    const data = Buffer.from(`release ${i}`);
    const digest = createHash('sha256').update(data).digest('hex');
    digests.push(digest);
    const entry = { apiVersion: '0.0.1', kind: 'hashedrekord', spec: { data: { hash: { algorithm: 'sha256', value: digest } }, signature: { content: sign('sha256', data, privateKey).toString('base64'), publicKey: { content: Buffer.from(pem).toString('base64') } } } };
    const r = await fetch(`${srv.url}/api/v1/log/entries`, { method: 'POST', headers: { authorization: `Bearer ${srv.adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(entry) });
    assert.equal(r.status, 201);
  }
  const env = { SIGNET_SERVER: srv.url, XDG_CONFIG_HOME: dir };
  const info = await signet(['log', 'info'], { env });
  assert.equal(info.code, 0, info.stderr);
  assert.match(info.stdout, /Tree size: 10\n/);
  assert.match(info.stdout, /Checkpoint signature: verified/);
  const again = await signet(['log', 'info', '--output', 'json'], { env });
  assert.equal(JSON.parse(again.stdout).consistentWithPrevious, 10);

  const get = await signet(['log', 'get', '--log-index', '3'], { env });
  assert.equal(get.code, 0, get.stderr);
  assert.match(get.stdout, /Verified: signed entry timestamp, inclusion proof at tree size 10, checkpoint signature/);
  assert.ok(get.stdout.includes(digests[3]!));
  const uuid = /^UUID: (\S+)/m.exec(get.stdout)?.[1] ?? '';
  assert.equal((await signet(['log', 'get', '--uuid', uuid], { env })).code, 0);

  const search = await signet(['log', 'search', '--sha256', digests[5]!], { env });
  assert.equal(search.code, 0, search.stderr);
  assert.equal(search.stdout.trim().split('\n').length, 1);
  const byKey = await signet(['log', 'search', '--public-key', join(dir, 'key.pub')], { env });
  assert.equal(byKey.stdout.trim().split('\n').length, 10);

  const c = await signet(['log', 'verify-consistency', '--from', '3'], { env });
  assert.equal(c.code, 0, c.stderr);
  assert.match(c.stdout, /^Consistent: tree 3 \([0-9a-f]{64}\) is a prefix of tree 10/);
  assert.equal((await signet(['log', 'verify-consistency', '--from', '2', '--to', '7'], { env })).code, 0);
  const wrongRoot = await signet(['log', 'verify-consistency', '--from', '3', '--from-root', 'ab'.repeat(32)], { env });
  assert.ok(isCleanError(wrongRoot));
  assert.match(wrongRoot.stderr, /does not verify: the log is not append-only/);

  // a pinned key that is not the log's
  const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }) as string;
  writeFileSync(join(dir, 'other.pub'), other);
  const pinned = await signet(['log', 'info', '--log-public-key', join(dir, 'other.pub')], { env });
  assert.ok(isCleanError(pinned));
  assert.match(pinned.stderr, /not signed by the log key/);
  assert.ok(isCleanError(await signet(['log', 'get', '--log-index', 'x'], { env })));
  assert.ok(isCleanError(await signet(['log', 'get', '--log-index', '99'], { env })));
  assert.ok(isCleanError(await signet(['log', 'verify-consistency', '--from', '11'], { env })));
});
