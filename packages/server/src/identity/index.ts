import type { FastifyPluginAsync } from 'fastify';
import { requireRole } from '../http/auth.js';
import { IdentityError } from './errors.js';
import { ROLES, type Role, type TokenService } from './tokens.js';
import type { AuditLog } from '../audit/index.js';

export { TokenService, ROLES, isRole, type Role, type Principal } from './tokens.js';
export { RepositoryGrants, MAX_GRANTS_PER_REPOSITORY, MAX_TOKEN_REF, type Grantee, type RepositoryGrant, type GrantChanges } from './grants.js';
export { IdentityError } from './errors.js';

const tokenInfo = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    role: { type: 'string', enum: [...ROLES] },
    repositories: { type: ['array', 'null'], items: { type: 'string' } },
    created_at: { type: 'string' },
    expires_at: { type: ['string', 'null'] },
    revoked_at: { type: ['string', 'null'] },
  },
} as const;

/** API tokens: create (shown once), list, revoke. Admin only. */
export const identityRoutes: FastifyPluginAsync<{ tokens: TokenService; audit?: AuditLog }> = async (app, { tokens, audit }) => {
  app.post(
    '/api/v1/tokens',
    {
      config: { summary: 'Create an API token (the token is shown only in this response)' },
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'role'],
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 128 },
            role: { type: 'string', enum: [...ROLES] },
            repositories: { type: 'array', maxItems: 100, items: { type: 'string', minLength: 1, maxLength: 256 } },
            expires_at: { type: 'string', maxLength: 64 },
          },
        },
        response: { 201: { type: 'object', properties: { id: { type: 'string' }, token: { type: 'string' } } } },
      },
    },
    async (req, reply) => {
      const actor = requireRole(req, ['admin']);
      const body = req.body as { name: string; role: Role; repositories?: string[]; expires_at?: string };
      if (body.expires_at !== undefined) {
        const t = Date.parse(body.expires_at);
        if (Number.isNaN(t)) throw new IdentityError('INVALID_TOKEN_REQUEST', 'expires_at must be an ISO 8601 date-time');
        if (t <= Date.now()) throw new IdentityError('INVALID_TOKEN_REQUEST', 'expires_at is in the past');
        body.expires_at = new Date(t).toISOString();
      }
      const created = await tokens.create(body);
      req.log.info({ tokenId: created.id, role: body.role }, 'token created');
      // The token value never goes into the audit log.
      await audit?.record({ actor, action: 'token.create', target: `token:${created.id}`, outcome: 'allowed', details: { name: body.name, role: body.role, repositories: body.repositories ?? null, expires_at: body.expires_at ?? null } });
      return reply.status(201).send(created);
    },
  );

  app.get(
    '/api/v1/tokens',
    { config: { summary: 'List API tokens (never their values)' }, schema: { response: { 200: { type: 'object', properties: { tokens: { type: 'array', items: tokenInfo } } } } } },
    async (req) => {
      requireRole(req, ['admin']);
      return { tokens: await tokens.list() };
    },
  );

  app.delete(
    '/api/v1/tokens/:id',
    { config: { summary: 'Revoke an API token (its per-repository grants are deleted with it)' }, schema: { params: { type: 'object', properties: { id: { type: 'string', maxLength: 64 } } } } },
    async (req, reply) => {
      const actor = requireRole(req, ['admin']);
      const { id } = req.params as { id: string };
      const grants = await tokens.revoke(id);
      await audit?.record({ actor, action: 'token.revoke', target: `token:${id}`, outcome: 'allowed' });
      // Every grant change is an audit event, including the grants a revocation deletes.
      for (const g of grants) {
        await audit?.record({ actor, action: 'repository.revoke_grant', target: `repo:${g.repo}`, outcome: 'allowed', details: { token_id: id, role: g.role, reason: 'token revoked' } });
      }
      return reply.status(204).send();
    },
  );
};
