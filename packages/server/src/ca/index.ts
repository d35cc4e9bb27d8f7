import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { IssuerConfig } from '../identity/oidc.js';
import type { CertificateAuthority, SigningCertRequest, TokenVerifier } from './authority.js';

export { CertificateAuthority, LEAF_LIFETIME_MS, type CaTrustMaterial, type SigningCertRequest, type TokenVerifier } from './authority.js';
export { LeafSigner, type LeafIdentity } from './leaf.js';
export { CaError, type CaErrorCode } from './errors.js';
export { sealedKey, sealedCertificate, sealedRoot, sealedIssued, assertSignedBy, hostOf, nowSeconds, YEAR_MS, type StoredCertificate, type SealedPair } from './pki.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The route takes an OIDC identity token as `Authorization: Bearer` (Fulcio's signingCert). The header is moved
     * aside before the Signet API-token hook runs, so that hook neither rejects nor misreads it.
     */
    oidcBearer?: boolean;
  }
}

const oidcBearers = new WeakMap<object, string>();

/**
 * Must be installed on the root instance before installAuth: for routes marked `config.oidcBearer`, a Bearer
 * header is an OIDC identity token, not a Signet API token. It is taken off the request (read back with
 * oidcBearerToken) so the API-token hook sees no Authorization header at all.
 */
export function installOidcBearerPassthrough(app: FastifyInstance): void {
  app.addHook('onRequest', (req, _reply, done) => {
    const h = req.raw.headers.authorization;
    if (h !== undefined && req.routeOptions.config?.oidcBearer) {
      delete req.raw.headers.authorization;
      const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
      if (m) oidcBearers.set(req.raw, m[1] as string);
    }
    done();
  });
}

/** The OIDC token a client sent as `Authorization: Bearer` on an oidcBearer route. */
export function oidcBearerToken(req: FastifyRequest): string | undefined {
  return oidcBearers.get(req.raw);
}

const chainSchema = { type: 'object', properties: { certificates: { type: 'array', items: { type: 'string' } } } } as const;

const signingCertBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    credentials: {
      type: 'object',
      additionalProperties: false,
      properties: { oidcIdentityToken: { type: 'string', maxLength: 16_384 } },
    },
    publicKeyRequest: {
      type: 'object',
      additionalProperties: false,
      required: ['publicKey', 'proofOfPossession'],
      properties: {
        publicKey: {
          type: 'object',
          additionalProperties: false,
          required: ['content'],
          properties: { algorithm: { type: 'string', maxLength: 64 }, content: { type: 'string', maxLength: 16_384 } },
        },
        proofOfPossession: { type: 'string', maxLength: 4_096 },
      },
    },
    certificateSigningRequest: { type: 'string', maxLength: 65_536 },
  },
} as const;

/**
 * Fulcio v2 API: POST /api/v2/signingCert (public: the OIDC token is the credential), GET /api/v2/trustBundle and
 * GET /api/v2/configuration. `issuers` are the OIDC issuers whose tokens the CA accepts (as the configuration lists them).
 */
export const caRoutes: FastifyPluginAsync<{ ca: CertificateAuthority; tokens: TokenVerifier; issuers: () => IssuerConfig[] }> = async (app, { ca, tokens, issuers }) => {
  app.addHook('onClose', () => ca.close());
  const responseHead = '{"signedCertificateEmbeddedSct":{"chain":{"certificates":[';
  const responseTail = `${ca
    .chain()
    .map((p) => `,${JSON.stringify(p)}`)
    .join('')}]}}}`;
  app.post(
    '/api/v2/signingCert',
    {
      bodyLimit: 128 * 1024,
      // No per-request access log lines at info level on this hot route (two lines a request cost ~0.2 ms of event
      // loop each at 1,000 req/s); warnings and 5xx errors are still logged and /metrics counts every request.
      logLevel: 'warn',
      config: {
        summary: 'Issue a 10-minute code-signing certificate for an OIDC identity (Fulcio v2), with an embedded SCT',
        oidcBearer: true,
      },
      schema: {
        body: signingCertBody,
        response: {
          200: {
            type: 'object',
            properties: { signedCertificateEmbeddedSct: { type: 'object', properties: { chain: chainSchema } } },
          },
        },
      },
    },
    async (req, reply) => {
      const [leaf] = await ca.signingCertificate((req.body ?? {}) as SigningCertRequest, oidcBearerToken(req), tokens);
      // The JSON is assembled from text made once for the unchanging chain (the response schema above documents it).
      return reply.type('application/json; charset=utf-8').send(`${responseHead}${JSON.stringify(leaf)}${responseTail}`);
    },
  );

  app.get(
    '/api/v2/trustBundle',
    {
      config: { summary: "The CA's certificate chains (intermediate, then root), PEM (Fulcio v2)" },
      schema: { response: { 200: { type: 'object', properties: { chains: { type: 'array', items: chainSchema } } } } },
    },
    async () => ({ chains: [{ certificates: ca.chain() }] }),
  );

  app.get(
    '/api/v2/configuration',
    {
      config: { summary: 'The OIDC issuers the CA accepts (Fulcio v2)' },
      schema: {
        response: {
          200: {
            type: 'object',
            properties: {
              issuers: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    issuerUrl: { type: 'string' },
                    audience: { type: 'string' },
                    challengeClaim: { type: 'string' },
                    issuerType: { type: 'string' },
                    subjectDomain: { type: 'string' },
                  },
                },
              },
            },
          },
        },
      },
    },
    async () => ({
      issuers: issuers().map((i) => ({
        issuerUrl: i.url,
        audience: i.audience,
        challengeClaim: i.type === 'email' ? 'email' : 'sub',
        issuerType: i.type,
        ...(i.type === 'username' ? { subjectDomain: new URL(i.url).host } : {}),
      })),
    }),
  );
};
