// signet policy apply | list | show | test | delete and signet verify-artifact against a real signet-server, with an
// image pushed over /v2/ and signed by the real CLI with a key registered through `signet key add`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSignetServer, tempDir } from '@signet/testkit';
import { isCleanError, signet } from './helpers.js';

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function pushImage(url: string, token: string, repo: string, tag: string, seed: string): Promise<string> {
  const h = { authorization: `Bearer ${token}` };
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', seed }));
  const layer = Buffer.from(`layer of ${seed}\n`);
  for (const b of [config, layer]) {
    const r = await fetch(`${url}/v2/${repo}/blobs/uploads/?digest=${sha256(b)}`, { method: 'POST', headers: { ...h, 'content-type': 'application/octet-stream' }, body: b });
    assert.equal(r.status, 201, await r.text());
  }
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: layer.length }],
    }),
  );
  const r = await fetch(`${url}/v2/${repo}/manifests/${tag}`, { method: 'PUT', headers: { ...h, 'content-type': 'application/vnd.oci.image.manifest.v1+json' }, body: manifest });
  assert.equal(r.status, 201, await r.text());
  return sha256(manifest);
}

test('signet policy apply/list/show/test/delete and signet verify-artifact', async (t) => {
  const srv = await startSignetServer(t);
  const dir = tempDir(t);
  const env = { SIGNET_SERVER: srv.url, SIGNET_TOKEN: srv.adminToken, SIGNET_PASSWORD: 'pw', SIGNET_NO_PROGRESS: '1', HOME: dir, SIGNET_CONFIG_DIR: join(dir, 'cfg') };
  const host = new URL(srv.url).host;
  const signed = await pushImage(srv.url, srv.adminToken, 'production/app', '1.0', 'one');
  await pushImage(srv.url, srv.adminToken, 'production/app', '2.0', 'two');

  // Sign 1.0 with a cosign-style key, and register its public key for production/*.
  assert.equal((await signet(['generate-key-pair', '--output-key-prefix', join(dir, 'k')], { env })).code, 0);
  const s = await signet(['sign', '--key', join(dir, 'k.key'), `${host}/production/app:1.0`], { env });
  assert.equal(s.code, 0, s.stderr);
  const add = await signet(['key', 'add', '--name', 'release', '--file', join(dir, 'k.pub'), '--repository', 'production/*'], { env });
  assert.equal(add.code, 0, add.stderr);
  const keyId = /^id: +(\S+)$/m.exec(add.stdout)![1]!;

  // apply: YAML creates, applying again replaces (matched by name).
  const yaml = join(dir, 'policy.yaml');
  writeFileSync(yaml, 'name: prod-signed\ndescription: images in production must be signed\nrepositories: ["production/*"]\nrules:\n  - name: cosign-by-release-key\n    artifact_types: [oci, docker]\n    signature_type: cosign\n    trusted_keys: [release]\n');
  let r = await signet(['policy', 'apply', '-f', yaml], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /Created policy "prod-signed"/);
  assert.match(r.stdout, /rule +cosign-by-release-key: enforce, on push\+pull, oci\/docker, cosign signature by keys release/);
  writeFileSync(yaml, `${'name: prod-signed\nrepositories: ["production/*"]\nrules:\n  - name: cosign-by-release-key\n    signature_type: cosign\n    trusted_keys: [release]\n    mode: quarantine\n'}`);
  r = await signet(['policy', 'apply', '-f', yaml], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /Updated policy "prod-signed"/);
  r = await signet(['policy', 'list'], { env });
  assert.match(r.stdout, /prod-signed +\[production\/\*\] +1 rule \(quarantine\)/);
  r = await signet(['policy', 'show', 'prod-signed', '--output', 'json'], { env });
  assert.equal(JSON.parse(r.stdout).rules[0].mode, 'quarantine');

  // test one artifact: 1.0 satisfies it, 2.0 does not (exit 1, saying what is missing).
  r = await signet(['policy', 'test', '--artifact', `production/app@${signed}`], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^ok +prod-signed\/cosign-by-release-key \(quarantine\): key "release"/m);
  r = await signet(['policy', 'test', '--artifact', 'production/app:2.0'], { env });
  assert.equal(r.code, 1);
  assert.match(r.stdout, /^FAIL prod-signed\/cosign-by-release-key \(quarantine\): missing a valid cosign signature by key release/m);
  assert.ok(isCleanError(r));
  assert.match(r.stderr, /would be held in quarantine/);
  // Dry run over everything the policy governs.
  r = await signet(['policy', 'test', '--policy', 'prod-signed'], { env });
  assert.equal(r.code, 1);
  assert.match(r.stdout, /^FAIL production\/app:2\.0 /m);
  assert.doesNotMatch(r.stdout, /production\/app:1\.0/);
  assert.match(r.stdout, /2 artifact\(s\) \(tags and files\) in 1 repository evaluated, 1 would fail/);

  // verify-artifact: valid → exit 0 naming the signer; unsigned → exit 1 with the failed checks.
  r = await signet(['verify-artifact', 'production/app@1.0'], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Verified: production\/app:1\.0@sha256:/m);
  assert.match(r.stdout, new RegExp(`signer: key "release" \\(${keyId}\\)`));
  r = await signet(['verify-artifact', 'production/app:2.0', '--output', 'json'], { env });
  assert.equal(r.code, 1);
  assert.equal(JSON.parse(r.stdout).valid, false);
  assert.match(r.stderr, /production\/app:2\.0 is not valid: signatures: no verified signature/);

  // Revoking the key: 1.0 no longer verifies.
  assert.equal((await signet(['key', 'revoke', keyId], { env })).code, 0);
  r = await signet(['verify-artifact', 'production/app@1.0'], { env });
  assert.equal(r.code, 1);
  assert.match(r.stdout, /FAIL signer: no signature by a trusted signer: key "release" .* is revoked/);

  // Bad input: clean one-line errors.
  writeFileSync(join(dir, 'bad.yaml'), 'name: x\nrepositories: ["production/*"]\nrules:\n  - name: r\n    mode: block\n');
  r = await signet(['policy', 'apply', '-f', join(dir, 'bad.yaml')], { env });
  assert.ok(isCleanError(r), r.stderr);
  assert.match(r.stderr, /rules\[0\] \("r"\)\.mode must be one of enforce, quarantine, warn \(HTTP 400\)/);
  r = await signet(['verify-artifact', 'production/app'], { env });
  assert.ok(isCleanError(r));
  assert.match(r.stderr, /names no version/);
  r = await signet(['policy', 'show', 'no-such-policy'], { env });
  assert.ok(isCleanError(r));
  assert.match(r.stderr, /HTTP 404/);
  r = await signet(['policy', 'list'], { env: { ...env, SIGNET_TOKEN: '' } });
  assert.ok(isCleanError(r));

  // delete
  r = await signet(['policy', 'delete', 'prod-signed'], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await signet(['policy', 'list'], { env })).stdout, '');
});
