/**
 * HTTP for generic file repositories:
 * - PUT/GET/HEAD/DELETE /files/<repo>/<path> — bodies streamed both ways (RFC 9110: ETag, Content-Length, Range on
 *   GET with 206/416; RFC 3230 `Digest: sha-256=<base64>` and `X-Checksum-Sha256: <hex>` on answers, and checked when
 *   a PUT declares them);
 * - GET /files/<repo>/ and /files/<repo>/<dir>/ (trailing slash) list files under that prefix;
 * - GET /api/v1/artifacts/generic/<repo>/<path>: the file's digest, size and the signatures that speak for it, with
 *   their status (the generic counterpart of /api/v1/artifacts/oci/…).
 * Readers (any role within the token's globs) read, public repositories anonymously; publishers, signers and admins
 * write. Uploads and deletions are audit events, as are refused writes by a known token.
 * Signing policies reach files through GenericFiles.gate (FileGate, installed by the policy domain): a PUT may be
 * refused before the path is recorded, or answered with Warning: 299 headers; a GET/HEAD by a consumer (no write
 * access to the repository) may be refused while the file does not satisfy its policies. Signature files and
 * SHA256SUMS lists are exempt; listings still list every file.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { HttpError } from '../http/errors.js';
import { IdentityError, type Principal } from '../identity/index.js';
import type { AuditLog } from '../audit/index.js';
import { principalAllows } from './access.js';
import { exemptFromPolicy, splitFilesPath, type FileRow, type GenericFiles } from './generic.js';
import { mayRead, readDenied } from './repositories.js';
import { RepositoryError } from './repository-errors.js';
import { parseRange, sendBlobFile } from './routes.js';
import type { Registry } from './service.js';

export interface GenericRouteOptions {
  files: GenericFiles;
  registry: Registry;
  audit: AuditLog;
}

const CLIENT_GONE = new Set(['ECONNRESET', 'ERR_STREAM_PREMATURE_CLOSE', 'ECONNABORTED', 'EPIPE', 'ABORT_ERR']);
const LIST_PAGE = 1000;

/** `X-Checksum-Sha256: <hex>`, `Digest: sha-256=<base64>` (RFC 3230) or `Content-Digest: sha-256=:<base64>:` (RFC 9530). */
function declaredSha256(req: FastifyRequest): string | undefined {
  const found: string[] = [];
  const x = req.headers['x-checksum-sha256'];
  if (typeof x === 'string') {
    if (!/^[0-9a-fA-F]{64}$/.test(x.trim())) throw new HttpError('BAD_REQUEST', 'X-Checksum-Sha256 must be 64 hex digits');
    found.push(x.trim().toLowerCase());
  }
  for (const [name, re] of [
    ['digest', /(?:^|,)\s*sha-256=([A-Za-z0-9+/=]+)\s*(?:,|$)/i],
    ['content-digest', /(?:^|,)\s*sha-256=:([A-Za-z0-9+/=]+):\s*(?:,|$)/i],
  ] as const) {
    const h = req.headers[name];
    if (typeof h !== 'string') continue;
    const m = re.exec(h);
    if (!m) continue; // other algorithms are not checked (RFC 3230 §4.3.2: a recipient may ignore them)
    const bytes = Buffer.from(m[1] as string, 'base64');
    if (bytes.length !== 32) throw new HttpError('BAD_REQUEST', `the ${name} header's sha-256 value is not base64 of 32 bytes`);
    found.push(bytes.toString('hex'));
  }
  if (new Set(found).size > 1) throw new RepositoryError('CHECKSUM_MISMATCH', 'the request declares different sha256 digests in its headers');
  return found[0];
}

function contentTypeOf(req: FastifyRequest): string {
  const ct = req.headers['content-type'];
  return typeof ct === 'string' && ct.length <= 255 && /^[\x20-\x7e]+$/.test(ct) ? ct : 'application/octet-stream';
}

function fileHeaders(reply: FastifyReply, f: FileRow): void {
  const hex = f.digest.slice('sha256:'.length);
  void reply
    .header('ETag', `"${f.digest}"`)
    .header('Digest', `sha-256=${Buffer.from(hex, 'hex').toString('base64')}`)
    .header('X-Checksum-Sha256', hex)
    .header('Accept-Ranges', 'bytes')
    .header('Last-Modified', new Date(f.updated_at).toUTCString())
    .type(f.content_type);
}

/**
 * RFC 9111 §5.5 warn-code 299 ("miscellaneous persistent warning"), one header value per warning; quotes and
 * backslashes become "'" and anything outside printable ASCII "?" (header values are ASCII).
 */
function warn(reply: FastifyReply, warnings: string[]): void {
  if (warnings.length) void reply.header('Warning', warnings.map((w) => `299 - "${w.replace(/["\\]/g, "'").replace(/[^\x20-\x7e]/g, '?').slice(0, 4000)}"`));
}

function notModified(req: FastifyRequest, etag: string): boolean {
  const inm = req.headers['if-none-match'];
  return typeof inm === 'string' && inm.split(',').some((t) => t.trim().replace(/^W\//, '') === etag || t.trim() === '*');
}

export const genericRoutes: FastifyPluginAsync<GenericRouteOptions> = async (app, opts) => {
  await app.register(filesRoutes, opts);

  app.get(
    '/api/v1/artifacts/generic/*',
    {
      config: { summary: 'A generic file\'s digest and size, and the detached signatures (and signed SHA256SUMS) that speak for it, with their status' },
      schema: { params: { type: 'object', properties: { '*': { type: 'string', maxLength: 4096 } } } },
    },
    async (req) => {
      const raw = (req.url.split('?')[0] as string).slice('/api/v1/artifacts/generic/'.length);
      const { files, registry } = opts;
      const { repo, path, visibility } = await files.resolve(splitFilesPath(raw));
      if (!mayRead(req.principal, repo, registry.anonymousPull || visibility === 'public')) throw readDenied(req.principal, repo);
      const f = await files.stat(repo, path);
      if (!f) throw new RepositoryError('FILE_NOT_FOUND', `${repo} has no file "${path}"`);
      const s = await files.signatures(f);
      return {
        repository: repo,
        path,
        digest: f.digest,
        size: f.size,
        content_type: f.content_type,
        updated_at: f.updated_at,
        summary: { signed: s.signed, valid_signatures: s.signatures.filter((x) => x.status === 'valid').length },
        signatures: s.signatures,
      };
    },
  );
};

const filesRoutes: FastifyPluginAsync<GenericRouteOptions> = async (app, { files, registry, audit }) => {
  // Bodies are streamed to the blob store as they arrive; the global body limit does not apply.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));

  const writer = async (req: FastifyRequest, repo: string, action: string, target: string): Promise<Principal> => {
    const p = req.principal;
    if (!p) throw new IdentityError('UNAUTHENTICATED', `writing to repository "${repo}" needs a token (Authorization: Bearer <token>)`, { headers: { 'WWW-Authenticate': 'Bearer' } });
    if (!principalAllows(p, repo, 'push')) {
      const msg = `token "${p.name}" (role ${p.role}${p.repositories ? `, repositories ${p.repositories.join(', ')}` : ''}) may not write to repository "${repo}": publisher, signer or admin within its repositories is needed`;
      await audit.record({ actor: p, action, target, outcome: 'denied', details: { reason: msg } });
      throw new IdentityError('FORBIDDEN', msg);
    }
    return p;
  };

  app.route({
    method: ['GET', 'HEAD', 'PUT', 'DELETE'],
    url: '/files/*',
    exposeHeadRoute: false,
    config: { summary: 'Generic files: PUT (streamed; X-Checksum-Sha256 or Digest checked), GET/HEAD (Range), DELETE; GET on a path ending in "/" lists' },
    handler: async (req, reply) => {
      const raw = (req.url.split('?')[0] as string).slice('/files/'.length);
      if (raw === '' || raw === '/') throw new RepositoryError('FILE_PATH_INVALID', 'give the file as /files/<repository>/<path>');
      const listing = raw.endsWith('/');
      if (listing) {
        if (req.method !== 'GET') throw new HttpError('METHOD_NOT_ALLOWED', `${req.method} is not allowed on a directory listing (a path ending in "/")`);
        const segments = splitFilesPath(raw, true);
        const { repo, path, visibility } = await files.resolve(segments, true);
        if (!mayRead(req.principal, repo, registry.anonymousPull || visibility === 'public')) throw readDenied(req.principal, repo);
        const q = req.query as Record<string, string | undefined>;
        const after = typeof q['last'] === 'string' ? q['last'] : undefined;
        return files.list(repo, { prefix: path ? `${path}/` : '', ...(after !== undefined ? { after } : {}), limit: LIST_PAGE });
      }
      const { repo, path, visibility } = await files.resolve(splitFilesPath(raw));
      const target = `file:${repo}/${path}`;
      switch (req.method) {
        case 'PUT': {
          const p = await writer(req, repo, 'generic.upload', target);
          const declared = declaredSha256(req);
          let r;
          try {
            r = await files.put(repo, path, req.raw, { ...(declared ? { declaredSha256: declared } : {}), contentType: contentTypeOf(req), actor: p.tokenId, principal: p });
          } catch (e) {
            const code = (e as NodeJS.ErrnoException).code;
            if (code && CLIENT_GONE.has(code)) throw new HttpError('BAD_REQUEST', 'the request body ended before it was complete; nothing was stored', { headers: { Connection: 'close' } });
            throw e;
          }
          await audit.record({
            actor: p,
            action: 'generic.upload',
            target,
            outcome: 'allowed',
            details: { digest: r.file.digest, size: r.file.size, replaced: !r.created, signatures: r.signatures.map((s) => ({ signature: s.signature_path, kind: s.kind, status: s.status, key_id: s.signer.key_id ?? null })) },
          });
          fileHeaders(reply, r.file);
          warn(reply, r.warnings);
          return reply
            .status(r.created ? 201 : 200)
            .header('Location', `/files/${repo}/${path.split('/').map(encodeURIComponent).join('/')}`)
            .type('application/json')
            .send({ repository: repo, path, digest: r.file.digest, size: r.file.size, created: r.created, signatures: r.signatures });
        }
        case 'DELETE': {
          const p = await writer(req, repo, 'generic.delete', target);
          const f = await files.stat(repo, path);
          if (!f || !(await files.delete(repo, path))) throw new RepositoryError('FILE_NOT_FOUND', `${repo} has no file "${path}"`);
          await audit.record({ actor: p, action: 'generic.delete', target, outcome: 'allowed', details: { digest: f.digest, size: f.size } });
          return reply.status(204).send();
        }
        default: {
          if (!mayRead(req.principal, repo, registry.anonymousPull || visibility === 'public')) throw readDenied(req.principal, repo);
          const f = await files.stat(repo, path);
          if (!f) throw new RepositoryError('FILE_NOT_FOUND', `${repo} has no file "${path}"`);
          // Consumers never get a file its policies hold back; whoever may write here (publishers, signers, admins)
          // reads what they must sign. Signature files and checksum lists are exempt.
          if (files.gate && !exemptFromPolicy(path) && !(req.principal && principalAllows(req.principal, repo, 'push'))) {
            warn(reply, (await files.gate.beforeServe({ file: f, principal: req.principal })).warnings);
          }
          fileHeaders(reply, f);
          if (notModified(req, `"${f.digest}"`)) return reply.status(304).send();
          const range = parseRange(typeof req.headers.range === 'string' ? req.headers.range : undefined, f.size);
          if (range === 'unsatisfiable') {
            throw new RepositoryError('RANGE_NOT_SATISFIABLE', `the range ${String(req.headers.range).slice(0, 60)} starts beyond the file's ${f.size} bytes`, { headers: { 'Content-Range': `bytes */${f.size}` } });
          }
          if (range) void reply.status(206).header('Content-Range', `bytes ${range.start}-${range.end}/${f.size}`);
          void reply.header('Content-Length', String(range ? range.end - range.start + 1 : f.size));
          if (req.method === 'HEAD') return reply.send();
          return sendBlobFile(reply, await files.openForServing(f), range ? range.start : 0, range ? range.end : f.size - 1);
        }
      }
    },
  });
};
