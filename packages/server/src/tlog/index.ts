import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { X509Certificate } from 'node:crypto';
import { leafHash, parseTilePath, publicKeyFromPem, spkiFingerprint, toHex } from '@signet/core';
import { requireRole } from '../http/auth.js';
import { TlogError } from './errors.js';
import { ENTRIES_LEVEL, type LogEntryJson, type TransparencyLog } from './log.js';
import { VerifierPool, type TrustedIssuerSpec } from './verifier-pool.js';
import type { WorkerPool } from '../workers/pool.js';

export { TransparencyLog } from './log.js';
export { TlogError } from './errors.js';
export { canonicalizeProposedEntry, type CanonicalEntry } from './entries.js';

const MAX_RETRIEVE = 10;

function entryMap(r: { entryId: string; entry: unknown }): Record<string, unknown> {
  return { [r.entryId]: r.entry };
}

let lastCheckpoint = '';
let lastCheckpointJson = '""';

/**
 * JSON.stringify(entryMap(r)), written directly: the write path answers every entry, and all but the
 * checkpoint are hex, base64 or integers (nothing to escape). The checkpoint, shared by a batch, is
 * escaped once per checkpoint.
 */
function entryMapJson(r: { entryId: string; entry: LogEntryJson }): string {
  const e = r.entry;
  const p = e.verification.inclusionProof;
  if (p.checkpoint !== lastCheckpoint) {
    lastCheckpoint = p.checkpoint;
    lastCheckpointJson = JSON.stringify(p.checkpoint);
  }
  const hashes = p.hashes.length === 0 ? '[]' : `["${p.hashes.join('","')}"]`;
  return (
    `{"${r.entryId}":{"body":"${e.body}","integratedTime":${e.integratedTime},"logID":"${e.logID}","logIndex":${e.logIndex},` +
    `"verification":{"signedEntryTimestamp":"${e.verification.signedEntryTimestamp}","inclusionProof":{"logIndex":${p.logIndex},` +
    `"rootHash":"${p.rootHash}","treeSize":${p.treeSize},"hashes":${hashes},"checkpoint":${lastCheckpointJson}}}}}`
  );
}

/**
 * Rekor v1 API (the subset sigstore clients use) and C2SP tlog-tiles reads under /tlog/.
 * Writes need a token with a writing role unless `tlog.anonymous_write` is set; reads are public.
 */
export interface TlogRouteOptions {
  log: TransparencyLog;
  /** Anyone may write (as the public Rekor). */
  anonymousWrite: boolean;
  /**
   * CA certificates (DER): without a token and without anonymousWrite, an entry signed with a current leaf of
   * one of them is still accepted. The server passes its own CA, so Sigstore clients (which carry no Signet
   * token) can log what they sign keyless; entries signed with bare keys need a token. Checked in the workers.
   */
  trustedIssuers?: TrustedIssuerSpec[];
  /** The server's shared worker pool, for entry verification (without one the routes start their own). */
  workers?: WorkerPool;
}

export const tlogRoutes: FastifyPluginAsync<TlogRouteOptions> = async (app, { log, anonymousWrite, trustedIssuers = [], workers }) => {
  const pool = new VerifierPool(trustedIssuers, workers);
  app.addHook('onClose', () => pool.close());

  // Entries are parsed and verified in worker threads: keep their JSON as text here.
  await app.register(async (writes) => {
    writes.removeContentTypeParser('application/json');
    writes.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => done(null, body));
    writes.post(
      '/api/v1/log/entries',
      { config: { summary: 'Add an entry (hashedrekord 0.0.1, dsse 0.0.1, intoto 0.0.2); answers once it is integrated, with its inclusion proof' } },
      async (req, reply) => {
        const keylessPath = !anonymousWrite && trustedIssuers.length > 0 && req.headers.authorization === undefined;
        if (!anonymousWrite && !keylessPath) requireRole(req, ['admin', 'signer', 'publisher']);
        if (typeof req.body !== 'string' || req.body.length === 0) throw new TlogError('ENTRY_INVALID', 'the request body must be a JSON proposed entry');
        const entry = await pool.verify(req.body);
        if (keylessPath && !entry.fromTrustedIssuer) {
          // Same answer as without the keyless path: a token is needed for this entry.
          requireRole(req, ['admin', 'signer', 'publisher']);
        }
        const r = await log.add(entry);
        return reply
          .status(201)
          .header('Location', `/api/v1/log/entries/${r.entryId}`)
          .header('ETag', r.entryId)
          .type('application/json; charset=utf-8')
          .send(entryMapJson(r));
      },
    );
  });

  app.get(
    '/api/v1/log/entries',
    { config: { summary: 'Get an entry by log index' }, schema: { querystring: { type: 'object', required: ['logIndex'], properties: { logIndex: { type: 'integer', minimum: 0 } } } } },
    async (req) => {
      const { logIndex } = req.query as { logIndex: number };
      const r = logIndex < log.size ? await log.getByIndex(logIndex) : undefined;
      if (!r) throw new TlogError('ENTRY_NOT_FOUND', `no entry at log index ${logIndex} (the log has ${log.size} entries)`);
      return entryMap(r);
    },
  );

  app.get('/api/v1/log/entries/:id', { config: { summary: 'Get an entry by UUID or entry ID' } }, async (req) => {
    const { id } = req.params as { id: string };
    if (!/^([0-9a-f]{64}|[0-9a-f]{80})$/.test(id)) throw new TlogError('ENTRY_INVALID', 'an entry is named by its 64-hex UUID or 80-hex entry ID');
    const r = await log.getByUuid(id);
    if (!r) throw new TlogError('ENTRY_NOT_FOUND', `no entry with UUID ${id}`);
    return entryMap(r);
  });

  app.post(
    '/api/v1/log/entries/retrieve',
    {
      config: { summary: 'Get several entries by UUID, index or content' },
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            entryUUIDs: { type: 'array', items: { type: 'string', pattern: '^([0-9a-f]{64}|[0-9a-f]{80})$' } },
            logIndexes: { type: 'array', items: { type: 'integer', minimum: 0 } },
            entries: { type: 'array', items: { type: 'object' } },
          },
        },
      },
    },
    async (req) => {
      const b = req.body as { entryUUIDs?: string[]; logIndexes?: number[]; entries?: unknown[] };
      for (const [k, v] of Object.entries(b)) if (Array.isArray(v) && v.length > MAX_RETRIEVE) throw new TlogError('TOO_MANY_ITEMS', `${k} may hold at most ${MAX_RETRIEVE} items`);
      const out: Record<string, unknown>[] = [];
      for (const id of b.entryUUIDs ?? []) {
        const r = await log.getByUuid(id);
        if (r) out.push(entryMap(r));
      }
      for (const i of b.logIndexes ?? []) {
        const r = await log.getByIndex(i);
        if (r) out.push(entryMap(r));
      }
      for (const e of b.entries ?? []) {
        // Canonicalizing means verifying the signature again: that runs in the verifier threads too.
        const c = await pool.verify(JSON.stringify(e));
        const r = await log.getByUuid(toHex(leafHash(c.body)));
        if (r) out.push(entryMap(r));
      }
      return out;
    },
  );

  app.post(
    '/api/v1/index/retrieve',
    {
      config: { summary: 'Search entries by artifact hash, public key, email or subject' },
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            hash: { type: 'string', pattern: '^(sha256:)?[0-9a-fA-F]{64}$|^sha384:[0-9a-fA-F]{96}$|^sha512:[0-9a-fA-F]{128}$' },
            publicKey: { type: 'object', required: ['format'], properties: { format: { type: 'string' }, content: { type: 'string' }, url: { type: 'string' } } },
            email: { type: 'string', maxLength: 320 },
            subject: { type: 'string', maxLength: 1024 },
            operator: { type: 'string', enum: ['and', 'or'] },
          },
        },
      },
    },
    async (req) => {
      const b = req.body as { hash?: string; publicKey?: { format: string; content?: string }; email?: string; subject?: string; operator?: 'and' | 'or' };
      const keys: string[] = [];
      if (b.hash) keys.push(b.hash.includes(':') ? b.hash.toLowerCase() : `sha256:${b.hash.toLowerCase()}`);
      if (b.publicKey) {
        if (b.publicKey.format !== 'x509') throw new TlogError('ENTRY_INVALID', `publicKey.format "${b.publicKey.format}" is not indexed here; entries carry x509 keys`);
        if (!b.publicKey.content) throw new TlogError('ENTRY_INVALID', 'publicKey.content (base64 PEM) is required');
        const pem = Buffer.from(b.publicKey.content, 'base64').toString('utf8');
        let fp: string;
        try {
          fp = spkiFingerprint(pem.includes('CERTIFICATE') ? new X509Certificate(pem).publicKey : publicKeyFromPem(pem));
        } catch {
          throw new TlogError('ENTRY_INVALID', 'publicKey.content is not a base64 PEM public key or certificate');
        }
        keys.push(`pk:${fp}`);
      }
      if (b.email) keys.push(`email:${b.email.toLowerCase()}`);
      if (b.subject) keys.push(`subject:${b.subject}`);
      if (keys.length === 0) throw new TlogError('ENTRY_INVALID', 'give at least one of hash, publicKey, email or subject');
      return log.search(keys, b.operator ?? 'or');
    },
  );

  app.get('/api/v1/log', { config: { summary: 'Log info: tree size, root hash, signed checkpoint' } }, async () => ({
    rootHash: toHex(log.rootHash()),
    treeSize: log.size,
    signedTreeHead: log.checkpoint,
    treeID: log.treeId,
  }));

  app.get(
    '/api/v1/log/proof',
    {
      config: { summary: 'Consistency proof between two tree sizes' },
      schema: { querystring: { type: 'object', required: ['lastSize'], properties: { firstSize: { type: 'integer', minimum: 1 }, lastSize: { type: 'integer', minimum: 1 }, treeID: { type: 'string' } } } },
    },
    async (req) => {
      const { firstSize = 1, lastSize } = req.query as { firstSize?: number; lastSize: number };
      if (lastSize > log.size) throw new TlogError('ENTRY_INVALID', `lastSize ${lastSize} is beyond the tree size ${log.size}`);
      if (firstSize > lastSize) throw new TlogError('ENTRY_INVALID', `firstSize ${firstSize} is larger than lastSize ${lastSize}`);
      return { rootHash: toHex(log.rootHash(lastSize)), hashes: log.consistencyProof(firstSize, lastSize).map(toHex) };
    },
  );

  app.get('/api/v1/log/publicKey', { config: { summary: "The log's public key (PEM)" } }, async (_req, reply) => reply.type('application/x-pem-file').send(log.publicKeyPem()));

  // C2SP tlog-tiles: checkpoint, hash tiles and entry bundles.
  app.get('/tlog/checkpoint', { config: { summary: 'The latest signed checkpoint (C2SP tlog-tiles)' } }, async (_req, reply) =>
    reply.type('text/plain; charset=utf-8').header('Cache-Control', 'no-cache').send(log.checkpoint),
  );
  app.get('/tlog/tile/*', { config: { summary: 'A hash tile or entry bundle (C2SP tlog-tiles)' } }, async (req, reply: FastifyReply) => {
    const path = `tile/${(req.params as { '*': string })['*']}`;
    let p;
    try {
      p = parseTilePath(path);
    } catch (e) {
      throw new TlogError('ENTRY_NOT_FOUND', `not a tile path: ${(e as Error).message}`);
    }
    const level = p.kind === 'entries' ? ENTRIES_LEVEL : p.level;
    const data = await log.tile(level, p.index, p.width);
    // A partial tile of width W is served while the committed tree's tile is at least that wide; a full tile only once full.
    if (!data) throw new TlogError('ENTRY_NOT_FOUND', `no such tile: ${path}`);
    const full = p.width === 256;
    return reply
      .type('application/octet-stream')
      .header('Cache-Control', full ? 'public, max-age=31536000, immutable' : 'no-cache')
      .send(Buffer.from(data));
  });
};
