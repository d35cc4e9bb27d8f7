import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import { SignJWT, createLocalJWKSet, exportJWK, generateKeyPair, type JWK, type JWTVerifyGetKey } from 'jose';
import { IdentityError } from './errors.js';

const ALG = 'RS256';

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

  /**
   * RS256 with a 2048-bit key: OpenID Connect Discovery 1.0 §3 requires every provider to support RS256 for ID
   * tokens (it is Core §15.1's mandatory algorithm), and it is what Google, GitHub and GitLab sign with, so the dev
   * issuer exercises the same path as real ones. It is also the cheapest to check: an RSA-2048 signature verifies
   * in about a quarter of the time of a P-256 one, and every signingCert request checks one.
   */
  static async create(baseUrl: string): Promise<DevIssuer> {
    const { privateKey, publicKey } = await generateKeyPair(ALG, { extractable: true, modulusLength: 2048 });
    const kid = randomUUID();
    const jwk = { ...(await exportJWK(publicKey)), kid, alg: ALG, use: 'sig' };
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
      .setProtectedHeader({ alg: ALG, kid: this.kid, typ: 'JWT' })
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

/** A pending authorization code (RFC 6749 §4.1) bound to its PKCE challenge (RFC 7636 §4.2) and redirect URI. */
interface PendingCode {
  email: string;
  clientId: string;
  redirectUri: string;
  challenge: string;
  nonce?: string;
  expires: number;
}

const CODE_TTL_MS = 60_000;
const MAX_PENDING_CODES = 1000;

/**
 * Only loopback redirect URIs (RFC 8252 §7.3): the dev issuer exists for CLIs on the same machine, and must
 * never hand codes to another host.
 */
function loopbackRedirect(uri: unknown): string | undefined {
  if (typeof uri !== 'string' || uri.length > 2048) return undefined;
  try {
    const u = new URL(uri);
    if (u.protocol !== 'http:' || !['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname) || u.hash) return undefined;
    return u.toString();
  } catch {
    return undefined;
  }
}

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function authorizeForm(q: Record<string, string>, error?: string): string {
  const hidden = ['client_id', 'redirect_uri', 'state', 'code_challenge', 'code_challenge_method', 'nonce']
    .filter((k) => q[k] !== undefined)
    .map((k) => `<input type="hidden" name="${k}" value="${escapeHtml(q[k]!)}">`)
    .join('');
  return `<!doctype html><html><head><meta charset="utf-8"><title>Signet dev sign-in</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}input[type=email]{width:100%;padding:.5rem;font-size:1rem}button{margin-top:1rem;padding:.5rem 1rem;font-size:1rem}.warn{background:#fff3cd;padding:.75rem;border-radius:.25rem}.err{color:#b00020}</style></head>
<body><h1>Signet development sign-in</h1><p class="warn">This server runs with <code>--dev</code>: its issuer signs a token for any email you type. Never use it in production.</p>
${error ? `<p class="err">${escapeHtml(error)}</p>` : ''}<form method="post" action="authorize">${hidden}<label>Email<br><input type="email" name="email" required value="${escapeHtml(q['login_hint'] ?? '')}" autofocus></label><br><button type="submit">Sign in</button></form></body></html>`;
}

export const devIssuerRoutes: FastifyPluginAsync<{ issuer: DevIssuer }> = async (app, { issuer }) => {
  app.get('/dev/oidc/.well-known/openid-configuration', { config: { summary: 'Dev issuer discovery (only with --dev)' } }, async () => ({
    issuer: issuer.url,
    jwks_uri: `${issuer.url}/jwks`,
    token_endpoint: `${issuer.url}/token`,
    authorization_endpoint: `${issuer.url}/authorize`,
    id_token_signing_alg_values_supported: [ALG],
    response_types_supported: ['code'],
    grant_types_supported: ['authorization_code'],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: ['none'],
    scopes_supported: ['openid', 'email'],
    subject_types_supported: ['public'],
    claims_supported: ['sub', 'email', 'email_verified', 'aud', 'iss', 'exp', 'iat'],
  }));
  app.get('/dev/oidc/jwks', { config: { summary: 'Dev issuer keys (only with --dev)' } }, async () => issuer.jwks);
  const codes = new Map<string, PendingCode>();
  const sweep = (now: number): void => {
    for (const [k, v] of codes) if (v.expires < now) codes.delete(k);
  };
  // OAuth forms are application/x-www-form-urlencoded; parsed here rather than with a plugin, for these routes only.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 16_384 }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });
  const mint = async (b: { email?: string; sub?: string; audience?: string }): Promise<{ id_token: string }> => ({ id_token: await issuer.issue(b) });
  app.post('/dev/oidc/token', { config: { summary: 'Mint an ID token for any identity (JSON), or redeem an authorization code (form, PKCE) (only with --dev)' } }, async (req, reply) => {
    const ct = String(req.headers['content-type'] ?? '');
    if (ct.startsWith('application/x-www-form-urlencoded')) {
      // RFC 6749 §4.1.3 token request; errors as §5.2.
      const f = (req.body ?? {}) as Record<string, string>;
      const oauthError = (error: string, description: string): unknown => reply.status(400).send({ error, error_description: description });
      if (f['grant_type'] !== 'authorization_code') return oauthError('unsupported_grant_type', 'only grant_type=authorization_code is supported');
      const pending = f['code'] ? codes.get(f['code']) : undefined;
      if (f['code']) codes.delete(f['code']);
      if (!pending || pending.expires < Date.now()) return oauthError('invalid_grant', 'the authorization code is unknown, used or expired');
      if (f['redirect_uri'] !== pending.redirectUri || f['client_id'] !== pending.clientId) {
        return oauthError('invalid_grant', 'redirect_uri or client_id differs from the authorization request');
      }
      const verifier = f['code_verifier'] ?? '';
      // RFC 7636 §4.6: BASE64URL(SHA256(code_verifier)) == code_challenge.
      if (!/^[A-Za-z0-9._~-]{43,128}$/.test(verifier) || createHash('sha256').update(verifier).digest('base64url') !== pending.challenge) {
        return oauthError('invalid_grant', 'the PKCE code_verifier does not match the code_challenge');
      }
      return { ...(await mint({ email: pending.email, audience: pending.clientId })), token_type: 'Bearer' };
    }
    return mint(validateTokenBody(req.body ?? {}));
  });
  app.get('/dev/oidc/authorize', { config: { summary: 'Interactive sign-in form (authorization code + PKCE, loopback redirects only; only with --dev)' } }, async (req, reply) => {
    const q = req.query as Record<string, string>;
    const problem = checkAuthorizeRequest(q);
    if (problem) return reply.status(400).type('text/plain; charset=utf-8').send(`invalid authorization request: ${problem}\n`);
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(authorizeForm(q));
  });
  app.post('/dev/oidc/authorize', { config: { summary: 'Sign-in form submission (only with --dev)' } }, async (req, reply) => {
    const f = (req.body ?? {}) as Record<string, string>;
    const problem = checkAuthorizeRequest(f);
    if (problem) return reply.status(400).type('text/plain; charset=utf-8').send(`invalid authorization request: ${problem}\n`);
    const email = f['email'] ?? '';
    if (!/^[^@\s]+@[^@\s]+$/.test(email) || email.length > 320) {
      return reply.status(400).type('text/html; charset=utf-8').send(authorizeForm(f, 'Enter an email address.'));
    }
    const now = Date.now();
    sweep(now);
    if (codes.size >= MAX_PENDING_CODES) return reply.status(503).header('retry-after', '60').type('text/plain; charset=utf-8').send('too many pending sign-ins\n');
    const code = randomBytes(24).toString('base64url');
    codes.set(code, {
      email,
      clientId: f['client_id']!,
      redirectUri: loopbackRedirect(f['redirect_uri'])!,
      challenge: f['code_challenge']!,
      ...(f['nonce'] ? { nonce: f['nonce'] } : {}),
      expires: now + CODE_TTL_MS,
    });
    const to = new URL(loopbackRedirect(f['redirect_uri'])!);
    to.searchParams.set('code', code);
    if (f['state'] !== undefined) to.searchParams.set('state', f['state']);
    return reply.status(302).header('location', to.toString()).header('cache-control', 'no-store').send();
  });
};

/** RFC 6749 §4.1.1 + RFC 7636 §4.3: what an authorization request must carry here. */
function checkAuthorizeRequest(q: Record<string, string>): string | undefined {
  if (q['response_type'] !== undefined && q['response_type'] !== 'code') return 'response_type must be "code"';
  if (!q['client_id'] || q['client_id'].length > 256) return 'client_id is missing';
  if (!loopbackRedirect(q['redirect_uri'])) return 'redirect_uri must be an http://127.0.0.1, localhost or [::1] URL';
  if (!q['code_challenge'] || !/^[A-Za-z0-9_-]{43}$/.test(q['code_challenge'])) return 'code_challenge (PKCE S256) is missing or malformed';
  if (q['code_challenge_method'] !== 'S256') return 'code_challenge_method must be S256';
  if (q['state'] !== undefined && q['state'].length > 512) return 'state is too long';
  return undefined;
}

/** The JSON token request: {email?, sub?, audience?} with the same limits the schema states. */
function validateTokenBody(b: unknown): { email?: string; sub?: string; audience?: string } {
  if (typeof b !== 'object' || b === null || Array.isArray(b)) throw new IdentityError('INVALID_TOKEN_REQUEST', 'the body must be a JSON object {email?, sub?, audience?}');
  const o = b as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!['email', 'sub', 'audience'].includes(k)) throw new IdentityError('INVALID_TOKEN_REQUEST', `unknown field "${k}"`);
  const str = (k: string, max: number): string | undefined => {
    const v = o[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v.length === 0 || v.length > max) throw new IdentityError('INVALID_TOKEN_REQUEST', `"${k}" must be a non-empty string of at most ${max} characters`);
    return v;
  };
  const email = str('email', 320);
  if (email !== undefined && !/^[^@\s]+@[^@\s]+$/.test(email)) throw new IdentityError('INVALID_TOKEN_REQUEST', '"email" must be an email address');
  const sub = str('sub', 1024);
  const audience = str('audience', 256);
  return { ...(email ? { email } : {}), ...(sub ? { sub } : {}), ...(audience ? { audience } : {}) };
}
