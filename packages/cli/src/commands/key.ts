import type { Command } from 'commander';
import { looksLikeText } from '@signet/core';
import { CliError } from '../errors.js';
import { api, httpFetch, jsonOrUndefined, serverUrl, type ServerOpts } from '../client.js';
import { readInput } from '../io.js';

const serverOptions = (c: Command): Command =>
  c
    .option('--server <url>', 'Signet server URL (env SIGNET_SERVER; default http://127.0.0.1:8080)')
    .option('--token <token>', 'API token (env SIGNET_TOKEN): admin to change keys, any role to read them')
    .option('--output <format>', 'text or json', 'text');

interface KeyInfo {
  id: string;
  name: string;
  type: string;
  fingerprint: string;
  algorithm: string;
  repositories: string[];
  metadata: Record<string, string>;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  revocation_reason?: string;
  status: string;
  custody: string;
  subkeys?: { fingerprint: string; expires_at: string | null; capabilities: string[] }[];
  rotated_from?: string;
  rotated_to?: string;
}

type Opts = ServerOpts & { output: string };

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

function checkOutput(o: Opts): void {
  if (o.output !== 'text' && o.output !== 'json') throw new CliError(`--output must be text or json (got "${o.output}")`);
}

function checkId(id: string): string {
  if (!/^[0-9a-f-]{8,64}$/i.test(id)) throw new CliError(`"${id}" is not a key id (see signet key list)`);
  return encodeURIComponent(id);
}

function metadataOf(pairs: string[] | undefined): Record<string, string> | undefined {
  if (!pairs || pairs.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const i = p.indexOf('=');
    if (i <= 0) throw new CliError(`--metadata takes key=value (got "${p}")`);
    out[p.slice(0, i)] = p.slice(i + 1);
  }
  return out;
}

/** A key file as the API takes it: text as is; binary (an OpenPGP key from gpg --export) as base64. */
async function keyFileText(path: string): Promise<string> {
  const bytes = await readInput(path, 'key file');
  if (bytes.length === 0) throw new CliError(`key file "${path}" is empty`);
  return looksLikeText(bytes) ? Buffer.from(bytes).toString('utf8') : Buffer.from(bytes).toString('base64');
}

function printKey(k: KeyInfo, o: Opts): void {
  if (o.output === 'json') return void process.stdout.write(`${JSON.stringify(k, null, 2)}\n`);
  const lines: [string, string][] = [
    ['id', k.id],
    ['name', k.name],
    ['type', `${k.type} (${k.algorithm})`],
    ['fingerprint', k.fingerprint],
    ['status', k.status],
    ['custody', k.custody === 'software' ? 'software (private key held by the server)' : 'external (public key only)'],
    ['repositories', k.repositories.length ? k.repositories.join(', ') : '(none: only policies naming this key use it)'],
    ['created', k.created_at],
    ['expires', k.expires_at ?? 'never'],
  ];
  if (Object.keys(k.metadata).length) lines.push(['metadata', Object.entries(k.metadata).map(([a, b]) => `${a}=${b}`).join(', ')]);
  if (k.revoked_at) lines.push(['revoked', `${k.revoked_at}${k.revocation_reason ? ` (${k.revocation_reason})` : ''}`]);
  if (k.rotated_from) lines.push(['rotated from', k.rotated_from]);
  if (k.rotated_to) lines.push(['rotated to', k.rotated_to]);
  for (const s of k.subkeys ?? []) lines.push(['subkey', `${s.fingerprint} [${s.capabilities.join(',') || '-'}] expires ${s.expires_at ?? 'never'}`]);
  process.stdout.write(lines.map(([a, b]) => `${`${a}:`.padEnd(14)}${b}\n`).join(''));
}

export function register(program: Command): void {
  const key = program.command('key').description('manage signing keys on a Signet server (import, generate, list, revoke, rotate, delete)');

  serverOptions(
    key
      .command('add')
      .description('import a public key: PEM/cosign .pub, X.509 certificate, OpenPGP key or keyring (armored or binary), SSH public key, minisign or signify public key')
      .requiredOption('--name <name>', 'a name for the key')
      .requiredOption('--file <file>', 'the public key file ("-" for stdin)')
      .option('--type <type>', 'gpg, cosign, ssh, minisign, signify, x509 or pem (detected when absent)')
      .option('--repository <glob>', 'a repository glob the key is trusted for (repeatable), e.g. "production/*"', collect)
      .option('--metadata <key=value>', 'a metadata entry (repeatable)', collect)
      .option('--expires-at <time>', 'ISO 8601 expiry, e.g. 2027-01-01T00:00:00Z'),
  ).action(async (o: Opts & { name: string; file: string; type?: string; repository?: string[]; metadata?: string[]; expiresAt?: string }) => {
    checkOutput(o);
    const body: Record<string, unknown> = { name: o.name, public_key: await keyFileText(o.file) };
    if (o.type) body['type'] = o.type;
    if (o.repository) body['repositories'] = o.repository;
    const md = metadataOf(o.metadata);
    if (md) body['metadata'] = md;
    if (o.expiresAt) body['expires_at'] = o.expiresAt;
    const k = await api<KeyInfo>(o, 'POST', '/api/v1/signing/keys', body);
    if (o.output === 'text') process.stderr.write(`Imported ${k.type} key ${k.id}\n`);
    printKey(k, o);
  });

  serverOptions(
    key
      .command('generate')
      .description('generate a key held by the server (its private key is sealed there and never shown)')
      .requiredOption('--name <name>', 'a name for the key')
      .option('--algorithm <alg>', 'ecdsa-p256 or ed25519', 'ecdsa-p256')
      .option('--repository <glob>', 'a repository glob the key is trusted for (repeatable)', collect)
      .option('--metadata <key=value>', 'a metadata entry (repeatable)', collect)
      .option('--expires-at <time>', 'ISO 8601 expiry'),
  ).action(async (o: Opts & { name: string; algorithm: string; repository?: string[]; metadata?: string[]; expiresAt?: string }) => {
    checkOutput(o);
    const body: Record<string, unknown> = { name: o.name, generate: { algorithm: o.algorithm } };
    if (o.repository) body['repositories'] = o.repository;
    const md = metadataOf(o.metadata);
    if (md) body['metadata'] = md;
    if (o.expiresAt) body['expires_at'] = o.expiresAt;
    const k = await api<KeyInfo>(o, 'POST', '/api/v1/signing/keys', body);
    if (o.output === 'text') process.stderr.write(`Generated ${k.algorithm} key ${k.id}\n`);
    printKey(k, o);
  });

  serverOptions(
    key
      .command('list')
      .description('list signing keys')
      .option('--repository <name>', 'only keys whose globs match this repository')
      .option('--status <status>', 'active, expired, revoked or rotated'),
  ).action(async (o: Opts & { repository?: string; status?: string }) => {
    checkOutput(o);
    const q = new URLSearchParams();
    if (o.repository) q.set('repository', o.repository);
    if (o.status) q.set('status', o.status);
    const qs = q.toString();
    const r = await api<{ keys: KeyInfo[] }>(o, 'GET', `/api/v1/signing/keys${qs ? `?${qs}` : ''}`);
    if (o.output === 'json') return void process.stdout.write(`${JSON.stringify(r.keys, null, 2)}\n`);
    for (const k of r.keys) {
      process.stdout.write(`${k.id}  ${k.type.padEnd(8)} ${k.status.padEnd(7)} ${k.fingerprint}  ${k.name}${k.repositories.length ? `  [${k.repositories.join(', ')}]` : ''}\n`);
    }
  });

  serverOptions(key.command('show').description('show one key').argument('<id>', 'the key id')).action(async (id: string, o: Opts) => {
    checkOutput(o);
    printKey(await api<KeyInfo>(o, 'GET', `/api/v1/signing/keys/${checkId(id)}`), o);
  });

  key
    .command('public')
    .description('print the public key in the form it was imported in')
    .argument('<id>', 'the key id')
    .option('--server <url>', 'Signet server URL (env SIGNET_SERVER)')
    .option('--token <token>', 'API token (env SIGNET_TOKEN)')
    .action(async (id: string, o: ServerOpts) => {
      const base = serverUrl(o);
      const path = `/api/v1/signing/keys/${checkId(id)}/public`;
      const token = o.token ?? process.env['SIGNET_TOKEN'];
      const res = await httpFetch(`${base}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} }, 'server', base);
      const text = await res.text();
      if (!res.ok) {
        const msg = (jsonOrUndefined(text) as { message?: string } | undefined)?.message ?? res.statusText;
        throw new CliError(`the server refused GET ${path}: ${msg} (HTTP ${res.status})${res.status === 401 ? ' (pass --token or set SIGNET_TOKEN)' : ''}`);
      }
      process.stdout.write(text);
    });

  serverOptions(key.command('revoke').description('revoke a key: no verification trusts it from now on').argument('<id>', 'the key id').option('--reason <text>', 'why')).action(
    async (id: string, o: Opts & { reason?: string }) => {
      checkOutput(o);
      const k = await api<KeyInfo>(o, 'POST', `/api/v1/signing/keys/${checkId(id)}/revoke`, o.reason ? { reason: o.reason } : {});
      if (o.output === 'text') process.stderr.write(`Revoked key ${k.id}\n`);
      printKey(k, o);
    },
  );

  serverOptions(
    key
      .command('rotate')
      .description('replace a key by a new one (same name, repositories, metadata); the old key stays trusted for the overlap')
      .argument('<id>', 'the key id')
      .option('--file <file>', 'the new public key (required for imported keys; server-held keys are regenerated)')
      .option('--type <type>', 'the new key type (default: the old key type)')
      .option('--overlap <duration>', 'how long the old key stays trusted, e.g. 7d, 12h', '7d'),
  ).action(async (id: string, o: Opts & { file?: string; type?: string; overlap: string }) => {
    checkOutput(o);
    const body: Record<string, unknown> = { overlap: o.overlap };
    if (o.file) body['public_key'] = await keyFileText(o.file);
    if (o.type) body['type'] = o.type;
    const k = await api<KeyInfo>(o, 'POST', `/api/v1/signing/keys/${checkId(id)}/rotate`, body);
    if (o.output === 'text') process.stderr.write(`Rotated key ${id} to ${k.id}; the old key stays trusted for ${o.overlap}\n`);
    printKey(k, o);
  });

  serverOptions(key.command('delete').description('delete a key (the server keeps a tombstone for audit history)').argument('<id>', 'the key id')).action(
    async (id: string, o: Opts) => {
      checkOutput(o);
      await api(o, 'DELETE', `/api/v1/signing/keys/${checkId(id)}`);
      if (o.output === 'json') process.stdout.write(`${JSON.stringify({ id, deleted: true })}\n`);
      else process.stderr.write(`Deleted key ${id}\n`);
    },
  );
}
