import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { requireRole } from '../http/auth.js';
import { IdentityError } from '../identity/index.js';
import { AuditError } from './errors.js';
import type { AuditLog } from './service.js';

export { AuditLog, type Actor, type AuditInput, type Anchor } from './service.js';
export { AuditError, type AuditErrorCode } from './errors.js';
export { GENESIS_HASH, eventHash, type AuditEvent } from './chain.js';
export type { AuditTables } from './store.js';

const MAX_LIMIT = 1000;

/** Audit events span every repository: only an admin token not limited to repositories reads them. */
function auditor(req: FastifyRequest): void {
  const p = requireRole(req, ['admin']);
  if (p.repositories) throw new IdentityError('FORBIDDEN', 'the audit log is readable only with an admin token not limited to repositories');
}

function time(v: string | undefined, what: string): string | undefined {
  if (v === undefined) return undefined;
  const t = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/.test(v) ? Date.parse(v) : NaN;
  if (Number.isNaN(t)) throw new AuditError('INVALID_AUDIT_QUERY', `${what} must be an ISO 8601 date or date-time, e.g. 2026-01-01T00:00:00Z`);
  return new Date(t).toISOString();
}

/**
 * GET /api/v1/audit (filters, pagination by seq), GET|POST /api/v1/audit/anchors (list; anchor the head now),
 * GET /api/v1/audit/key (the anchoring public key, PEM; public).
 */
export const auditRoutes: FastifyPluginAsync<{ audit: AuditLog }> = async (app, { audit }) => {
  app.get(
    '/api/v1/audit',
    {
      config: { summary: 'Audit events in seq order: ?actor= (token id or name), ?action= (repeatable), ?target= (prefix), ?since=, ?until=, ?after_seq=, ?limit= (≤ 1000)' },
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            actor: { type: 'string', minLength: 1, maxLength: 256 },
            action: { type: 'array', maxItems: 32, items: { type: 'string', minLength: 1, maxLength: 64 } },
            target: { type: 'string', minLength: 1, maxLength: 512 },
            since: { type: 'string', maxLength: 64 },
            until: { type: 'string', maxLength: 64 },
            after_seq: { type: 'integer', minimum: 0 },
            limit: { type: 'integer', minimum: 1, maximum: MAX_LIMIT },
          },
        },
      },
    },
    async (req) => {
      auditor(req);
      const q = req.query as { actor?: string; action?: string[]; target?: string; since?: string; until?: string; after_seq?: number; limit?: number };
      const limit = q.limit ?? 100;
      const since = time(q.since, 'since');
      const until = time(q.until, 'until');
      const events = await audit.store.list({
        ...(q.actor !== undefined ? { actor: q.actor } : {}),
        ...(q.action ? { actions: q.action } : {}),
        ...(q.target !== undefined ? { targetPrefix: q.target } : {}),
        ...(since ? { since } : {}),
        ...(until ? { until } : {}),
        ...(q.after_seq !== undefined ? { afterSeq: q.after_seq } : {}),
        limit,
      });
      // A full page may have a successor: continue with ?after_seq=next_after_seq.
      return { events, next_after_seq: events.length === limit ? (events[events.length - 1]?.seq ?? null) : null };
    },
  );

  app.get(
    '/api/v1/audit/anchors',
    {
      config: { summary: 'Anchors of the audit chain in the transparency log: {seq, head_hash, log_index, uuid, created_at}' },
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { after_seq: { type: 'integer', minimum: 0 }, limit: { type: 'integer', minimum: 1, maximum: MAX_LIMIT } },
        },
      },
    },
    async (req) => {
      auditor(req);
      const q = req.query as { after_seq?: number; limit?: number };
      const limit = q.limit ?? 100;
      const anchors = await audit.store.anchors(q.after_seq ?? 0, limit);
      return { anchors, next_after_seq: anchors.length === limit ? (anchors[anchors.length - 1]?.seq ?? null) : null };
    },
  );

  app.post('/api/v1/audit/anchors', { config: { summary: 'Anchor the audit chain head now (a no-op when it is anchored already)' } }, async (req) => {
    auditor(req);
    return { anchor: (await audit.anchor()) ?? null };
  });

  app.get('/api/v1/audit/key', { config: { summary: "The audit anchoring key (PEM): it signs the chain heads logged in the transparency log" } }, async (_req, reply) =>
    reply.type('application/x-pem-file').send(audit.publicKeyPem()),
  );
};
