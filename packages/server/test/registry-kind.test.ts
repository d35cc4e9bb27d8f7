// A repository created as kind "generic" (repositories API) is not an OCI repository: writes over /v2/ (blob upload
// POST, monolithic upload, mount, manifest PUT, DELETE) are refused with DENIED 403 naming /files/; reads answer as
// for an unknown repository (404), and its files never leak through /v2/ (blob GET, or a mount into an OCI repo).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { bearer, testServer } from './helpers.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const octet = { 'content-type': 'application/octet-stream' };
const sha256 = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

type Res = { statusCode: number; body: string; headers: Record<string, unknown>; json: () => any };

function ociError(r: Res, status: number, code: string, message?: RegExp): void {
  assert.equal(r.statusCode, status, r.body);
  const e = (r.json() as { errors: { code: string; message: string }[] }).errors[0];
  assert.equal(e?.code, code, r.body);
  if (message) assert.match(e.message, message);
}

test('generic repositories over /v2/: pushes refused with DENIED 403, reads 404, files never served or mounted', async (t) => {
  const s = await testServer(t);
  const admin = bearer(s.adminToken);
  const inject = (o: { method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE'; url: string; headers?: Record<string, string>; payload?: Buffer | string }): Promise<Res> =>
    s.app.inject({ ...o, headers: { ...admin, ...o.headers } }) as unknown as Promise<Res>;
  const created = await inject({ method: 'POST', url: '/api/v1/repositories', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ name: 'dist/tools', kind: 'generic' }) });
  assert.equal(created.statusCode, 201, created.body);

  // A file in the generic repository: its blob is linked to the repository in the registry's tables.
  const file = Buffer.from('release notes\n'.repeat(20));
  const fileDigest = sha256(file);
  assert.equal((await inject({ method: 'PUT', url: '/files/dist/tools/notes.txt', headers: octet, payload: file })).statusCode, 201);

  // An ordinary OCI repository holding a config and a layer (the control, and a mount source).
  const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
  const layer = Buffer.from('layer\n'.repeat(100));
  for (const b of [config, layer]) {
    const r = await inject({ method: 'POST', url: `/v2/apps/web/blobs/uploads/?digest=${sha256(b)}`, headers: octet, payload: b });
    assert.equal(r.statusCode, 201, r.body);
  }
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: layer.length }],
    }),
  );
  assert.equal((await inject({ method: 'PUT', url: '/v2/apps/web/manifests/1', headers: { 'content-type': OCI_MANIFEST }, payload: manifest })).statusCode, 201);

  const message = /^repository "dist\/tools" is a generic file repository: upload files to \/files\/dist\/tools\/<path>$/;
  // Writes: upload session, monolithic upload, mount (with and without from), manifest PUT by tag and digest, DELETEs.
  ociError(await inject({ method: 'POST', url: '/v2/dist/tools/blobs/uploads/' }), 403, 'DENIED', message);
  ociError(await inject({ method: 'POST', url: `/v2/dist/tools/blobs/uploads/?digest=${sha256(config)}`, headers: octet, payload: config }), 403, 'DENIED', message);
  ociError(await inject({ method: 'POST', url: `/v2/dist/tools/blobs/uploads/?mount=${sha256(layer)}&from=apps/web` }), 403, 'DENIED', message);
  ociError(await inject({ method: 'POST', url: `/v2/dist/tools/blobs/uploads/?mount=${sha256(layer)}` }), 403, 'DENIED', message);
  ociError(await inject({ method: 'PUT', url: '/v2/dist/tools/manifests/1', headers: { 'content-type': OCI_MANIFEST }, payload: manifest }), 403, 'DENIED', message);
  ociError(await inject({ method: 'PUT', url: `/v2/dist/tools/manifests/${sha256(manifest)}`, headers: { 'content-type': OCI_MANIFEST }, payload: manifest }), 403, 'DENIED', message);
  ociError(await inject({ method: 'DELETE', url: `/v2/dist/tools/blobs/${fileDigest}` }), 403, 'DENIED', message);
  ociError(await inject({ method: 'DELETE', url: `/v2/dist/tools/manifests/${sha256(manifest)}` }), 403, 'DENIED', message);

  // Nothing of that was stored: the repository holds just the file.
  const contents = (await inject({ method: 'GET', url: '/api/v1/repositories/dist/tools' })).json().contents as Record<string, number>;
  assert.deepEqual({ files: contents['files'], manifests: contents['manifests'], tags: contents['tags'] }, { files: 1, manifests: 0, tags: 0 });

  // Authorization still comes first: a reader is told it may not push, anonymous callers get the challenge.
  const reader = (await inject({ method: 'POST', url: '/api/v1/tokens', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ name: 'reader', role: 'reader' }) })).json().token as string;
  ociError(await inject({ method: 'POST', url: '/v2/dist/tools/blobs/uploads/', headers: bearer(reader) }), 403, 'DENIED', /may not push dist\/tools/);
  const anon = (await s.app.inject({ method: 'POST', url: '/v2/dist/tools/blobs/uploads/' })) as unknown as Res;
  ociError(anon, 401, 'UNAUTHORIZED');

  // Reads answer as for an unknown repository.
  ociError(await inject({ method: 'GET', url: '/v2/dist/tools/manifests/latest' }), 404, 'NAME_UNKNOWN');
  ociError(await inject({ method: 'GET', url: `/v2/dist/tools/manifests/${sha256(manifest)}` }), 404, 'NAME_UNKNOWN');
  assert.equal((await inject({ method: 'HEAD', url: '/v2/dist/tools/manifests/latest' })).statusCode, 404);
  ociError(await inject({ method: 'GET', url: '/v2/dist/tools/tags/list' }), 404, 'NAME_UNKNOWN');
  ociError(await inject({ method: 'GET', url: '/v2/nothing/here/tags/list' }), 404, 'NAME_UNKNOWN');
  // The file's bytes are not served over /v2/, by GET or HEAD, to anyone.
  ociError(await inject({ method: 'GET', url: `/v2/dist/tools/blobs/${fileDigest}` }), 404, 'BLOB_UNKNOWN');
  assert.equal((await inject({ method: 'HEAD', url: `/v2/dist/tools/blobs/${fileDigest}` })).statusCode, 404);
  const refs = await inject({ method: 'GET', url: `/v2/dist/tools/referrers/${sha256(manifest)}` });
  assert.equal(refs.statusCode, 200);
  assert.deepEqual(refs.json().manifests, []);
  const catalog = (await inject({ method: 'GET', url: '/v2/_catalog' })).json().repositories as string[];
  assert.ok(!catalog.includes('dist/tools') && catalog.includes('apps/web'), catalog.join(','));

  // A mount from the generic repository into an OCI one does not link the file: an ordinary upload session instead.
  const mount = await inject({ method: 'POST', url: `/v2/apps/web/blobs/uploads/?mount=${fileDigest}&from=dist/tools` });
  assert.equal(mount.statusCode, 202, mount.body);
  assert.equal((await inject({ method: 'POST', url: `/v2/apps/other/blobs/uploads/?mount=${fileDigest}` })).statusCode, 202);
  ociError(await inject({ method: 'GET', url: `/v2/apps/web/blobs/${fileDigest}` }), 404, 'BLOB_UNKNOWN');

  // The control: the OCI repository works as before (manifest, blobs, mount between OCI repositories).
  assert.equal((await inject({ method: 'GET', url: '/v2/apps/web/manifests/1', headers: { accept: OCI_MANIFEST } })).statusCode, 200);
  const served = await inject({ method: 'GET', url: `/v2/apps/web/blobs/${sha256(layer)}` });
  assert.equal(served.statusCode, 200);
  assert.equal(served.body, layer.toString());
  assert.equal((await inject({ method: 'POST', url: `/v2/apps/copy/blobs/uploads/?mount=${sha256(layer)}&from=apps/web` })).statusCode, 201);

  // ... and the generic repository's own file API is unaffected (it uses the registry's upload path internally).
  assert.equal((await inject({ method: 'PUT', url: '/files/dist/tools/more.txt', headers: octet, payload: 'more' })).statusCode, 201);
  const got = await inject({ method: 'GET', url: '/files/dist/tools/notes.txt' });
  assert.equal(got.statusCode, 200);
  assert.equal(got.body, file.toString());
});
