import { createHash } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { HttpError } from '../http/errors.js';
import type { OpenDb } from '../storage/db.js';
import type { TrustService } from './service.js';

export {
  TrustService,
  TRUST_TUF_EXPIRIES,
  TRUSTED_ROOT_TARGET,
  SIGNING_CONFIG_TARGET,
  tufKeySecret,
  type TrustServiceOptions,
  type TufVersions,
} from './service.js';
export {
  trustedRoot,
  signingConfig,
  documentJson,
  keyDetails,
  TRUSTED_ROOT_MEDIA_TYPE,
  SIGNING_CONFIG_MEDIA_TYPE,
  type TrustSources,
  type TrustedRootJson,
  type SigningConfigJson,
} from './documents.js';

/**
 * When a secret (a key) was first stored: a safe validFor.start for the key, since it cannot have been
 * used before it existed. Undefined if there is no such secret.
 */
export async function secretCreatedAt(database: OpenDb, name: string): Promise<Date | undefined> {
  const r = await database.db.selectFrom('secrets').select('created_at').where('name', '=', name).executeTakeFirst();
  return r ? new Date(r.created_at) : undefined;
}

/** The names tuf-js asks for with consistent snapshots (metadata, then hash-prefixed targets). */
const TUF_PATH = /^(?:root\.json|timestamp\.json|[1-9]\d{0,9}\.(?:root|snapshot|targets)\.json|targets\/[0-9a-f]{64}\.[A-Za-z0-9][A-Za-z0-9._-]{0,200})$/;
const IMMUTABLE = 'public, max-age=31536000, immutable';

function sendDocument(req: FastifyRequest, reply: FastifyReply, text: string): FastifyReply {
  const etag = `"${createHash('sha256').update(text).digest('hex').slice(0, 32)}"`;
  void reply.header('Cache-Control', 'no-cache').header('ETag', etag);
  const inm = req.headers['if-none-match'];
  if (typeof inm === 'string' && inm.split(',').some((t) => t.trim() === etag)) return reply.status(304).send();
  return reply.type('application/json').send(Buffer.from(text, 'utf8'));
}

/**
 * Public trust distribution (no authentication): the trusted root and signing config, and the TUF
 * repository under /tuf/ (sigstore-js: tufMirrorURL = <baseUrl>/tuf, tufRootPath = a copy of
 * /tuf/1.root.json). Closing the app stops the service's timer.
 */
export const trustRoutes: FastifyPluginAsync<{ trust: TrustService }> = async (app, { trust }) => {
  app.addHook('onClose', () => trust.close());

  app.get('/api/v1/trusted_root.json', { config: { summary: 'The Sigstore trusted root (tlog, CA, CT log, TSA) of this server' } }, async (req, reply) =>
    sendDocument(req, reply, trust.trustedRootJson()),
  );
  app.get('/api/v1/signing_config.v0.2.json', { config: { summary: 'The Sigstore signing config (CA, tlog and TSA URLs) of this server' } }, async (req, reply) =>
    sendDocument(req, reply, trust.signingConfigJson()),
  );

  app.get('/tuf/*', { config: { summary: 'TUF repository (consistent snapshots) serving trusted_root.json and signing_config.v0.2.json' } }, async (req, reply) => {
    const path = (req.params as { '*': string })['*'];
    const body = TUF_PATH.test(path) ? await trust.tufFile(path) : undefined;
    if (!body) throw new HttpError('NOT_FOUND', `no TUF file ${JSON.stringify(path)}`);
    return reply
      .type(path.endsWith('.json') ? 'application/json' : 'application/octet-stream')
      .header('Cache-Control', path === 'root.json' || path === 'timestamp.json' ? 'no-cache' : IMMUTABLE)
      .send(Buffer.from(body));
  });
};
