// The hash-chained audit log: the documented construction, gapless sequencing with concurrent writers and two
// servers on one database (SQLite and PostgreSQL), anchoring in the transparency log, and `signet audit verify`
// catching edited and deleted rows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPublicKey, generateKeyPairSync, verify as nodeVerify } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { canonicalize, type AuditEvent } from '@signet/core';
import { run, startPostgres, tempDir } from '@signet/testkit';
import { build, loadConfig } from '../dist/index.js';
import { bearer, testServer } from './helpers.js';

const CLI = fileURLToPath(new URL('../../cli/bin/signet.js', import.meta.url));

/** An event as GET /api/v1/audit returns it (the chain is re-checked below independently of core's eventHash). */
type Ev = AuditEvent;

async function allEvents(app: FastifyInstance, token: string): Promise<Ev[]> {
  const out: Ev[] = [];
  let after = 0;
  for (;;) {
    const r = await app.inject({ url: `/api/v1/audit?after_seq=${after}&limit=1000`, headers: bearer(token) });
    assert.equal(r.statusCode, 200, r.body);
    const page = r.json() as { events: Ev[]; next_after_seq: number | null };
    out.push(...page.events);
    if (page.next_after_seq === null) return out;
    after = page.next_after_seq;
  }
}

/** The construction as README states it, computed here independently of the server code. */
function checkChain(events: Ev[]): void {
  let prev = '0'.repeat(64);
  events.forEach((e, i) => {
    assert.equal(e.seq, i + 1, 'gapless seq from 1');
    assert.equal(e.prev_hash, prev, `seq ${e.seq} links to its predecessor`);
    const { hash, ...rest } = e;
    assert.deepEqual(Object.keys(rest).sort(), ['action', 'actor', 'actor_name', 'details', 'outcome', 'prev_hash', 'seq', 'target', 'time']);
    assert.equal(createHash('sha256').update(canonicalize(rest)).digest('hex'), hash, `seq ${e.seq} hash`);
    prev = hash;
  });
}

function pem(): string {
  return generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }) as string;
}

/** Writes from two servers on one database at once: direct record() calls, key imports and token creations. */
async function concurrentWrites(apps: FastifyInstance[], token: string, perApp: number): Promise<void> {
  const work: Promise<unknown>[] = [];
  apps.forEach((app, a) => {
    for (let i = 0; i < perApp; i++) work.push(app.services.audit.record({ actor: 'system', action: 'test.write', target: `app${a}/${i}`, outcome: 'allowed', details: { i, app: a, token: 'must not be stored' } }));
    for (let i = 0; i < 5; i++) {
      work.push(app.inject({ method: 'POST', url: '/api/v1/signing/keys', headers: bearer(token), payload: { name: `k${a}-${i}`, public_key: pem() } }).then((r) => assert.equal(r.statusCode, 201, r.body)));
      work.push(app.inject({ method: 'POST', url: '/api/v1/tokens', headers: bearer(token), payload: { name: `t${a}-${i}`, role: 'reader' } }).then((r) => assert.equal(r.statusCode, 201, r.body)));
    }
  });
  await Promise.all(work);
}

async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address() as { port: number };
  return `http://127.0.0.1:${addr.port}`;
}

const auditVerify = (url: string, token: string): Promise<{ code: number; stdout: string; stderr: string }> =>
  run(process.execPath, [CLI, 'audit', 'verify', '--server', url, '--token', token], { env: { SIGNET_SERVER: undefined, SIGNET_TOKEN: undefined } });

test('concurrent writers on two servers sharing one SQLite database keep one gapless chain', async (t) => {
  const s = await testServer(t);
  const second = await build(s.config);
  t.after(() => second.close());
  await concurrentWrites([s.app, second], s.adminToken, 150);
  const events = await allEvents(s.app, s.adminToken);
  assert.equal(events.length, 2 * (150 + 10));
  checkChain(events);
  assert.deepEqual(events.map((e) => e.seq), [...Array(events.length).keys()].map((i) => i + 1));
  // Secrets never reach the log: the token value is not stored, a field named token is redacted.
  const w = events.find((e) => e.action === 'test.write')!;
  assert.equal(w.details['token'], '[redacted]');
  const created = events.filter((e) => e.action === 'token.create');
  assert.equal(created.length, 10);
  assert.ok(created.every((e) => e.actor_name === 'bootstrap admin' && e.details['role'] === 'reader' && !JSON.stringify(e).includes('sgt_')));
  // Filters.
  const byAction = await s.app.inject({ url: '/api/v1/audit?action=token.create&action=key.import&limit=1000', headers: bearer(s.adminToken) });
  assert.equal(byAction.json().events.length, 20);
  const byTarget = await s.app.inject({ url: '/api/v1/audit?target=app1/&limit=1000', headers: bearer(s.adminToken) });
  assert.equal(byTarget.json().events.length, 150);
  const byActor = await s.app.inject({ url: '/api/v1/audit?actor=bootstrap%20admin&limit=1000', headers: bearer(s.adminToken) });
  assert.equal(byActor.json().events.length, 20);
  const page = (await s.app.inject({ url: '/api/v1/audit?after_seq=10&limit=5', headers: bearer(s.adminToken) })).json();
  assert.deepEqual(page.events.map((e: Ev) => e.seq), [11, 12, 13, 14, 15]);
  assert.equal(page.next_after_seq, 15);
  const future = (await s.app.inject({ url: `/api/v1/audit?since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`, headers: bearer(s.adminToken) })).json();
  assert.deepEqual(future.events, []);
  const untilNow = (await s.app.inject({ url: `/api/v1/audit?until=${encodeURIComponent(new Date(Date.now() + 1000).toISOString())}&limit=1000`, headers: bearer(s.adminToken) })).json();
  assert.equal(untilNow.events.length, events.length);
  // Token revocation is an event too.
  const id = (await s.app.inject({ url: '/api/v1/tokens', headers: bearer(s.adminToken) })).json().tokens.find((x: { name: string }) => x.name === 't0-0').id;
  assert.equal((await s.app.inject({ method: 'DELETE', url: `/api/v1/tokens/${id}`, headers: bearer(s.adminToken) })).statusCode, 204);
  const last = (await allEvents(s.app, s.adminToken)).at(-1)!;
  assert.equal(last.action, 'token.revoke');
  assert.equal(last.target, `token:${id}`);
});

test('anchors: the head is logged as a hashedrekord signed by the audit key; periodic anchoring', async (t) => {
  const s = await testServer(t, { SIGNET_AUDIT_ANCHOR_INTERVAL: '0' });
  const admin = bearer(s.adminToken);
  assert.deepEqual((await s.app.inject({ method: 'POST', url: '/api/v1/audit/anchors', headers: admin })).json(), { anchor: null }, 'nothing to anchor yet');
  for (let i = 0; i < 5; i++) await s.app.services.audit.record({ actor: 'system', action: 'test.event', target: `t${i}`, outcome: 'allowed' });
  const a = (await s.app.inject({ method: 'POST', url: '/api/v1/audit/anchors', headers: admin })).json().anchor;
  const events = await allEvents(s.app, s.adminToken);
  assert.equal(a.seq, 5);
  assert.equal(a.head_hash, events[4]!.hash);
  const keyPem = (await s.app.inject({ url: '/api/v1/audit/key' })).body;
  const auditKey = createPublicKey(keyPem);
  assert.equal(auditKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  const entries = (await s.app.inject({ url: `/api/v1/log/entries?logIndex=${a.log_index}` })).json();
  const [entryId, entry] = Object.entries(entries)[0] as [string, { body: string }];
  assert.ok(entryId.endsWith(a.uuid));
  const body = JSON.parse(Buffer.from(entry.body, 'base64').toString('utf8'));
  assert.equal(body.kind, 'hashedrekord');
  const head = Buffer.from(a.head_hash, 'hex');
  assert.equal(body.spec.data.hash.value, createHash('sha256').update(head).digest('hex'));
  assert.equal(Buffer.from(body.spec.signature.publicKey.content, 'base64').toString(), keyPem);
  assert.ok(nodeVerify('sha256', head, auditKey, Buffer.from(body.spec.signature.content, 'base64')));
  // Anchoring again with no new event is a no-op returning the same anchor.
  const size = s.app.services.tlog.size;
  assert.deepEqual((await s.app.inject({ method: 'POST', url: '/api/v1/audit/anchors', headers: admin })).json().anchor, a);
  assert.equal(s.app.services.tlog.size, size);
  const list = (await s.app.inject({ url: '/api/v1/audit/anchors', headers: admin })).json();
  assert.deepEqual(list, { anchors: [a], next_after_seq: null });
  assert.equal((await s.app.inject({ url: '/api/v1/audit/anchors' })).statusCode, 401);
  // The same audit key after a restart (sealed in the SecretStore).
  await s.app.close();
  const again = await build(s.config);
  t.after(() => again.close());
  assert.equal((await again.inject({ url: '/api/v1/audit/key' })).body, keyPem);

  assert.equal(loadConfig({ data: tempDir(t) }, {}).audit.anchorIntervalMs, 600_000, 'default 10 minutes');
  assert.throws(() => loadConfig({ data: tempDir(t) }, { SIGNET_AUDIT_ANCHOR_INTERVAL: 'often' }), /SIGNET_AUDIT_ANCHOR_INTERVAL must be a duration/);
  const p = await testServer(t, { SIGNET_AUDIT_ANCHOR_INTERVAL: '200ms' });
  await p.app.services.audit.record({ actor: 'system', action: 'test.event', target: 'x', outcome: 'allowed' });
  let anchors: { seq: number }[] = [];
  for (let i = 0; i < 50 && anchors.length === 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
    anchors = (await p.app.inject({ url: '/api/v1/audit/anchors', headers: bearer(p.adminToken) })).json().anchors;
  }
  assert.equal(anchors[0]?.seq, 1, 'anchored by the timer');
});

test('signet audit verify: passes on an intact chain; names the seq of an edited, relinked or deleted row', async (t) => {
  const s = await testServer(t, { SIGNET_AUDIT_ANCHOR_INTERVAL: '0' });
  const url = await listen(s.app);
  for (let i = 0; i < 4; i++) {
    const r = await s.app.inject({ method: 'POST', url: '/api/v1/signing/keys', headers: bearer(s.adminToken), payload: { name: `k${i}`, public_key: pem() } });
    assert.equal(r.statusCode, 201);
  }
  await s.app.inject({ method: 'POST', url: '/api/v1/audit/anchors', headers: bearer(s.adminToken) });
  for (let i = 0; i < 3; i++) await s.app.services.audit.record({ actor: 'system', action: 'test.event', target: `after ${i}`, outcome: 'allowed' });
  const ok = await auditVerify(url, s.adminToken);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /Audit chain OK: 7 events \(seq 1–7, head [0-9a-f]{64}\); 1 anchor verified in the transparency log \(latest: seq 4 at log index 0\); 3 events after the last anchor/);

  const sqlite = s.app.services.database.sqlite!;
  const row = (seq: number): Record<string, unknown> => sqlite.prepare('SELECT * FROM audit_events WHERE seq = ?').get(seq) as Record<string, unknown>;
  const put = (r: Record<string, unknown>): void => {
    sqlite.prepare('INSERT OR REPLACE INTO audit_events (seq, time, actor, actor_name, action, target, outcome, details, prev_hash, hash) VALUES (@seq, @time, @actor, @actor_name, @action, @target, @outcome, @details, @prev_hash, @hash)').run(r);
  };
  const expectBroken = async (pattern: RegExp): Promise<void> => {
    const r = await auditVerify(url, s.adminToken);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, pattern);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  };
  // An edited event.
  const original3 = row(3);
  sqlite.prepare("UPDATE audit_events SET details = '{\"name\":\"innocent\"}' WHERE seq = 3").run();
  await expectBroken(/audit chain verification failed: seq 3 was altered: its content hashes to [0-9a-f]{64}, but the chain recorded [0-9a-f]{64}/);
  put(original3);
  // An edited event whose stored hash was recomputed: the next event no longer links to it.
  const original6 = row(6);
  const forged: Record<string, unknown> = { ...original6, action: 'test.forged' };
  const { hash: _h, ...body } = forged;
  forged['hash'] = createHash('sha256').update(canonicalize({ ...body, seq: 6, details: JSON.parse(String(forged['details'])) })).digest('hex');
  put(forged);
  await expectBroken(/seq 7 does not link to seq 6/);
  put(original6);
  assert.equal((await auditVerify(url, s.adminToken)).code, 0, 'restored');
  // A deleted event.
  const original5 = row(5);
  sqlite.prepare('DELETE FROM audit_events WHERE seq = 5').run();
  await expectBroken(/seq 5 is missing: after seq 4 comes seq 6 \(events were deleted\)/);
  put(original5);
  // Deleting the anchored tail (and everything after it).
  const tail = [4, 5, 6, 7].map(row);
  sqlite.prepare('DELETE FROM audit_events WHERE seq >= 4').run();
  await expectBroken(/an anchor covers seq 4 but the chain ends at seq 3: events were removed from the end/);
  tail.forEach(put);
  // A rewritten chain from seq 2 on still contradicts the anchor.
  let prev = String(row(1)['hash']);
  for (let seq = 2; seq <= 7; seq++) {
    const r: Record<string, unknown> = { ...row(seq), target: `rewritten ${seq}`, prev_hash: prev };
    const { hash: _x, ...rest } = r;
    r['hash'] = createHash('sha256').update(canonicalize({ ...rest, seq, details: JSON.parse(String(r['details'])) })).digest('hex');
    put(r);
    prev = String(r['hash']);
  }
  await expectBroken(/the anchor of seq 4 holds head [0-9a-f]{64}, but the chain hashes to [0-9a-f]{64} at seq 4/);
  const noToken = await run(process.execPath, [CLI, 'audit', 'verify', '--server', url], { env: { SIGNET_TOKEN: undefined } });
  assert.equal(noToken.code, 1);
  assert.match(noToken.stderr, /HTTP 401/);
});

test('PostgreSQL: two servers, concurrent writers, anchors, tamper detection', async (t) => {
  const pg = await startPostgres(t);
  const dir = tempDir(t);
  const config = loadConfig({ data: dir, listen: '127.0.0.1:0', database: pg.url }, { SIGNET_LOG_LEVEL: 'silent', SIGNET_AUDIT_ANCHOR_INTERVAL: '0' });
  const one = await build(config);
  t.after(() => one.close());
  const two = await build(config);
  t.after(() => two.close());
  const token = (await import('node:fs')).readFileSync(`${dir}/admin-token`, 'utf8').trim();
  await concurrentWrites([one, two], token, 100);
  const events = await allEvents(two, token);
  assert.equal(events.length, 2 * (100 + 10));
  checkChain(events);
  // Rotation is one transaction on PostgreSQL too.
  const k = (await one.inject({ method: 'POST', url: '/api/v1/signing/keys', headers: bearer(token), payload: { name: 'pg', public_key: pem(), repositories: ['a/*'] } })).json();
  const rot = await two.inject({ method: 'POST', url: `/api/v1/signing/keys/${k.id}/rotate`, headers: bearer(token), payload: { public_key: pem(), overlap: '1h' } });
  assert.equal(rot.statusCode, 201, rot.body);
  assert.equal((await one.inject({ url: `/api/v1/signing/keys/${k.id}`, headers: bearer(token) })).json().rotated_to, rot.json().id);
  assert.equal((await two.inject({ method: 'POST', url: `/api/v1/signing/keys/${k.id}/rotate`, headers: bearer(token), payload: { public_key: pem() } })).statusCode, 409);
  assert.deepEqual((await one.services.keys.trustedKeysFor('a/b')).map((r) => r.id).sort(), [k.id, rot.json().id].sort());
  const anchor = (await one.inject({ method: 'POST', url: '/api/v1/audit/anchors', headers: bearer(token) })).json().anchor;
  assert.equal(anchor.seq, events.length + 2);
  const url = await listen(one);
  const ok = await auditVerify(url, token);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, new RegExp(`Audit chain OK: ${events.length + 2} events`));
  await one.services.database.db.withTables<{ audit_events: { seq: number; outcome: string } }>().updateTable('audit_events').set({ outcome: 'denied' }).where('seq', '=', 42).execute();
  const bad = await auditVerify(url, token);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /seq 42 was altered/);
});
