import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Updater } from 'tuf-js';
import { tempDir } from '@signet/testkit';
import { TufRepository, parseMetadata, type TufFiles } from '../dist/tuf/index.js';

const ec = (): KeyObject => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
const ed = (): KeyObject => generateKeyPairSync('ed25519').privateKey;
const enc = new TextEncoder();
const DAY = 86_400_000;

// The real tuf-js client (the one @sigstore/tuf uses) against files published by TufRepository and
// served over HTTP on 127.0.0.1, the layout sigstore's tufMirrorURL expects.
test('tuf-js Updater refreshes and downloads from a Signet TUF repository', async (t) => {
  let served: TufFiles = {};
  const requested: string[] = [];
  const server = createServer((req, res) => {
    const path = decodeURIComponent((req.url ?? '/').split('?')[0]!.replace(/^\/+/, ''));
    requested.push(path);
    const body = served[path];
    if (req.method !== 'GET' || !body) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const dir = tempDir(t);
  const client = (name: string) => {
    const metadataDir = join(dir, name, 'metadata');
    const targetDir = join(dir, name, 'targets');
    mkdirSync(metadataDir, { recursive: true });
    mkdirSync(targetDir, { recursive: true });
    return { metadataDir, targetDir };
  };
  const updater = (c: { metadataDir: string; targetDir: string }) =>
    new Updater({ ...c, metadataBaseUrl: base, targetBaseUrl: `${base}/targets`, config: { fetchRetry: 0 } });
  const fetchTarget = async (c: { metadataDir: string; targetDir: string }, name: string): Promise<Uint8Array> => {
    const u = updater(c);
    await u.refresh();
    const info = await u.getTargetInfo(name);
    assert.ok(info, `${name} is listed`);
    return new Uint8Array(readFileSync(await u.downloadTarget(info)));
  };

  const [rootKey, targetsKey, snapshotKey, timestampKey] = [ec(), ec(), ed(), ec()];
  const now = new Date();
  const repo = await TufRepository.create({
    keys: { root: [rootKey], targets: [targetsKey], snapshot: [snapshotKey], timestamp: [timestampKey] },
    now,
  });
  const trusted1 = enc.encode(JSON.stringify({ mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1', tlogs: [], n: 1 }));
  served = await repo.publish({ targets: { 'trusted_root.json': trusted1 }, now });

  // 1. a client that trusts root v1 refreshes and downloads the target
  const alice = client('alice');
  writeFileSync(join(alice.metadataDir, 'root.json'), served['1.root.json']!);
  assert.deepEqual(await fetchTarget(alice, 'trusted_root.json'), trusted1);
  assert.ok(requested.includes('2.root.json') && requested.includes('timestamp.json') && requested.includes('1.snapshot.json') && requested.includes('1.targets.json'));
  assert.ok(requested.some((p) => /^targets\/[0-9a-f]{64}\.trusted_root\.json$/.test(p)), 'hash-prefixed target path');

  // 2. rotate root (new root and timestamp keys, threshold 2 on root) and publish a new target
  const [newRoot1, newRoot2, newTimestamp] = [ed(), ec(), ed()];
  await repo.rotateRoot({ now, keys: { root: [newRoot1, newRoot2], timestamp: [newTimestamp] }, thresholds: { root: 2 } });
  const trusted2 = enc.encode(JSON.stringify({ mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1', tlogs: [], n: 2 }));
  served = await repo.publish({ targets: { 'trusted_root.json': trusted2 }, now });
  assert.ok(served['2.root.json']);
  assert.deepEqual(await fetchTarget(alice, 'trusted_root.json'), trusted2);
  const persisted = parseMetadata(readFileSync(join(alice.metadataDir, 'root.json')), 'root');
  assert.equal(persisted.signed.version, 2, 'tuf-js moved to root version 2');
  // a brand-new client starting from root v1 walks the chain too, and a refreshed timestamp is taken
  served = { ...served, ...(await repo.refreshTimestamp(new Date())) };
  const bob = client('bob');
  writeFileSync(join(bob.metadataDir, 'root.json'), served['1.root.json']!);
  assert.deepEqual(await fetchTarget(bob, 'trusted_root.json'), trusted2);

  // 3. a tampered target is refused
  const good = served;
  const targetPath = Object.keys(good).find((p) => p.startsWith('targets/'))!;
  const evil = enc.encode(JSON.stringify({ mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1', tlogs: [], n: 9 }));
  served = { ...good, [targetPath]: evil };
  const carol = client('carol');
  writeFileSync(join(carol.metadataDir, 'root.json'), good['2.root.json']!);
  await assert.rejects(fetchTarget(carol, 'trusted_root.json'), /hash|length/i);

  // 4. tampered metadata is refused: timestamp with a changed signed field
  const ts = JSON.parse(new TextDecoder().decode(good['timestamp.json']!)) as { signed: { expires: string } };
  ts.signed.expires = '2099-01-01T00:00:00Z';
  served = { ...good, 'timestamp.json': enc.encode(JSON.stringify(ts)) };
  const erin = client('erin');
  writeFileSync(join(erin.metadataDir, 'root.json'), good['2.root.json']!);
  await assert.rejects(updater(erin).refresh(), /timestamp was signed by 0\/1 keys/);

  // 5. an expired timestamp is refused
  served = { ...good, ...(await repo.refreshTimestamp(new Date(Date.now() - 10 * DAY), 60)) };
  const frank = client('frank');
  writeFileSync(join(frank.metadataDir, 'root.json'), good['2.root.json']!);
  await assert.rejects(updater(frank).refresh(), /timestamp\.json is expired/);

  // and once refreshed again, clients recover
  served = { ...good, ...(await repo.refreshTimestamp(new Date())) };
  assert.deepEqual(await fetchTarget(frank, 'trusted_root.json'), trusted2);
});
