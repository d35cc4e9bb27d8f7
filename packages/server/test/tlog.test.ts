import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPublicKey, verify as nodeVerify } from 'node:crypto';
import {
  canonicalize,
  ecdsaNoteVerifier,
  fromHex,
  parseCheckpointBody,
  parseEntryBundle,
  utf8,
  verifyCheckpoint,
  verifyConsistency,
  verifyInclusion,
} from '@signet/core';
import { build, loadConfig } from '../dist/index.js';
import { bearer, testServer, type TestServer } from './helpers.js';
import { dsseEntry, hashedrekord, intotoEntry, newSigner, statement } from './tlog-helpers.js';

interface LogEntry {
  body: string;
  integratedTime: number;
  logID: string;
  logIndex: number;
  verification: { signedEntryTimestamp: string; inclusionProof: { logIndex: number; rootHash: string; treeSize: number; hashes: string[]; checkpoint: string } };
}

function only(json: Record<string, LogEntry>): [string, LogEntry] {
  const [pair] = Object.entries(json);
  assert.ok(pair);
  return pair;
}

/** Checks an entry as a client would: SET, inclusion proof, checkpoint signature and its binding to the proof. */
async function checkEntry(s: TestServer, id: string, e: LogEntry): Promise<void> {
  const pem = (await s.app.inject({ url: '/api/v1/log/publicKey' })).body;
  const key = createPublicKey(pem);
  assert.equal(e.logID, createHash('sha256').update(key.export({ type: 'spki', format: 'der' })).digest('hex'));
  const set = canonicalize({ body: e.body, integratedTime: e.integratedTime, logID: e.logID, logIndex: e.logIndex });
  assert.ok(nodeVerify('sha256', utf8(set), key, Buffer.from(e.verification.signedEntryTimestamp, 'base64')), 'SET verifies');
  const leaf = createHash('sha256').update(Buffer.from([0])).update(Buffer.from(e.body, 'base64')).digest();
  assert.equal(id.slice(16), leaf.toString('hex'), 'the entry ID ends with the leaf hash');
  const p = e.verification.inclusionProof;
  assert.ok(verifyInclusion(p.logIndex, p.treeSize, leaf, p.hashes.map((h) => fromHex(h)), fromHex(p.rootHash)), 'inclusion proof verifies');
  const keyName = new URL(s.config.baseUrl).host;
  const cp = await verifyCheckpoint(p.checkpoint, [ecdsaNoteVerifier(keyName, key)]);
  assert.ok(cp.ok, cp.detail);
  assert.equal(Number(cp.checkpoint.size), p.treeSize);
  assert.equal(Buffer.from(cp.checkpoint.rootHash).toString('hex'), p.rootHash);
  assert.ok(s.config.baseUrl.includes(keyName), 'the checkpoint key name is a substring of the base URL (sigstore-js rule)');
  assert.equal(cp.checkpoint.origin, `${keyName} - ${(await s.app.inject({ url: '/api/v1/log' })).json().treeID}`);
}

test('hashedrekord: 201 with Location, SET, verified inclusion proof and checkpoint; 409 on a duplicate', async (t) => {
  const s = await testServer(t);
  const signer = newSigner();
  const { entry, digest } = hashedrekord(signer, 'artifact one');
  const r = await s.app.inject({ method: 'POST', url: '/api/v1/log/entries', headers: bearer(s.adminToken), payload: entry });
  assert.equal(r.statusCode, 201, r.body);
  const [id, e] = only(r.json());
  assert.match(id, /^[0-9a-f]{80}$/);
  assert.equal(r.headers.location, `/api/v1/log/entries/${id}`);
  assert.equal(e.logIndex, 0);
  assert.equal(r.body, JSON.stringify(r.json()));
  await checkEntry(s, id, e);
  const body = JSON.parse(Buffer.from(e.body, 'base64').toString());
  assert.equal(body.kind, 'hashedrekord');
  assert.equal(body.spec.data.hash.value, digest);

  const dup = await s.app.inject({ method: 'POST', url: '/api/v1/log/entries', headers: bearer(s.adminToken), payload: entry });
  assert.equal(dup.statusCode, 409);
  assert.equal(dup.json().code, 'ENTRY_EXISTS');
  assert.equal(dup.headers.location, `/api/v1/log/entries/${id}`);

  for (const url of [`/api/v1/log/entries/${id}`, `/api/v1/log/entries/${id.slice(16)}`, '/api/v1/log/entries?logIndex=0']) {
    const g = await s.app.inject({ url });
    assert.equal(g.statusCode, 200, url);
    const [gid, ge] = only(g.json());
    assert.equal(gid, id);
    await checkEntry(s, gid, ge);
  }
  const byHash = await s.app.inject({ method: 'POST', url: '/api/v1/index/retrieve', payload: { hash: `sha256:${digest}` } });
  assert.deepEqual(byHash.json(), [id.slice(16)]);
  const byKey = await s.app.inject({ method: 'POST', url: '/api/v1/index/retrieve', payload: { publicKey: { format: 'x509', content: signer.pemB64 } } });
  assert.deepEqual(byKey.json(), [id.slice(16)]);
  const retrieved = await s.app.inject({ method: 'POST', url: '/api/v1/log/entries/retrieve', payload: { logIndexes: [0, 5], entryUUIDs: [id] } });
  assert.equal(retrieved.json().length, 2);
});

test('entries are refused with a clear 400 when the signature, digest or shape is wrong', async (t) => {
  const s = await testServer(t);
  const h = bearer(s.adminToken);
  const signer = newSigner();
  const post = (payload: unknown) => s.app.inject({ method: 'POST', url: '/api/v1/log/entries', headers: h, payload: payload as object });
  const { entry } = hashedrekord(signer, 'x');
  const e = entry as unknown as { spec: { data: { hash: { value: string } }; signature: { content: string; publicKey: { content: string } } } };
  const wrongDigest = structuredClone(e);
  wrongDigest.spec.data.hash.value = createHash('sha256').update('y').digest('hex');
  const r1 = await post(wrongDigest);
  assert.equal(r1.statusCode, 400);
  assert.match(r1.json().message, /signature does not verify/);
  const wrongKey = structuredClone(e);
  wrongKey.spec.signature.publicKey.content = newSigner().pemB64;
  assert.equal((await post(wrongKey)).statusCode, 400);
  const badB64 = structuredClone(e);
  badB64.spec.signature.content = '%%%';
  assert.match((await post(badB64)).json().message, /not valid base64/);
  const badHex = structuredClone(e);
  badHex.spec.data.hash.value = 'ABC';
  assert.match((await post(badHex)).json().message, /lowercase hex/);
  assert.match((await post({ kind: 'rekord', apiVersion: '0.0.1', spec: {} })).json().message, /unsupported entry type/);
  assert.equal((await post({ kind: 'hashedrekord' })).statusCode, 400);
  const garbageKey = structuredClone(e);
  garbageKey.spec.signature.publicKey.content = Buffer.from('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n').toString('base64');
  assert.match((await post(garbageKey)).json().message, /not a PEM certificate or public key/);
  const notJson = await s.app.inject({ method: 'POST', url: '/api/v1/log/entries', headers: { ...h, 'content-type': 'application/json' }, payload: '{"kind":' });
  assert.equal(notJson.statusCode, 400);
  assert.equal((await s.app.inject({ url: '/api/v1/log' })).json().treeSize, 0, 'nothing was logged');
  assert.equal((await s.app.inject({ url: '/api/v1/log/entries?logIndex=0' })).statusCode, 404);
  assert.equal((await s.app.inject({ url: '/api/v1/log/entries?logIndex=-1' })).statusCode, 400);
  assert.equal((await s.app.inject({ url: '/api/v1/log/entries/nothex' })).statusCode, 400);
  assert.equal((await s.app.inject({ url: `/api/v1/log/entries/${'a'.repeat(64)}` })).statusCode, 404);
  assert.equal((await s.app.inject({ method: 'POST', url: '/api/v1/log/entries/retrieve', payload: { logIndexes: Array.from({ length: 11 }, (_, i) => i) } })).statusCode, 422);
});

test('dsse 0.0.1 and intoto 0.0.2 entries verify their envelopes and store canonical bodies', async (t) => {
  const s = await testServer(t);
  const signer = newSigner();
  const st = statement('ab'.repeat(32));
  const d = await s.app.inject({ method: 'POST', url: '/api/v1/log/entries', headers: bearer(s.adminToken), payload: dsseEntry(signer, st) as object });
  assert.equal(d.statusCode, 201, d.body);
  const [did, de] = only(d.json());
  await checkEntry(s, did, de);
  const dbody = JSON.parse(Buffer.from(de.body, 'base64').toString());
  assert.equal(dbody.spec.payloadHash.value, createHash('sha256').update(st).digest('hex'));
  assert.equal(dbody.spec.signatures.length, 1);
  const i = await s.app.inject({ method: 'POST', url: '/api/v1/log/entries', headers: bearer(s.adminToken), payload: intotoEntry(signer, st) as object });
  assert.equal(i.statusCode, 201, i.body);
  const [iid, ie] = only(i.json());
  await checkEntry(s, iid, ie);
  const ibody = JSON.parse(Buffer.from(ie.body, 'base64').toString());
  assert.equal(ibody.spec.content.envelope.payload, undefined, 'the intoto body drops the payload');
  // the subject digest is searchable
  assert.equal((await s.app.inject({ method: 'POST', url: '/api/v1/index/retrieve', payload: { hash: 'ab'.repeat(32) } })).json().length, 2);
  const forged = dsseEntry(signer, st) as unknown as { spec: { proposedContent: { verifiers: string[] } } };
  forged.spec.proposedContent.verifiers = [newSigner().pemB64];
  assert.match((await s.app.inject({ method: 'POST', url: '/api/v1/log/entries', headers: bearer(s.adminToken), payload: forged })).json().message, /does not verify/);
});

test('writes need a writing role unless anonymous writes are configured; reads are public', async (t) => {
  const s = await testServer(t);
  const { entry } = hashedrekord(newSigner(), 'y');
  assert.equal((await s.app.inject({ method: 'POST', url: '/api/v1/log/entries', payload: entry as object })).statusCode, 401);
  const reader = (await s.app.inject({ method: 'POST', url: '/api/v1/tokens', headers: bearer(s.adminToken), payload: { name: 'r', role: 'reader' } })).json().token as string;
  assert.equal((await s.app.inject({ method: 'POST', url: '/api/v1/log/entries', headers: bearer(reader), payload: entry as object })).statusCode, 403);
  const publisher = (await s.app.inject({ method: 'POST', url: '/api/v1/tokens', headers: bearer(s.adminToken), payload: { name: 'p', role: 'publisher' } })).json().token as string;
  assert.equal((await s.app.inject({ method: 'POST', url: '/api/v1/log/entries', headers: bearer(publisher), payload: entry as object })).statusCode, 201);
  assert.equal((await s.app.inject({ url: '/api/v1/log' })).statusCode, 200);
  const open = await testServer(t, { SIGNET_TLOG_ANONYMOUS_WRITE: 'true' });
  assert.equal((await open.app.inject({ method: 'POST', url: '/api/v1/log/entries', payload: entry as object })).statusCode, 201);
});

test('300 concurrent writers: unique indexes, consistent checkpoints, C2SP tiles and entry bundles, state survives a restart', async (t) => {
  const s = await testServer(t, { SIGNET_TLOG_BATCH_SIZE: '64' });
  const signer = newSigner();
  const rs = await Promise.all(
    Array.from({ length: 300 }, (_, i) => s.app.inject({ method: 'POST', url: '/api/v1/log/entries', headers: bearer(s.adminToken), payload: hashedrekord(signer, `artifact ${i}`).entry as object })),
  );
  assert.ok(rs.every((r) => r.statusCode === 201));
  const indexes = rs.map((r) => only(r.json())[1].logIndex).sort((a, b) => a - b);
  assert.deepEqual(indexes, Array.from({ length: 300 }, (_, i) => i));
  // Every answer of every batch: proofs computed and verified per batch, the JSON written directly.
  for (const r of rs) {
    const [id, e] = only(r.json());
    await checkEntry(s, id, e);
    assert.equal(r.body, JSON.stringify(r.json()), 'the answer is plain JSON');
    assert.match(String(r.headers['content-type']), /^application\/json/);
  }
  const info = (await s.app.inject({ url: '/api/v1/log' })).json() as { treeSize: number; rootHash: string; signedTreeHead: string };
  assert.equal(info.treeSize, 300);
  const proof = (await s.app.inject({ url: '/api/v1/log/proof?firstSize=10&lastSize=300' })).json() as { rootHash: string; hashes: string[] };
  assert.equal(proof.rootHash, info.rootHash);
  // Batches hold at most 64 entries, so the first writers were answered at a smaller tree size.
  const early = rs.map((r) => only(r.json())[1].verification.inclusionProof).find((p) => p.treeSize < 300);
  assert.ok(early, 'some entries were answered before the tree reached 300');
  const cp = (await s.app.inject({ url: `/api/v1/log/proof?firstSize=${early.treeSize}&lastSize=300` })).json() as { hashes: string[] };
  assert.ok(verifyConsistency(early.treeSize, 300, cp.hashes.map((h) => fromHex(h)), fromHex(early.rootHash), fromHex(info.rootHash)));
  assert.equal((await s.app.inject({ url: '/api/v1/log/proof?firstSize=10&lastSize=301' })).statusCode, 400);

  // tiles: a full level-0 tile (immutable), the partial right edge, entry bundles
  const cpText = (await s.app.inject({ url: '/tlog/checkpoint' })).body;
  assert.equal(cpText, info.signedTreeHead);
  assert.equal(parseCheckpointBody(cpText.split('\n\n')[0] + '\n').size, 300n);
  const full = await s.app.inject({ url: '/tlog/tile/0/000' });
  assert.equal(full.statusCode, 200);
  assert.equal(full.rawPayload.length, 256 * 32);
  assert.match(full.headers['cache-control'] as string, /immutable/);
  const part = await s.app.inject({ url: '/tlog/tile/0/001.p/44' });
  assert.equal(part.statusCode, 200);
  assert.equal(part.rawPayload.length, 44 * 32);
  assert.equal((await s.app.inject({ url: '/tlog/tile/0/001' })).statusCode, 404, 'the second tile is not full yet');
  assert.equal((await s.app.inject({ url: '/tlog/tile/0/001.p/10' })).rawPayload.length, 320, 'a narrower partial tile is a prefix');
  const level1 = await s.app.inject({ url: '/tlog/tile/1/000.p/1' });
  assert.equal(level1.statusCode, 200);
  const bundle = parseEntryBundle(new Uint8Array((await s.app.inject({ url: '/tlog/tile/entries/000' })).rawPayload));
  assert.equal(bundle.length, 256);
  const e0 = only((await s.app.inject({ url: '/api/v1/log/entries?logIndex=0' })).json())[1];
  assert.equal(Buffer.from(bundle[0]!).toString('base64'), e0.body);
  const leaf0 = createHash('sha256').update(Buffer.from([0])).update(bundle[0]!).digest();
  assert.deepEqual(full.rawPayload.subarray(0, 32), leaf0);
  assert.equal((await s.app.inject({ url: '/tlog/tile/0/x01' })).statusCode, 404);
  // the partial right edge of the entries: derived from the stored entries, consistent with the partial hash tile
  const partBundle = parseEntryBundle(new Uint8Array((await s.app.inject({ url: '/tlog/tile/entries/001.p/44' })).rawPayload), 44);
  const e299 = only((await s.app.inject({ url: '/api/v1/log/entries?logIndex=299' })).json())[1];
  assert.equal(Buffer.from(partBundle[43]!).toString('base64'), e299.body);
  assert.deepEqual(part.rawPayload.subarray(43 * 32), createHash('sha256').update(Buffer.from([0])).update(partBundle[43]!).digest());
  assert.equal((await s.app.inject({ url: '/tlog/tile/entries/001.p/45' })).statusCode, 404, 'no wider than the checkpoint');
  assert.equal((await s.app.inject({ url: '/tlog/tile/entries/001' })).statusCode, 404);
  assert.equal((await s.app.inject({ url: '/tlog/tile/0/001.p/45' })).statusCode, 404);

  // restart on the same data: same tree, same checkpoint, consistent
  await s.app.close();
  const again = await build(loadConfig({ data: s.dir, listen: '127.0.0.1:0' }, { SIGNET_LOG_LEVEL: 'silent' }));
  t.after(() => again.close());
  const info2 = (await again.inject({ url: '/api/v1/log' })).json() as { treeSize: number; rootHash: string };
  assert.deepEqual(info2, { ...info2, treeSize: 300, rootHash: info.rootHash });
  const more = await again.inject({ method: 'POST', url: '/api/v1/log/entries', headers: bearer(s.adminToken), payload: hashedrekord(signer, 'after restart').entry as object });
  assert.equal(only(more.json())[1].logIndex, 300);
});

test('overload: beyond max_pending queued entries the log answers 503 with Retry-After', async (t) => {
  const s = await testServer(t, { SIGNET_TLOG_MAX_PENDING: '2', SIGNET_TLOG_BATCH_SIZE: '1000', SIGNET_TLOG_BATCH_MAX_AGE_MS: '4000' });
  const signer = newSigner();
  const rs = await Promise.all(
    Array.from({ length: 6 }, (_, i) => s.app.inject({ method: 'POST', url: '/api/v1/log/entries', headers: bearer(s.adminToken), payload: hashedrekord(signer, `o${i}`).entry })),
  );
  const codes = rs.map((r) => r.statusCode).sort();
  assert.deepEqual(codes, [201, 201, 503, 503, 503, 503]);
  const busy = rs.find((r) => r.statusCode === 503)!;
  assert.equal(busy.headers['retry-after'], '1');
  assert.equal(busy.json().code, 'OVERLOADED');
});

test('entries/retrieve finds an entry by its proposed content; a bad one is a clear 400', async (t) => {
  const s = await testServer(t);
  const { entry } = hashedrekord(newSigner(), 'by content');
  const made = await s.app.inject({ method: 'POST', url: '/api/v1/log/entries', headers: bearer(s.adminToken), payload: entry });
  const [id] = only(made.json());
  const found = await s.app.inject({ method: 'POST', url: '/api/v1/log/entries/retrieve', payload: { entries: [entry] } });
  assert.equal(found.statusCode, 200);
  assert.deepEqual(Object.keys(found.json()[0]), [id]);
  const bad = await s.app.inject({ method: 'POST', url: '/api/v1/log/entries/retrieve', payload: { entries: [{ kind: 'hashedrekord', apiVersion: '0.0.1', spec: {} }] } });
  assert.equal(bad.statusCode, 400);
});
