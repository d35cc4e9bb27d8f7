/**
 * A registry client over fetch (OCI distribution-spec v1.1; reference §2): token auth (401 + WWW-Authenticate
 * Bearer realm/service/scope → GET the realm with Basic credentials → Bearer), Basic, anonymous; manifests,
 * blobs (streamed, digest verified while reading; monolithic or chunked uploads; cross-repository mount), tags
 * and the referrers API. Every failure is a one-line CliError naming the registry, the repository, the HTTP
 * status and the registry's error code and message.
 */
import { createHash } from 'node:crypto';
import { MANIFEST_MEDIA_TYPES, MAX_MANIFEST_BYTES, parseDigest, parseManifest, type Descriptor, type Manifest } from '@signet/core';
import { CliError } from '../errors.js';
import type { Credential } from './auth.js';
import { Progress } from './progress.js';

/** Blobs up to this size go in one PUT; larger ones (and streams) in chunks of CHUNK_SIZE. */
export const MONOLITHIC_MAX = 16 << 20;
export const CHUNK_SIZE = 8 << 20;
const TIMEOUT_MS = 60_000;

const ACCEPT_MANIFESTS = [...MANIFEST_MEDIA_TYPES, 'application/vnd.oci.artifact.manifest.v1+json'].join(', ');

/** PUT with If-Match lost a race (412): the caller re-reads and retries. */
export class PreconditionFailed extends CliError {}

interface Challenge {
  scheme: 'basic' | 'bearer';
  realm?: string;
  service?: string;
}

function parseChallenge(header: string | null): Challenge | undefined {
  if (!header) return undefined;
  const m = /^\s*(\w+)\s*(.*)$/.exec(header);
  if (!m) return undefined;
  const scheme = m[1]!.toLowerCase();
  if (scheme !== 'basic' && scheme !== 'bearer') return undefined;
  const params: Record<string, string> = {};
  for (const p of (m[2] ?? '').matchAll(/(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g)) params[p[1]!.toLowerCase()] = p[2] ?? p[3] ?? '';
  return { scheme, ...(params['realm'] ? { realm: params['realm'] } : {}), ...(params['service'] ? { service: params['service'] } : {}) };
}

/** `<url>; rel="next"` from a Link header, resolved against the request URL. */
function nextLink(res: Response, url: string): string | undefined {
  const link = res.headers.get('link');
  const m = link ? /<([^>]+)>\s*;\s*rel="?next"?/.exec(link) : null;
  return m ? new URL(m[1]!, url).toString() : undefined;
}

const stripParams = (ct: string | null): string | undefined => ct?.split(';')[0]?.trim() || undefined;

export interface ManifestData {
  bytes: Uint8Array;
  mediaType: string;
  digest: string;
  manifest: Manifest;
}

type Body = Uint8Array | AsyncIterable<Uint8Array>;

export class RegistryClient {
  private challenge: Challenge | undefined;
  private readonly tokens = new Map<string, string>();

  constructor(
    readonly registry: string,
    readonly base: string,
    private readonly credential?: Credential,
    private readonly helper?: string,
  ) {}

  get credentialSource(): string | undefined {
    return this.credential?.source;
  }

  // ------------------------------------------------------------------------------------------ transport and auth

  private basicAuth(): string | undefined {
    const c = this.credential;
    if (!c) return undefined;
    const [u, p] = c.kind === 'basic' ? [c.username, c.password] : c.kind === 'token' ? ['signet', c.token] : [c.username, c.token];
    return `Basic ${Buffer.from(`${u}:${p}`, 'utf8').toString('base64')}`;
  }

  private authorization(scopes: string[]): string | undefined {
    if (this.challenge?.scheme === 'basic') return this.basicAuth();
    if (this.challenge?.scheme === 'bearer') {
      const t = this.tokens.get(scopes.join(' '));
      return t ? `Bearer ${t}` : undefined;
    }
    return undefined;
  }

  private async rawFetch(url: string, init: RequestInit & { duplex?: 'half' }, timeout: boolean): Promise<Response> {
    try {
      return await fetch(url, { redirect: 'follow', ...(timeout ? { signal: AbortSignal.timeout(TIMEOUT_MS) } : {}), ...init });
    } catch (e) {
      if (e instanceof CliError) throw e;
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      const why = (e as Error).name === 'TimeoutError' ? `no answer within ${TIMEOUT_MS / 1000} s` : (cause?.code ?? cause?.message ?? (e as Error).message);
      throw new CliError(`cannot reach the registry ${this.registry} at ${new URL(url).origin}: ${why}`);
    }
  }

  /** GET the token realm (Basic with the credential, if any) for these scopes; Docker identity tokens use the OAuth2 refresh grant. */
  private async fetchToken(scopes: string[], repo: string | undefined): Promise<void> {
    const realm = this.challenge?.realm;
    if (!realm) throw new CliError(`${this.where(repo)}: the registry asks for a Bearer token but names no realm to get it from`);
    let u: URL;
    try {
      u = new URL(realm);
    } catch {
      throw new CliError(`${this.where(repo)}: the registry's token realm "${realm}" is not a URL`);
    }
    let res: Response;
    const c = this.credential;
    if (c?.kind === 'identity') {
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: c.token, client_id: 'signet', scope: scopes.join(' ') });
      if (this.challenge?.service) form.set('service', this.challenge.service);
      res = await this.rawFetch(u.toString(), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() }, true);
    } else {
      if (this.challenge?.service) u.searchParams.set('service', this.challenge.service);
      for (const s of scopes) u.searchParams.append('scope', s);
      const headers: Record<string, string> = { accept: 'application/json' };
      const basic = this.basicAuth();
      if (basic) headers['authorization'] = basic;
      res = await this.rawFetch(u.toString(), { headers }, true);
    }
    const text = await res.text();
    if (!res.ok) {
      const who = c ? `the credentials from ${c.source}` : 'an anonymous request';
      throw new CliError(`${this.where(repo)}: the token service at ${u.origin}${u.pathname} refused ${who} (HTTP ${res.status})${this.loginHint(res.status)}`);
    }
    let token: unknown;
    try {
      const j = JSON.parse(text) as { token?: unknown; access_token?: unknown };
      token = j.token ?? j.access_token;
    } catch {
      // handled below
    }
    if (typeof token !== 'string' || token === '') throw new CliError(`${this.where(repo)}: the token service at ${u.origin}${u.pathname} answered without a token`);
    this.tokens.set(scopes.join(' '), token);
  }

  private loginHint(status: number): string {
    if (status !== 401 && status !== 403) return '';
    if (this.credential) return status === 401 ? ` — the credentials from ${this.credential.source} were not accepted` : ` — the credentials from ${this.credential.source} do not grant this`;
    const helper = this.helper ? `; the Docker/Podman configuration names the credential helper "${this.helper}", which Signet does not run` : '';
    return ` — no credentials for ${this.registry}: run "signet login ${this.registry}", set SIGNET_TOKEN (with SIGNET_SERVER pointing at that server), or log in with docker/podman${helper}`;
  }

  private where(repo: string | undefined): string {
    return `registry ${this.registry}${repo ? `, repository ${repo}` : ''}`;
  }

  /**
   * One request with authentication: the stored scheme and token are used; a 401 with a challenge gets a token
   * (or Basic) and the request is sent once more. A streamed body cannot be sent twice, so streams go only after
   * an earlier request on the same scopes has authenticated.
   */
  async request(
    method: string,
    path: string,
    opts: { repo?: string; push?: boolean; extraScopes?: string[]; headers?: Record<string, string>; body?: Body; timeout?: boolean } = {},
  ): Promise<Response> {
    const url = /^https?:\/\//.test(path) ? path : `${this.base}${path}`;
    const scopes = opts.repo ? [`repository:${opts.repo}:${opts.push ? 'pull,push' : 'pull'}`, ...(opts.extraScopes ?? [])] : [];
    const streamed = opts.body !== undefined && !(opts.body instanceof Uint8Array);
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = { ...opts.headers };
      const auth = this.authorization(scopes);
      if (auth) headers['authorization'] = auth;
      const init: RequestInit & { duplex?: 'half' } = { method, headers };
      if (opts.body !== undefined) {
        init.body = opts.body as unknown as RequestInit['body'];
        if (streamed) init.duplex = 'half';
      }
      const res = await this.rawFetch(url, init, opts.timeout ?? !streamed);
      if (res.status !== 401 || attempt > 0) return res;
      const ch = parseChallenge(res.headers.get('www-authenticate'));
      // Nothing to retry with: no challenge, a body that cannot be sent twice, or Basic without credentials.
      if (!ch || streamed || (ch.scheme === 'basic' && !this.credential)) return res;
      await res.body?.cancel().catch(() => undefined);
      this.challenge = ch;
      if (ch.scheme === 'bearer') await this.fetchToken(scopes, opts.repo);
    }
  }

  /** A one-line error for a failed response: registry, repository, what, HTTP status, the registry's code and message. */
  async fail(res: Response, what: string, repo?: string): Promise<never> {
    const detail = await errorDetail(res);
    const cls = res.status === 412 ? PreconditionFailed : CliError;
    throw new cls(`${this.where(repo)}: ${what} failed: HTTP ${res.status}${detail ? ` ${detail}` : ''}${this.loginHint(res.status)}`);
  }

  /** GET /v2/ (API version check), authenticating as a push would. */
  async ping(): Promise<void> {
    const res = await this.request('GET', '/v2/');
    if (res.status === 401) {
      // The base endpoint names no repository: a token for the registry itself (empty scope) proves the credentials.
      const ch = parseChallenge(res.headers.get('www-authenticate'));
      await res.body?.cancel().catch(() => undefined);
      if (ch?.scheme === 'bearer') {
        this.challenge = ch;
        if (!this.credential) await this.fail(new Response(null, { status: 401 }), 'GET /v2/');
        await this.fetchToken([], undefined);
        return;
      }
      await this.fail(new Response(null, { status: 401 }), 'GET /v2/');
    }
    if (!res.ok) await this.fail(res, 'GET /v2/');
    await res.body?.cancel().catch(() => undefined);
  }

  // ------------------------------------------------------------------------------------------ manifests

  async headManifest(repo: string, reference: string): Promise<{ digest: string; mediaType: string; size: number } | undefined> {
    const res = await this.request('HEAD', `/v2/${repo}/manifests/${reference}`, { repo, headers: { accept: ACCEPT_MANIFESTS } });
    if (res.status === 404) return undefined;
    if (!res.ok) await this.fail(res, `HEAD manifest ${reference}`, repo);
    const digest = res.headers.get('docker-content-digest');
    const mediaType = stripParams(res.headers.get('content-type'));
    const size = Number(res.headers.get('content-length'));
    if (digest && mediaType && Number.isSafeInteger(size) && size > 0 && (reference === digest || !reference.includes(':'))) {
      try {
        parseDigest(digest);
        return { digest, mediaType, size };
      } catch {
        // fall back to GET
      }
    }
    const m = await this.getManifest(repo, reference);
    return m ? { digest: m.digest, mediaType: m.mediaType, size: m.bytes.length } : undefined;
  }

  /** The manifest bytes, checked against the digest asked for (or the registry's Docker-Content-Digest for a tag). */
  async getManifest(repo: string, reference: string): Promise<ManifestData | undefined> {
    const res = await this.request('GET', `/v2/${repo}/manifests/${reference}`, { repo, headers: { accept: ACCEPT_MANIFESTS } });
    if (res.status === 404) {
      await res.body?.cancel().catch(() => undefined);
      return undefined;
    }
    if (!res.ok) await this.fail(res, `GET manifest ${reference}`, repo);
    const bytes = await readLimited(res, MAX_MANIFEST_BYTES, () => `${this.where(repo)}: manifest ${reference} is larger than ${MAX_MANIFEST_BYTES} bytes`);
    const want = reference.includes(':') ? reference : (res.headers.get('docker-content-digest') ?? undefined);
    const alg = want?.startsWith('sha512:') ? 'sha512' : 'sha256';
    const digest = `${alg}:${createHash(alg).update(bytes).digest('hex')}`;
    if (want && want !== digest && want.startsWith(`${alg}:`)) {
      throw new CliError(`${this.where(repo)}: manifest ${reference} does not match its digest (${want} expected, the bytes hash to ${digest})`);
    }
    let manifest: Manifest;
    try {
      manifest = parseManifest(bytes);
    } catch (e) {
      throw new CliError(`${this.where(repo)}: manifest ${reference}: ${(e as Error).message}`);
    }
    const mediaType = manifest.mediaType ?? stripParams(res.headers.get('content-type')) ?? 'application/vnd.oci.image.manifest.v1+json';
    return { bytes, mediaType, digest, manifest };
  }

  /** PUT a manifest by tag or digest; returns its digest and the OCI-Subject header (absent when the registry does not process subjects). */
  async putManifest(repo: string, reference: string, bytes: Uint8Array, mediaType: string, ifMatch?: string): Promise<{ digest: string; subject?: string }> {
    const headers: Record<string, string> = { 'content-type': mediaType };
    if (ifMatch) headers['if-match'] = ifMatch;
    const res = await this.request('PUT', `/v2/${repo}/manifests/${reference}`, { repo, push: true, headers, body: bytes });
    if (!res.ok) await this.fail(res, `PUT manifest ${reference}`, repo);
    await res.body?.cancel().catch(() => undefined);
    const subject = res.headers.get('oci-subject') ?? undefined;
    return { digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, ...(subject ? { subject } : {}) };
  }

  /**
   * PUT a manifest under a tag, reporting a refusal (403 DENIED: e.g. a signing policy that holds the tag back while
   * the manifest stays stored by digest) instead of throwing, with the registry's own message; any other failure
   * throws as putManifest does. Warning headers (RFC 9111 §5.5, warn-code 299) are returned for the user.
   */
  async putTag(repo: string, tag: string, bytes: Uint8Array, mediaType: string): Promise<{ ok: true; warnings: string[] } | { ok: false; status: number; detail: string }> {
    const res = await this.request('PUT', `/v2/${repo}/manifests/${tag}`, { repo, push: true, headers: { 'content-type': mediaType }, body: bytes });
    if (res.status === 403) return { ok: false, status: res.status, detail: await errorDetail(res) };
    if (!res.ok) await this.fail(res, `PUT manifest ${tag}`, repo);
    await res.body?.cancel().catch(() => undefined);
    const warnings = [...(res.headers.get('warning') ?? '').matchAll(/\b\d{3}\s+\S+\s+"((?:[^"\\]|\\.)*)"/g)].map((m) => (m[1] ?? '').replace(/\\(.)/g, '$1'));
    return { ok: true, warnings };
  }

  /** The ETag of a manifest GET, for If-Match. */
  async getManifestWithEtag(repo: string, reference: string): Promise<{ data?: ManifestData; etag?: string }> {
    const res = await this.request('GET', `/v2/${repo}/manifests/${reference}`, { repo, headers: { accept: ACCEPT_MANIFESTS } });
    if (res.status === 404) {
      await res.body?.cancel().catch(() => undefined);
      return {};
    }
    if (!res.ok) await this.fail(res, `GET manifest ${reference}`, repo);
    const etag = res.headers.get('etag') ?? undefined;
    const bytes = await readLimited(res, MAX_MANIFEST_BYTES, () => `${this.where(repo)}: manifest ${reference} is too large`);
    let manifest: Manifest;
    try {
      manifest = parseManifest(bytes);
    } catch (e) {
      throw new CliError(`${this.where(repo)}: manifest ${reference}: ${(e as Error).message}`);
    }
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    return { data: { bytes, digest, manifest, mediaType: manifest.mediaType ?? stripParams(res.headers.get('content-type')) ?? '' }, ...(etag ? { etag } : {}) };
  }

  // ------------------------------------------------------------------------------------------ tags and referrers

  async listTags(repo: string): Promise<string[]> {
    const out: string[] = [];
    let url: string | undefined = `${this.base}/v2/${repo}/tags/list?n=1000`;
    while (url) {
      const res: Response = await this.request('GET', url, { repo });
      if (res.status === 404) return out;
      if (!res.ok) await this.fail(res, 'GET tags list', repo);
      const j = (await res.json().catch(() => ({}))) as { tags?: unknown };
      if (Array.isArray(j.tags)) out.push(...j.tags.filter((t): t is string => typeof t === 'string'));
      url = nextLink(res, url);
    }
    return out;
  }

  /** The referrers API (distribution-spec §Listing Referrers); undefined when the registry does not have it (404). */
  async referrers(repo: string, digest: string, artifactType?: string): Promise<Descriptor[] | undefined> {
    const out: Descriptor[] = [];
    let url: string | undefined = `${this.base}/v2/${repo}/referrers/${digest}${artifactType ? `?artifactType=${encodeURIComponent(artifactType)}` : ''}`;
    while (url) {
      const res: Response = await this.request('GET', url, { repo });
      if (res.status === 404) {
        await res.body?.cancel().catch(() => undefined);
        return out.length ? out : undefined;
      }
      if (!res.ok) await this.fail(res, `GET referrers of ${digest}`, repo);
      const bytes = await readLimited(res, MAX_MANIFEST_BYTES, () => `${this.where(repo)}: the referrers list of ${digest} is too large`);
      let m: Manifest;
      try {
        m = parseManifest(bytes);
      } catch (e) {
        throw new CliError(`${this.where(repo)}: the referrers list of ${digest}: ${(e as Error).message}`);
      }
      out.push(...(m.manifests ?? []));
      url = nextLink(res, url);
    }
    return out;
  }

  // ------------------------------------------------------------------------------------------ blobs

  async blobExists(repo: string, digest: string): Promise<boolean> {
    const res = await this.request('HEAD', `/v2/${repo}/blobs/${digest}`, { repo });
    if (res.status === 404) return false;
    if (!res.ok) await this.fail(res, `HEAD blob ${digest}`, repo);
    return true;
  }

  /** Streams a blob, hashing as it arrives; the last read throws if the bytes do not match the digest (or size). */
  async *blobChunks(repo: string, digest: string, size?: number, label?: string): AsyncGenerator<Uint8Array> {
    const d = parseDigest(digest);
    const res = await this.request('GET', `/v2/${repo}/blobs/${digest}`, { repo, timeout: false });
    if (!res.ok) await this.fail(res, `GET blob ${digest}`, repo);
    const h = createHash(d.algorithm);
    let n = 0;
    const bar = new Progress(label ?? `${digest.slice(0, 19)}`, size ?? Number(res.headers.get('content-length') ?? 0));
    if (res.body) {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        h.update(chunk);
        n += chunk.length;
        bar.add(chunk.length);
        if (size !== undefined && n > size) throw new CliError(`${this.where(repo)}: blob ${digest} is longer than the ${size} bytes its descriptor says`);
        yield chunk;
      }
    }
    bar.finish();
    const got = h.digest('hex');
    if (got !== d.hex) throw new CliError(`${this.where(repo)}: blob ${digest} does not match its digest (the bytes hash to ${d.algorithm}:${got})`);
    if (size !== undefined && n !== size) throw new CliError(`${this.where(repo)}: blob ${digest} has ${n} bytes, its descriptor says ${size}`);
  }

  /** A small blob (a payload, a bundle) read whole, verified, at most `max` bytes. */
  async readBlob(repo: string, digest: string, max: number, size?: number): Promise<Uint8Array> {
    if (size !== undefined && size > max) throw new CliError(`${this.where(repo)}: blob ${digest} is ${size} bytes, more than the ${max} allowed here`);
    const parts: Uint8Array[] = [];
    let n = 0;
    for await (const c of this.blobChunks(repo, digest, size)) {
      n += c.length;
      if (n > max) throw new CliError(`${this.where(repo)}: blob ${digest} is larger than the ${max} bytes allowed here`);
      parts.push(c);
    }
    return new Uint8Array(Buffer.concat(parts));
  }

  private location(res: Response, repo: string, what: string): string {
    const loc = res.headers.get('location');
    if (!loc) throw new CliError(`${this.where(repo)}: ${what} answered without a Location`);
    return new URL(loc, `${this.base}/`).toString();
  }

  private withDigest(location: string, digest: string): string {
    const u = new URL(location);
    u.searchParams.set('digest', digest);
    return u.toString();
  }

  /**
   * Uploads a blob unless the repository has it: mounted from `mountFrom` on the same registry when possible, else
   * one PUT for small in-memory blobs, else PATCH chunks with Content-Range then the closing PUT ?digest=.
   */
  async pushBlob(
    repo: string,
    desc: { digest: string; size: number },
    source: Uint8Array | (() => AsyncIterable<Uint8Array>),
    opts: { mountFrom?: string } = {},
  ): Promise<'exists' | 'mounted' | 'uploaded'> {
    if (await this.blobExists(repo, desc.digest)) return 'exists';
    let res: Response;
    if (opts.mountFrom && opts.mountFrom !== repo) {
      const q = new URLSearchParams({ mount: desc.digest, from: opts.mountFrom });
      res = await this.request('POST', `/v2/${repo}/blobs/uploads/?${q.toString()}`, { repo, push: true, extraScopes: [`repository:${opts.mountFrom}:pull`] });
      if (res.status === 201) {
        await res.body?.cancel().catch(() => undefined);
        return 'mounted';
      }
    } else {
      res = await this.request('POST', `/v2/${repo}/blobs/uploads/`, { repo, push: true });
    }
    if (res.status !== 202) await this.fail(res, `POST blob upload (${desc.digest})`, repo);
    await res.body?.cancel().catch(() => undefined);
    let loc = this.location(res, repo, 'POST blob upload');
    const scopes = { repo, push: true, ...(opts.mountFrom && opts.mountFrom !== repo ? { extraScopes: [`repository:${opts.mountFrom}:pull`] } : {}) };
    if (source instanceof Uint8Array && source.length <= MONOLITHIC_MAX) {
      const put = await this.request('PUT', this.withDigest(loc, desc.digest), {
        ...scopes,
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(source.length) },
        body: source,
      });
      if (put.status !== 201) await this.fail(put, `PUT blob ${desc.digest}`, repo);
      await put.body?.cancel().catch(() => undefined);
      return 'uploaded';
    }
    const iter: AsyncIterable<Uint8Array> = source instanceof Uint8Array ? [source].values() as unknown as AsyncIterable<Uint8Array> : source();
    const bar = new Progress(`push ${desc.digest.slice(0, 19)}`, desc.size);
    let offset = 0;
    const send = async (chunk: Uint8Array): Promise<void> => {
      const patch = await this.request('PATCH', loc, {
        ...scopes,
        headers: { 'content-type': 'application/octet-stream', 'content-range': `${offset}-${offset + chunk.length - 1}`, 'content-length': String(chunk.length) },
        body: chunk,
      });
      if (patch.status !== 202) await this.fail(patch, `PATCH blob ${desc.digest} at offset ${offset}`, repo);
      await patch.body?.cancel().catch(() => undefined);
      loc = this.location(patch, repo, 'PATCH blob upload');
      offset += chunk.length;
      bar.add(chunk.length);
    };
    let pending: Uint8Array[] = [];
    let pendingBytes = 0;
    for await (const c of iter) {
      let part = c;
      while (part.length) {
        const take = Math.min(part.length, CHUNK_SIZE - pendingBytes);
        pending.push(part.subarray(0, take));
        pendingBytes += take;
        part = part.subarray(take);
        if (pendingBytes === CHUNK_SIZE) {
          await send(new Uint8Array(Buffer.concat(pending)));
          pending = [];
          pendingBytes = 0;
        }
      }
    }
    if (pendingBytes) await send(new Uint8Array(Buffer.concat(pending)));
    bar.finish();
    const put = await this.request('PUT', this.withDigest(loc, desc.digest), { ...scopes, headers: { 'content-length': '0' }, body: new Uint8Array() });
    if (put.status !== 201) await this.fail(put, `PUT blob ${desc.digest} (closing the upload)`, repo);
    await put.body?.cancel().catch(() => undefined);
    return 'uploaded';
  }
}

/** `CODE: message` from a distribution-spec error body (or its first line of text), for one-line errors. */
async function errorDetail(res: Response): Promise<string> {
  let detail = '';
  try {
    const text = (await res.text()).slice(0, 4096);
    try {
      const j = JSON.parse(text) as { errors?: { code?: unknown; message?: unknown }[]; message?: unknown };
      const e = j.errors?.[0];
      if (e) detail = [typeof e.code === 'string' ? e.code : '', typeof e.message === 'string' ? e.message : ''].filter(Boolean).join(': ');
      else if (typeof j.message === 'string') detail = j.message;
    } catch {
      detail = text.trim().split('\n')[0]?.slice(0, 200) ?? '';
    }
  } catch {
    // no body
  }
  return detail;
}

async function readLimited(res: Response, max: number, tooBig: () => string): Promise<Uint8Array> {
  const len = Number(res.headers.get('content-length'));
  if (Number.isFinite(len) && len > max) {
    await res.body?.cancel().catch(() => undefined);
    throw new CliError(tooBig());
  }
  const parts: Uint8Array[] = [];
  let n = 0;
  if (res.body) {
    for await (const c of res.body as unknown as AsyncIterable<Uint8Array>) {
      n += c.length;
      if (n > max) throw new CliError(tooBig());
      parts.push(c);
    }
  }
  return new Uint8Array(Buffer.concat(parts));
}
