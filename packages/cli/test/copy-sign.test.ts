// `signet copy SRC DST --sign`: push by digest, copy the source's signatures, sign DST@digest, then tag — against a
// signet-server whose policy enforces signatures on production/* (a registered key) and secure/* (a keyless
// identity). Plain `signet copy` into production is refused with the seed's message, the digest stored, unreleased.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireTool, startSignetServer, tempDir } from '@signet/testkit';
import { isCleanError, signet } from './helpers.js';
import { buildLayout, pushImage } from './oci-helpers.js';

const ENV = { SIGNET_PASSWORD: 'pw', SIGNET_NO_PROGRESS: '1' };
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const ACCEPT = `${OCI_MANIFEST}, ${OCI_INDEX}`;

test('signet copy --sign: push by digest, sign, tag under an enforce policy (key and keyless); plain copy refused', async (t) => {
  if (!requireTool(t, 'umoci') || !requireTool(t, 'skopeo')) return;
  const s = await startSignetServer(t, { args: ['--dev'] });
  const dir = tempDir(t);
  const host = new URL(s.url).host;
  const issuer = `${s.url}/dev/oidc`;
  const env = { ...ENV, HOME: dir, SIGNET_CONFIG_DIR: join(dir, 'cfg'), SIGNET_SERVER: s.url, SIGNET_TOKEN: s.adminToken };
  const admin = { authorization: `Bearer ${s.adminToken}` };
  const post = async (path: string, body: string, type = 'application/json'): Promise<Response> => fetch(`${s.url}${path}`, { method: 'POST', headers: { ...admin, 'content-type': type }, body });

  // The release key, registered for production/*; an untrusted key; a consumer (reader).
  for (const k of ['k', 'other']) assert.equal((await signet(['generate-key-pair', '--output-key-prefix', join(dir, k)], { env })).code, 0);
  const key = await post('/api/v1/signing/keys', JSON.stringify({ name: 'release', public_key: readFileSync(join(dir, 'k.pub'), 'utf8'), repositories: ['production/*'] }));
  assert.equal(key.status, 201, await key.text());
  const readerToken = ((await (await post('/api/v1/tokens', JSON.stringify({ name: 'deployer', role: 'reader' }))).json()) as { token: string }).token;
  const consumerGet = (repo: string, ref: string): Promise<Response> => fetch(`${s.url}/v2/${repo}/manifests/${ref}`, { headers: { authorization: `Bearer ${readerToken}`, accept: ACCEPT } });
  const adminHead = async (repo: string, ref: string): Promise<number> => (await fetch(`${s.url}/v2/${repo}/manifests/${ref}`, { method: 'HEAD', headers: { ...admin, accept: ACCEPT } })).status;
  const tags = async (repo: string): Promise<string[]> => ((await (await fetch(`${s.url}/v2/${repo}/tags/list`, { headers: admin })).json()) as { tags: string[] }).tags;

  // Enforce: the seed's policy, a key signature on production/*; a keyless identity on secure/*.
  const keyPolicy = `name: require-signatures\ndescription: "Require signed artifacts"\nrepositories:\n  - "production/*"\nrules:\n  - name: "require-cosign-signature"\n    artifact_types: ["docker", "oci"]\n    signature_type: "cosign"\n    required: true\n    trusted_keys: ["release"]\n    mode: enforce\n`;
  const keylessPolicy = `name: require-builder\ndescription: "Built by CI"\nrepositories:\n  - "secure/*"\nrules:\n  - name: "require-builder-identity"\n    signature_type: "any"\n    required: true\n    key_requirements:\n      - type: "keyless"\n        certificate_identity: "builder@example.test"\n        certificate_oidc_issuer: "${issuer}"\n    mode: enforce\n`;
  for (const p of [keyPolicy, keylessPolicy]) {
    const r = await post('/api/v1/signing/policies', p, 'application/yaml');
    assert.equal(r.status, 201, await r.text());
  }

  // The source, in a repository without a policy, signed there with the untrusted key (a signature copy --sign carries along).
  const src = `${host}/staging/app:1.0`;
  const digest = await pushImage(await buildLayout(dir, 'a', 'app 1.0\n'), src, `x:${s.adminToken}`);
  assert.equal((await signet(['sign', '--key', join(dir, 'other.key'), src], { env })).code, 0);

  await t.test('copy --sign --key: copied by digest, signed as the destination, then tagged; consumers pull it', async () => {
    const r = await signet(['copy', src, `${host}/production/app:1.0`, '--sign', '--key', join(dir, 'k.key')], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), `${host}/production/app@${digest}`);
    assert.match(r.stderr, /Copied 1 signature\/attestation\/SBOM artifact\n/);
    assert.match(r.stderr, /Pushed the bundle as referrer sha256:[0-9a-f]{64} of .*production\/app@/);
    assert.match(r.stderr, new RegExp(`Tagged ${host}/production/app:1\\.0 \\(${digest}\\)`));
    // The order: digest, signature, tag (the stderr lines in sequence).
    assert.ok(r.stderr.indexOf('(by digest; tag 1.0 once signed)') < r.stderr.indexOf('Pushed the bundle') && r.stderr.indexOf('Pushed the bundle') < r.stderr.indexOf('Tagged'), r.stderr);
    const pulled = await consumerGet('production/app', '1.0');
    assert.equal(pulled.status, 200);
    assert.equal(pulled.headers.get('docker-content-digest'), digest);
    const v = await signet(['verify', '--key', join(dir, 'k.pub'), `${host}/production/app:1.0`], { env });
    assert.equal(v.code, 0, v.stderr);
    // The copied source signature is there too (two referrers), and still verifies with its own key.
    const refs = (await (await fetch(`${s.url}/v2/production/app/referrers/${digest}`, { headers: admin })).json()) as { manifests: unknown[] };
    assert.equal(refs.manifests.length, 2);
    assert.equal((await signet(['verify', '--key', join(dir, 'other.pub'), `${host}/production/app:1.0`], { env })).code, 0);
  });

  await t.test('plain copy into production is refused with the seed message; the digest stays stored, unreleased', async () => {
    const src2 = `${host}/staging/app:2.0`;
    const d2 = await pushImage(await buildLayout(dir, 'b', 'app 2.0\n'), src2, `x:${s.adminToken}`);
    const r = await signet(['copy', src2, `${host}/production/app`], { env });
    assert.ok(isCleanError(r), r.stderr);
    assert.match(r.stderr, /Signature required for repository "production\/app": policy "require-signatures" rule "require-cosign-signature"/);
    assert.match(r.stderr, new RegExp(`refused the tag ${host}/production/app:2\\.0: HTTP 403 DENIED`));
    assert.match(r.stderr, new RegExp(`the image is stored by digest as ${host}/production/app@${d2}, unreleased; sign that digest`));
    assert.doesNotMatch(r.stderr, /credentials/, 'not mistaken for a permission problem');
    assert.equal(await adminHead('production/app', d2), 200, 'stored by digest');
    assert.equal(await adminHead('production/app', '2.0'), 404, 'no tag');
    assert.equal((await consumerGet('production/app', d2)).status, 403, 'unreleased to consumers');

    // --sign with a key the policy does not trust: signed, still refused, and the message says so.
    const w = await signet(['copy', src2, `${host}/production/app:2.0`, '--sign', '--key', join(dir, 'other.key')], { env });
    assert.ok(isCleanError(w), w.stderr);
    assert.match(w.stderr, /Signature required for repository "production\/app".*require-cosign-signature/);
    assert.match(w.stderr, new RegExp(`stored by digest as ${host}/production/app@${d2}, unreleased; it was signed \\(${host}/production/app@sha256:[0-9a-f]{64}\\), but that signature does not satisfy the registry`));
    assert.equal(await adminHead('production/app', '2.0'), 404);
    // ... and with the release key the same copy goes through.
    assert.equal((await signet(['copy', src2, `${host}/production/app:2.0`, '--sign', '--key', join(dir, 'k.key')], { env })).code, 0);
    assert.equal((await consumerGet('production/app', '2.0')).status, 200);
  });

  await t.test('plain copy of an image the release key signed: its signatures are copied before the tag, so production takes it', async () => {
    const r = await signet(['copy', `${host}/production/app:1.0`, `${host}/production/mirror:1.0`], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Copied 2 signature\/attestation\/SBOM artifacts\n/);
    assert.equal((await consumerGet('production/mirror', '1.0')).status, 200);
    assert.equal((await signet(['verify', '--key', join(dir, 'k.pub'), `${host}/production/mirror:1.0`], { env })).code, 0);
  });

  await t.test('copy --sign --legacy -a: the .sig names the destination repository; an index goes children first', async () => {
    const r = await signet(['copy', src, `${host}/production/legacy:1.0`, '--sign', '--legacy', '-a', 'team=web', '--key', join(dir, 'k.key')], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`Pushed the signature to ${host}/production/legacy:sha256-[0-9a-f]{64}\\.sig`));
    assert.equal((await consumerGet('production/legacy', '1.0')).status, 200);
    // verify checks the docker-reference against the image's repository: the signature names production/legacy.
    const v = await signet(['verify', '--key', join(dir, 'k.pub'), `${host}/production/legacy:1.0`], { env });
    assert.equal(v.code, 0, v.stderr);
    const out = JSON.parse(v.stdout) as { critical: { identity: { 'docker-reference': string } }; optional: Record<string, string> | null }[];
    const legacy = out.find((o) => o.optional?.['team'] === 'web');
    assert.equal(legacy?.critical.identity['docker-reference'], `${host}/production/legacy`);

    // An index: its child is copied by digest (untagged), the index by digest, signed, then tagged.
    const child = await fetch(`${s.url}/v2/staging/app/manifests/1.0`, { headers: { ...admin, accept: OCI_MANIFEST } });
    const childBytes = Buffer.from(await child.arrayBuffer());
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{ mediaType: child.headers.get('content-type'), digest, size: childBytes.length, platform: { architecture: 'amd64', os: 'linux' } }] }));
    const indexDigest = `sha256:${createHash('sha256').update(index).digest('hex')}`;
    const put = await fetch(`${s.url}/v2/staging/app/manifests/multi`, { method: 'PUT', headers: { ...admin, 'content-type': OCI_INDEX }, body: index });
    assert.equal(put.status, 201, await put.text());
    const m = await signet(['copy', `${host}/staging/app:multi`, `${host}/production/multi:1`, '--sign', '--key', join(dir, 'k.key')], { env });
    assert.equal(m.code, 0, m.stderr);
    assert.equal(m.stdout.trim(), `${host}/production/multi@${indexDigest}`);
    assert.equal(await adminHead('production/multi', digest), 200, 'the child, by digest');
    assert.deepEqual(await tags('production/multi'), ['1'], 'only the index is tagged');
    const pulled = await consumerGet('production/multi', '1');
    assert.equal(pulled.status, 200);
    assert.equal(pulled.headers.get('docker-content-digest'), indexDigest);
  });

  await t.test('copy --sign keyless (dev issuer token) into a repository whose policy requires that identity', async () => {
    const token = async (email: string): Promise<string> => {
      const r = await fetch(`${s.url}/dev/oidc/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email }) });
      assert.equal(r.status, 200);
      return ((await r.json()) as { id_token: string }).id_token;
    };
    // Another identity is signed, but refused by the policy.
    const wrong = await signet(['copy', src, `${host}/secure/app:1.0`, '--sign', '--identity-token', await token('intruder@example.test'), '--server', s.url], { env });
    assert.ok(isCleanError(wrong), wrong.stderr);
    assert.match(wrong.stderr, /Signature required for repository "secure\/app": policy "require-builder" rule "require-builder-identity"/);
    assert.match(wrong.stderr, /unreleased; it was signed/);
    assert.equal((await consumerGet('secure/app', '1.0')).status, 404);

    const r = await signet(['copy', src, `${host}/secure/app:1.0`, '--sign', '--identity-token', await token('builder@example.test'), '--server', s.url], { env });
    assert.equal(r.code, 0, r.stderr);
    const pulled = await consumerGet('secure/app', '1.0');
    assert.equal(pulled.status, 200);
    assert.equal(pulled.headers.get('docker-content-digest'), digest);
    const v = await signet(['verify', '--certificate-identity', 'builder@example.test', '--certificate-oidc-issuer', issuer, `${host}/secure/app:1.0`], { env });
    assert.equal(v.code, 0, v.stderr);
  });

  await t.test('no tag: said clearly; bad combinations are clear errors before anything is copied', async () => {
    const byDigest = await signet(['copy', `${host}/staging/app@${digest}`, `${host}/production/notag`, '--sign', '--key', join(dir, 'k.key')], { env });
    assert.equal(byDigest.code, 0, byDigest.stderr);
    assert.match(byDigest.stderr, new RegExp(`No tag pushed: neither the destination nor the source names a tag, so the copy is stored and signed by digest only, as ${host}/production/notag@${digest}`));
    assert.match(byDigest.stderr, new RegExp(`To tag it: signet copy ${host}/production/notag@${digest} ${host}/production/notag:<tag>`));
    assert.deepEqual(await tags('production/notag'), []);
    assert.equal((await signet(['verify', '--key', join(dir, 'k.pub'), `${host}/production/notag@${digest}`], { env })).code, 0);
    // The suggested follow-up releases it (the signature is already there).
    assert.equal((await signet(['copy', `${host}/production/notag@${digest}`, `${host}/production/notag:1.0`], { env })).code, 0);
    assert.equal((await consumerGet('production/notag', '1.0')).status, 200);

    const digestDst = await signet(['copy', src, `${host}/production/pinned@${digest}`, '--sign', '--key', join(dir, 'k.key')], { env });
    assert.equal(digestDst.code, 0, digestDst.stderr);
    assert.match(digestDst.stderr, new RegExp(`No tag pushed: the destination ${host}/production/pinned@${digest} is a digest reference`));
    assert.deepEqual(await tags('production/pinned'), []);

    const other = `sha256:${'1'.repeat(64)}`;
    for (const [args, re] of [
      [['copy', src, `${host}/production/x@${other}`, '--sign', '--key', join(dir, 'k.key')], new RegExp(`the destination names ${other}, but .*staging/app:1\\.0 is ${digest}`)],
      [['copy', src, `${host}/production/x@${digest}`], /the destination takes a tag, not a digest/],
      [['copy', src, `${host}/production/x:1`, '--key', join(dir, 'k.key'), '--legacy'], /--key, --legacy are signing options: add --sign/],
      [['copy', src, `${host}/production/x:1`, '--sign', '--only', 'sig', '--key', join(dir, 'k.key')], /--sign signs the copied image and --only copies attachments/],
      [['copy', src, `${host}/production/x:1`, '--sign', '-a', 'novalue', '--key', join(dir, 'k.key')], /annotation "novalue" is not key=value/],
      [['copy', src, `${host}/production/x:1`, '--sign', '--key', join(dir, 'k.pub')], /is a public key; signing needs the private key/],
    ] as const) {
      const r = await signet([...args], { env });
      assert.ok(isCleanError(r), `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re);
    }
    // A wrong password fails before anything is written.
    const pw = await signet(['copy', src, `${host}/production/x:1`, '--sign', '--key', join(dir, 'k.key')], { env: { ...env, SIGNET_PASSWORD: 'wrong' } });
    assert.ok(isCleanError(pw), pw.stderr);
    assert.equal(await adminHead('production/x', digest), 404, 'nothing copied');
  });
});
