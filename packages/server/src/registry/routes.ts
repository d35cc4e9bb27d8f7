import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { ServerError } from '../errors.js';
import { requireRole } from '../http/auth.js';
import { principalAllows, tokenAllows, parseScope, type AccessEntry, type Action, type Caller } from './access.js';
import type { BlobFile, BlobRange } from './blobs.js';
import { RegistryError, ociErrorBody } from './errors.js';
import { MANIFEST_MEDIA_TYPES, OCI_INDEX, checkName, isValidName, parseDigest, parseReference, type Digest } from './oci.js';
import { ATTACHMENT_TAG, MAX_MANIFEST_BYTES, etagOf, uploadHeaders, type Registry, type UploadRef } from './service.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who a /v2/ request is (set by the registry's onRequest hook). */
    registryCaller: Caller;
  }
}

/** Page size cap for tags, catalog and referrers. */
const MAX_PAGE = 1000;
const JWT_SHAPE = /^[\w-]+\.[\w-]+\.[\w-]+$/;

export interface RegistryRouteOptions {
  registry: Registry;
}

/**
 * The OCI registry: GET/POST /api/v1/registry/gc (admin) and OCI Distribution v1.1 under /v2/ in its own
 * encapsulated context (no body parsing, OCI error bodies, token auth).
 */
export const registryRoutes: FastifyPluginAsync<RegistryRouteOptions> = async (app, { registry }) => {
  app.addHook('onClose', async () => registry.close());
  app.post(
    '/api/v1/registry/gc',
    {
      config: { summary: 'Garbage-collect unreferenced registry blobs now (admin)' },
      schema: {
        response: {
          200: { type: 'object', properties: { removed_blobs: { type: 'integer' }, freed_bytes: { type: 'integer' }, removed_uploads: { type: 'integer' } } },
        },
      },
    },
    async (req) => {
      requireRole(req, ['admin']);
      const r = await registry.gc();
      req.log.info(r, 'registry garbage collection');
      return r;
    },
  );
  await app.register(v2Routes, { prefix: '/v2', registry });
};

const v2Routes: FastifyPluginAsync<RegistryRouteOptions> = async (app, { registry }) => {
  // distribution-spec: blobs are streamed to disk as they arrive, never buffered or parsed here, and the
  // global body limit does not apply (manifests are read with their own cap).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));
  app.decorateRequest('registryCaller', null as never);
  app.setErrorHandler((err, req, reply) => sendError(registry, err, req, reply));
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send(ociErrorBody('UNSUPPORTED', `no registry endpoint ${req.method} ${req.url.split('?')[0]}`));
  });
  app.addHook('onRequest', async (req, reply) => {
    void reply.header('Docker-Distribution-API-Version', 'registry/2.0');
    req.registryCaller = identify(registry, req);
  });

  app.get('/', { config: { summary: 'OCI distribution API version check' } }, async (req, reply) => {
    if (req.registryCaller.kind === 'anonymous') throw unauthorized(registry, 'authentication required');
    return reply.type('application/json').send('{}');
  });

  app.get('/token', { config: { summary: 'Registry token (Basic or Bearer API token, or anonymous for pull): docker token protocol' } }, async (req, reply) =>
    reply.header('Cache-Control', 'no-store').send(await issueToken(registry, req)),
  );

  app.get('/_catalog', { config: { summary: 'Repository list (distribution extension): n, last, Link' } }, async (req, reply) => catalog(registry, req, reply));

  app.route({
    method: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    url: '/*',
    exposeHeadRoute: false,
    config: { summary: 'OCI distribution v1.1: blobs, uploads, manifests, tags/list, referrers under /v2/<name>/' },
    handler: async (req, reply) => dispatch(registry, req, reply),
  });
};

// ---- who is calling

function identify(registry: Registry, req: FastifyRequest): Caller {
  if (req.principal) return { kind: 'principal', principal: req.principal };
  const h = req.headers.authorization;
  if (h) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
    if (m && JWT_SHAPE.test(m[1] as string)) {
      const t = registry.tokens?.verify(m[1] as string);
      if (!t) throw unauthorized(registry, 'the registry token is invalid or expired', undefined, 'invalid_token');
      return { kind: 'token', subject: t.subject, access: t.access };
    }
  }
  return { kind: 'anonymous' };
}

function challenge(registry: Registry, scope?: string, error?: string): string {
  let c = `Bearer realm="${registry.baseUrl}/v2/token",service="${registry.host}"`;
  if (scope) c += `,scope="${scope}"`;
  if (error) c += `,error="${error}"`;
  return c;
}

function unauthorized(registry: Registry, message: string, scope?: string, error?: string): RegistryError {
  return new RegistryError('UNAUTHORIZED', message, { headers: { 'WWW-Authenticate': challenge(registry, scope, error) } });
}

/** Whoever may push to `repo` (publishers, signers, admins) reads unreleased content there. */
async function readsUnreleased(registry: Registry, c: Caller, repo: string): Promise<boolean> {
  if (c.kind === 'token' && c.access.some((a) => a.type === 'repository' && a.name === repo && a.actions.includes('unreleased'))) return true;
  return allowed(registry, c, repo, 'push');
}

function callerName(c: Caller): string {
  return c.kind === 'principal' ? `${c.principal.tokenId} (${c.principal.name})` : c.kind === 'token' ? c.subject : 'anonymous';
}

function scopeFor(repo: string, action: Action): string {
  return `repository:${repo}:${action === 'pull' ? 'pull' : action === 'delete' ? 'delete' : 'pull,push'}`;
}

/** Whether the caller may do `action` on `repo`, without throwing. */
async function allowed(registry: Registry, caller: Caller, repo: string, action: Action): Promise<boolean> {
  switch (caller.kind) {
    case 'principal':
      return principalAllows(caller.principal, repo, action);
    case 'token':
      return tokenAllows(caller.access, repo, action);
    case 'anonymous':
      return action === 'pull' && (registry.anonymousPull || (await registry.store.repository(repo))?.visibility === 'public');
  }
}

/** Pull needs any role on a matching repository; push and delete need publisher, signer or admin. */
async function authorize(registry: Registry, req: FastifyRequest, repo: string, action: Action): Promise<void> {
  const caller = req.registryCaller;
  if (await allowed(registry, caller, repo, action)) return;
  const detail = [{ Type: 'repository', Name: repo, Action: action }];
  if (caller.kind === 'anonymous' || (caller.kind === 'token' && caller.subject === 'anonymous')) {
    throw new RegistryError('UNAUTHORIZED', `authentication required to ${action} ${repo}`, {
      detail,
      headers: { 'WWW-Authenticate': challenge(registry, scopeFor(repo, action)) },
    });
  }
  const who = caller.kind === 'principal' ? `token "${caller.principal.name}" (role ${caller.principal.role}${caller.principal.repositories ? `, repositories ${caller.principal.repositories.join(', ')}` : ''})` : 'this registry token';
  throw new RegistryError('DENIED', `${who} may not ${action} ${repo}`, { detail });
}

// ---- generic file repositories

/**
 * A repository created with kind "generic" (repositories API) holds files under /files/<name>/<path>, not images.
 * Writes to it over /v2/ (blob upload POST incl. mount and monolithic upload, manifest PUT, DELETE) are refused with
 * DENIED 403 (distribution-spec §Error Codes: "requested access to the resource is denied"): the name is valid OCI
 * grammar (NAME_INVALID 400 would wrongly say it is malformed) and the repository exists, but this operation is not
 * allowed on it. Checked after authorization, so callers without push rights learn nothing about the repository.
 * One indexed query, on the write paths only.
 */
async function refuseGeneric(registry: Registry, repo: string): Promise<void> {
  if ((await registry.store.repository(repo))?.kind !== 'generic') return;
  throw new RegistryError('DENIED', `repository "${repo}" is a generic file repository: upload files to /files/${repo}/<path>`, { detail: { name: repo, kind: 'generic' } });
}

/**
 * Reads of a generic repository over /v2/ answer as for a repository the registry does not know: tags/list and a
 * manifest miss give NAME_UNKNOWN 404; its blobs are not served (Registry.blobSize: BLOB_UNKNOWN 404, the same one
 * query as before); referrers are an empty list (the referrers API never answers 404).
 */
function unknownName(repo: string): RegistryError {
  return new RegistryError('NAME_UNKNOWN', `repository ${repo} is not known`, { detail: { name: repo } });
}

// ---- errors

const CLIENT_GONE = new Set(['ECONNRESET', 'ERR_STREAM_PREMATURE_CLOSE', 'ECONNABORTED', 'EPIPE', 'ERR_STREAM_DESTROYED', 'ABORT_ERR']);

function sendError(registry: Registry, err: unknown, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (err instanceof RegistryError) {
    for (const [k, v] of Object.entries(err.headers)) void reply.header(k, v);
    return reply.status(err.status).send(ociErrorBody(err.code, err.message, err.detail));
  }
  if (err instanceof ServerError) {
    // From the shared auth hook: an unknown API token, or a role check.
    if (err.code === 'UNAUTHENTICATED') {
      return reply
        .status(401)
        .header('WWW-Authenticate', challenge(registry, undefined, 'invalid_token'))
        .send(ociErrorBody('UNAUTHORIZED', err.message));
    }
    if (err.code === 'FORBIDDEN') return reply.status(403).send(ociErrorBody('DENIED', err.message));
  }
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code && CLIENT_GONE.has(code)) {
    return reply.status(400).header('Connection', 'close').send(ociErrorBody('BLOB_UPLOAD_INVALID', 'the request body ended before it was complete'));
  }
  const fe = err as FastifyError;
  if (typeof fe?.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    const c = fe.statusCode === 413 ? 'SIZE_INVALID' : fe.statusCode === 401 ? 'UNAUTHORIZED' : fe.statusCode === 403 ? 'DENIED' : 'UNSUPPORTED';
    return reply.status(fe.statusCode).send(ociErrorBody(c, fe.message));
  }
  req.log.error({ err }, 'registry request failed');
  return reply.status(500).send(ociErrorBody('UNKNOWN', 'internal error'));
}

// ---- routing

type Query = Record<string, string | string[] | undefined>;

function one(q: Query, name: string): string | undefined {
  const v = q[name];
  return Array.isArray(v) ? v[0] : v;
}

function all(q: Query, name: string): string[] {
  const v = q[name];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

const ROUTES: { re: RegExp; kind: 'uploads' | 'upload' | 'blob' | 'manifest' | 'tags' | 'referrers' }[] = [
  { re: /^\/v2\/(.+)\/blobs\/uploads\/?$/, kind: 'uploads' },
  { re: /^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/, kind: 'upload' },
  { re: /^\/v2\/(.+)\/blobs\/([^/]+)$/, kind: 'blob' },
  { re: /^\/v2\/(.+)\/manifests\/([^/]+)$/, kind: 'manifest' },
  { re: /^\/v2\/(.+)\/tags\/list$/, kind: 'tags' },
  { re: /^\/v2\/(.+)\/referrers\/([^/]+)$/, kind: 'referrers' },
];

const METHODS: Record<(typeof ROUTES)[number]['kind'], string[]> = {
  uploads: ['POST'],
  upload: ['GET', 'PATCH', 'PUT', 'DELETE'],
  blob: ['GET', 'HEAD', 'DELETE'],
  manifest: ['GET', 'HEAD', 'PUT', 'DELETE'],
  tags: ['GET'],
  referrers: ['GET'],
};

async function dispatch(registry: Registry, req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const path = req.url.split('?')[0] as string;
  for (const r of ROUTES) {
    const m = r.re.exec(path);
    if (!m) continue;
    const name = m[1] as string;
    const arg = m[2] ?? '';
    if (!METHODS[r.kind].includes(req.method)) {
      throw new RegistryError('UNSUPPORTED', `${req.method} is not supported on ${path}`, { status: 405, headers: { Allow: METHODS[r.kind].join(', ') } });
    }
    checkName(name, registry.host);
    const q = req.query as Query;
    switch (r.kind) {
      case 'uploads':
        return postUpload(registry, req, reply, name, q);
      case 'upload':
        return uploadSession(registry, req, reply, name, arg, q);
      case 'blob':
        return blob(registry, req, reply, name, arg);
      case 'manifest':
        return manifest(registry, req, reply, name, arg, q);
      case 'tags':
        return tagsList(registry, req, reply, name, q);
      case 'referrers':
        return referrers(registry, req, reply, name, arg, q);
    }
  }
  throw new RegistryError('NAME_UNKNOWN', `no registry endpoint ${req.method} ${path}`, { status: 404 });
}

function hasBody(req: FastifyRequest): boolean {
  const cl = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (cl !== undefined && cl !== '0');
}

/** Content-Range of a chunk: `<start>-<end>` inclusive (distribution-spec §Pushing a blob in chunks). */
function contentRange(req: FastifyRequest): BlobRange | undefined {
  const h = req.headers['content-range'];
  if (h === undefined) return undefined;
  const m = /^(?:bytes[ =])?(\d{1,15})-(\d{1,15})(?:\/(?:\d{1,15}|\*))?$/.exec(h.trim());
  if (!m) throw new RegistryError('BLOB_UPLOAD_INVALID', `Content-Range ${JSON.stringify(h.slice(0, 100))} is not <start>-<end>`, { status: 416 });
  const range = { start: Number(m[1]), end: Number(m[2]) };
  if (range.end < range.start) throw new RegistryError('BLOB_UPLOAD_INVALID', `Content-Range ${h} ends before it starts`, { status: 416 });
  const cl = req.headers['content-length'];
  if (cl !== undefined && Number(cl) !== range.end - range.start + 1) {
    throw new RegistryError('BLOB_UPLOAD_INVALID', `Content-Range ${h} announces ${range.end - range.start + 1} bytes but Content-Length is ${cl}`, { status: 416 });
  }
  return range;
}

// ---- blob uploads

async function postUpload(registry: Registry, req: FastifyRequest, reply: FastifyReply, repo: string, q: Query): Promise<FastifyReply> {
  await authorize(registry, req, repo, 'push');
  await refuseGeneric(registry, repo);
  const mount = one(q, 'mount');
  if (mount !== undefined) {
    const d = parseDigest(mount, 'mount');
    const from = one(q, 'from');
    let sources: string[] = [];
    if (from !== undefined) {
      if (isValidName(from) && (await allowed(registry, req.registryCaller, from, 'pull'))) sources = [from];
    } else {
      // No `from`: any repository holding the blob that the caller may read.
      for (const r of await registry.store.reposWithBlob(d.value, 50)) {
        if (await allowed(registry, req.registryCaller, r, 'pull')) {
          sources = [r];
          break;
        }
      }
    }
    if (await registry.mount(repo, d, sources)) {
      return reply.status(201).header('Location', `/v2/${repo}/blobs/${d.value}`).header('Docker-Content-Digest', d.value).send();
    }
    // Not mountable: an ordinary upload session instead (distribution-spec §Mounting a blob).
  }
  const digest = one(q, 'digest');
  if (digest !== undefined) {
    const d = parseDigest(digest);
    await registry.pushMonolithic(repo, d, req.raw);
    return reply.status(201).header('Location', `/v2/${repo}/blobs/${d.value}`).header('Docker-Content-Digest', d.value).send();
  }
  const alg = one(q, 'digest-algorithm') ?? 'sha256';
  if (alg !== 'sha256' && alg !== 'sha512') throw new RegistryError('DIGEST_INVALID', `digest-algorithm ${JSON.stringify(alg)} is not supported (sha256, sha512)`);
  const u = await registry.startUpload(repo, alg);
  return reply.status(202).headers(uploadHeaders(u, 0)).send();
}

async function uploadSession(registry: Registry, req: FastifyRequest, reply: FastifyReply, repo: string, id: string, q: Query): Promise<FastifyReply> {
  await authorize(registry, req, repo, 'push');
  const u: UploadRef = { repo, id, state: one(q, '_state') };
  switch (req.method) {
    case 'GET': {
      const offset = await registry.uploadOffset(u);
      return reply.status(204).headers(uploadHeaders(u, offset)).send();
    }
    case 'PATCH': {
      const range = contentRange(req);
      const offset = await registry.appendChunk(u, req.raw, range);
      return reply.status(202).headers(uploadHeaders(u, offset)).send();
    }
    case 'PUT': {
      const digest = one(q, 'digest');
      if (digest === undefined) throw new RegistryError('DIGEST_INVALID', 'closing an upload needs ?digest=<digest> of the whole blob');
      const d = parseDigest(digest);
      const body = hasBody(req);
      const range = body ? contentRange(req) : undefined;
      await registry.finishUpload(u, d, body ? req.raw : undefined, range);
      return reply.status(201).header('Location', `/v2/${repo}/blobs/${d.value}`).header('Docker-Content-Digest', d.value).send();
    }
    default: {
      await registry.cancelUpload(u);
      return reply.status(204).send();
    }
  }
}

// ---- blobs

/**
 * RFC 9110 §14.2 Range: one `bytes=` range; several ranges or other units are ignored (full content). A malformed
 * or invalid single range (last-pos < first-pos) is rejected as unsatisfiable, which §14.2 allows. Blobs and generic
 * files both use it.
 */
export function parseRange(h: string | undefined, size: number): BlobRange | 'unsatisfiable' | undefined {
  if (h === undefined) return undefined;
  const v = h.trim();
  if (!/^bytes=/i.test(v)) return undefined;
  const spec = v.slice(6).trim();
  if (spec.includes(',')) return undefined;
  const m = /^(\d*)-(\d*)$/.exec(spec);
  if (!m || (m[1] === '' && m[2] === '')) return 'unsatisfiable';
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (!Number.isSafeInteger(start) || start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}

async function blob(registry: Registry, req: FastifyRequest, reply: FastifyReply, repo: string, ref: string): Promise<FastifyReply> {
  const d = parseDigest(ref);
  if (req.method === 'DELETE') {
    await authorize(registry, req, repo, 'delete');
    await refuseGeneric(registry, repo);
    if (!(await registry.deleteBlob(repo, d))) throw new RegistryError('BLOB_UNKNOWN', `blob ${d.value} is not in ${repo}`);
    return reply.status(202).send();
  }
  await authorize(registry, req, repo, 'pull');
  const size = await registry.blobSize(repo, d);
  if (size === undefined) throw new RegistryError('BLOB_UNKNOWN', `blob ${d.value} is not in ${repo}`, { detail: { digest: d.value } });
  const etag = etagOf(d.value);
  void reply.header('Docker-Content-Digest', d.value).header('ETag', etag).header('Accept-Ranges', 'bytes').header('Cache-Control', 'max-age=31536000');
  if (notModified(req, etag)) return reply.status(304).send();
  const range = parseRange(req.headers.range, size);
  if (range === 'unsatisfiable') {
    throw new RegistryError('BLOB_UNKNOWN', `Range ${JSON.stringify(req.headers.range)} is not satisfiable for ${size} bytes`, { status: 416, headers: { 'Content-Range': `bytes */${size}` } });
  }
  void reply.type('application/octet-stream');
  if (range) void reply.status(206).header('Content-Range', `bytes ${range.start}-${range.end}/${size}`);
  const length = range ? range.end - range.start + 1 : size;
  void reply.header('Content-Length', String(length));
  if (req.method === 'HEAD') return reply.send();
  const file = await registry.blobs.openForServing(d);
  if (!file) throw new RegistryError('BLOB_UNKNOWN', `blob ${d.value} is not in ${repo}`);
  return sendBlobFile(reply, file, range ? range.start : 0, range ? range.end : size - 1);
}

/**
 * Writes a blob to the raw response with BlobFile.copyTo (pooled buffers; see blobs.ts) instead of handing Fastify
 * a stream. The headers set so far go out as they are; onResponse hooks (metrics, the access log) still run on
 * 'finish'. A failure after the headers can only cut the connection, so the client sees a short body.
 */
export async function sendBlobFile(reply: FastifyReply, file: BlobFile, start: number, end: number): Promise<FastifyReply> {
  reply.hijack();
  const res = reply.raw;
  try {
    res.writeHead(reply.statusCode, reply.getHeaders() as OutgoingHttpHeaders);
    await file.copyTo(res, start, end);
    res.end();
  } catch (e) {
    if (!res.destroyed) reply.log.error({ err: e }, 'serving a blob failed midway');
    res.destroy();
  } finally {
    file.close();
  }
  return reply;
}

function notModified(req: FastifyRequest, etag: string): boolean {
  const inm = req.headers['if-none-match'];
  return typeof inm === 'string' && inm.split(',').some((t) => t.trim().replace(/^W\//, '') === etag || t.trim() === '*');
}

// ---- manifests

/** Reads a body up to `max` bytes; over it, 413 and the connection is closed (the rest is not read). */
function readCapped(raw: IncomingMessage, max: number): Promise<Buffer> {
  const declared = raw.headers['content-length'];
  if (declared !== undefined && Number(declared) > max) return Promise.reject(tooLarge(max));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    let done = false;
    const finish = (e: Error | undefined, v?: Buffer): void => {
      if (done) return;
      done = true;
      raw.off('data', onData);
      raw.off('end', onEnd);
      raw.off('error', onError);
      raw.off('close', onClose);
      if (e) reject(e);
      else resolve(v as Buffer);
    };
    const onData = (c: Buffer): void => {
      n += c.length;
      if (n > max) {
        raw.pause();
        finish(tooLarge(max));
      } else chunks.push(c);
    };
    const onEnd = (): void => finish(undefined, Buffer.concat(chunks, n));
    const onError = (e: Error): void => finish(e);
    const onClose = (): void => finish(Object.assign(new Error('the request body ended early'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
    raw.on('data', onData);
    raw.on('end', onEnd);
    raw.on('error', onError);
    raw.on('close', onClose);
  });
}

function tooLarge(max: number): RegistryError {
  return new RegistryError('SIZE_INVALID', `the manifest is larger than ${max} bytes`, { status: 413, headers: { Connection: 'close' } });
}

/** Accept is honoured when it names manifest types only: none of them matching the stored type is a 404. */
function acceptable(accept: string | undefined, mediaType: string): boolean {
  if (!accept) return true;
  const types = accept.split(',').map((t) => (t.split(';')[0] as string).trim().toLowerCase());
  if (types.includes(mediaType) || types.some((t) => t === '*/*' || t === 'application/*' || t === 'application/json')) return true;
  return !types.every((t) => MANIFEST_MEDIA_TYPES.includes(t));
}

async function manifest(registry: Registry, req: FastifyRequest, reply: FastifyReply, repo: string, ref: string, q: Query): Promise<FastifyReply> {
  switch (req.method) {
    case 'PUT': {
      await authorize(registry, req, repo, 'push');
      parseReference(ref);
      await refuseGeneric(registry, repo);
      const bytes = await readCapped(req.raw, MAX_MANIFEST_BYTES);
      const ifMatch = req.headers['if-match'];
      const ifNoneMatch = req.headers['if-none-match'];
      const r = await registry.putManifest(repo, ref, bytes, req.headers['content-type'], {
        extraTags: all(q, 'tag'),
        actor: callerName(req.registryCaller),
        ...(req.registryCaller.kind === 'principal' ? { principal: req.registryCaller.principal } : {}),
        ...(ifMatch !== undefined ? { ifMatch } : {}),
        ...(ifNoneMatch !== undefined ? { ifNoneMatch } : {}),
      });
      void reply.status(201).header('Location', `/v2/${repo}/manifests/${r.digest}`).header('Docker-Content-Digest', r.digest).header('ETag', etagOf(r.digest));
      if (r.subject) void reply.header('OCI-Subject', r.subject);
      // RFC 9111 §5.5 warn-code 299 (distribution-spec allows Warning headers, each ≤ 4096 bytes).
      if (r.warnings.length) void reply.header('Warning', r.warnings.map((w) => `299 - "${w.replace(/["\\]/g, "'").slice(0, 4000)}"`));
      return reply.send();
    }
    case 'DELETE': {
      await authorize(registry, req, repo, 'delete');
      await refuseGeneric(registry, repo);
      if (!(await registry.deleteManifest(repo, ref))) throw new RegistryError('MANIFEST_UNKNOWN', `manifest ${ref} is not in ${repo}`);
      return reply.status(202).send();
    }
    default: {
      await authorize(registry, req, repo, 'pull');
      const m = await registry.resolve(repo, ref);
      if (!m) {
        // The miss path only: a generic file repository is not an OCI repository at all.
        if ((await registry.store.repository(repo))?.kind === 'generic') throw unknownName(repo);
        throw new RegistryError('MANIFEST_UNKNOWN', `manifest ${ref} is not in ${repo}`, { detail: { name: repo, reference: ref } });
      }
      // Consumers never get an unreleased artifact; whoever may push here (publishers, signers) reads what they sign.
      if (registry.gate && !ATTACHMENT_TAG.test(ref) && !(await readsUnreleased(registry, req.registryCaller, repo))) {
        await registry.gate.beforeServe({ repo, digest: m.digest, reference: ref });
      }
      if (!acceptable(req.headers.accept, m.mediaType)) {
        throw new RegistryError('MANIFEST_UNKNOWN', `manifest ${ref} is a ${m.mediaType}, which the Accept header does not list`);
      }
      const etag = etagOf(m.digest);
      void reply.header('Docker-Content-Digest', m.digest).header('ETag', etag).type(m.mediaType);
      if (notModified(req, etag)) return reply.status(304).send();
      void reply.header('Content-Length', String(m.size));
      if (req.method === 'HEAD') return reply.send();
      const bytes = await registry.manifestBytes(m.digest);
      if (!bytes) throw new RegistryError('MANIFEST_UNKNOWN', `manifest ${ref} is not in ${repo}`);
      return reply.send(bytes);
    }
  }
}

// ---- listings

function pageSize(q: Query): number {
  const n = one(q, 'n');
  if (n === undefined) return MAX_PAGE;
  if (!/^\d{1,9}$/.test(n)) throw new RegistryError('UNSUPPORTED', `n must be a non-negative integer (got ${JSON.stringify(n.slice(0, 50))})`, { status: 400 });
  return Math.min(Number(n), MAX_PAGE);
}

function link(path: string, params: Record<string, string>): string {
  return `<${path}?${new URLSearchParams(params).toString()}>; rel="next"`;
}

async function tagsList(registry: Registry, req: FastifyRequest, reply: FastifyReply, repo: string, q: Query): Promise<FastifyReply> {
  await authorize(registry, req, repo, 'pull');
  const n = pageSize(q);
  const last = one(q, 'last');
  if ((await registry.store.repository(repo))?.kind !== 'oci') throw unknownName(repo);
  if (n === 0) return reply.send({ name: repo, tags: [] });
  const tags = await registry.tags(repo, n + 1, last);
  if (tags.length > n) {
    tags.length = n;
    void reply.header('Link', link(`/v2/${repo}/tags/list`, { n: String(n), last: tags[n - 1] as string }));
  }
  return reply.send({ name: repo, tags });
}

async function catalog(registry: Registry, req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const caller = req.registryCaller;
  // Without anonymous pull the catalog needs credentials; every caller sees only what it may pull.
  if (caller.kind === 'anonymous' && !registry.anonymousPull) throw unauthorized(registry, 'authentication required', 'registry:catalog:*');
  const q = req.query as Query;
  const n = pageSize(q);
  let last = one(q, 'last');
  const out: string[] = [];
  let more = false;
  if (n > 0) {
    for (;;) {
      const batch = await registry.store.repositories(Math.max(n + 1, 100), last);
      for (const r of batch) {
        const ok =
          caller.kind === 'principal'
            ? principalAllows(caller.principal, r.name, 'pull')
            : caller.kind === 'token'
              ? tokenAllows(caller.access, r.name, 'pull')
              : true;
        if (!ok) continue;
        if (out.length === n) {
          more = true;
          break;
        }
        out.push(r.name);
      }
      if (more || batch.length < Math.max(n + 1, 100)) break;
      last = batch[batch.length - 1]?.name;
    }
  }
  if (more) void reply.header('Link', link('/v2/_catalog', { n: String(n), last: out[out.length - 1] as string }));
  return reply.send({ repositories: out });
}

async function referrers(registry: Registry, req: FastifyRequest, reply: FastifyReply, repo: string, ref: string, q: Query): Promise<FastifyReply> {
  const subject: Digest = parseDigest(ref);
  await authorize(registry, req, repo, 'pull');
  const artifactType = one(q, 'artifactType');
  const n = pageSize(q);
  const last = one(q, 'last');
  if (last !== undefined) parseDigest(last, 'last');
  const rows = n === 0 ? [] : await registry.referrers(repo, subject.value, n + 1, last, artifactType);
  if (rows.length > n) {
    rows.length = n;
    void reply.header('Link', link(`/v2/${repo}/referrers/${subject.value}`, { n: String(n), last: rows[n - 1]?.digest as string, ...(artifactType !== undefined ? { artifactType } : {}) }));
  }
  if (artifactType !== undefined) void reply.header('OCI-Filters-Applied', 'artifactType');
  const manifests = rows.map((r) => ({
    mediaType: r.mediaType,
    digest: r.digest,
    size: r.size,
    ...(r.artifactType !== null ? { artifactType: r.artifactType } : {}),
    ...(r.annotations !== null ? { annotations: JSON.parse(r.annotations) as Record<string, string> } : {}),
  }));
  return reply.type(OCI_INDEX).send(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }), 'utf8'));
}

// ---- token endpoint (docker/distribution token authentication)

async function issueToken(registry: Registry, req: FastifyRequest): Promise<{ token: string; access_token: string; expires_in: number; issued_at: string }> {
  if (!registry.tokens) throw new RegistryError('UNSUPPORTED', 'the token endpoint is not enabled', { status: 404 });
  const caller = req.registryCaller;
  if (caller.kind === 'token') throw unauthorized(registry, 'a registry token cannot be exchanged for another: authenticate with an API token');
  const q = req.query as Query;
  const scopes = all(q, 'scope').flatMap((s) => s.split(' ').filter((x) => x !== ''));
  const access: AccessEntry[] = [];
  for (const s of scopes) {
    const p = parseScope(s);
    if (!p) throw new RegistryError('UNSUPPORTED', `scope ${JSON.stringify(s.slice(0, 200))} is not <type>:<name>:<actions>`, { status: 400 });
    if (p.type === 'registry' && p.name === 'catalog') {
      if (caller.kind === 'principal') access.push({ type: 'registry', name: 'catalog', actions: ['*'] });
      continue;
    }
    if (p.type !== 'repository') continue;
    checkName(p.name, registry.host);
    const wanted = new Set<Action>();
    for (const a of p.actions) {
      if (a === '*') ['pull', 'push', 'delete'].forEach((x) => wanted.add(x as Action));
      else if (a === 'pull' || a === 'push' || a === 'delete') wanted.add(a);
    }
    const granted: string[] = [];
    for (const a of wanted) if (await allowed(registry, caller, p.name, a)) granted.push(a);
    // Publishers and signers read what they must sign, even through a pull-only token: the private
    // `unreleased` action (ignored by clients; tokens are opaque to them) carries that right.
    if (granted.includes('pull') && !granted.includes('push') && (await allowed(registry, caller, p.name, 'push'))) granted.push('unreleased');
    if (granted.length > 0) {
      const existing = access.find((x) => x.type === 'repository' && x.name === p.name);
      if (existing) existing.actions = [...new Set([...existing.actions, ...granted])];
      else access.push({ type: 'repository', name: p.name, actions: granted });
    }
  }
  if (caller.kind === 'anonymous' && scopes.length > 0 && access.length === 0) {
    throw unauthorized(registry, 'authentication required: use an API token as the password (any username) or as a Bearer token');
  }
  const subject = caller.kind === 'principal' ? caller.principal.name : 'anonymous';
  const t = registry.tokens.issue(subject, access);
  req.log.info({ subject, access }, 'registry token issued');
  return { token: t.token, access_token: t.token, expires_in: t.expiresIn, issued_at: t.issuedAt };
}

