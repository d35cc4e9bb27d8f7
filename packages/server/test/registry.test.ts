// The OCI registry under /v2/ (distribution-spec v1.1) through app.inject: uploads, manifests, referrers,
// tags, catalog, auth, errors, garbage collection; the core also against PostgreSQL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { run, SERVER_BIN, startPostgres, tempDir } from '@signet/testkit';
import { build, loadConfig } from '../dist/index.js';
import type { ManifestEvent } from '../dist/registry/index.js';
import { bearer, testServer } from './helpers.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const ZERO = `sha256:${'0'.repeat(64)}`;

const sha256 = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const sha512 = (b: Buffer | string): string => `sha512:${createHash('sha512').update(b).digest('hex')}`;
const octet = { 'content-type': 'application/octet-stream' };

/** A relative Location plus one more query parameter. */
function withParam(location: string, k: string, v: string): string {
  return `${location}${location.includes('?') ? '&' : '?'}${k}=${encodeURIComponent(v)}`;
}

async function pushBlob(app: FastifyInstance, h: Record<string, string>, repo: string, bytes: Buffer, digest = sha256(bytes)): Promise<string> {
  const r = await app.inject({ method: 'POST', url: `/v2/${repo}/blobs/uploads/?digest=${digest}`, headers: { ...h, ...octet }, payload: bytes });
  assert.equal(r.statusCode, 201, r.body);
  return digest;
}

interface Image {
  config: Buffer;
  layer: Buffer;
  manifest: Buffer;
  digest: string;
}

function imageManifest(config: Buffer, layers: Buffer[], extra: Record<string, unknown> = {}, mediaType = OCI_MANIFEST): Buffer {
  const layerType = mediaType === DOCKER_MANIFEST ? 'application/vnd.docker.image.rootfs.diff.tar.gzip' : 'application/vnd.oci.image.layer.v1.tar';
  const configType = mediaType === DOCKER_MANIFEST ? 'application/vnd.docker.container.image.v1+json' : 'application/vnd.oci.image.config.v1+json';
  // Indented on purpose: the registry must store and serve these exact bytes.
  return Buffer.from(
    JSON.stringify(
      {
        schemaVersion: 2,
        mediaType,
        config: { mediaType: configType, digest: sha256(config), size: config.length },
        layers: layers.map((l) => ({ mediaType: layerType, digest: sha256(l), size: l.length })),
        ...extra,
      },
      null,
      3,
    ),
  );
}

async function pushImage(app: FastifyInstance, h: Record<string, string>, repo: string, tag: string, seed: string, extra: Record<string, unknown> = {}): Promise<Image> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', seed }));
  const layer = Buffer.from(`layer bytes of ${seed}\n`.repeat(50));
  await pushBlob(app, h, repo, config);
  await pushBlob(app, h, repo, layer);
  const manifest = imageManifest(config, [layer], extra);
  const r = await app.inject({ method: 'PUT', url: `/v2/${repo}/manifests/${tag}`, headers: { ...h, 'content-type': OCI_MANIFEST }, payload: manifest });
  assert.equal(r.statusCode, 201, r.body);
  return { config, layer, manifest, digest: sha256(manifest) };
}

async function newToken(app: FastifyInstance, admin: Record<string, string>, role: string, repositories?: string[]): Promise<string> {
  const r = await app.inject({ method: 'POST', url: '/api/v1/tokens', headers: admin, payload: { name: `${role}-${Math.random()}`, role, ...(repositories ? { repositories } : {}) } });
  assert.equal(r.statusCode, 201, r.body);
  return r.json().token as string;
}

function ociError(r: { statusCode: number; json(): unknown }, status: number, code: string): void {
  assert.equal(r.statusCode, status);
  const body = r.json() as { errors: { code: string; message: string }[] };
  assert.equal(body.errors[0]?.code, code, JSON.stringify(body));
  assert.equal(typeof body.errors[0]?.message, 'string');
}

/** The behaviours both databases must give the same way. */
async function core(app: FastifyInstance, h: Record<string, string>): Promise<void> {
  // chunked push with an out-of-order chunk, a status check and a final chunk on the PUT
  const blob = Buffer.from('0123456789abcdefghij');
  const post = await app.inject({ method: 'POST', url: '/v2/core/app/blobs/uploads/', headers: h });
  assert.equal(post.statusCode, 202);
  assert.equal(post.headers['range'], '0-0');
  let loc = post.headers['location'] as string;
  assert.match(loc, /^\/v2\/core\/app\/blobs\/uploads\/[0-9a-f-]{36}\?_state=/);
  assert.equal(loc.split('/').pop()?.split('?')[0], post.headers['docker-upload-uuid']);
  const p1 = await app.inject({ method: 'PATCH', url: loc, headers: { ...h, ...octet, 'content-range': '0-9' }, payload: blob.subarray(0, 10) });
  assert.equal(p1.statusCode, 202, p1.body);
  assert.equal(p1.headers['range'], '0-9');
  loc = p1.headers['location'] as string;
  const ooo = await app.inject({ method: 'PATCH', url: loc, headers: { ...h, ...octet, 'content-range': '12-15' }, payload: blob.subarray(12, 16) });
  ociError(ooo, 416, 'BLOB_UPLOAD_INVALID');
  assert.equal(ooo.headers['range'], '0-9');
  const st = await app.inject({ url: loc, headers: h });
  assert.equal(st.statusCode, 204);
  assert.equal(st.headers['range'], '0-9');
  const put = await app.inject({ method: 'PUT', url: withParam(loc, 'digest', sha256(blob)), headers: { ...h, ...octet, 'content-range': '10-19' }, payload: blob.subarray(10) });
  assert.equal(put.statusCode, 201, put.body);
  assert.equal(put.headers['location'], `/v2/core/app/blobs/${sha256(blob)}`);
  assert.equal(put.headers['docker-content-digest'], sha256(blob));
  assert.equal((await app.inject({ url: `/v2/core/app/blobs/${sha256(blob)}`, headers: h })).body, blob.toString());
  ociError(await app.inject({ url: loc, headers: h }), 404, 'BLOB_UPLOAD_UNKNOWN');

  // an image with a subject that is not pushed yet, referrers with filter and pagination
  const img = await pushImage(app, h, 'core/app', 'v1', 'core');
  const got = await app.inject({ url: '/v2/core/app/manifests/v1', headers: h });
  assert.equal(got.statusCode, 200);
  assert.equal(got.headers['content-type'], OCI_MANIFEST);
  assert.equal(got.headers['docker-content-digest'], img.digest);
  assert.ok(got.rawPayload.equals(img.manifest), 'byte-exact');
  const subject = { mediaType: OCI_MANIFEST, digest: sha256('not pushed yet'), size: 14 };
  const empty = Buffer.from('{}');
  await pushBlob(app, h, 'core/app', empty);
  const sigs: string[] = [];
  for (const [i, at] of ['application/vnd.dev.sigstore.bundle.v0.3+json', 'application/vnd.dev.sigstore.bundle.v0.3+json', 'application/spdx+json'].entries()) {
    const m = imageManifest(empty, [], { artifactType: at, subject, annotations: { n: String(i) } });
    const r = await app.inject({ method: 'PUT', url: `/v2/core/app/manifests/${sha256(m)}`, headers: { ...h, 'content-type': OCI_MANIFEST }, payload: m });
    assert.equal(r.statusCode, 201, r.body);
    assert.equal(r.headers['oci-subject'], subject.digest);
    sigs.push(sha256(m));
  }
  const refs = await app.inject({ url: `/v2/core/app/referrers/${subject.digest}`, headers: h });
  assert.equal(refs.statusCode, 200);
  assert.equal(refs.headers['content-type'], OCI_INDEX);
  const idx = refs.json() as { mediaType: string; manifests: { digest: string; artifactType: string; annotations: Record<string, string> }[] };
  assert.equal(idx.mediaType, OCI_INDEX);
  assert.deepEqual(idx.manifests.map((m) => m.digest).sort(), [...sigs].sort());
  assert.ok(idx.manifests.every((m) => typeof m.annotations['n'] === 'string'));
  const filtered = await app.inject({ url: `/v2/core/app/referrers/${subject.digest}?artifactType=application/spdx%2Bjson`, headers: h });
  assert.equal(filtered.headers['oci-filters-applied'], 'artifactType');
  assert.deepEqual(
    (filtered.json() as typeof idx).manifests.map((m) => m.digest),
    [sigs[2]],
  );
  const page = await app.inject({ url: `/v2/core/app/referrers/${subject.digest}?n=2`, headers: h });
  assert.equal((page.json() as typeof idx).manifests.length, 2);
  const next = /^<([^>]+)>; rel="next"$/.exec(page.headers['link'] as string)?.[1] as string;
  assert.ok(next, 'Link rel="next"');
  const page2 = await app.inject({ url: next, headers: h });
  assert.equal((page2.json() as typeof idx).manifests.length, 1);
  assert.equal(page2.headers['link'], undefined);
  const zero = await app.inject({ url: `/v2/core/app/referrers/${ZERO}`, headers: h });
  assert.equal(zero.statusCode, 200);
  assert.deepEqual(zero.json(), { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [] });

  // tags in lexical order with n/last/Link, n=0; deleting by digest removes its tags, by tag only the tag
  for (const t of ['b', 'a', 'C', 'v1.0', '_x']) {
    const r = await app.inject({ method: 'PUT', url: `/v2/core/app/manifests/${t}`, headers: { ...h, 'content-type': OCI_MANIFEST }, payload: img.manifest });
    assert.equal(r.statusCode, 201);
  }
  const all = (await app.inject({ url: '/v2/core/app/tags/list', headers: h })).json() as { name: string; tags: string[] };
  assert.deepEqual(all, { name: 'core/app', tags: ['C', '_x', 'a', 'b', 'v1', 'v1.0'] });
  const t1 = await app.inject({ url: '/v2/core/app/tags/list?n=2', headers: h });
  assert.deepEqual(t1.json().tags, ['C', '_x']);
  assert.equal(t1.headers['link'], '</v2/core/app/tags/list?n=2&last=_x>; rel="next"');
  const t2 = await app.inject({ url: '/v2/core/app/tags/list?n=2&last=_x', headers: h });
  assert.deepEqual(t2.json().tags, ['a', 'b']);
  const t0 = await app.inject({ url: '/v2/core/app/tags/list?n=0', headers: h });
  assert.deepEqual(t0.json(), { name: 'core/app', tags: [] });
  assert.equal(t0.headers['link'], undefined);
  assert.equal((await app.inject({ method: 'DELETE', url: '/v2/core/app/manifests/b', headers: h })).statusCode, 202);
  assert.equal((await app.inject({ method: 'HEAD', url: `/v2/core/app/manifests/${img.digest}`, headers: h })).statusCode, 200);
  assert.equal((await app.inject({ method: 'DELETE', url: `/v2/core/app/manifests/${img.digest}`, headers: h })).statusCode, 202);
  assert.deepEqual((await app.inject({ url: '/v2/core/app/tags/list', headers: h })).json().tags, []);
  ociError(await app.inject({ url: '/v2/core/app/manifests/v1', headers: h }), 404, 'MANIFEST_UNKNOWN');

  // garbage collection: the deleted image's layer goes, the blobs the signatures reference stay
  const gc = await app.inject({ method: 'POST', url: '/api/v1/registry/gc', headers: h });
  assert.equal(gc.statusCode, 200);
  assert.equal(gc.json().removed_blobs, 0, 'nothing is past the grace period yet');
  const r = await app.services.registry.gc({ graceMs: 0 });
  assert.ok(r.removed_blobs >= 3, JSON.stringify(r));
  ociError(await app.inject({ url: `/v2/core/app/blobs/${sha256(img.layer)}`, headers: h }), 404, 'BLOB_UNKNOWN');
  assert.equal((await app.inject({ method: 'HEAD', url: `/v2/core/app/blobs/${sha256(empty)}`, headers: h })).statusCode, 200);
  assert.equal((await app.inject({ method: 'HEAD', url: `/v2/core/app/manifests/${sigs[0]}`, headers: h })).statusCode, 200);
}

test('registry core (SQLite): chunked push, manifests, referrers, tags, delete, GC', async (t) => {
  const s = await testServer(t);
  await core(s.app, bearer(s.adminToken));
});

test('registry core on PostgreSQL', async (t) => {
  const pg = await startPostgres(t);
  const dir = tempDir(t);
  const app = await build(loadConfig({ data: dir, listen: '127.0.0.1:0', database: pg.url }, { SIGNET_LOG_LEVEL: 'silent' }));
  t.after(() => app.close());
  assert.equal(app.services.database.kind, 'postgres');
  await core(app, bearer(readFileSync(join(dir, 'admin-token'), 'utf8').trim()));
  // catalog order is byte-wise there too
  const h = bearer(readFileSync(join(dir, 'admin-token'), 'utf8').trim());
  for (const n of ['z-last', 'a.b', 'a-b', 'a_b']) await pushBlob(app, h, n, Buffer.from(n));
  assert.deepEqual((await app.inject({ url: '/v2/_catalog', headers: h })).json().repositories, ['a-b', 'a.b', 'a_b', 'core/app', 'z-last']);
});

test('blobs: monolithic sha256 and sha512, HEAD, Range reads, digest errors, bodies above body_limit', async (t) => {
  const s = await testServer(t, { SIGNET_BODY_LIMIT: '2048' });
  const h = bearer(s.adminToken);
  const v2 = await s.app.inject({ url: '/v2/', headers: h });
  assert.equal(v2.statusCode, 200);
  assert.equal(v2.body, '{}');
  assert.equal(v2.headers['docker-distribution-api-version'], 'registry/2.0');
  const big = Buffer.alloc(300_000, 7);
  const d = await pushBlob(s.app, h, 'b/one', big);
  const head = await s.app.inject({ method: 'HEAD', url: `/v2/b/one/blobs/${d}`, headers: h });
  assert.equal(head.statusCode, 200);
  assert.equal(head.headers['content-length'], '300000');
  assert.equal(head.headers['docker-content-digest'], d);
  assert.equal(head.body, '');
  const full = await s.app.inject({ url: `/v2/b/one/blobs/${d}`, headers: h });
  assert.ok(full.rawPayload.equals(big));
  const text = Buffer.from('The quick brown fox');
  const d512 = await pushBlob(s.app, h, 'b/one', text, sha512(text));
  assert.equal((await s.app.inject({ url: `/v2/b/one/blobs/${d512}`, headers: h })).body, text.toString());
  const part = await s.app.inject({ url: `/v2/b/one/blobs/${d512}`, headers: { ...h, range: 'bytes=4-8' } });
  assert.equal(part.statusCode, 206);
  assert.equal(part.body, 'quick');
  assert.equal(part.headers['content-range'], 'bytes 4-8/19');
  assert.equal((await s.app.inject({ url: `/v2/b/one/blobs/${d512}`, headers: { ...h, range: 'bytes=-3' } })).body, 'fox');
  assert.equal((await s.app.inject({ url: `/v2/b/one/blobs/${d512}`, headers: { ...h, range: 'bytes=16-' } })).body, 'fox');
  for (const bad of ['bytes=19-', 'bytes=30-40', 'bytes=5-2', 'bytes=abc']) {
    const r = await s.app.inject({ url: `/v2/b/one/blobs/${d512}`, headers: { ...h, range: bad } });
    assert.equal(r.statusCode, 416, bad);
    assert.equal(r.headers['content-range'], 'bytes */19');
  }
  // chunked sha512 session, and a sha256 session closed with a sha512 digest (re-hashed from disk)
  for (const q of ['?digest-algorithm=sha512', '']) {
    const p = await s.app.inject({ method: 'POST', url: `/v2/b/one/blobs/uploads/${q}`, headers: h });
    assert.equal(p.statusCode, 202, p.body);
    const body = Buffer.from(`chunked ${q}`);
    const pa = await s.app.inject({ method: 'PATCH', url: p.headers['location'] as string, headers: { ...h, ...octet }, payload: body });
    assert.equal(pa.statusCode, 202);
    const fin = await s.app.inject({ method: 'PUT', url: withParam(pa.headers['location'] as string, 'digest', sha512(body)), headers: h });
    assert.equal(fin.statusCode, 201, fin.body);
    assert.equal(fin.headers['docker-content-digest'], sha512(body));
  }
  // empty blob
  assert.equal(await pushBlob(s.app, h, 'b/one', Buffer.alloc(0)), sha256(''));
  assert.equal((await s.app.inject({ method: 'HEAD', url: `/v2/b/one/blobs/${sha256('')}`, headers: h })).headers['content-length'], '0');
  // malformed and mismatched digests are 400 DIGEST_INVALID, never 500
  for (const bad of ['sha256:abc', 'md5:d41d8cd98f00b204e9800998ecf8427e', 'sha256:' + 'A'.repeat(64), 'nocolon', 'sha512:' + 'a'.repeat(64)]) {
    ociError(await s.app.inject({ url: `/v2/b/one/blobs/${bad}`, headers: h }), 400, 'DIGEST_INVALID');
    ociError(await s.app.inject({ method: 'POST', url: `/v2/b/one/blobs/uploads/?digest=${bad}`, headers: { ...h, ...octet }, payload: 'x' }), 400, 'DIGEST_INVALID');
    ociError(await s.app.inject({ url: `/v2/b/one/referrers/${bad}`, headers: h }), 400, 'DIGEST_INVALID');
  }
  ociError(await s.app.inject({ method: 'POST', url: `/v2/b/one/blobs/uploads/?digest=${sha256('other')}`, headers: { ...h, ...octet }, payload: 'x' }), 400, 'DIGEST_INVALID');
  ociError(await s.app.inject({ url: `/v2/b/one/blobs/${sha256('never pushed')}`, headers: h }), 404, 'BLOB_UNKNOWN');
  // the same blob in another repository is not served from this one
  await pushBlob(s.app, h, 'b/other', Buffer.from('private to other'));
  ociError(await s.app.inject({ url: `/v2/b/one/blobs/${sha256('private to other')}`, headers: h }), 404, 'BLOB_UNKNOWN');
  // DELETE blob
  assert.equal((await s.app.inject({ method: 'DELETE', url: `/v2/b/one/blobs/${d}`, headers: h })).statusCode, 202);
  ociError(await s.app.inject({ url: `/v2/b/one/blobs/${d}`, headers: h }), 404, 'BLOB_UNKNOWN');
  ociError(await s.app.inject({ method: 'DELETE', url: `/v2/b/one/blobs/${d}`, headers: h }), 404, 'BLOB_UNKNOWN');
  // stored content-addressed on disk
  assert.ok(existsSync(join(s.dir, 'blobs', 'sha512', d512.slice(7, 9), d512.slice(7))));
});

test('uploads: PATCH without Content-Range, resume after a restart, cancel, mount (201 and 202)', async (t) => {
  const dir = tempDir(t);
  const config = loadConfig({ data: dir, listen: '127.0.0.1:0' }, { SIGNET_LOG_LEVEL: 'silent' });
  let app = await build(config);
  const h = bearer(readFileSync(join(dir, 'admin-token'), 'utf8').trim());
  const blob = Buffer.from('a'.repeat(1000) + 'b'.repeat(1000));
  // skopeo: one PATCH with the whole body and no Content-Range, then PUT with an empty body
  const p = await app.inject({ method: 'POST', url: '/v2/up/load/blobs/uploads/', headers: h });
  const pa = await app.inject({ method: 'PATCH', url: p.headers['location'] as string, headers: { ...h, ...octet }, payload: blob });
  assert.equal(pa.statusCode, 202);
  assert.equal(pa.headers['range'], '0-1999');
  assert.equal((await app.inject({ method: 'PUT', url: withParam(pa.headers['location'] as string, 'digest', sha256(blob)), headers: h })).statusCode, 201);

  // a session survives a restart: the running hash is re-made from the staged file
  const p2 = await app.inject({ method: 'POST', url: '/v2/up/load/blobs/uploads/', headers: h });
  const loc = p2.headers['location'] as string;
  assert.equal((await app.inject({ method: 'PATCH', url: loc, headers: { ...h, ...octet, 'content-range': '0-999' }, payload: blob.subarray(0, 1000) })).statusCode, 202);
  await app.close();
  app = await build(config);
  t.after(() => app.close());
  const st = await app.inject({ url: loc, headers: h });
  assert.equal(st.statusCode, 204);
  assert.equal(st.headers['range'], '0-999');
  assert.equal((await app.inject({ method: 'PATCH', url: loc, headers: { ...h, ...octet, 'content-range': '1000-1999' }, payload: blob.subarray(1000) })).statusCode, 202);
  const bad = await app.inject({ method: 'PUT', url: withParam(loc, 'digest', sha256('wrong')), headers: h });
  ociError(bad, 400, 'DIGEST_INVALID');
  ociError(await app.inject({ url: loc, headers: h }), 404, 'BLOB_UPLOAD_UNKNOWN');

  const p3 = await app.inject({ method: 'POST', url: '/v2/up/load/blobs/uploads/', headers: h });
  const loc3 = p3.headers['location'] as string;
  await app.inject({ method: 'PATCH', url: loc3, headers: { ...h, ...octet }, payload: blob.subarray(0, 10) });
  // the session belongs to its repository
  ociError(await app.inject({ url: loc3.replace('/up/load/', '/up/other/'), headers: h }), 404, 'BLOB_UPLOAD_UNKNOWN');
  assert.equal((await app.inject({ method: 'DELETE', url: loc3, headers: h })).statusCode, 204);
  ociError(await app.inject({ url: loc3, headers: h }), 404, 'BLOB_UPLOAD_UNKNOWN');
  ociError(await app.inject({ method: 'PUT', url: withParam(loc3, 'digest', sha256(blob.subarray(0, 10))), headers: h }), 404, 'BLOB_UPLOAD_UNKNOWN');
  // a made-up session id or a forged _state is unknown
  const fake = loc3.replace(/uploads\/[0-9a-f-]{36}/, 'uploads/00000000-0000-4000-8000-000000000000');
  ociError(await app.inject({ url: fake, headers: h }), 404, 'BLOB_UPLOAD_UNKNOWN');
  ociError(await app.inject({ url: '/v2/up/load/blobs/uploads/not-a-uuid', headers: h }), 404, 'BLOB_UPLOAD_UNKNOWN');

  // mount: 201 from a repository that has the blob, 202 (a new session) from one that does not
  const m = await app.inject({ method: 'POST', url: `/v2/up/copy/blobs/uploads/?mount=${sha256(blob)}&from=up/load`, headers: h });
  assert.equal(m.statusCode, 201, m.body);
  assert.equal(m.headers['location'], `/v2/up/copy/blobs/${sha256(blob)}`);
  assert.equal(m.headers['docker-content-digest'], sha256(blob));
  assert.equal((await app.inject({ method: 'HEAD', url: `/v2/up/copy/blobs/${sha256(blob)}`, headers: h })).statusCode, 200);
  const nm = await app.inject({ method: 'POST', url: `/v2/up/copy2/blobs/uploads/?mount=${sha256('absent')}&from=up/load`, headers: h });
  assert.equal(nm.statusCode, 202);
  assert.match(nm.headers['location'] as string, /^\/v2\/up\/copy2\/blobs\/uploads\//);
  const noFrom = await app.inject({ method: 'POST', url: `/v2/up/copy3/blobs/uploads/?mount=${sha256(blob)}`, headers: h });
  assert.equal(noFrom.statusCode, 201);
});

test('manifests: validation, Docker types, index, size limit, If-Match on referrers tags, events and in-process reads', async (t) => {
  const s = await testServer(t);
  const h = bearer(s.adminToken);
  const events: ManifestEvent[] = [];
  s.app.services.registry.onManifest((e) => void events.push(e));
  const img = await pushImage(s.app, h, 'm/app', 'latest', 'm');
  assert.equal(events.length, 1);
  assert.equal(events[0]?.repo, 'm/app');
  assert.equal(events[0]?.tag, 'latest');
  assert.equal(events[0]?.digest, img.digest);
  assert.equal(events[0]?.artifactType, 'application/vnd.oci.image.config.v1+json');
  assert.ok(events[0]?.bytes.equals(img.manifest));
  const reg = s.app.services.registry;
  assert.deepEqual(await reg.resolve('m/app', 'latest'), { digest: img.digest, mediaType: OCI_MANIFEST, size: img.manifest.length });
  assert.ok((await reg.readManifest('m/app', img.digest))?.bytes.equals(img.manifest));
  const ob = await reg.openBlob('m/app', sha256(img.layer));
  const chunks: Buffer[] = [];
  for await (const c of ob!.stream) chunks.push(c as Buffer);
  assert.ok(Buffer.concat(chunks).equals(img.layer));
  assert.equal(await reg.resolve('m/app', 'nope'), undefined);

  // by digest, with ?tag=, HEAD, ETag / If-None-Match
  const byDigest = await s.app.inject({ url: `/v2/m/app/manifests/${img.digest}`, headers: h });
  assert.ok(byDigest.rawPayload.equals(img.manifest));
  assert.equal(byDigest.headers['etag'], `"${img.digest}"`);
  assert.equal((await s.app.inject({ url: '/v2/m/app/manifests/latest', headers: { ...h, 'if-none-match': `"${img.digest}"` } })).statusCode, 304);
  const head = await s.app.inject({ method: 'HEAD', url: '/v2/m/app/manifests/latest', headers: h });
  assert.equal(head.headers['content-length'], String(img.manifest.length));
  assert.equal(head.headers['content-type'], OCI_MANIFEST);
  const multi = await s.app.inject({ method: 'PUT', url: `/v2/m/app/manifests/${img.digest}?tag=x1&tag=x2`, headers: { ...h, 'content-type': OCI_MANIFEST }, payload: img.manifest });
  assert.equal(multi.statusCode, 201);
  assert.deepEqual((await s.app.inject({ url: '/v2/m/app/tags/list', headers: h })).json().tags, ['latest', 'x1', 'x2']);
  // Accept naming only other manifest types
  assert.equal((await s.app.inject({ url: '/v2/m/app/manifests/latest', headers: { ...h, accept: DOCKER_MANIFEST } })).statusCode, 404);
  assert.equal((await s.app.inject({ url: '/v2/m/app/manifests/latest', headers: { ...h, accept: `${DOCKER_MANIFEST}, ${OCI_MANIFEST}` } })).statusCode, 200);

  // Docker schema 2 and a Docker manifest list
  const dcfg = Buffer.from('{"docker":true}');
  const dlayer = Buffer.from('docker layer');
  await pushBlob(s.app, h, 'm/app', dcfg);
  await pushBlob(s.app, h, 'm/app', dlayer);
  const dm = imageManifest(dcfg, [dlayer], {}, DOCKER_MANIFEST);
  assert.equal((await s.app.inject({ method: 'PUT', url: '/v2/m/app/manifests/docker', headers: { ...h, 'content-type': DOCKER_MANIFEST }, payload: dm })).statusCode, 201);
  assert.equal((await s.app.inject({ url: '/v2/m/app/manifests/docker', headers: h })).headers['content-type'], DOCKER_MANIFEST);
  const list = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json',
      manifests: [{ mediaType: DOCKER_MANIFEST, digest: sha256(dm), size: dm.length, platform: { architecture: 'amd64', os: 'linux' } }],
    }),
  );
  assert.equal((await s.app.inject({ method: 'PUT', url: '/v2/m/app/manifests/list', headers: { ...h, 'content-type': 'application/vnd.docker.distribution.manifest.list.v2+json' }, payload: list })).statusCode, 201);
  // an OCI index whose child is missing
  const idx = (digest: string): Buffer => Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, digest, size: 10 }] }));
  ociError(await s.app.inject({ method: 'PUT', url: '/v2/m/app/manifests/idx', headers: { ...h, 'content-type': OCI_INDEX }, payload: idx(sha256('no such manifest')) }), 400, 'MANIFEST_BLOB_UNKNOWN');
  assert.equal((await s.app.inject({ method: 'PUT', url: '/v2/m/app/manifests/idx', headers: { ...h, 'content-type': OCI_INDEX }, payload: idx(img.digest) })).statusCode, 201);
  assert.equal((await s.app.inject({ url: '/v2/m/app/manifests/idx', headers: h })).headers['content-type'], OCI_INDEX);

  // invalid manifests
  const put = (ref: string, payload: string | Buffer, ct = OCI_MANIFEST) => s.app.inject({ method: 'PUT', url: `/v2/m/app/manifests/${ref}`, headers: { ...h, 'content-type': ct }, payload });
  ociError(await put('bad', 'not json'), 400, 'MANIFEST_INVALID');
  ociError(await put('bad', '[]'), 400, 'MANIFEST_INVALID');
  ociError(await put('bad', JSON.stringify({ schemaVersion: 1, name: 'x' })), 400, 'MANIFEST_INVALID');
  ociError(await put('bad', img.manifest, OCI_INDEX), 400, 'MANIFEST_INVALID');
  ociError(await put('bad', JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: 'x', digest: 'sha256:zz', size: 1 }, layers: [] })), 400, 'MANIFEST_INVALID');
  ociError(await put('bad', JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.example+json' }), 'application/vnd.example+json'), 400, 'MANIFEST_INVALID');
  ociError(await put('bad', imageManifest(Buffer.from('unpushed config'), [])), 400, 'MANIFEST_BLOB_UNKNOWN');
  ociError(await put(sha256('other bytes'), img.manifest), 400, 'DIGEST_INVALID');
  ociError(await put('-bad-tag', img.manifest), 400, 'MANIFEST_INVALID');
  ociError(await put('x'.repeat(129), img.manifest), 400, 'MANIFEST_INVALID');
  ociError(await s.app.inject({ method: 'PUT', url: `/v2/m/app/manifests/${img.digest}?tag=.dot`, headers: { ...h, 'content-type': OCI_MANIFEST }, payload: img.manifest }), 400, 'MANIFEST_INVALID');
  // ≥ 4 MiB accepted, over 8 MiB refused with 413
  const bigAnn = imageManifest(img.config, [img.layer], { annotations: { pad: 'p'.repeat(5 << 20) } });
  assert.equal((await put('big', bigAnn)).statusCode, 201);
  ociError(await put('huge', imageManifest(img.config, [img.layer], { annotations: { pad: 'p'.repeat(9 << 20) } })), 413, 'SIZE_INVALID');

  // the referrers tag schema: If-Match / If-None-Match with ETags, 412 on mismatch
  const tag = `sha256-${img.digest.slice(7)}`;
  const refIndex = (n: number): Buffer => Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: n ? [{ mediaType: OCI_MANIFEST, digest: img.digest, size: img.manifest.length, artifactType: 'x/y' }] : [] }));
  const first = await s.app.inject({ method: 'PUT', url: `/v2/m/app/manifests/${tag}`, headers: { ...h, 'content-type': OCI_INDEX, 'if-none-match': '*' }, payload: refIndex(0) });
  assert.equal(first.statusCode, 201, first.body);
  const again = await s.app.inject({ method: 'PUT', url: `/v2/m/app/manifests/${tag}`, headers: { ...h, 'content-type': OCI_INDEX, 'if-none-match': '*' }, payload: refIndex(1) });
  ociError(again, 412, 'MANIFEST_INVALID');
  const etag = (await s.app.inject({ url: `/v2/m/app/manifests/${tag}`, headers: h })).headers['etag'] as string;
  ociError(await s.app.inject({ method: 'PUT', url: `/v2/m/app/manifests/${tag}`, headers: { ...h, 'content-type': OCI_INDEX, 'if-match': `"${sha256('stale')}"` }, payload: refIndex(1) }), 412, 'MANIFEST_INVALID');
  assert.equal((await s.app.inject({ method: 'PUT', url: `/v2/m/app/manifests/${tag}`, headers: { ...h, 'content-type': OCI_INDEX, 'if-match': etag }, payload: refIndex(1) })).statusCode, 201);
  assert.equal((await s.app.inject({ url: `/v2/m/app/manifests/${tag}`, headers: h })).json().manifests.length, 1);
});

test('names, tags, routes and errors: 4xx in the OCI format, never the /api/ shape or a 500', async (t) => {
  const s = await testServer(t);
  const h = bearer(s.adminToken);
  for (const name of ['UPPER/case', 'a//b', '-lead', 'a/b-', 'a..b', 'x' + '/y'.repeat(130)]) {
    ociError(await s.app.inject({ url: `/v2/${name}/tags/list`, headers: h }), 400, 'NAME_INVALID');
  }
  ociError(await s.app.inject({ url: '/v2/ok/manifests/bad~tag', headers: h }), 400, 'MANIFEST_INVALID');
  ociError(await s.app.inject({ url: '/v2/never/pushed/tags/list', headers: h }), 404, 'NAME_UNKNOWN');
  ociError(await s.app.inject({ url: '/v2/ok/what/ever', headers: h }), 404, 'NAME_UNKNOWN');
  ociError(await s.app.inject({ method: 'PATCH', url: `/v2/ok/blobs/${sha256('x')}`, headers: h }), 405, 'UNSUPPORTED');
  ociError(await s.app.inject({ method: 'OPTIONS', url: '/v2/ok/tags/list', headers: h }), 404, 'UNSUPPORTED');
  ociError(await s.app.inject({ url: '/v2/ok/tags/list?n=-1', headers: h }), 400, 'UNSUPPORTED');
  ociError(await s.app.inject({ method: 'POST', url: '/v2/ok/blobs/uploads/?digest-algorithm=md5', headers: h }), 400, 'DIGEST_INVALID');
  ociError(await s.app.inject({ method: 'PUT', url: '/v2/ok/manifests/v1', headers: { ...h, 'content-type': 'not a type' }, payload: '{}' }), 415, 'UNSUPPORTED');
  const p = await s.app.inject({ method: 'POST', url: '/v2/ok/blobs/uploads/', headers: h });
  ociError(await s.app.inject({ method: 'PATCH', url: p.headers['location'] as string, headers: { ...h, ...octet, 'content-range': 'garbage' }, payload: 'x' }), 416, 'BLOB_UPLOAD_INVALID');
  ociError(await s.app.inject({ method: 'PATCH', url: p.headers['location'] as string, headers: { ...h, ...octet, 'content-range': '0-9' }, payload: 'short' }), 416, 'BLOB_UPLOAD_INVALID');
  ociError(await s.app.inject({ method: 'PUT', url: p.headers['location'] as string, headers: h }), 400, 'DIGEST_INVALID');
  ociError(await s.app.inject({ url: '/v2/ok/tags/list', headers: bearer('sgt_unknown') }), 401, 'UNAUTHORIZED');
  // the /api/ boundary keeps its own shape
  assert.equal((await s.app.inject({ url: '/api/v1/nope' })).json().code, 'NOT_FOUND');
  const doc = (await s.app.inject({ url: '/openapi.json' })).json() as { paths: Record<string, unknown> };
  assert.ok(doc.paths['/v2/{path}'] && doc.paths['/api/v1/registry/gc']);
});

test('auth: 401 challenges, token endpoint scopes, Basic, roles, repository globs, anonymous and public pull', async (t) => {
  const s = await testServer(t, { SIGNET_BASE_URL: 'http://registry.test:5000' });
  const admin = bearer(s.adminToken);
  const img = await pushImage(s.app, admin, 'team/app', 'v1', 'auth');
  const realm = 'Bearer realm="http://registry.test:5000/v2/token",service="registry.test:5000"';

  const ping = await s.app.inject({ url: '/v2/' });
  ociError(ping, 401, 'UNAUTHORIZED');
  assert.equal(ping.headers['www-authenticate'], realm);
  // the POST-upload probe @sigstore/oci sends with credentials configured
  const probe = await s.app.inject({ method: 'POST', url: '/v2/team/app/blobs/uploads/' });
  ociError(probe, 401, 'UNAUTHORIZED');
  assert.equal(probe.headers['www-authenticate'], `${realm},scope="repository:team/app:pull,push"`);
  const pull = await s.app.inject({ url: '/v2/team/app/manifests/v1' });
  assert.equal(pull.headers['www-authenticate'], `${realm},scope="repository:team/app:pull"`);

  const reader = await newToken(s.app, admin, 'reader');
  const publisher = await newToken(s.app, admin, 'publisher', ['team/*']);
  const basic = (tok: string): Record<string, string> => ({ authorization: `Basic ${Buffer.from(`anyone:${tok}`).toString('base64')}` });
  // Basic with the API token as password directly on /v2/
  assert.equal((await s.app.inject({ url: '/v2/team/app/manifests/v1', headers: basic(reader) })).statusCode, 200);
  const denied = await s.app.inject({ method: 'POST', url: '/v2/team/app/blobs/uploads/', headers: basic(reader) });
  ociError(denied, 403, 'DENIED');
  ociError(await s.app.inject({ method: 'DELETE', url: `/v2/team/app/manifests/${img.digest}`, headers: bearer(reader) }), 403, 'DENIED');
  // a repository-limited token
  assert.equal((await s.app.inject({ method: 'POST', url: '/v2/team/new/blobs/uploads/', headers: bearer(publisher) })).statusCode, 202);
  ociError(await s.app.inject({ method: 'POST', url: '/v2/other/app/blobs/uploads/', headers: bearer(publisher) }), 403, 'DENIED');
  ociError(await s.app.inject({ url: '/v2/team/deep/er/tags/list', headers: bearer(publisher) }), 403, 'DENIED');

  // token endpoint: grants only what the API token allows
  const tokFor = async (headers: Record<string, string>, scope: string): Promise<{ statusCode: number; token?: string; json: () => Record<string, unknown> }> => {
    const r = await s.app.inject({ url: `/v2/token?service=registry.test:5000&scope=${encodeURIComponent(scope)}`, headers });
    return { statusCode: r.statusCode, token: r.statusCode === 200 ? (r.json().token as string) : undefined, json: () => r.json() };
  };
  const claims = (tok: string): { access: { name: string; actions: string[] }[]; exp: number; iat: number } =>
    JSON.parse(Buffer.from(tok.split('.')[1] as string, 'base64url').toString());
  const rt = await tokFor(basic(reader), 'repository:team/app:pull,push');
  assert.equal(rt.statusCode, 200);
  const body = rt.json();
  assert.equal(body['access_token'], body['token']);
  assert.equal(body['expires_in'], 300);
  assert.ok(typeof body['issued_at'] === 'string');
  assert.deepEqual(claims(rt.token!).access, [{ type: 'repository', name: 'team/app', actions: ['pull'] }]);
  const pt = await tokFor(bearer(publisher), 'repository:team/app:pull,push repository:other/x:pull');
  assert.deepEqual(claims(pt.token!).access, [{ type: 'repository', name: 'team/app', actions: ['pull', 'push'] }]);
  // registry tokens work as Bearer under /v2/, within their scope only
  assert.equal((await s.app.inject({ url: '/v2/team/app/manifests/v1', headers: bearer(rt.token!) })).statusCode, 200);
  ociError(await s.app.inject({ method: 'POST', url: '/v2/team/app/blobs/uploads/', headers: bearer(rt.token!) }), 403, 'DENIED');
  assert.equal((await s.app.inject({ method: 'POST', url: '/v2/team/app/blobs/uploads/', headers: bearer(pt.token!) })).statusCode, 202);
  ociError(await s.app.inject({ url: '/v2/team/other/tags/list', headers: bearer(pt.token!) }), 403, 'DENIED');
  const tampered = `${pt.token!.slice(0, -4)}AAAA`;
  ociError(await s.app.inject({ url: '/v2/team/app/tags/list', headers: bearer(tampered) }), 401, 'UNAUTHORIZED');
  // a registry token is not an API token
  assert.equal((await s.app.inject({ url: '/api/v1/tokens', headers: bearer(pt.token!) })).statusCode, 401);
  // anonymous: no grant without anonymous pull
  const anon = await tokFor({}, 'repository:team/app:pull');
  assert.equal(anon.statusCode, 401);
  ociError(await s.app.inject({ url: '/v2/token?scope=nonsense', headers: bearer(reader) }), 400, 'UNSUPPORTED');
  ociError(await s.app.inject({ url: '/v2/token?scope=repository:BAD:pull', headers: bearer(reader) }), 400, 'NAME_INVALID');
  ociError(await s.app.inject({ url: '/v2/team/app/tags/list', headers: bearer('sgt_nope') }), 401, 'UNAUTHORIZED');

  // a public repository is pullable anonymously (directly and with an anonymous token), never pushable
  await s.app.services.registry.store.setVisibility('team/app', 'public');
  assert.equal((await s.app.inject({ url: '/v2/team/app/manifests/v1' })).statusCode, 200);
  const at = await tokFor({}, 'repository:team/app:pull,push');
  assert.deepEqual(claims(at.token!).access, [{ type: 'repository', name: 'team/app', actions: ['pull'] }]);
  assert.equal((await s.app.inject({ url: '/v2/team/app/manifests/v1', headers: bearer(at.token!) })).statusCode, 200);
  ociError(await s.app.inject({ method: 'POST', url: '/v2/team/app/blobs/uploads/', headers: bearer(at.token!) }), 401, 'UNAUTHORIZED');
  ociError(await s.app.inject({ url: '/v2/team/new/tags/list' }), 401, 'UNAUTHORIZED');
  // catalog: only what the caller may pull
  assert.deepEqual((await s.app.inject({ url: '/v2/_catalog', headers: bearer(publisher) })).json().repositories, ['team/app', 'team/new']);
  ociError(await s.app.inject({ url: '/v2/_catalog' }), 401, 'UNAUTHORIZED');
  // the GC endpoint is admin-only
  assert.equal((await s.app.inject({ method: 'POST', url: '/api/v1/registry/gc', headers: bearer(reader) })).statusCode, 403);
});

test('anonymous_pull config: pulls need no token, pushes still do; catalog with n/last/Link', async (t) => {
  const s = await testServer(t, { SIGNET_REGISTRY_ANONYMOUS_PULL: 'true' });
  const admin = bearer(s.adminToken);
  await pushImage(s.app, admin, 'open/app', 'v1', 'anon');
  for (const n of ['a', 'c', 'b', 'd/e']) await pushBlob(s.app, admin, n, Buffer.from(n));
  assert.equal((await s.app.inject({ url: '/v2/open/app/manifests/v1' })).statusCode, 200);
  assert.equal((await s.app.inject({ url: '/v2/open/app/tags/list' })).statusCode, 200);
  ociError(await s.app.inject({ method: 'POST', url: '/v2/open/app/blobs/uploads/' }), 401, 'UNAUTHORIZED');
  const tok = await s.app.inject({ url: '/v2/token?scope=repository:open/app:pull,push' });
  assert.equal(tok.statusCode, 200);
  const c1 = await s.app.inject({ url: '/v2/_catalog?n=2' });
  assert.deepEqual(c1.json(), { repositories: ['a', 'b'] });
  assert.equal(c1.headers['link'], '</v2/_catalog?n=2&last=b>; rel="next"');
  const c2 = await s.app.inject({ url: '/v2/_catalog?n=2&last=b' });
  assert.deepEqual(c2.json().repositories, ['c', 'd/e']);
  const c3 = await s.app.inject({ url: '/v2/_catalog?n=2&last=d/e' });
  assert.deepEqual(c3.json().repositories, ['open/app']);
  assert.equal(c3.headers['link'], undefined);
  assert.deepEqual((await s.app.inject({ url: '/v2/_catalog?n=0' })).json(), { repositories: [] });
  assert.throws(() => loadConfig({}, { SIGNET_REGISTRY_ANONYMOUS_PULL: 'maybe' }), /SIGNET_REGISTRY_ANONYMOUS_PULL must be true or false/);
  assert.throws(() => loadConfig({}, { SIGNET_REGISTRY_GC_INTERVAL: 'often' }), /SIGNET_REGISTRY_GC_INTERVAL must be a duration/);
  assert.equal(loadConfig({}, { SIGNET_REGISTRY_GC_INTERVAL: '0' }).registry.gcIntervalMs, 0);
  assert.equal(loadConfig({}, { SIGNET_REGISTRY_GC_INTERVAL: '1h30m' }).registry.gcIntervalMs, 5_400_000);
  assert.equal(loadConfig({}, {}).registry.gcIntervalMs, 86_400_000);
  const dir = tempDir(t);
  writeFileSync(join(dir, 'c.yaml'), 'registry:\n  anonymous_pull: true\n  gc_interval: 6h\n  gc_grace: 10m\n');
  assert.deepEqual(loadConfig({ config: join(dir, 'c.yaml') }, {}).registry, { anonymousPull: true, gcIntervalMs: 21_600_000, gcGraceMs: 600_000 });
  writeFileSync(join(dir, 'd.yaml'), 'registry:\n  anonymous: true\n');
  assert.throws(() => loadConfig({ config: join(dir, 'd.yaml') }, {}), /unknown setting "registry.anonymous"/);
});

test('GC never removes referenced blobs or in-flight uploads; removes orphans past the grace period; signet-server gc', async (t) => {
  const s = await testServer(t);
  const h = bearer(s.adminToken);
  const reg = s.app.services.registry;
  const img = await pushImage(s.app, h, 'gc/app', 'v1', 'keep');
  // an index whose child manifest is only referenced through it
  const child = await pushImage(s.app, h, 'gc/app', 'child-tmp', 'child');
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: OCI_MANIFEST, digest: child.digest, size: child.manifest.length }] }));
  assert.equal((await s.app.inject({ method: 'PUT', url: '/v2/gc/app/manifests/multi', headers: { ...h, 'content-type': OCI_INDEX }, payload: index })).statusCode, 201);
  assert.equal((await s.app.inject({ method: 'DELETE', url: '/v2/gc/app/manifests/child-tmp', headers: h })).statusCode, 202);
  const orphan = Buffer.from('nobody references me');
  await pushBlob(s.app, h, 'gc/app', orphan);
  // an upload in flight
  const p = await s.app.inject({ method: 'POST', url: '/v2/gc/app/blobs/uploads/', headers: h });
  const loc = p.headers['location'] as string;
  await s.app.inject({ method: 'PATCH', url: loc, headers: { ...h, ...octet }, payload: 'half of a blob ' });

  // within the grace period nothing goes
  assert.equal((await reg.gc()).removed_blobs, 0);
  const r = await reg.gc({ graceMs: 0 });
  assert.equal(r.removed_blobs, 1, JSON.stringify(r));
  assert.equal(r.freed_bytes, orphan.length);
  ociError(await s.app.inject({ url: `/v2/gc/app/blobs/${sha256(orphan)}`, headers: h }), 404, 'BLOB_UNKNOWN');
  for (const b of [img.config, img.layer, child.config, child.layer]) {
    assert.equal((await s.app.inject({ method: 'HEAD', url: `/v2/gc/app/blobs/${sha256(b)}`, headers: h })).statusCode, 200);
  }
  assert.ok((await s.app.inject({ url: `/v2/gc/app/manifests/${child.digest}`, headers: h })).rawPayload.equals(child.manifest));
  assert.ok((await s.app.inject({ url: '/v2/gc/app/manifests/v1', headers: h })).rawPayload.equals(img.manifest));
  // the upload continues and completes after GC
  await s.app.inject({ method: 'PATCH', url: loc, headers: { ...h, ...octet }, payload: 'and the rest' });
  const fin = await s.app.inject({ method: 'PUT', url: withParam(loc, 'digest', sha256('half of a blob and the rest')), headers: h });
  assert.equal(fin.statusCode, 201, fin.body);

  // a file no row knows (a crash between rename and commit) goes once old enough
  const stray = createHash('sha256').update('stray').digest('hex');
  const strayPath = join(s.dir, 'blobs', 'sha256', stray.slice(0, 2), stray);
  writeFileSync(strayPath, 'stray');
  assert.equal((await reg.gc({ graceMs: 60_000 })).removed_blobs, 0);
  const old = new Date(Date.now() - 3_600_000);
  utimesSync(strayPath, old, old);
  assert.equal((await reg.gc({ graceMs: 60_000 })).removed_blobs, 1);
  assert.equal(existsSync(strayPath), false);

  // deleting the image and the index frees everything on the next run
  await s.app.inject({ method: 'DELETE', url: `/v2/gc/app/manifests/${img.digest}`, headers: h });
  await s.app.inject({ method: 'DELETE', url: `/v2/gc/app/manifests/${sha256(index)}`, headers: h });
  await s.app.inject({ method: 'DELETE', url: `/v2/gc/app/manifests/${child.digest}`, headers: h });
  // 3 + 3 blobs of the two images, the index, and the finished upload nobody references
  assert.equal((await reg.gc({ graceMs: 0 })).removed_blobs, 8);
  const late = Buffer.from('pushed just before the server stopped');
  await pushBlob(s.app, h, 'gc/app', late);
  await s.app.close();

  // the server binary's gc subcommand on the same data directory
  const cli = await run(process.execPath, [SERVER_BIN, 'gc', '--data', s.dir, '--grace', '0'], { env: { SIGNET_LOG_LEVEL: 'silent' } });
  assert.equal(cli.code, 0, cli.stderr);
  const out = JSON.parse(cli.stdout) as { removed_blobs: number; freed_bytes: number };
  assert.equal(out.removed_blobs, 1);
  assert.equal(out.freed_bytes, late.length);
  const bad = await run(process.execPath, [SERVER_BIN, 'gc', '--data', s.dir, '--grace', 'soon']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /--grace must be a duration/);
  assert.deepEqual(
    readdirSync(join(s.dir, 'blobs', 'sha256')).flatMap((d) => readdirSync(join(s.dir, 'blobs', 'sha256', d))),
    [],
  );
});

test('repository globs on tokens: * within a component, ** across any number', async () => {
  const { globMatch } = await import('../dist/registry/index.js');
  const cases: [string, string, boolean][] = [
    ['prod/*', 'prod/app', true],
    ['prod/*', 'prod/team/app', false],
    ['prod/**', 'prod', true],
    ['prod/**', 'prod/team/app', true],
    ['a/*/c', 'a/b/c', true],
    ['app-*', 'app-1', true],
    ['a.b', 'axb', false],
    ['team/*', 'team', false],
  ];
  for (const [glob, name, want] of cases) assert.equal(globMatch(glob, name), want, `${glob} vs ${name}`);
});
