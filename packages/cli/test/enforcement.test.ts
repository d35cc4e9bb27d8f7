// Push and pull enforcement, the seed's walkthrough with real clients: a policy requires a signature from a key
// registered for production/*; skopeo's unsigned push is refused with the seed's message while the manifest stays
// stored by digest; `signet sign` signs that digest; the same push then succeeds. Quarantine holds a tag back from
// consumers until it is signed; warn accepts with a Warning header; revoking the key stops consumers at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireTool, run, startSignetServer, tempDir } from '@signet/testkit';
import { signet } from './helpers.js';
import { buildLayout } from './oci-helpers.js';

const ENV = { SIGNET_PASSWORD: 'pw', SIGNET_NO_PROGRESS: '1' };

function layoutDigest(layout: string): string {
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
  return index.manifests[0]!.digest;
}

test('policy enforcement on push and pull: enforce, quarantine, warn, revocation (skopeo + signet)', async (t) => {
  if (!requireTool(t, 'umoci') || !requireTool(t, 'skopeo')) return;
  const s = await startSignetServer(t, { args: ['--dev'] });
  const dir = tempDir(t);
  const host = new URL(s.url).host;
  const env = { ...ENV, HOME: dir, SIGNET_CONFIG_DIR: join(dir, 'cfg'), SIGNET_SERVER: s.url, SIGNET_TOKEN: s.adminToken };
  const admin = { authorization: `Bearer ${s.adminToken}`, 'content-type': 'application/json' };
  const post = async (path: string, body: unknown, headers: Record<string, string> = admin): Promise<Response> =>
    fetch(`${s.url}${path}`, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const push = (layout: string, ref: string) =>
    run('skopeo', ['copy', '-q', '--dest-tls-verify=false', '--dest-creds', `x:${s.adminToken}`, `oci:${layout}:v1`, `docker://${host}/${ref}`], { timeoutMs: 60_000 });

  // The release key, registered for production/*; a consumer token (reader).
  assert.equal((await signet(['generate-key-pair', '--output-key-prefix', join(dir, 'k')], { env })).code, 0);
  const key = (await (await post('/api/v1/signing/keys', { name: 'release', public_key: readFileSync(join(dir, 'k.pub'), 'utf8'), repositories: ['production/*'] })).json()) as { id: string };
  const readerToken = ((await (await post('/api/v1/tokens', { name: 'deployer', role: 'reader' })).json()) as { token: string }).token;
  const consumerGet = (repo: string, ref: string): Promise<Response> =>
    fetch(`${s.url}/v2/${repo}/manifests/${ref}`, { headers: { authorization: `Bearer ${readerToken}`, accept: 'application/vnd.oci.image.manifest.v1+json' } });

  // The seed's policy (YAML), enforce mode for production/app, quarantine for production/q, warn for production/w.
  const policy = (name: string, repo: string, mode: string): string =>
    `name: ${name}\ndescription: "Require signed artifacts"\nrepositories:\n  - "${repo}"\nrules:\n  - name: "require-cosign-signature"\n    artifact_types: ["docker", "oci"]\n    signature_type: "cosign"\n    required: true\n    trusted_keys: ["release"]\n    mode: ${mode}\n`;
  for (const [name, repo, mode] of [['require-signatures', 'production/app', 'enforce'], ['quarantined', 'production/q', 'quarantine'], ['warned', 'production/w', 'warn']] as const) {
    const r = await post('/api/v1/signing/policies', policy(name, repo, mode), { authorization: admin.authorization, 'content-type': 'application/yaml' });
    assert.equal(r.status, 201, await r.text());
  }

  // enforce: the unsigned push is refused with the seed's message, in the registry's error format.
  const layout = await buildLayout(dir, 'a', 'app 1.0.0\n');
  const digest = layoutDigest(layout);
  const refused = await push(layout, 'production/app:1.0.0');
  assert.notEqual(refused.code, 0);
  // (skopeo's logger escapes the quotes)
  assert.match(refused.stderr, /denied: Signature required for repository \\?"production\/app\\?"/);
  assert.match(refused.stderr, /require-cosign-signature/);
  assert.equal((await fetch(`${s.url}/v2/production/app/manifests/1.0.0`, { headers: admin })).status, 404, 'the tag was not released');
  // ... but the content is kept by digest, and the signer can read and sign it.
  assert.equal((await fetch(`${s.url}/v2/production/app/manifests/${digest}`, { method: 'HEAD', headers: admin })).status, 200);
  assert.equal((await consumerGet('production/app', digest)).status, 403, 'consumers never get it unsigned');
  const signed = await signet(['sign', '--key', join(dir, 'k.key'), `${host}/production/app@${digest}`], { env });
  assert.equal(signed.code, 0, signed.stderr);
  const accepted = await push(layout, 'production/app:1.0.0');
  assert.equal(accepted.code, 0, accepted.stderr);
  const pulled = await consumerGet('production/app', '1.0.0');
  assert.equal(pulled.status, 200);
  assert.equal(pulled.headers.get('docker-content-digest'), digest);
  const copied = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', '--creds', `x:${readerToken}`, `docker://${host}/production/app:1.0.0`]);
  assert.equal(copied.code, 0, copied.stderr);

  // quarantine: the tag is accepted, consumers wait for the signature.
  const q = await buildLayout(dir, 'q', 'quarantined\n');
  const qDigest = layoutDigest(q);
  assert.equal((await push(q, 'production/q:1')).code, 0);
  const held = await consumerGet('production/q', '1');
  assert.equal(held.status, 403);
  assert.match(((await held.json()) as { errors: { code: string; message: string }[] }).errors[0]!.message, /not released.*require-cosign-signature/);
  assert.equal((await signet(['sign', '--key', join(dir, 'k.key'), `${host}/production/q:1`], { env })).code, 0);
  assert.equal((await consumerGet('production/q', '1')).status, 200);
  assert.equal((await consumerGet('production/q', qDigest)).status, 200);

  // warn: accepted with a Warning header and an audit entry.
  const w = await buildLayout(dir, 'w', 'warned\n');
  const manifest = readFileSync(join(w, 'blobs', 'sha256', layoutDigest(w).slice(7)));
  assert.equal((await push(w, 'production/w:seed')).code, 0); // blobs in place
  const put = await fetch(`${s.url}/v2/production/w/manifests/1`, { method: 'PUT', headers: { authorization: admin.authorization, 'content-type': 'application/vnd.oci.image.manifest.v1+json' }, body: manifest });
  assert.equal(put.status, 201);
  assert.match(put.headers.get('warning') ?? '', /^299 - ".*require-cosign-signature/);
  assert.equal((await consumerGet('production/w', '1')).status, 200);
  const audit = (await (await fetch(`${s.url}/api/v1/audit?action=registry.push&limit=100`, { headers: admin })).json()) as { events: { outcome: string; target: string }[] };
  const outcomes = new Set(audit.events.map((e) => e.outcome));
  for (const o of ['denied', 'allowed', 'quarantined', 'warned']) assert.ok(outcomes.has(o), `audit has a ${o} push: ${[...outcomes].join(',')}`);

  // Revoking the release key: consumers are refused from that moment; signature artifacts stay readable.
  assert.equal((await post(`/api/v1/signing/keys/${key.id}/revoke`, {})).status, 200);
  assert.equal((await consumerGet('production/app', '1.0.0')).status, 403);
});
