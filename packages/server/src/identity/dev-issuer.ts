import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import { SignJWT, createLocalJWKSet, exportJWK, generateKeyPair, type JWK, type JWTVerifyGetKey } from 'jose';
import { IdentityError } from './errors.js';

type SigningKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

/**
 * A built-in OIDC issuer for local use and tests, on only with `signet-server --dev`: discovery, JWKS and a
 * token endpoint that signs whatever identity it is asked for. Its key lives only in memory.
 */
export class DevIssuer {
  readonly url: string;
  private constructor(
    url: string,
    private readonly privateKey: SigningKey,
    readonly jwks: { keys: JWK[] },
    readonly kid: string,
  ) {
    this.url = url;
  }

  static async create(baseUrl: string): Promise<DevIssuer> {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const kid = randomUUID();
    const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
    return new DevIssuer(`${baseUrl}/dev/oidc`, privateKey, { keys: [jwk] }, kid);
  }

  keys(): JWTVerifyGetKey {
    return createLocalJWKSet(this.jwks);
  }

  async issue(req: { email?: string; sub?: string; audience?: string; ttlSeconds?: number; claims?: Record<string, unknown> }): Promise<string> {
    const sub = req.sub ?? req.email;
    if (!sub) throw new IdentityError('INVALID_TOKEN_REQUEST', 'give an email or a sub');
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ ...(req.claims ?? {}), ...(req.email ? { email: req.email, email_verified: true } : {}) })
      .setProtectedHeader({ alg: 'ES256', kid: this.kid, typ: 'JWT' })
      .setIssuer(this.url)
      .setSubject(sub)
      .setAudience(req.audience ?? 'sigstore')
      .setIssuedAt(now)
      .setNotBefore(now - 5)
      .setExpirationTime(now + (req.ttlSeconds ?? 600))
      .setJti(randomUUID())
      .sign(this.privateKey);
  }
}

export const devIssuerRoutes: FastifyPluginAsync<{ issuer: DevIssuer }> = async (app, { issuer }) => {
  app.get('/dev/oidc/.well-known/openid-configuration', { config: { summary: 'Dev issuer discovery (only with --dev)' } }, async () => ({
    issuer: issuer.url,
    jwks_uri: `${issuer.url}/jwks`,
    token_endpoint: `${issuer.url}/token`,
    id_token_signing_alg_values_supported: ['ES256'],
    response_types_supported: ['id_token'],
    subject_types_supported: ['public'],
    claims_supported: ['sub', 'email', 'email_verified', 'aud', 'iss', 'exp', 'iat'],
  }));
  app.get('/dev/oidc/jwks', { config: { summary: 'Dev issuer keys (only with --dev)' } }, async () => issuer.jwks);
  app.post(
    '/dev/oidc/token',
    {
      config: { summary: 'Mint an ID token for any identity (only with --dev)' },
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { email: { type: 'string', maxLength: 320, pattern: '^[^@\\s]+@[^@\\s]+$' }, sub: { type: 'string', minLength: 1, maxLength: 1024 }, audience: { type: 'string', minLength: 1, maxLength: 256 } },
        },
      },
    },
    async (req) => {
      const b = (req.body ?? {}) as { email?: string; sub?: string; audience?: string };
      return { id_token: await issuer.issue(b) };
    },
  );
};
