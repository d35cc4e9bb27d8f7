import type { KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import {
  TileHashReader,
  fromHex,
  leafHash,
  publicKeyFromPem,
  rootAt,
  spkiFingerprint,
  tilePath,
  toHex,
  utf8,
  verifyConsistency,
} from '@signet/core';
import { CliError } from '../errors.js';
import { checkpointOf, logEntryProblem, type LogEntry } from '../log-entry.js';
import { api, serverUrl } from '../client.js';
import { readText } from '../io.js';

interface LogOpts {
  rekorUrl?: string;
  server?: string;
  logPublicKey?: string;
  output: string;
}

interface LogInfo {
  rootHash: string;
  treeSize: number;
  signedTreeHead: string;
  treeID: string;
}

function base(o: LogOpts): string {
  return o.rekorUrl ? serverUrl({ server: o.rekorUrl }) : serverUrl(o);
}

/** The log's key: pinned with --log-public-key, else fetched from the log (trust on first use, remembered in the state file). */
async function logKey(o: LogOpts, url: string): Promise<KeyObject> {
  if (o.logPublicKey) return publicKeyFromPem(await readText(o.logPublicKey, 'log public key'));
  const res = await fetch(`${url}/api/v1/log/publicKey`).catch((e: unknown) => {
    throw new CliError(`cannot reach the log at ${url}: ${(e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message}`);
  });
  if (!res.ok) throw new CliError(`the log at ${url} did not give its public key (HTTP ${res.status})`);
  return publicKeyFromPem(await res.text());
}

/** Verifies a checkpoint note with the log key; its size and root. */
async function checkCheckpoint(note: string, key: KeyObject): Promise<{ size: number; root: Uint8Array }> {
  const cp = await checkpointOf(note, key);
  if ('problem' in cp) throw new CliError(`the log's ${cp.problem}`);
  return cp;
}

interface State {
  [logId: string]: { size: number; root: string };
}

function statePath(): string {
  return join(process.env['XDG_CONFIG_HOME'] ?? join(homedir(), '.config'), 'signet', 'tlog-state.json');
}

function readState(): State {
  try {
    return JSON.parse(readFileSync(statePath(), 'utf8')) as State;
  } catch {
    return {};
  }
}

/** The tree's root at `size`, computed from the log's C2SP tiles (authenticated later by a consistency proof). */
async function rootFromTiles(url: string, size: number, current: number): Promise<Uint8Array> {
  const reader = new TileHashReader(async (t) => {
    const r = await fetch(`${url}/tlog/${tilePath(t.level, t.index, t.width)}`);
    if (!r.ok) throw new CliError(`the log did not serve ${tilePath(t.level, t.index, t.width)} (HTTP ${r.status})`);
    return new Uint8Array(await r.arrayBuffer());
  }, current);
  return rootAt(size, reader);
}

async function consistency(url: string, from: number, to: number, fromRoot: Uint8Array, toRoot: Uint8Array): Promise<void> {
  if (from === to) {
    if (Buffer.compare(Buffer.from(fromRoot), Buffer.from(toRoot)) !== 0) throw new CliError(`two different roots for tree size ${to}: the log is inconsistent`);
    return;
  }
  const p = await api<{ rootHash: string; hashes: string[] }>({ base: url }, 'GET', `/api/v1/log/proof?firstSize=${from}&lastSize=${to}`);
  if (!verifyConsistency(from, to, p.hashes.map((h) => fromHex(h)), fromRoot, toRoot)) {
    throw new CliError(`the consistency proof from size ${from} to ${to} does not verify: the log is not append-only`);
  }
}

async function signedHead(o: LogOpts): Promise<{ url: string; key: KeyObject; info: LogInfo; size: number; root: Uint8Array; logId: string }> {
  const url = base(o);
  const key = await logKey(o, url);
  const info = await api<LogInfo>({ base: url }, 'GET', '/api/v1/log');
  const cp = await checkCheckpoint(info.signedTreeHead, key);
  if (cp.size !== info.treeSize || toHex(cp.root) !== info.rootHash) throw new CliError('the log info does not match its signed checkpoint');
  return { url, key, info, size: cp.size, root: cp.root, logId: spkiFingerprint(key) };
}

async function checkEntry(id: string, e: LogEntry, key: KeyObject): Promise<void> {
  if (!id.endsWith(toHex(leafHash(Buffer.from(e.body, 'base64'))))) throw new CliError(`entry ${id}: its UUID is not the hash of its body`);
  const problem = await logEntryProblem(e, key);
  if (problem) throw new CliError(`entry ${id}: ${problem}`);
}

export function register(program: Command): void {
  const log = program.command('log').description('inspect and verify a transparency log (Rekor v1 API), checking every proof on this side');
  const common = (c: Command): Command =>
    c
      .option('--rekor-url <url>', 'the log (default: --server, SIGNET_SERVER, or http://127.0.0.1:8080)')
      .option('--server <url>', 'Signet server URL (env SIGNET_SERVER)')
      .option('--log-public-key <file>', "pin the log's public key (PEM) instead of fetching it")
      .option('--output <format>', 'text or json', 'text');

  common(log.command('info').description('show the signed tree head; checks it is consistent with the last one this machine saw')).action(async (o: LogOpts) => {
    const h = await signedHead(o);
    const state = readState();
    const prev = state[h.logId];
    if (prev) {
      if (prev.size > h.size) throw new CliError(`the log shrank: this machine saw size ${prev.size}, the log now says ${h.size}`);
      await consistency(h.url, prev.size, h.size, fromHex(prev.root), h.root);
    }
    state[h.logId] = { size: h.size, root: toHex(h.root) };
    mkdirSync(dirname(statePath()), { recursive: true });
    writeFileSync(statePath(), JSON.stringify(state, null, 2));
    if (o.output === 'json') return void process.stdout.write(`${JSON.stringify({ ...h.info, logID: h.logId, verified: true, consistentWithPrevious: prev ? prev.size : null }, null, 2)}\n`);
    process.stdout.write(
      `Tree size: ${h.size}\nRoot hash: ${toHex(h.root)}\nTree ID: ${h.info.treeID}\nLog ID: ${h.logId}\n` +
        `Checkpoint signature: verified${prev ? `\nConsistent with the tree of size ${prev.size} seen before` : ''}\n`,
    );
  });

  common(
    log
      .command('get')
      .description('fetch an entry and verify its signed entry timestamp, inclusion proof and checkpoint')
      .option('--log-index <n>', 'entry by index')
      .option('--uuid <uuid>', 'entry by UUID or entry ID'),
  ).action(async (o: LogOpts & { logIndex?: string; uuid?: string }) => {
    if (!o.logIndex === !o.uuid) throw new CliError('give exactly one of --log-index or --uuid');
    if (o.logIndex && !/^\d+$/.test(o.logIndex)) throw new CliError('--log-index must be a non-negative integer');
    const url = base(o);
    const key = await logKey(o, url);
    const path = o.logIndex ? `/api/v1/log/entries?logIndex=${o.logIndex}` : `/api/v1/log/entries/${encodeURIComponent(o.uuid as string)}`;
    const res = await api<Record<string, LogEntry>>({ base: url }, 'GET', path);
    const [id, e] = Object.entries(res)[0] ?? [];
    if (!id || !e) throw new CliError('the log answered with no entry');
    await checkEntry(id, e, key);
    const body = JSON.parse(Buffer.from(e.body, 'base64').toString('utf8')) as unknown;
    if (o.output === 'json') return void process.stdout.write(`${JSON.stringify({ uuid: id, ...e, decodedBody: body }, null, 2)}\n`);
    process.stdout.write(
      `UUID: ${id}\nLog index: ${e.logIndex}\nIntegrated: ${new Date(e.integratedTime * 1000).toISOString()}\n` +
        `Verified: signed entry timestamp, inclusion proof at tree size ${e.verification.inclusionProof.treeSize}, checkpoint signature\n` +
        `Body: ${JSON.stringify(body, null, 2)}\n`,
    );
  });

  common(
    log
      .command('search')
      .description('find entries by artifact hash, public key or email')
      .option('--sha256 <hex>', 'artifact SHA-256')
      .option('--public-key <file>', 'PEM public key or certificate')
      .option('--email <email>', 'signer email (keyless certificates)'),
  ).action(async (o: LogOpts & { sha256?: string; publicKey?: string; email?: string }) => {
    const body: Record<string, unknown> = {};
    if (o.sha256) {
      if (!/^(sha256:)?[0-9a-fA-F]{64}$/.test(o.sha256)) throw new CliError('--sha256 must be 64 hex digits');
      body['hash'] = o.sha256.startsWith('sha256:') ? o.sha256 : `sha256:${o.sha256}`;
    }
    if (o.publicKey) body['publicKey'] = { format: 'x509', content: Buffer.from(await readText(o.publicKey, 'public key')).toString('base64') };
    if (o.email) body['email'] = o.email;
    if (Object.keys(body).length === 0) throw new CliError('give --sha256, --public-key or --email');
    const uuids = await api<string[]>({ base: base(o) }, 'POST', '/api/v1/index/retrieve', body);
    if (o.output === 'json') return void process.stdout.write(`${JSON.stringify(uuids)}\n`);
    process.stdout.write(uuids.length ? `${uuids.join('\n')}\n` : '');
    process.stderr.write(`${uuids.length} entr${uuids.length === 1 ? 'y' : 'ies'} found\n`);
  });

  common(
    log
      .command('verify-consistency')
      .description('prove that the tree of size --from is a prefix of the tree of size --to (default: the current signed tree)')
      .requiredOption('--from <n>', 'earlier tree size')
      .option('--to <n>', 'later tree size')
      .option('--from-root <hex>', 'the root hash you saw for --from (else it is computed from the log tiles)'),
  ).action(async (o: LogOpts & { from: string; to?: string; fromRoot?: string }) => {
    const from = Number(o.from);
    const h = await signedHead(o);
    const to = o.to === undefined ? h.size : Number(o.to);
    if (!Number.isSafeInteger(from) || from < 1) throw new CliError('--from must be a positive integer');
    if (!Number.isSafeInteger(to) || to < from) throw new CliError('--to must be an integer not smaller than --from');
    if (to > h.size) throw new CliError(`--to ${to} is beyond the signed tree size ${h.size}`);
    if (o.fromRoot && !/^[0-9a-f]{64}$/i.test(o.fromRoot)) throw new CliError('--from-root must be 64 hex digits');
    const fromRoot = o.fromRoot ? fromHex(o.fromRoot.toLowerCase()) : await rootFromTiles(h.url, from, h.size);
    const toRoot = to === h.size ? h.root : await rootFromTiles(h.url, to, h.size);
    await consistency(h.url, from, to, fromRoot, toRoot);
    if (to !== h.size) await consistency(h.url, to, h.size, toRoot, h.root);
    const out = { from, fromRoot: toHex(fromRoot), to, toRoot: toHex(toRoot), signedTreeSize: h.size, consistent: true };
    if (o.output === 'json') return void process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    process.stdout.write(`Consistent: tree ${from} (${toHex(fromRoot)}) is a prefix of tree ${to} (${toHex(toRoot)}); signed tree head ${h.size} verified\n`);
  });
}

