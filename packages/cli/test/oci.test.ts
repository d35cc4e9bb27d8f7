// Image signing end to end against Debian's docker-registry 2.8.2 (no referrers API, so bundles are found through
// the sha256-<hex> referrers tag): sign/verify with keys in both formats, the negatives (wrong key, another image's
// signature, wrong repository), attestations, tree/triangulate, attach, copy (within and across registries, with
// a chunked upload of a large layer), skopeo reading our legacy .sig, and the CLI's errors for bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { requireTool, run, tempDir } from '@signet/testkit';
import { buildSimpleSigningPayload, legacyTag, referrersTag } from '@signet/core';
import { isCleanError, signet } from './helpers.js';
import { buildLayout, freePort, pushImage, rawManifest, startRegistry } from './oci-helpers.js';

const ENV = { SIGNET_PASSWORD: 'pw', SIGNET_NO_PROGRESS: '1' };

test('signet sign/verify/attest/tree/attach/copy against docker-registry 2.8.2', async (t) => {
  const reg = requireTool(t, 'docker-registry');
  if (!requireTool(t, 'umoci') || !requireTool(t, 'skopeo') || !reg) return;
  const dir = tempDir(t);
  const env = { ...ENV, HOME: dir, SIGNET_CONFIG_DIR: join(dir, 'cfg') };
  const r = await startRegistry(t, reg);
  const [la, lb] = await Promise.all([buildLayout(dir, 'a', 'hello\n'), buildLayout(dir, 'b', 'another image\n')]);
  const image = `${r.host}/test/hello:v1`;
  const digest = await pushImage(la, image);
  const other = `${r.host}/test/hello:other`;
  const otherDigest = await pushImage(lb, other);
  assert.notEqual(digest, otherDigest);
  for (const p of ['k', 'wrong']) assert.equal((await signet(['generate-key-pair', '--output-key-prefix', join(dir, p)], { env })).code, 0);
  const key = join(dir, 'k.key');
  const pub = join(dir, 'k.pub');
  const wrong = join(dir, 'wrong.pub');

  await t.test('sign --key (bundle referrer) → verify --key; wrong key and unsigned image fail', async () => {
    const s = await signet(['sign', '--key', key, '-a', 'team=core', image], { env });
    assert.equal(s.code, 0, s.stderr);
    assert.match(s.stdout, new RegExp(`^${r.host}/test/hello@sha256:[0-9a-f]{64}\\n$`));
    assert.match(s.stderr, /no referrers API: listed in tag sha256-[0-9a-f]{64}/);
    // Pushed untagged, by digest, in the @sigstore/oci shape, and listed in the sha256-<hex> index tag.
    const idx = await rawManifest(r.url, 'test/hello', referrersTag(digest));
    assert.equal(idx.status, 200);
    const entry = JSON.parse(idx.bytes.toString()).manifests[0];
    assert.equal(entry.artifactType, 'application/vnd.dev.sigstore.bundle.v0.3+json');
    assert.equal(entry.annotations['dev.sigstore.bundle.predicateType'], 'https://sigstore.dev/cosign/sign/v1');
    const m = JSON.parse((await rawManifest(r.url, 'test/hello', entry.digest)).bytes.toString());
    assert.equal(m.subject.digest, digest);
    assert.equal(m.config.digest, 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a');
    const tags = JSON.parse(Buffer.from(await (await fetch(`${r.url}/v2/test/hello/tags/list`)).arrayBuffer()).toString()).tags as string[];
    assert.deepEqual(tags.sort(), ['other', referrersTag(digest), 'v1'].sort());

    const v = await signet(['verify', '--key', pub, image], { env });
    assert.equal(v.code, 0, v.stderr);
    const out = JSON.parse(v.stdout);
    assert.equal(out.length, 1);
    assert.deepEqual(out[0].critical, { identity: { 'docker-reference': `${r.host}/test/hello` }, image: { 'docker-manifest-digest': digest }, type: 'cosign container image signature' });
    assert.deepEqual(out[0].optional, { team: 'core' });
    assert.equal((await signet(['verify', '--key', pub, `${r.host}/test/hello@${digest}`], { env })).code, 0);

    const w = await signet(['verify', '--key', wrong, image], { env });
    assert.ok(isCleanError(w), w.stderr);
    assert.match(w.stderr, /no signature of .* verified \(1 checked\): referrer sha256:[0-9a-f]+ \(referrers tag\): signature: no signature in the envelope verifies/);
    const u = await signet(['verify', '--key', pub, other], { env });
    assert.ok(isCleanError(u));
    assert.match(u.stderr, /no signatures found for .*@sha256:[0-9a-f]{64}: no Sigstore bundle among its referrers and no sha256-[0-9a-f]{64}\.sig tag/);
  });

  await t.test('another image\'s signatures do not verify for this one', async () => {
    // The first image's referrers index and .sig image, put under the second image's tags by hand.
    const idx = await rawManifest(r.url, 'test/hello', referrersTag(digest));
    const put = await fetch(`${r.url}/v2/test/hello/manifests/${referrersTag(otherDigest)}`, { method: 'PUT', headers: { 'content-type': 'application/vnd.oci.image.index.v1+json' }, body: idx.bytes });
    assert.equal(put.status, 201);
    const v = await signet(['verify', '--key', pub, other], { env });
    assert.ok(isCleanError(v));
    assert.match(v.stderr, /its subject is sha256:[0-9a-f]+, not sha256:/);
    // (left in place: the index has the same bytes as the first image's, so deleting it by digest would remove both tags)
  });

  await t.test('--legacy: the .sig tag layout, read by skopeo, verified by signet; wrong digest and repository fail', async () => {
    const s = await signet(['sign', '--legacy', '--key', key, image], { env });
    assert.equal(s.code, 0, s.stderr);
    assert.equal(s.stdout.trim(), `${r.host}/test/hello:${legacyTag(digest, 'sig')}`);
    const sig = JSON.parse((await rawManifest(r.url, 'test/hello', legacyTag(digest, 'sig'))).bytes.toString());
    assert.equal(sig.layers.length, 1);
    assert.equal(sig.layers[0].mediaType, 'application/vnd.dev.cosign.simplesigning.v1+json');
    assert.match(sig.layers[0].annotations['dev.cosignproject.cosign/signature'], /^[A-Za-z0-9+/]+=*$/);

    // skopeo with use-sigstore-attachments finds and copies the .sig (reference §1.2, §7).
    const rd = join(dir, 'rd');
    mkdirSync(rd, { recursive: true });
    writeFileSync(join(rd, 'local.yaml'), `docker:\n  ${r.host}:\n    use-sigstore-attachments: true\n`);
    const cp = await run('skopeo', ['--registries.d', rd, 'copy', '-q', '--src-tls-verify=false', `docker://${image}`, `dir:${join(dir, 'skopeo-dir')}`]);
    assert.equal(cp.code, 0, cp.stderr);
    const s1 = readFileSync(join(dir, 'skopeo-dir', 'signature-1'));
    const body = JSON.parse(s1.subarray(s1.indexOf('{')).toString());
    assert.equal(body.mimeType, 'application/vnd.dev.cosign.simplesigning.v1+json');
    assert.equal(JSON.parse(Buffer.from(body.payload, 'base64').toString()).critical.image['docker-manifest-digest'], digest);
    assert.ok(!readdirSync(join(dir, 'skopeo-dir')).includes('signature-2'));
    // A sigstoreSigned policy reaches the signature (Debian's build then refuses to check it, which proves presence).
    const policy = join(dir, 'policy.json');
    writeFileSync(policy, JSON.stringify({ default: [{ type: 'reject' }], transports: { docker: { [`${r.host}/test`]: [{ type: 'sigstoreSigned', keyPath: pub, signedIdentity: { type: 'matchRepository' } }] }, dir: { '': [{ type: 'insecureAcceptAnything' }] } } }));
    const pol = await run('skopeo', ['--policy', policy, '--registries.d', rd, 'copy', '--src-tls-verify=false', `docker://${image}`, `dir:${join(dir, 'skopeo-d2')}`]);
    assert.match(pol.stderr, /sigstore disabled/);
    const unsigned = await run('skopeo', ['--policy', policy, '--registries.d', rd, 'copy', '--src-tls-verify=false', `docker://${other}`, `dir:${join(dir, 'skopeo-d3')}`]);
    assert.match(unsigned.stderr, /A signature was required, but no signature exists/);

    const v = await signet(['verify', '--key', pub, image], { env });
    assert.equal(v.code, 0, v.stderr);
    assert.equal(JSON.parse(v.stdout).length, 2);
    assert.match(v.stderr, /\.sig layer 0: Verified OK: cosign signature/);

    // The .sig image of the first image under the second image's tag: the payload names the wrong digest.
    const raw = await rawManifest(r.url, 'test/hello', legacyTag(digest, 'sig'));
    assert.equal((await fetch(`${r.url}/v2/test/hello/manifests/${legacyTag(otherDigest, 'sig')}`, { method: 'PUT', headers: { 'content-type': raw.type ?? '' }, body: raw.bytes })).status, 201);
    const bad = await signet(['verify', '--key', pub, other], { env });
    assert.ok(isCleanError(bad));
    assert.match(bad.stderr, /image-digest: the payload signs sha256:[0-9a-f]+, not the image digest/);
  });

  await t.test('attach signature (made with sign-blob) appends once; attach sbom; tree and triangulate', async () => {
    const payload = join(dir, 'payload.json');
    writeFileSync(payload, buildSimpleSigningPayload({ dockerReference: `${r.host}/test/hello`, manifestDigest: digest, optional: { by: 'sign-blob' } }));
    const sigFile = join(dir, 'payload.sig');
    assert.equal((await signet(['sign-blob', '--key', key, '--output-signature', sigFile, payload], { env })).code, 0);
    const a = await signet(['attach', 'signature', '--payload', payload, '--signature', sigFile, image], { env });
    assert.equal(a.code, 0, a.stderr);
    const again = await signet(['attach', 'signature', '--payload', payload, '--signature', sigFile, image], { env });
    assert.match(again.stderr, /already/);
    const sig = JSON.parse((await rawManifest(r.url, 'test/hello', legacyTag(digest, 'sig'))).bytes.toString());
    assert.equal(sig.layers.length, 2);
    const v = await signet(['verify', '--key', pub, image], { env });
    assert.equal(v.code, 0, v.stderr);
    assert.ok(JSON.parse(v.stdout).some((o: { optional: unknown }) => JSON.stringify(o.optional) === '{"by":"sign-blob"}'));
    const mismatch = await signet(['attach', 'signature', '--payload', payload, '--signature', sigFile, other], { env });
    assert.ok(isCleanError(mismatch));
    assert.match(mismatch.stderr, /the payload signs sha256:[0-9a-f]+, not/);

    const sbom = join(dir, 'sbom.spdx.json');
    writeFileSync(sbom, JSON.stringify({ spdxVersion: 'SPDX-2.3', name: 'hello' }));
    const s = await signet(['attach', 'sbom', '--sbom', sbom, '--type', 'spdx', image], { env });
    assert.equal(s.code, 0, s.stderr);
    const sb = JSON.parse((await rawManifest(r.url, 'test/hello', legacyTag(digest, 'sbom'))).bytes.toString());
    assert.equal(sb.layers[0].mediaType, 'text/spdx+json');

    const [tri, triSbom, tree, treeJson] = await Promise.all([
      signet(['triangulate', image], { env }),
      signet(['triangulate', '--type', 'sbom', image], { env }),
      signet(['tree', image], { env }),
      signet(['tree', '--output', 'json', image], { env }),
    ]);
    assert.equal(tri.stdout, `${r.host}/test/hello:${legacyTag(digest, 'sig')}\n`);
    assert.equal(triSbom.stdout, `${r.host}/test/hello:${legacyTag(digest, 'sbom')}\n`);
    assert.equal(tree.code, 0, tree.stderr);
    assert.match(tree.stdout, new RegExp(`^Supply chain artifacts for ${r.host}/test/hello@${digest}\\n`));
    assert.match(tree.stdout, /├── Referrers of type https:\/\/sigstore\.dev\/cosign\/sign\/v1 \(referrers tag\)\n│   └── .*@sha256:[0-9a-f]{64}\n/);
    assert.match(tree.stdout, /Signatures for an image tag: .*\.sig\n│   ├── sha256:[0-9a-f]{64}\n│   └── sha256:[0-9a-f]{64}\n/);
    assert.match(tree.stdout, /└── SBOMs for an image tag: .*\.sbom\n    └── sha256:/);
    const tj = JSON.parse(treeJson.stdout);
    assert.equal(tj.referrers['https://sigstore.dev/cosign/sign/v1'].length, 1);
    assert.equal(tj.sig.layers.length, 2);
  });

  await t.test('attest (bundle and --legacy) → verify-attestation with --type', async () => {
    const pred = join(dir, 'prov.json');
    writeFileSync(pred, JSON.stringify({ buildDefinition: { buildType: 'https://example.test/build' } }));
    const a = await signet(['attest', '--key', key, '--predicate', pred, '--type', 'slsaprovenance1', image], { env });
    assert.equal(a.code, 0, a.stderr);
    const l = await signet(['attest', '--legacy', '--key', key, '--predicate', pred, '--type', 'slsaprovenance1', image], { env });
    assert.equal(l.code, 0, l.stderr);
    const att = JSON.parse((await rawManifest(r.url, 'test/hello', legacyTag(digest, 'att'))).bytes.toString());
    assert.equal(att.layers[0].mediaType, 'application/vnd.dsse.envelope.v1+json');
    assert.equal(att.layers[0].annotations.predicateType, 'https://slsa.dev/provenance/v1');
    const v = await signet(['verify-attestation', '--key', pub, '--type', 'slsaprovenance1', image], { env });
    assert.equal(v.code, 0, v.stderr);
    const lines = v.stdout.trim().split('\n').map((x) => JSON.parse(x));
    assert.equal(lines.length, 2);
    for (const env of lines) {
      const st = JSON.parse(Buffer.from(env.payload, 'base64').toString());
      assert.equal(st.predicateType, 'https://slsa.dev/provenance/v1');
      assert.equal(st.subject[0].digest.sha256, digest.slice(7));
    }
    const wt = await signet(['verify-attestation', '--key', pub, '--type', 'spdxjson', image], { env });
    assert.ok(isCleanError(wt));
    assert.equal((await signet(['verify-attestation', '--key', wrong, image], { env })).code, 1);
    // An attestation is not a signature: the signature count is unchanged (2 legacy + 1 bundle).
    assert.equal(JSON.parse((await signet(['verify', '--key', pub, image], { env })).stdout).length, 3);
  });

  await t.test('copy to another repository keeps the image byte-exact and its signatures verifiable', async () => {
    const c = await signet(['copy', image, `${r.host}/test/copy`], { env });
    assert.equal(c.code, 0, c.stderr);
    assert.equal(c.stdout.trim(), `${r.host}/test/copy@${digest}`);
    assert.deepEqual((await rawManifest(r.url, 'test/copy', 'v1')).bytes, (await rawManifest(r.url, 'test/hello', 'v1')).bytes);
    for (const s of ['sig', 'att', 'sbom'] as const) assert.equal((await rawManifest(r.url, 'test/copy', legacyTag(digest, s))).status, 200, s);
    // The bundle verifies anywhere; the legacy payloads still name the source repository, so they need --signed-repository.
    const v = await signet(['verify', '--key', pub, `${r.host}/test/copy:v1`], { env });
    assert.equal(v.code, 0, v.stderr);
    assert.equal(JSON.parse(v.stdout).length, 1);
    assert.match(v.stderr, /did not verify/);
    const v2 = await signet(['verify', '--key', pub, '--signed-repository', `${r.host}/test/hello`, `${r.host}/test/copy:v1`], { env });
    assert.equal(JSON.parse(v2.stdout).length, 3);
    const only = await signet(['verify', '--key', pub, `${r.host}/test/copy@${digest}`], { env });
    assert.equal(only.code, 0);
    const va = await signet(['verify-attestation', '--key', pub, `${r.host}/test/copy:v1`], { env });
    assert.equal(va.code, 0, va.stderr);
    // Another repo's legacy signature alone (docker-reference mismatch) is refused with the reason.
    const c2 = await signet(['copy', '--only', 'sig', image, `${r.host}/test/sigonly:v1`], { env });
    assert.equal(c2.code, 0, c2.stderr);
    assert.equal((await rawManifest(r.url, 'test/sigonly', 'v1')).status, 404);
  });

  await t.test('copy across registries: streamed, chunked upload of a large layer', async () => {
    const r2 = await startRegistry(t, reg);
    const big = await buildLayout(dir, 'big', 'big image\n', randomBytes(17 << 20));
    const bigDigest = await pushImage(big, `${r.host}/test/big:v1`);
    assert.equal((await signet(['sign', '--key', key, `${r.host}/test/big:v1`], { env })).code, 0);
    const c = await signet(['copy', `${r.host}/test/big:v1`, `${r2.host}/mirror/big`], { env });
    assert.equal(c.code, 0, c.stderr);
    assert.deepEqual((await rawManifest(r2.url, 'mirror/big', 'v1')).bytes, (await rawManifest(r.url, 'test/big', 'v1')).bytes);
    const cp = await run('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${r2.host}/mirror/big:v1`, `oci:${join(dir, 'back')}:v1`], { timeoutMs: 60_000 });
    assert.equal(cp.code, 0, cp.stderr);
    const v = await signet(['verify', '--key', pub, `${r2.host}/mirror/big@${bigDigest}`], { env });
    assert.equal(v.code, 0, v.stderr);
  });

  await t.test('bad input and unreachable registries give one-line errors', async () => {
    const closed = await freePort();
    const cases = [
      [['verify', '--key', pub, 'nginx:latest'], /names no registry host/],
      [['verify', '--key', pub, `${r.host}/Test/Upper`], /not a valid repository name/],
      [['verify', '--key', pub, `${r.host}/test/hello:-bad`], /not a valid tag/],
      [['verify', '--key', pub, `${r.host}/test/hello@sha256:1234`], /is not a digest/],
      [['verify', '--key', pub, 'http://127.0.0.1:5000/x'], /without a URL scheme/],
      [['verify', '--key', pub, `127.0.0.1:${closed}/test/hello:v1`], new RegExp(`cannot reach the registry 127\\.0\\.0\\.1:${closed} at http://127\\.0\\.0\\.1:${closed}: ECONNREFUSED`)],
      [['verify', '--key', pub, `${r.host}/test/missing:v1`], /image .*test\/missing:v1 not found/],
      [['verify', image], /give --key PUB, or for keyless signatures/],
      [['verify', '--certificate-identity', 'a@b', image], /give --certificate-oidc-issuer/],
      [['sign', '--key', pub, image], /public key; signing needs the private key/],
      [['sign', '--key', key, '-a', 'novalue', image], /annotation "novalue" is not key=value/],
      [['sign', '--tlog-upload=maybe', image], /--tlog-upload takes true or false/],
      [['triangulate', '--type', 'bogus', image], /--type must be signature, attestation or sbom/],
      [['copy', image, `${r.host}/test/x@${digest}`], /takes a tag, not a digest/],
      [['attach', 'sbom', '--sbom', join(dir, 'nope'), image], /does not exist/],
    ] as const;
    const results = await Promise.all(cases.map(([args]) => signet([...args] as string[], { env })));
    cases.forEach(([args, re], i) => {
      const res = results[i]!;
      assert.ok(isCleanError(res), `${args.join(' ')}: ${res.stderr}`);
      assert.match(res.stderr, re, args.join(' '));
    });
  });
});
