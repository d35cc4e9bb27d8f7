import { createHash, verify as nodeVerify, type KeyObject } from 'node:crypto';
import type { Command } from 'commander';
import {
  auditEventHash,
  AUDIT_GENESIS_HASH,
  type AuditEvent,
  leafHash,
  publicKeyFromPem,
  spkiFingerprint,
  toHex,
  utf8,
} from '@signet/core';
import { CliError } from '../errors.js';
import { logEntryProblem, type LogEntry } from '../log-entry.js';
import { api, httpFetch, serverUrl, type ServerOpts } from '../client.js';
import { readText } from '../io.js';

interface Anchor {
  seq: number;
  head_hash: string;
  log_index: number;
  uuid: string;
  created_at: string;
}

const PAGE = 1000;

class Broken extends CliError {
  constructor(message: string) {
    super(`audit chain verification failed: ${message}`);
  }
}

async function pemFrom(o: ServerOpts, pinned: string | undefined, path: string, what: string): Promise<KeyObject> {
  try {
    if (pinned) return publicKeyFromPem(await readText(pinned, what));
    const base = serverUrl(o);
    const res = await httpFetch(`${base}${path}`, {}, 'server', base);
    if (!res.ok) throw new CliError(`the server did not give the ${what} (GET ${path}: HTTP ${res.status})`);
    return publicKeyFromPem(await res.text());
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(`the ${what} is not a PEM public key: ${(e as Error).message}`);
  }
}

/** One anchor: the log entry (leaf, SET, inclusion against a signed checkpoint) and its signature over the head. */
async function checkAnchor(o: ServerOpts, a: Anchor, logKey: KeyObject, auditKey: KeyObject): Promise<void> {
  const where = `anchor of seq ${a.seq} (log index ${a.log_index})`;
  if (!/^[0-9a-f]{64}$/.test(a.uuid)) throw new Broken(`${where}: malformed entry UUID`);
  const m = await api<Record<string, LogEntry>>(o, 'GET', `/api/v1/log/entries/${a.uuid}`);
  const [id, e] = Object.entries(m)[0] ?? [];
  if (!id || !e) throw new Broken(`${where}: the log returned no entry`);
  const body = Buffer.from(e.body, 'base64');
  const leaf = leafHash(body);
  if (toHex(leaf) !== a.uuid || !id.endsWith(a.uuid)) throw new Broken(`${where}: the log entry's body does not hash to the anchored UUID`);
  if (e.logIndex !== a.log_index) throw new Broken(`${where}: the log entry is at index ${e.logIndex}, not ${a.log_index}`);
  const problem = await logEntryProblem(e, logKey);
  if (problem) throw new Broken(`${where}: ${problem}`);
  let spec: { data?: { hash?: { algorithm?: string; value?: string } }; signature?: { content?: string; publicKey?: { content?: string } } };
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { kind?: string; spec?: typeof spec };
    if (parsed.kind !== 'hashedrekord' || !parsed.spec) throw new Error('not a hashedrekord');
    spec = parsed.spec;
  } catch (err) {
    throw new Broken(`${where}: the log entry is not a hashedrekord (${(err as Error).message})`);
  }
  const artifact = Buffer.from(a.head_hash, 'hex');
  const digest = createHash('sha256').update(artifact).digest('hex');
  if (spec.data?.hash?.algorithm !== 'sha256' || spec.data.hash.value !== digest) throw new Broken(`${where}: the log entry is not over the head hash ${a.head_hash}`);
  let signer: KeyObject;
  try {
    signer = publicKeyFromPem(Buffer.from(spec.signature?.publicKey?.content ?? '', 'base64').toString('utf8'));
  } catch {
    throw new Broken(`${where}: the log entry's public key cannot be read`);
  }
  if (spkiFingerprint(signer) !== spkiFingerprint(auditKey)) throw new Broken(`${where}: the log entry is signed by another key than the audit key`);
  if (!nodeVerify('sha256', artifact, auditKey, Buffer.from(spec.signature?.content ?? '', 'base64'))) throw new Broken(`${where}: the signature over the head hash does not verify with the audit key`);
}

async function allPages<T extends { seq: number }>(o: ServerOpts, path: string, key: 'events' | 'anchors'): Promise<T[]> {
  const out: T[] = [];
  let after = 0;
  for (;;) {
    const r = await api<Record<string, unknown>>(o, 'GET', `${path}?after_seq=${after}&limit=${PAGE}`);
    const items = (r[key] ?? []) as T[];
    out.push(...items);
    const next = r['next_after_seq'];
    if (typeof next !== 'number' || items.length === 0) return out;
    after = next;
  }
}

const serverOptions = (c: Command): Command =>
  c
    .option('--server <url>', 'Signet server URL (env SIGNET_SERVER; default http://127.0.0.1:8080)')
    .option('--token <token>', 'admin API token (env SIGNET_TOKEN)')
    .option('--output <format>', 'text or json', 'text');

export function register(program: Command): void {
  const audit = program.command('audit').description("read and verify a Signet server's hash-chained audit log (admin)");

  serverOptions(
    audit
      .command('list')
      .description('list audit events, oldest first')
      .option('--action <action>', 'only this action, e.g. key.revoke (repeatable)', (v: string, p: string[] = []) => [...p, v])
      .option('--actor <actor>', 'only events by this token id or token name')
      .option('--target <prefix>', 'only targets starting with this, e.g. key:')
      .option('--since <time>', 'only events at or after this ISO 8601 time')
      .option('--until <time>', 'only events before this ISO 8601 time')
      .option('--after-seq <n>', 'start after this sequence number', '0')
      .option('--limit <n>', 'at most this many events', '100'),
  ).action(async (o: ServerOpts & { output: string; action?: string[]; actor?: string; target?: string; since?: string; until?: string; afterSeq: string; limit: string }) => {
    const limit = Number(o.limit);
    const start = Number(o.afterSeq);
    if (!Number.isSafeInteger(limit) || limit < 1) throw new CliError('--limit must be a positive integer');
    if (!Number.isSafeInteger(start) || start < 0) throw new CliError('--after-seq must be a non-negative integer');
    const events: AuditEvent[] = [];
    let after = start;
    while (events.length < limit) {
      const q = new URLSearchParams({ after_seq: String(after), limit: String(Math.min(PAGE, limit - events.length)) });
      for (const a of o.action ?? []) q.append('action', a);
      if (o.actor) q.set('actor', o.actor);
      if (o.target) q.set('target', o.target);
      if (o.since) q.set('since', o.since);
      if (o.until) q.set('until', o.until);
      const r = await api<{ events: AuditEvent[]; next_after_seq: number | null }>(o, 'GET', `/api/v1/audit?${q}`);
      events.push(...r.events);
      if (r.next_after_seq === null || r.events.length === 0) break;
      after = r.next_after_seq;
    }
    if (o.output === 'json') return void process.stdout.write(`${JSON.stringify(events, null, 2)}\n`);
    for (const e of events) {
      process.stdout.write(`${String(e.seq).padStart(6)}  ${e.time}  ${(e.actor_name ?? e.actor).padEnd(20)} ${e.action.padEnd(16)} ${e.outcome.padEnd(8)} ${e.target}\n`);
    }
  });

  serverOptions(
    audit
      .command('verify')
      .description('download every event and anchor, recompute the hash chain and verify each anchor in the transparency log')
      .option('--log-public-key <file>', "pin the transparency log's public key (PEM) instead of fetching it")
      .option('--audit-public-key <file>', 'pin the audit anchoring key (PEM) instead of fetching it'),
  ).action(async (o: ServerOpts & { output: string; logPublicKey?: string; auditPublicKey?: string }) => {
    const logKey = await pemFrom(o, o.logPublicKey, '/api/v1/log/publicKey', 'log public key');
    const auditKey = await pemFrom(o, o.auditPublicKey, '/api/v1/audit/key', 'audit public key');
    const events = await allPages<AuditEvent>(o, '/api/v1/audit', 'events');
    const anchors = await allPages<Anchor>(o, '/api/v1/audit/anchors', 'anchors');
    // The chain: consecutive seqs from 1, each event hashing to its stored hash and linking to the one before.
    const hashes: string[] = [AUDIT_GENESIS_HASH];
    for (const e of events) {
      const expected = hashes.length;
      if (e.seq !== expected) {
        throw new Broken(
          e.seq > expected
            ? `seq ${expected}${e.seq - 1 > expected ? `–${e.seq - 1}` : ''} ${e.seq - 1 > expected ? 'are' : 'is'} missing: after seq ${expected - 1} comes seq ${e.seq} (events were deleted)`
            : `seq ${e.seq} appears out of order after seq ${expected - 1}`,
        );
      }
      const computed = auditEventHash(e);
      if (computed !== e.hash) throw new Broken(`seq ${e.seq} was altered: its content hashes to ${computed}, but the chain recorded ${e.hash}`);
      const prev = hashes[expected - 1] as string;
      if (e.prev_hash !== prev) {
        throw new Broken(`seq ${e.seq} does not link to seq ${e.seq - 1}: its prev_hash is ${e.prev_hash}, but seq ${e.seq - 1} hashes to ${prev} (an event was altered, replaced or removed)`);
      }
      hashes.push(computed);
    }
    const last = events.length;
    for (const a of anchors) {
      if (a.seq > last) throw new Broken(`an anchor covers seq ${a.seq} but the chain ends at seq ${last}: events were removed from the end`);
      if (hashes[a.seq] !== a.head_hash) throw new Broken(`the anchor of seq ${a.seq} holds head ${a.head_hash}, but the chain hashes to ${hashes[a.seq]} at seq ${a.seq}`);
      await checkAnchor(o, a, logKey, auditKey);
    }
    const latest = anchors[anchors.length - 1];
    const unanchored = last - (latest?.seq ?? 0);
    const summary = {
      ok: true,
      events: last,
      head: last ? { seq: last, hash: hashes[last] } : null,
      anchors: anchors.length,
      latest_anchor: latest ?? null,
      unanchored_events: unanchored,
    };
    if (o.output === 'json') return void process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    process.stdout.write(
      `Audit chain OK: ${last} events${last ? ` (seq 1–${last}, head ${hashes[last]})` : ''}; ${anchors.length} anchor${anchors.length === 1 ? '' : 's'} verified in the transparency log` +
        `${latest ? ` (latest: seq ${latest.seq} at log index ${latest.log_index})` : ''}` +
        `${unanchored > 0 ? `; ${unanchored} event${unanchored === 1 ? '' : 's'} after the last anchor (not yet anchored)` : ''}\n`,
    );
  });
}
