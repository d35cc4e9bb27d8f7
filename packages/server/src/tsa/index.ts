import type { FastifyPluginAsync } from 'fastify';
import type { TimestampAuthority } from './authority.js';
export { PreparedTsaSigner, type TokenRequest } from './token.js';

export { TimestampAuthority, type TsaTrustMaterial } from './authority.js';
export { TSA_POLICY_OID, parseJsonTimestampRequest, parseDerTimestampRequest, type TimestampAnswer } from './answer.js';

const MAX_REQUEST_BYTES = 16 * 1024;

/**
 * RFC 3161 timestamping as Sigstore's TSA serves it: POST /api/v1/timestamp takes the JSON form sigstore-js sends or
 * a DER application/timestamp-query, and always answers application/timestamp-reply (a rejection TimeStampResp
 * with its PKIFailureInfo and HTTP 400 for a bad request). GET /api/v1/timestamp/certchain gives the PEM chain.
 */
export const tsaRoutes: FastifyPluginAsync<{ tsa: TimestampAuthority }> = async (app, { tsa }) => {
  // Request bodies are read as bytes here, so even invalid JSON gets an RFC 3161 rejection, not a JSON error.
  app.addHook('onClose', () => tsa.close());
  await app.register(async (ts) => {
    ts.removeAllContentTypeParsers();
    ts.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    ts.addContentTypeParser('application/timestamp-query', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    ts.post(
      '/api/v1/timestamp',
      {
        bodyLimit: MAX_REQUEST_BYTES,
        // As for signingCert: no per-request access log lines at info level on this hot route (/metrics counts them).
        logLevel: 'warn',
        config: {
          summary:
            'Time-stamp a digest (RFC 3161): JSON {artifactHash, hashAlgorithm, nonce?, certificates?} or a DER TimeStampReq; answers a DER TimeStampResp',
        },
      },
      async (req, reply) => {
        const kind = (req.headers['content-type'] ?? '').toLowerCase().startsWith('application/timestamp-query') ? 'der' : 'json';
        const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        const a = await tsa.answer(kind, body);
        if (a.reason) req.log.info({ reason: a.reason }, 'timestamp request rejected');
        return reply.status(a.status).type('application/timestamp-reply').send(Buffer.from(a.body.buffer, a.body.byteOffset, a.body.byteLength));
      },
    );
  });

  app.get('/api/v1/timestamp/certchain', { config: { summary: "The TSA's certificate chain, PEM, leaf first" } }, async (_req, reply) =>
    reply.type('application/pem-certificate-chain').send(tsa.certChainPem()),
  );
};
