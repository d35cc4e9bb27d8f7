// The registry against real clients (reference §7): umoci builds an image, skopeo pushes, inspects, pulls,
// converts, lists, deletes, and copies a legacy cosign `.sig` with use-sigstore-attachments.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireTool, run, startSignetServer, tempDir } from '@signet/testkit';

const sha256 = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function ok(p: Promise<{ code: number; stdout: string; stderr: string }>, what: string): Promise<string> {
  const r = await p;
  assert.equal(r.code, 0, `${what}: ${r.stderr}`);
  return r.stdout;
}

/** Every blob of an OCI layout, by file name. */
function layoutBlobs(dir: string): Map<string, Buffer> {
  const d = join(dir, 'blobs', 'sha256');
  return new Map(readdirSync(d).map((f) => [f, readFileSync(join(d, f))]));
}

test('skopeo and umoci: push, inspect --raw, pull back byte-identical, docker-archive → OCI, list-tags, delete, .sig attachments', async (t) => {
  const skopeo = requireTool(t, 'skopeo');
  const umoci = requireTool(t, 'umoci');
  if (!skopeo || !umoci) return;
  const w = tempDir(t, 'signet-oci-');
  const srv = await startSignetServer(t);
  const host = new URL(srv.url).host;
  const creds = `x:${srv.adminToken}`;
  const auth = { authorization: `Bearer ${srv.adminToken}` };
  const sk = (...args: string[]) => run(skopeo, ['--insecure-policy', ...args], { cwd: w, timeoutMs: 30_000 });

  // umoci builds a one-file image into an OCI layout
  await ok(run(umoci, ['init', '--layout', 'oci-hello'], { cwd: w }), 'umoci init');
  await ok(run(umoci, ['new', '--image', 'oci-hello:v1'], { cwd: w }), 'umoci new');
  writeFileSync(join(w, 'hello.txt'), 'hi from signet\n');
  await ok(run(umoci, ['insert', '--image', 'oci-hello:v1', 'hello.txt', '/hello.txt'], { cwd: w }), 'umoci insert');
  await ok(run(umoci, ['config', '--image', 'oci-hello:v1', '--config.cmd', '/hello.txt'], { cwd: w }), 'umoci config');
  await ok(run(umoci, ['gc', '--layout', 'oci-hello'], { cwd: w }), 'umoci gc');
  const index = JSON.parse(readFileSync(join(w, 'oci-hello', 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
  const manifestDigest = index.manifests[0]?.digest as string;
  const original = layoutBlobs(join(w, 'oci-hello'));

  // push: the API token as the password (skopeo gets a registry token from /v2/token with it)
  await ok(sk('copy', '--dest-tls-verify=false', '--dest-creds', creds, 'oci:oci-hello:v1', `docker://${host}/test/hello:v1`), 'skopeo copy to signet');
  const raw = await run(skopeo, ['inspect', '--raw', '--tls-verify=false', '--creds', creds, `docker://${host}/test/hello:v1`]);
  assert.equal(raw.code, 0, raw.stderr);
  assert.ok(raw.stdoutBytes.equals(original.get(manifestDigest.slice(7)) as Buffer), 'inspect --raw gives the pushed manifest bytes');
  const head = await fetch(`${srv.url}/v2/test/hello/manifests/v1`, { method: 'HEAD', headers: auth });
  assert.equal(head.headers.get('docker-content-digest'), manifestDigest);
  // without credentials skopeo is refused
  const anon = await sk('inspect', '--raw', '--tls-verify=false', `docker://${host}/test/hello:v1`);
  assert.notEqual(anon.code, 0);
  assert.match(anon.stderr, /unauthorized|authentication required/i);

  // pull back into an OCI layout and a dir: every blob byte-identical
  await ok(sk('copy', '--src-tls-verify=false', '--src-creds', creds, `docker://${host}/test/hello:v1`, 'oci:back:v1'), 'skopeo copy to oci');
  const back = layoutBlobs(join(w, 'back'));
  for (const [name, bytes] of original) assert.ok(back.get(name)?.equals(bytes), `blob ${name} came back identical`);
  await ok(sk('copy', '--src-tls-verify=false', '--src-creds', creds, `docker://${host}/test/hello:v1`, `dir:${join(w, 'd')}`), 'skopeo copy to dir');
  assert.ok(readFileSync(join(w, 'd', 'manifest.json')).equals(original.get(manifestDigest.slice(7)) as Buffer));

  // docker-archive pushed with --format oci; list-tags; delete
  await ok(sk('copy', 'oci:oci-hello:v1', `docker-archive:${join(w, 'x.tar')}:test/hello:v1`), 'skopeo copy to docker-archive');
  await ok(sk('copy', '--format', 'oci', '--dest-tls-verify=false', '--dest-creds', creds, `docker-archive:${join(w, 'x.tar')}`, `docker://${host}/test/a:oci`), 'skopeo copy archive to signet');
  const a = JSON.parse(await ok(sk('inspect', '--raw', '--tls-verify=false', '--creds', creds, `docker://${host}/test/a:oci`), 'inspect test/a')) as { mediaType: string };
  assert.equal(a.mediaType, 'application/vnd.oci.image.manifest.v1+json');
  const tags = JSON.parse(await ok(sk('list-tags', '--tls-verify=false', '--creds', creds, `docker://${host}/test/a`), 'list-tags')) as { Tags: string[] };
  assert.deepEqual(tags.Tags, ['oci']);
  await ok(sk('delete', '--tls-verify=false', '--creds', creds, `docker://${host}/test/a:oci`), 'skopeo delete');
  const after = JSON.parse(await ok(sk('list-tags', '--tls-verify=false', '--creds', creds, `docker://${host}/test/a`), 'list-tags after delete')) as { Tags: string[] };
  assert.deepEqual(after.Tags, []);
  assert.notEqual((await sk('inspect', '--raw', '--tls-verify=false', '--creds', creds, `docker://${host}/test/a:oci`)).code, 0);

  // a legacy cosign signature (reference §1.2 layout; the bytes need not verify at this layer), pushed by hand
  const payload = Buffer.from(
    JSON.stringify({ critical: { identity: { 'docker-reference': `${host}/test/hello` }, image: { 'docker-manifest-digest': manifestDigest }, type: 'cosign container image signature' }, optional: null }),
  );
  const config = Buffer.from(JSON.stringify({ architecture: '', os: '', config: {}, rootfs: { type: 'layers', diff_ids: [sha256(payload)] } }));
  for (const blob of [payload, config]) {
    const r = await fetch(`${srv.url}/v2/test/hello/blobs/uploads/?digest=${sha256(blob)}`, { method: 'POST', headers: { ...auth, 'content-type': 'application/octet-stream' }, body: blob });
    assert.equal(r.status, 201);
  }
  const sigManifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: [
        {
          mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json',
          digest: sha256(payload),
          size: payload.length,
          annotations: { 'dev.cosignproject.cosign/signature': Buffer.from('not a real signature').toString('base64') },
        },
      ],
    }),
  );
  const sigTag = `sha256-${manifestDigest.slice(7)}.sig`;
  const put = await fetch(`${srv.url}/v2/test/hello/manifests/${sigTag}`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/vnd.oci.image.manifest.v1+json' }, body: sigManifest });
  assert.equal(put.status, 201, await put.text());
  mkdirSync(join(w, 'rd'));
  writeFileSync(join(w, 'rd', 'local.yaml'), `docker:\n  ${host}:\n    use-sigstore-attachments: true\n`);
  await ok(
    sk('--registries.d', join(w, 'rd'), 'copy', '--src-tls-verify=false', '--dest-tls-verify=false', '--src-creds', creds, '--dest-creds', creds, `docker://${host}/test/hello:v1`, `docker://${host}/test/copy:v1`),
    'skopeo copy with sigstore attachments',
  );
  const copied = await fetch(`${srv.url}/v2/test/copy/manifests/${sigTag}`, { headers: auth });
  assert.equal(copied.status, 200, 'the .sig tag was copied');
  const cm = (await copied.json()) as { layers: { digest: string; annotations: Record<string, string> }[] };
  assert.equal(cm.layers[0]?.digest, sha256(payload));
  assert.equal(cm.layers[0]?.annotations['dev.cosignproject.cosign/signature'], Buffer.from('not a real signature').toString('base64'));
  const pl = await fetch(`${srv.url}/v2/test/copy/blobs/${sha256(payload)}`, { headers: auth });
  assert.ok(Buffer.from(await pl.arrayBuffer()).equals(payload));
  // and into a dir: skopeo reads it back as signature-1
  await ok(sk('--registries.d', join(w, 'rd'), 'copy', '--src-tls-verify=false', '--src-creds', creds, `docker://${host}/test/copy:v1`, `dir:${join(w, 'sigdir')}`), 'skopeo copy signed image to dir');
  assert.match(readFileSync(join(w, 'sigdir', 'signature-1')).toString('latin1'), /application\/vnd\.dev\.cosign\.simplesigning\.v1\+json/);
});
