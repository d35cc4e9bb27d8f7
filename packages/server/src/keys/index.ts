import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { ANY_ROLE, requireRole, requireUnrestrictedAdmin } from '../http/auth.js';
import type { Principal } from '../identity/index.js';
import type { AuditLog } from '../audit/index.js';
import { KeyError } from './errors.js';
import { KEY_TYPES, type KeyType } from './material.js';
import { GENERATE_ALGORITHMS, KEY_STATUSES, MAX_METADATA_ENTRIES, MAX_METADATA_VALUE, MAX_NAME, MAX_PUBLIC_KEY, type GenerateAlgorithm, type KeyService, type KeyStatus } from './service.js';
import { MAX_GLOB_LENGTH, MAX_REPOSITORIES } from './globs.js';

export { KeyService, KEY_STATUSES, GENERATE_ALGORITHMS, type KeyInfo, type KeyStatus, type TrustedKeyRecord, type KeysTables } from './service.js';
export { KEY_TYPES, type KeyType, type SubkeyInfo } from './material.js';
export { KeyError, type KeyErrorCode } from './errors.js';
export { globMatches, globsIntersect, globProblem } from './globs.js';

/** Every role may list and read keys (within its repositories); only an admin not limited to repositories manages them. */

const idParams = { type: 'object', properties: { id: { type: 'string', maxLength: 64 } } } as const;

const fieldSchemas = {
  name: { type: 'string', minLength: 1, maxLength: MAX_NAME },
  repositories: { type: 'array', maxItems: MAX_REPOSITORIES, items: { type: 'string', minLength: 1, maxLength: MAX_GLOB_LENGTH } },
  metadata: { type: 'object', maxProperties: MAX_METADATA_ENTRIES, additionalProperties: { type: 'string', maxLength: MAX_METADATA_VALUE } },
  expires_at: { type: 'string', maxLength: 64 },
} as const;

interface CreateBody {
  name: string;
  type?: KeyType;
  public_key?: string;
  generate?: { algorithm?: GenerateAlgorithm };
  repositories?: string[];
  metadata?: Record<string, string>;
  expires_at?: string;
}

/**
 * Signing key management under /api/v1/signing/keys: import (PEM/cosign, X.509, OpenPGP, SSH, minisign,
 * signify), generate, list, read, public key, revoke, rotate, delete. Mutations need an admin token that is
 * not limited to repositories; a token limited to repositories sees only keys whose globs share a repository
 * with its own. Denied mutations by a known token are audit events too.
 */
export const keysRoutes: FastifyPluginAsync<{ keys: KeyService; audit: AuditLog }> = async (app, { keys, audit }) => {
  const manage = (req: FastifyRequest, action: string, target: string): Promise<Principal> =>
    requireUnrestrictedAdmin(req, 'signing keys', (actor, reason) => audit.record({ actor, action, target, outcome: 'denied', details: { reason } }));
  const scope = (req: FastifyRequest): readonly string[] | undefined => requireRole(req, ANY_ROLE).repositories;

  app.post(
    '/api/v1/signing/keys',
    {
      config: { summary: 'Import a public key, or generate a key held by the server ({generate: {algorithm}})' },
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['name'],
          properties: {
            ...fieldSchemas,
            type: { type: 'string', enum: [...KEY_TYPES] },
            public_key: { type: 'string', maxLength: MAX_PUBLIC_KEY },
            generate: { type: 'object', additionalProperties: false, properties: { algorithm: { type: 'string', enum: [...GENERATE_ALGORITHMS] } } },
          },
        },
      },
    },
    async (req, reply) => {
      const b = req.body as CreateBody;
      const actor = await manage(req, b.generate ? 'key.generate' : 'key.import', `key-name:${b.name}`);
      if ((b.public_key === undefined) === (b.generate === undefined)) {
        throw new KeyError('INVALID_KEY_REQUEST', 'give either public_key (to import a public key) or generate (to make a key held by the server), not both or neither');
      }
      const common = { name: b.name, ...(b.repositories ? { repositories: b.repositories } : {}), ...(b.metadata ? { metadata: b.metadata } : {}), ...(b.expires_at !== undefined ? { expires_at: b.expires_at } : {}) };
      if (b.generate) {
        if (b.type !== undefined) throw new KeyError('INVALID_KEY_REQUEST', 'type is only for imported keys; generated keys are PEM (type "pem")');
        const k = await keys.generate({ ...common, ...(b.generate.algorithm ? { algorithm: b.generate.algorithm } : {}) }, actor);
        return reply.status(201).header('Location', `/api/v1/signing/keys/${k.id}`).send(k);
      }
      const k = await keys.import({ ...common, public_key: b.public_key as string, ...(b.type ? { type: b.type } : {}) }, actor);
      req.log.info({ keyId: k.id, type: k.type, fingerprint: k.fingerprint }, 'signing key imported');
      return reply.status(201).header('Location', `/api/v1/signing/keys/${k.id}`).send(k);
    },
  );

  app.get(
    '/api/v1/signing/keys',
    {
      config: { summary: 'List signing keys (?repository= matches their globs; ?status=)' },
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { repository: { type: 'string', minLength: 1, maxLength: MAX_GLOB_LENGTH }, status: { type: 'string', enum: [...KEY_STATUSES] } },
        },
      },
    },
    async (req) => {
      const globs = scope(req);
      const q = req.query as { repository?: string; status?: KeyStatus };
      return { keys: await keys.list({ ...q, ...(globs ? { visibleTo: globs } : {}) }) };
    },
  );

  app.get('/api/v1/signing/keys/:id', { config: { summary: 'A signing key' }, schema: { params: idParams } }, async (req) => {
    const globs = scope(req);
    return keys.info((req.params as { id: string }).id, globs);
  });

  app.get('/api/v1/signing/keys/:id/public', { config: { summary: 'The public key, in the text form it was imported in (text/plain)' }, schema: { params: idParams } }, async (req, reply) => {
    const globs = scope(req);
    const text = await keys.publicText((req.params as { id: string }).id, globs);
    return reply.type('text/plain; charset=utf-8').send(text);
  });

  app.post(
    '/api/v1/signing/keys/:id/revoke',
    {
      config: { summary: 'Revoke a signing key: no verification trusts it from now on' },
      schema: { params: idParams, body: { type: ['object', 'null'], additionalProperties: false, properties: { reason: { type: 'string', maxLength: 1024 } } } },
    },
    async (req) => {
      const { id } = req.params as { id: string };
      const actor = await manage(req, 'key.revoke', `key:${id}`);
      const b = (req.body ?? {}) as { reason?: string };
      return keys.revoke(id, b.reason, actor);
    },
  );

  app.post(
    '/api/v1/signing/keys/:id/rotate',
    {
      config: { summary: 'Rotate a signing key: a new key with the same name, repositories and metadata; the old one stays trusted for the overlap' },
      schema: {
        params: idParams,
        body: {
          type: ['object', 'null'],
          additionalProperties: false,
          properties: { public_key: { type: 'string', maxLength: MAX_PUBLIC_KEY }, type: { type: 'string', enum: [...KEY_TYPES] }, overlap: { type: 'string', maxLength: 16 } },
        },
      },
    },
    async (req, reply) => {
      const { id } = req.params as { id: string };
      const actor = await manage(req, 'key.rotate', `key:${id}`);
      const b = (req.body ?? {}) as { public_key?: string; type?: KeyType; overlap?: string };
      const k = await keys.rotate(id, b, actor);
      return reply.status(201).header('Location', `/api/v1/signing/keys/${k.id}`).send(k);
    },
  );

  app.delete('/api/v1/signing/keys/:id', { config: { summary: 'Delete a signing key (kept as a tombstone for audit history)' }, schema: { params: idParams } }, async (req, reply) => {
    const { id } = req.params as { id: string };
    const actor = await manage(req, 'key.delete', `key:${id}`);
    await keys.delete(id, actor);
    return reply.status(204).send();
  });
};
