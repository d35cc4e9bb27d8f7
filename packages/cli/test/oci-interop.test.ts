// Image signing with peers: @sigstore/oci 0.6.0 attaches bundles (made by sigstore-js and by signet) that
// `signet verify` accepts; a real `signet-server --dev` as registry, CA, log and TSA for keyless image signing,
// whose bundles @sigstore/verify accepts; and registry authentication: the token flow behind a proxy with
// Docker/Podman credential files, `signet login`, and the errors without or with wrong credentials.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign as cryptoSign, randomBytes } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { attachArtifactToImage } from '@sigstore/oci';
import { DSSEBundleBuilder } from '@sigstore/sign';
import { bundleFromJSON, bundleToJSON } from '@sigstore/bundle';
import { Verifier, toSignedEntity, toTrustMaterial } from '@sigstore/verify';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { requireTool, run, startSignetServer, tempDir } from '@signet/testkit';
import { referrersTag } from '@signet/core';
import { isCleanError, signet } from './helpers.js';
import { buildLayout, pushImage, rawManifest, startRegistry } from './oci-helpers.js';

const ENV = { SIGNET_PASSWORD: 'pw', SIGNET_NO_PROGRESS: '1' };
const BUNDLE_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const COSIGN_SIGN = 'https://sigstore.dev/cosign/sign/v1';

function statementFor(digest: string, predicateType = COSIGN_SIGN): Buffer {
  return Buffer.from(JSON.stringify({ _type: 'https://in-toto.io/Statement/v1', subject: [{ digest: { sha256: digest.slice(7) } }], predicateType, predicate: {} }));
}

test('@sigstore/oci attaches bundles (sigstore-js and signet made) that signet verify accepts', async (t) => {
  const reg = requireTool(t, 'docker-registry');
  if (!requireTool(t, 'umoci') || !requireTool(t, 'skopeo') || !reg) return;
  const dir = tempDir(t);
  const env = { ...ENV, HOME: dir, SIGNET_CONFIG_DIR: join(dir, 'cfg') };
  const r = await startRegistry(t, reg);
  const image = `${r.host}/test/hello`;
  const digest = await pushImage(await buildLayout(dir, 'a', 'hello\n'), `${image}:v1`);

  // sigstore-js: a DSSE bundle over a cosign signature statement, with a public-key hint.
  const js = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jsPub = js.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  writeFileSync(join(dir, 'js.pub'), jsPub);
  const builder = new DSSEBundleBuilder({
    signer: { sign: async (d: Buffer) => ({ signature: cryptoSign('sha256', d, js.privateKey), key: { $case: 'publicKey', publicKey: jsPub, hint: 'js' } }) },
    witnesses: [],
  });
  const jsBundle = bundleToJSON(await builder.create({ data: statementFor(digest), type: 'application/vnd.in-toto+json' }));
  const annotations = { 'dev.sigstore.bundle.content': 'dsse-envelope', 'dev.sigstore.bundle.predicateType': COSIGN_SIGN };
  await attachArtifactToImage({ imageName: image, imageDigest: digest, artifact: Buffer.from(JSON.stringify(jsBundle)), mediaType: BUNDLE_TYPE, annotations, credentials: undefined as never });
  // Without a referrers API, @sigstore/oci maintains the sha256-<hex> index tag.
  assert.equal((await rawManifest(r.url, 'test/hello', referrersTag(digest))).status, 200);
  const v = await signet(['verify', '--key', join(dir, 'js.pub'), `${image}:v1`], { env });
  assert.equal(v.code, 0, v.stderr);
  assert.equal(JSON.parse(v.stdout).length, 1);

  // signet: attest-blob over the manifest bytes (its sha256 is the image digest) with the cosign signature type.
  assert.equal((await signet(['generate-key-pair', '--output-key-prefix', join(dir, 'k')], { env })).code, 0);
  const manifest = join(dir, 'manifest.json');
  writeFileSync(manifest, (await rawManifest(r.url, 'test/hello', 'v1')).bytes);
  writeFileSync(join(dir, 'empty.json'), '{}');
  const bundleFile = join(dir, 'sig.sigstore.json');
  const a = await signet(['attest-blob', '--key', join(dir, 'k.key'), '--type', COSIGN_SIGN, '--predicate', join(dir, 'empty.json'), '--bundle', bundleFile, manifest], { env });
  assert.equal(a.code, 0, a.stderr);
  await attachArtifactToImage({ imageName: image, imageDigest: digest, artifact: readFileSync(bundleFile), mediaType: BUNDLE_TYPE, annotations, credentials: undefined as never });
  const v2 = await signet(['verify', '--key', join(dir, 'k.pub'), `${image}:v1`], { env });
  assert.equal(v2.code, 0, v2.stderr);
  assert.equal(JSON.parse(v2.stdout).length, 1);
  const tree = await signet(['tree', '--output', 'json', `${image}:v1`], { env });
  assert.equal(JSON.parse(tree.stdout).referrers[COSIGN_SIGN].length, 2);

  // A sigstore-js bundle about another digest, attached to this image, is refused on the subject.
  const wrongBundle = bundleToJSON(await builder.create({ data: statementFor(`sha256:${'ab'.repeat(32)}`), type: 'application/vnd.in-toto+json' }));
  const img2 = await pushImage(await buildLayout(dir, 'b', 'second\n'), `${image}:v2`);
  await attachArtifactToImage({ imageName: image, imageDigest: img2, artifact: Buffer.from(JSON.stringify(wrongBundle)), mediaType: BUNDLE_TYPE, annotations, credentials: undefined as never });
  const bad = await signet(['verify', '--key', join(dir, 'js.pub'), `${image}:v2`], { env });
  assert.ok(isCleanError(bad));
  assert.match(bad.stderr, /subject: no subject of the statement has the artifact's digest/);
});

/** A token-auth front for a registry: /v2/token checks Basic alice:s3cret; everything else needs its Bearer token. */
async function authProxy(t: { after: (fn: () => void) => void }, backend: string): Promise<{ host: string; requests: string[] }> {
  const tokens = new Set<string>();
  const requests: string[] = [];
  let origin = '';
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    requests.push(`${req.method} ${req.url} ${req.headers.authorization?.split(' ')[0] ?? '-'}`);
    const u = new URL(req.url ?? '/', origin);
    if (u.pathname === '/v2/token') {
      const basic = req.headers.authorization?.startsWith('Basic ') ? Buffer.from(req.headers.authorization.slice(6), 'base64').toString() : '';
      if (basic !== 'alice:s3cret') {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}');
        return;
      }
      const tok = randomBytes(16).toString('hex');
      tokens.add(tok);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: tok, access_token: tok }));
      return;
    }
    const bearer = req.headers.authorization?.startsWith('Bearer ') ? req.headers.authorization.slice(7) : '';
    if (!tokens.has(bearer)) {
      res
        .writeHead(401, {
          'content-type': 'application/json',
          'www-authenticate': `Bearer realm="${origin}/v2/token",service="fake-registry",scope="repository:test/hello:pull"`,
        })
        .end('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}');
      return;
    }
    const headers = { ...req.headers };
    delete headers.authorization;
    delete headers.host;
    const up = httpRequest(`${backend}${req.url}`, { method: req.method, headers }, (br) => {
      const h = { ...br.headers };
      if (typeof h.location === 'string') h.location = h.location.replace(backend, origin);
      res.writeHead(br.statusCode ?? 502, h);
      br.pipe(res);
    });
    up.on('error', () => res.writeHead(502).end());
    req.pipe(up);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.address() as { port: number }).port;
  origin = `http://127.0.0.1:${port}`;
  t.after(() => server.close());
  return { host: `127.0.0.1:${port}`, requests };
}

test('registry auth: the token flow with Docker/Podman credential files and signet login; clear 401 errors', async (t) => {
  const reg = requireTool(t, 'docker-registry');
  if (!requireTool(t, 'umoci') || !requireTool(t, 'skopeo') || !reg) return;
  const dir = tempDir(t);
  const home = join(dir, 'home');
  mkdirSync(join(home, '.docker'), { recursive: true });
  const env = { ...ENV, HOME: home, SIGNET_CONFIG_DIR: join(dir, 'cfg'), REGISTRY_AUTH_FILE: undefined, XDG_RUNTIME_DIR: undefined, DOCKER_CONFIG: undefined, SIGNET_TOKEN: undefined };
  const r = await startRegistry(t, reg);
  await pushImage(await buildLayout(dir, 'a', 'hello\n'), `${r.host}/test/hello:v1`);
  const p = await authProxy(t, r.url);
  const image = `${p.host}/test/hello:v1`;
  assert.equal((await signet(['generate-key-pair', '--output-key-prefix', join(dir, 'k')], { env })).code, 0);

  const none = await signet(['sign', '--key', join(dir, 'k.key'), image], { env });
  assert.ok(isCleanError(none), none.stderr);
  assert.match(none.stderr, new RegExp(`the token service at http://${p.host}/v2/token refused an anonymous request \\(HTTP 401\\) — no credentials for ${p.host}: run "signet login ${p.host}"`));

  // A credential helper configured and nothing else: the error says Signet does not run helpers.
  writeFileSync(join(home, '.docker', 'config.json'), JSON.stringify({ credsStore: 'desktop' }));
  const helper = await signet(['verify', '--key', join(dir, 'k.pub'), image], { env });
  assert.match(helper.stderr, /credential helper "desktop", which Signet does not run/);

  // Docker's config.json: auths.<host>.auth = base64(user:password).
  const auth = (u: string) => JSON.stringify({ auths: { [`http://${p.host}`]: { auth: Buffer.from(u).toString('base64') } } });
  writeFileSync(join(home, '.docker', 'config.json'), auth('alice:wrong'));
  const wrong = await signet(['sign', '--key', join(dir, 'k.key'), image], { env });
  assert.ok(isCleanError(wrong));
  assert.match(wrong.stderr, /refused the credentials from .*\.docker\/config\.json/);
  writeFileSync(join(home, '.docker', 'config.json'), auth('alice:s3cret'));
  const s = await signet(['sign', '--key', join(dir, 'k.key'), image], { env });
  assert.equal(s.code, 0, s.stderr);
  assert.ok(p.requests.some((x) => x.startsWith('GET /v2/token') && x.endsWith('Basic')));
  assert.ok(p.requests.some((x) => x.startsWith('PUT /v2/test/hello/manifests/sha256:') && x.endsWith('Bearer')));
  assert.equal((await signet(['verify', '--key', join(dir, 'k.pub'), image], { env })).code, 0);

  // Podman's REGISTRY_AUTH_FILE, keyed by host/namespace.
  writeFileSync(join(home, '.docker', 'config.json'), '{}');
  const podman = join(dir, 'podman-auth.json');
  writeFileSync(podman, JSON.stringify({ auths: { [`${p.host}/test`]: { auth: Buffer.from('alice:s3cret').toString('base64') } } }));
  assert.equal((await signet(['verify', '--key', join(dir, 'k.pub'), image], { env: { ...env, REGISTRY_AUTH_FILE: podman } })).code, 0);

  // signet login: checked against the registry, stored 0600; logout removes it.
  const badLogin = await signet(['login', p.host, '--username', 'alice', '--password-stdin'], { env, input: 'nope\n' });
  assert.ok(isCleanError(badLogin));
  const login = await signet(['login', p.host, '--username', 'alice', '--password-stdin'], { env, input: 's3cret\n' });
  assert.equal(login.code, 0, login.stderr);
  const store = join(dir, 'cfg', 'auth.json');
  assert.equal(statSync(store).mode & 0o777, 0o600);
  assert.equal((await signet(['verify', '--key', join(dir, 'k.pub'), image], { env })).code, 0);
  assert.equal((await signet(['logout', p.host], { env })).code, 0);
  assert.equal((await signet(['verify', '--key', join(dir, 'k.pub'), image], { env })).code, 1);
});

async function devToken(url: string, email: string): Promise<string> {
  const r = await fetch(`${url}/dev/oidc/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email }) });
  assert.equal(r.status, 200);
  return ((await r.json()) as { id_token: string }).id_token;
}

test('against signet-server --dev: registry with referrers, keyless image signing, @sigstore/verify on the pushed bundle', async (t) => {
  if (!requireTool(t, 'umoci') || !requireTool(t, 'skopeo')) return;
  const s = await startSignetServer(t, { args: ['--dev'] });
  const dir = tempDir(t);
  const host = new URL(s.url).host;
  const issuer = `${s.url}/dev/oidc`;
  const base = { ...ENV, HOME: dir, SIGNET_CONFIG_DIR: join(dir, 'cfg'), SIGNET_SERVER: s.url };
  const env = { ...base, SIGNET_TOKEN: s.adminToken };
  const image = `${host}/team/app:1.0`;
  const digest = await pushImage(await buildLayout(dir, 'a', 'app\n'), image, `x:${s.adminToken}`);

  assert.equal((await signet(['generate-key-pair', '--output-key-prefix', join(dir, 'k')], { env })).code, 0);
  // No credentials: the server's 401 and the hint; SIGNET_TOKEN is not sent to a registry other than SIGNET_SERVER's.
  for (const e of [base, { ...base, SIGNET_SERVER: 'http://127.0.0.1:9', SIGNET_TOKEN: s.adminToken }]) {
    const anon = await signet(['sign', '--key', join(dir, 'k.key'), image], { env: e });
    assert.ok(isCleanError(anon), anon.stderr);
    assert.match(anon.stderr, new RegExp(`registry ${host}, repository team/app: .*HTTP 401.* no credentials for ${host}`));
  }
  const k = await signet(['sign', '--key', join(dir, 'k.key'), image], { env });
  assert.equal(k.code, 0, k.stderr);
  assert.doesNotMatch(k.stderr, /referrers tag/, 'the signet registry indexes subjects itself (OCI-Subject)');
  const ref = await fetch(`${s.url}/v2/team/app/referrers/${digest}`, { headers: { authorization: `Bearer ${s.adminToken}` } });
  assert.equal(ref.status, 200);
  assert.equal(((await ref.json()) as { manifests: unknown[] }).manifests.length, 1);
  assert.equal((await signet(['verify', '--key', join(dir, 'k.pub'), image], { env })).code, 0);
  writeFileSync(join(dir, 'other.pub'), generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString());
  const wrongKey = await signet(['verify', '--key', join(dir, 'other.pub'), image], { env });
  assert.ok(isCleanError(wrongKey));
  assert.match(wrongKey.stderr, /signature: no signature in the envelope verifies/);
  const unsigned = `${host}/team/app:unsigned`;
  await pushImage(await buildLayout(dir, 'u', 'unsigned\n'), unsigned, `x:${s.adminToken}`);
  assert.match((await signet(['verify', '--key', join(dir, 'k.pub'), unsigned], { env })).stderr, /no signatures found/);

  // Keyless, both formats.
  const token = await devToken(s.url, 'builder@example.test');
  for (const legacy of [[], ['--legacy']]) {
    const r = await signet(['sign', ...legacy, '-a', 'ci=yes', image], { env: { ...env, SIGSTORE_ID_TOKEN: token } });
    assert.equal(r.code, 0, r.stderr);
  }
  // skopeo (use-sigstore-attachments) finds the legacy .sig in the signet registry.
  const rd = join(dir, 'rd');
  mkdirSync(rd, { recursive: true });
  writeFileSync(join(rd, 'local.yaml'), `docker:\n  ${host}:\n    use-sigstore-attachments: true\n`);
  const sk = await run('skopeo', ['--registries.d', rd, 'copy', '-q', '--src-tls-verify=false', '--src-creds', `x:${s.adminToken}`, `docker://${image}`, `dir:${join(dir, 'sk')}`], { timeoutMs: 60_000 });
  assert.equal(sk.code, 0, sk.stderr);
  assert.match(readFileSync(join(dir, 'sk', 'signature-1')).toString(), /application\/vnd\.dev\.cosign\.simplesigning\.v1\+json/);
  const rootFile = join(dir, 'trusted_root.json');
  assert.equal((await signet(['trusted-root', 'fetch', '--output', rootFile], { env })).code, 0);
  const v = await signet(['verify', '--certificate-identity', 'builder@example.test', '--certificate-oidc-issuer', issuer, '--trusted-root', rootFile, image], { env });
  assert.equal(v.code, 0, v.stderr);
  const out = JSON.parse(v.stdout) as { optional: Record<string, string> }[];
  assert.equal(out.length, 2);
  for (const o of out) assert.deepEqual(o.optional, { ci: 'yes', Issuer: issuer, Subject: 'builder@example.test' });
  const wrongId = await signet(['verify', '--certificate-identity', 'other@example.test', '--certificate-oidc-issuer', issuer, '--trusted-root', rootFile, image], { env });
  assert.ok(isCleanError(wrongId));
  assert.match(wrongId.stderr, /identity: the certificate identity "builder@example\.test" does not match "other@example\.test"/);

  // The keyless bundle as pushed verifies in @sigstore/verify with the server's trusted root.
  const list = (await (await fetch(`${s.url}/v2/team/app/referrers/${digest}`, { headers: { authorization: `Bearer ${s.adminToken}` } })).json()) as { manifests: { digest: string }[] };
  let checked = 0;
  const verifier = new Verifier(toTrustMaterial(TrustedRoot.fromJSON(JSON.parse(readFileSync(rootFile, 'utf8')))));
  for (const d of list.manifests) {
    const m = JSON.parse((await rawManifest(s.url, 'team/app', d.digest, { authorization: `Bearer ${s.adminToken}` })).bytes.toString());
    const blob = await fetch(`${s.url}/v2/team/app/blobs/${m.layers[0].digest}`, { headers: { authorization: `Bearer ${s.adminToken}` } });
    const bundle = JSON.parse(Buffer.from(await blob.arrayBuffer()).toString());
    if (!bundle.verificationMaterial.certificate) continue;
    const signer = verifier.verify(toSignedEntity(bundleFromJSON(bundle)), { subjectAlternativeName: 'builder@example.test', extensions: { issuer } });
    assert.equal(signer.identity?.subjectAlternativeName, 'builder@example.test');
    const st = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString());
    assert.equal(st.subject[0].digest.sha256, digest.slice(7));
    assert.equal(st.predicateType, COSIGN_SIGN);
    checked++;
  }
  assert.equal(checked, 1);

  // Keyless attestation, then a copy within the server (blobs mounted) that keeps everything verifiable.
  writeFileSync(join(dir, 'vuln.json'), JSON.stringify({ scanner: { uri: 'https://example.test/scanner' } }));
  const at = await signet(['attest', '--type', 'vuln', '--predicate', join(dir, 'vuln.json'), image], { env: { ...env, SIGSTORE_ID_TOKEN: token } });
  assert.equal(at.code, 0, at.stderr);
  const atl = await signet(['attest', '--legacy', '--tlog-upload=true', '--type', 'vuln', '--predicate', join(dir, 'vuln.json'), image], { env: { ...env, SIGSTORE_ID_TOKEN: token } });
  assert.equal(atl.code, 0, atl.stderr);
  const va = await signet(['verify-attestation', '--type', 'vuln', '--certificate-identity', 'builder@example.test', '--certificate-oidc-issuer', issuer, image], { env });
  assert.equal(va.code, 0, va.stderr);
  assert.equal(va.stdout.trim().split('\n').length, 2, 'the referrer and the legacy .att layer');
  assert.match(va.stderr, /\.att layer 0: Verified OK: DSSE envelope by builder@example\.test/);
  const c = await signet(['copy', image, `${host}/prod/app`], { env });
  assert.equal(c.code, 0, c.stderr);
  const vc = await signet(['verify', '--key', join(dir, 'k.pub'), `${host}/prod/app:1.0`], { env });
  assert.equal(vc.code, 0, vc.stderr);
  const vk = await signet(['verify', '--certificate-identity', 'builder@example.test', '--certificate-oidc-issuer', issuer, '--signed-repository', `${host}/team/app`, `${host}/prod/app@${digest}`], { env });
  assert.equal(vk.code, 0, vk.stderr);
  assert.equal(JSON.parse(vk.stdout).length, 2);

  // signet login with the API token, instead of SIGNET_TOKEN.
  const login = await signet(['login', host, '--token', s.adminToken], { env: base });
  assert.equal(login.code, 0, login.stderr);
  assert.equal((await signet(['verify', '--key', join(dir, 'k.pub'), image], { env: base })).code, 0);
});
