import type { FastifyInstance, FastifyRequest } from 'fastify';
import { IdentityError } from '../identity/errors.js';
import type { Principal, Role, TokenService } from '../identity/tokens.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

/** Reads `Authorization: Bearer <token>` (or Basic with the token as password) into request.principal. */
export function installAuth(app: FastifyInstance, tokens: TokenService): void {
  app.decorateRequest('principal', null);
  const withToken = async (req: FastifyRequest, h: string): Promise<void> => {
    let token: string | undefined;
    const bearer = /^Bearer\s+(\S+)$/i.exec(h);
    if (bearer) token = bearer[1];
    const basic = /^Basic\s+(\S+)$/i.exec(h);
    if (basic) {
      const decoded = Buffer.from(basic[1] ?? '', 'base64').toString('utf8');
      token = decoded.slice(decoded.indexOf(':') + 1);
    }
    if (!token) throw new IdentityError('UNAUTHENTICATED', 'the Authorization header must be "Bearer <token>"', { headers: { 'WWW-Authenticate': 'Bearer' } });
    // Under /v2/ a JWT-shaped Bearer is a registry token from GET /v2/token; the registry checks it itself.
    if (bearer && req.url.startsWith('/v2/') && /^[\w-]+\.[\w-]+\.[\w-]+$/.test(token)) return;
    const p = await tokens.authenticate(token);
    if (!p) throw new IdentityError('UNAUTHENTICATED', 'the token is unknown, revoked or expired', { headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' } });
    req.principal = p;
  };
  // Callback style: a request without credentials (anonymous reads, log writes when open) costs no promise.
  app.addHook('onRequest', (req, _reply, done) => {
    const h = req.headers.authorization;
    if (!h) return done();
    withToken(req, h).then(() => done(), done);
  });
}

/** Throws 401 without a principal and 403 when its role is not among `roles`. */
export function requireRole(req: FastifyRequest, roles: readonly Role[]): Principal {
  const p = req.principal;
  if (!p) throw new IdentityError('UNAUTHENTICATED', 'this request needs a token: Authorization: Bearer <token>', { headers: { 'WWW-Authenticate': 'Bearer' } });
  if (!roles.includes(p.role)) throw new IdentityError('FORBIDDEN', `role "${p.role}" may not do this (needs ${roles.join(' or ')})`);
  return p;
}

/** Every role: reading keys, policies and the like needs a token, any role. */
export const ANY_ROLE: readonly Role[] = ['admin', 'signer', 'publisher', 'reader'];

/**
 * For mutations of server-wide configuration (keys, policies): an admin token that is not limited to
 * repositories. A refusal of a known token is reported to `onDenied` (an audit event) before it is thrown.
 */
export async function requireUnrestrictedAdmin(req: FastifyRequest, what: string, onDenied: (p: Principal, reason: string) => Promise<unknown>): Promise<Principal> {
  try {
    const p = requireRole(req, ['admin']);
    if (p.repositories) throw new IdentityError('FORBIDDEN', `a token limited to repositories may not manage ${what}; use an admin token without repositories`);
    return p;
  } catch (e) {
    if (e instanceof IdentityError && e.code === 'FORBIDDEN' && req.principal) await onDenied(req.principal, e.message);
    throw e;
  }
}
