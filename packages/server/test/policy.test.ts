// Signing policies (/api/v1/signing/policies, JSON and the seed's YAML), their evaluation against what the registry
// verified about an image's signatures and attestations, dry runs, and the verify API (/api/v1/signing/verify).
// Signatures are real cosign legacy `.sig`/`.att` layers signed with keys registered through the keys API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { pae } from '@signet/core';
import { seedPolicyYaml } from '@signet/testkit';
import { bearer, testServer, type TestServer } from './helpers.js';
import { evaluate, identityGlobMatches, parsePolicy, type SignatureFact } from '../dist/policy/index.js';

const POLICIES = '/api/v1/signing/policies';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const sha256 = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

const SEED_YAML = seedPolicyYaml();

async function newToken(s: TestServer, role: string, repositories?: string[]): Promise<string> {
  const r = await s.app.inject({ method: 'POST', url: '/api/v1/tokens', headers: bearer(s.adminToken), payload: { name: `${role}-${Math.random()}`, role, ...(repositories ? { repositories } : {}) } });
  assert.equal(r.statusCode, 201, r.body);
  return r.json().token as string;
}

async function pushBlob(app: FastifyInstance, h: Record<string, string>, repo: string, bytes: Buffer): Promise<string> {
  const digest = sha256(bytes);
  const r = await app.inject({ method: 'POST', url: `/v2/${repo}/blobs/uploads/?digest=${digest}`, headers: { ...h, 'content-type': 'application/octet-stream' }, payload: bytes });
  assert.equal(r.statusCode, 201, r.body);
  return digest;
}

async function pushManifest(app: FastifyInstance, h: Record<string, string>, repo: string, ref: string, layers: { mediaType: string; bytes: Buffer; annotations?: Record<string, string> }[]): Promise<string> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: layers.map((l) => sha256(l.bytes)) } }));
  await pushBlob(app, h, repo, config);
  for (const l of layers) await pushBlob(app, h, repo, l.bytes);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: layers.map((l) => ({ mediaType: l.mediaType, digest: sha256(l.bytes), size: l.bytes.length, ...(l.annotations ? { annotations: l.annotations } : {}) })),
    }),
  );
  const r = await app.inject({ method: 'PUT', url: `/v2/${repo}/manifests/${ref}`, headers: { ...h, 'content-type': OCI_MANIFEST }, payload: manifest });
  assert.equal(r.statusCode, 201, r.body);
  return sha256(manifest);
}

const pushImage = (s: TestServer, repo: string, tag: string, seed: string): Promise<string> =>
  pushManifest(s.app, bearer(s.adminToken), repo, tag, [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', bytes: Buffer.from(`layer of ${seed}\n`) }]);

interface Signer {
  id: string;
  privateKey: KeyObject;
}

async function registerKey(s: TestServer, name: string, repositories = ['production/*']): Promise<Signer> {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const r = await s.app.inject({ method: 'POST', url: '/api/v1/signing/keys', headers: bearer(s.adminToken), payload: { name, public_key: publicKey.export({ type: 'spki', format: 'pem' }), repositories } });
  assert.equal(r.statusCode, 201, r.body);
  return { id: r.json().id as string, privateKey };
}

/** cosign's legacy `.sig` image (reference oci-and-cosign §1.2): one simple-signing layer per signer. */
async function pushSignatures(s: TestServer, repo: string, digest: string, signers: Signer[]): Promise<void> {
  const payload = Buffer.from(
    JSON.stringify({ critical: { identity: { 'docker-reference': `registry.example/${repo}` }, image: { 'docker-manifest-digest': digest }, type: 'cosign container image signature' }, optional: null }),
  );
  await pushManifest(
    s.app,
    bearer(s.adminToken),
    repo,
    `${digest.replace(':', '-')}.sig`,
    signers.map((k) => ({ mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json', bytes: payload, annotations: { 'dev.cosignproject.cosign/signature': sign('sha256', payload, k.privateKey).toString('base64') } })),
  );
}

/** cosign's legacy `.att` image (§1.3): a DSSE envelope over an in-toto statement about the image. */
async function pushAttestation(s: TestServer, repo: string, digest: string, signer: Signer, predicateType: string, predicate: unknown): Promise<void> {
  const statement = { _type: 'https://in-toto.io/Statement/v1', subject: [{ name: repo, digest: { sha256: digest.slice(7) } }], predicateType, predicate };
  const body = Buffer.from(JSON.stringify(statement));
  const sig = sign('sha256', pae('application/vnd.in-toto+json', body), signer.privateKey);
  const envelope = Buffer.from(JSON.stringify({ payloadType: 'application/vnd.in-toto+json', payload: body.toString('base64'), signatures: [{ keyid: '', sig: sig.toString('base64') }] }));
  await pushManifest(s.app, bearer(s.adminToken), repo, `${digest.replace(':', '-')}.att`, [
    { mediaType: 'application/vnd.dsse.envelope.v1+json', bytes: envelope, annotations: { predicateType, 'dev.cosignproject.cosign/signature': '' } },
  ]);
}

async function putPolicy(s: TestServer, doc: Record<string, unknown>): Promise<any> {
  const existing = await s.app.inject({ method: 'GET', url: `${POLICIES}/${doc['name'] as string}`, headers: bearer(s.adminToken) });
  const r =
    existing.statusCode === 200
      ? await s.app.inject({ method: 'PUT', url: `${POLICIES}/${doc['name'] as string}`, headers: bearer(s.adminToken), payload: doc })
      : await s.app.inject({ method: 'POST', url: POLICIES, headers: bearer(s.adminToken), payload: doc });
  assert.ok(r.statusCode === 200 || r.statusCode === 201, r.body);
  return r.json();
}

const verify = async (s: TestServer, body: unknown, token = s.adminToken): Promise<{ statusCode: number; json: () => any; body: string }> =>
  s.app.inject({ method: 'POST', url: '/api/v1/signing/verify', headers: bearer(token), payload: body as Record<string, unknown> });

test("the seed's YAML policy is accepted; CRUD by id or name; validation names the field; mutations need an unrestricted admin; changes are audited", async (t) => {
  const s = await testServer(t);
  const admin = bearer(s.adminToken);
  const created = await s.app.inject({ method: 'POST', url: POLICIES, headers: { ...admin, 'content-type': 'application/yaml' }, payload: SEED_YAML });
  assert.equal(created.statusCode, 201, created.body);
  const p = created.json();
  assert.equal(p.name, 'require-signatures');
  assert.deepEqual(p.repositories, ['production/*', 'stable/*']);
  assert.equal(created.headers['location'], `${POLICIES}/${p.id}`);
  const r0 = p.rules[0];
  assert.deepEqual(r0.key_requirements, [{ type: 'keyless', certificate_identity: '*@example.com', certificate_oidc_issuer: 'https://accounts.google.com' }]);
  assert.equal(r0.mode, 'enforce');
  assert.deepEqual(r0.on, ['push', 'pull']);
  assert.equal(r0.threshold, 1);
  assert.deepEqual(p.rules[1].trusted_keys, ['key-123', 'key-456']);

  // Read by id and by name, list (filter by repository), any role may read.
  const reader = await newToken(s, 'reader');
  assert.equal((await s.app.inject({ method: 'GET', url: `${POLICIES}/${p.id}`, headers: bearer(reader) })).json().name, 'require-signatures');
  assert.equal((await s.app.inject({ method: 'GET', url: `${POLICIES}/require-signatures`, headers: bearer(reader) })).json().id, p.id);
  assert.equal((await s.app.inject({ method: 'GET', url: `${POLICIES}?repository=production/app`, headers: bearer(reader) })).json().policies.length, 1);
  assert.equal((await s.app.inject({ method: 'GET', url: `${POLICIES}?repository=dev/app`, headers: bearer(reader) })).json().policies.length, 0);
  assert.equal((await s.app.inject({ method: 'GET', url: POLICIES })).statusCode, 401);
  // A token limited to other repositories does not see it.
  const devReader = await newToken(s, 'reader', ['dev/**']);
  assert.equal((await s.app.inject({ method: 'GET', url: POLICIES, headers: bearer(devReader) })).json().policies.length, 0);
  assert.equal((await s.app.inject({ method: 'GET', url: `${POLICIES}/${p.id}`, headers: bearer(devReader) })).statusCode, 404);

  // Same name again: 409 naming the existing one.
  const dup = await s.app.inject({ method: 'POST', url: POLICIES, headers: { ...admin, 'content-type': 'text/yaml' }, payload: SEED_YAML });
  assert.equal(dup.statusCode, 409);
  assert.equal(dup.json().code, 'POLICY_EXISTS');
  assert.equal(dup.headers['location'], `${POLICIES}/${p.id}`);

  // Validation: each error is a 400 naming the field.
  const base = { name: 'p1', repositories: ['team/*'], rules: [{ name: 'r' }] };
  const cases: [unknown, RegExp][] = [
    [{ ...base, name: 'bad name!' }, /^name must start/],
    [{ ...base, repositories: [] }, /repositories may not be empty/],
    [{ ...base, repositories: ['prod//x'] }, /repositories\[0\] "prod\/\/x" has an empty path segment/],
    [{ ...base, rules: [] }, /rules may not be empty/],
    [{ ...base, rules: [{ name: 'r', signature_type: 'pgp' }] }, /rules\[0\] \("r"\)\.signature_type must be one of cosign, sigstore, gpg, ssh, minisign, any/],
    [{ ...base, rules: [{ name: 'r', mode: 'block' }] }, /rules\[0\] \("r"\)\.mode must be one of enforce, quarantine, warn/],
    [{ ...base, rules: [{ name: 'r', on: ['delete'] }] }, /rules\[0\] \("r"\)\.on\[0\] must be one of push, pull/],
    [{ ...base, rules: [{ name: 'r', threshold: 3, trusted_keys: ['a', 'b'] }] }, /threshold is 3, more than the 2 trusted_keys/],
    [{ ...base, rules: [{ name: 'r', threshold: 1.5 }] }, /threshold must be an integer/],
    [{ ...base, rules: [{ name: 'r', key_requirements: [{ type: 'keyless', certificate_identity_regexp: '(' , certificate_oidc_issuer: 'x' }] }] }, /key_requirements\[0\]\.certificate_identity_regexp is not a valid regular expression/],
    [{ ...base, rules: [{ name: 'r', key_requirements: [{ type: 'keyless', certificate_oidc_issuer: 'x' }] }] }, /key_requirements\[0\] must name the signer/],
    [{ ...base, rules: [{ name: 'r', key_requirements: [{ type: 'keyless', certificate_identity: 'a', certificate_oidc_issuer: 'x', certificate_extensions: { github_colour: 'x' } }] }] }, /unknown extension "github_colour"/],
    [{ ...base, rules: [{ name: 'r', attestations: [{ predicate_type: 'x', conditions: [{ path: 'predicate.builder.id', equals: 'a', matches: 'b' }] }] }] }, /conditions\[0\] must give exactly one of equals, matches or one_of/],
    [{ ...base, rules: [{ name: 'r', colour: 'red' }] }, /rules\[0\] has an unknown field "colour"/],
    [{ ...base, rules: [{ name: 'r' }, { name: 'r' }] }, /two rules named "r"/],
    [{ ...base, extra: 1 }, /policy has an unknown field "extra"/],
  ];
  for (const [body, re] of cases) {
    const r = await s.app.inject({ method: 'POST', url: POLICIES, headers: admin, payload: body as Record<string, unknown> });
    assert.equal(r.statusCode, 400, `${JSON.stringify(body)} → ${r.body}`);
    assert.equal(r.json().code, 'INVALID_POLICY');
    assert.match(r.json().message, re);
  }
  const badYaml = await s.app.inject({ method: 'POST', url: POLICIES, headers: { ...admin, 'content-type': 'application/yaml' }, payload: 'name: [unclosed\n' });
  assert.equal(badYaml.statusCode, 400);
  assert.match(badYaml.json().message, /not valid YAML/);
  const scalarYaml = await s.app.inject({ method: 'POST', url: POLICIES, headers: { ...admin, 'content-type': 'application/yaml' }, payload: 'just a string\n' });
  assert.equal(scalarYaml.statusCode, 400);
  assert.match(scalarYaml.json().message, /policy must be an object/);

  // Authorization matrix for every mutation: none, reader, signer, publisher, limited admin → 401/403; admin → ok.
  const limitedAdmin = await newToken(s, 'admin', ['production/*']);
  const tokens: [string | undefined, number][] = [
    [undefined, 401],
    [reader, 403],
    [await newToken(s, 'signer'), 403],
    [await newToken(s, 'publisher'), 403],
    [limitedAdmin, 403],
  ];
  const doc = { name: 'p2', repositories: ['team/*'], rules: [{ name: 'r', mode: 'warn' }] };
  for (const [token, status] of tokens) {
    const h = token ? bearer(token) : {};
    assert.equal((await s.app.inject({ method: 'POST', url: POLICIES, headers: h, payload: doc })).statusCode, status);
    assert.equal((await s.app.inject({ method: 'PUT', url: `${POLICIES}/${p.id}`, headers: h, payload: doc })).statusCode, status);
    assert.equal((await s.app.inject({ method: 'DELETE', url: `${POLICIES}/${p.id}`, headers: h })).statusCode, status);
  }
  // Replace by name (renaming it), then delete by id.
  const put = await s.app.inject({ method: 'PUT', url: `${POLICIES}/require-signatures`, headers: admin, payload: { ...doc, name: 'renamed' } });
  assert.equal(put.statusCode, 200, put.body);
  assert.equal(put.json().id, p.id);
  assert.equal(put.json().rules[0].mode, 'warn');
  assert.equal((await s.app.inject({ method: 'GET', url: `${POLICIES}/require-signatures`, headers: admin })).statusCode, 404);
  assert.equal((await s.app.inject({ method: 'DELETE', url: `${POLICIES}/${p.id}`, headers: admin })).statusCode, 204);
  const gone = await s.app.inject({ method: 'DELETE', url: `${POLICIES}/${p.id}`, headers: admin });
  assert.equal(gone.statusCode, 404);
  assert.equal(gone.json().code, 'POLICY_NOT_FOUND');

  const events = (await s.app.inject({ method: 'GET', url: '/api/v1/audit?action=policy.create&action=policy.update&action=policy.delete', headers: admin })).json().events as { action: string; outcome: string; target: string }[];
  assert.deepEqual(
    events.filter((e) => e.outcome === 'allowed').map((e) => e.action),
    ['policy.create', 'policy.update', 'policy.delete'],
  );
  assert.ok(events.some((e) => e.outcome === 'denied' && e.action === 'policy.delete'), 'a denied mutation by a known token is audited');
});

test('pure evaluation: keyless identity glob/regexp, issuer and extensions; thresholds; attestation conditions; modes', () => {
  assert.ok(identityGlobMatches('*@example.com', 'ci@example.com'));
  assert.ok(!identityGlobMatches('*@example.com', 'ci@example.com.evil.org'));
  assert.ok(identityGlobMatches('https://github.com/org/*', 'https://github.com/org/repo/.github/workflows/x.yml@refs/heads/main'));
  assert.ok(!identityGlobMatches('a.b', 'axb'), 'only * is a wildcard');

  const ISSUER = 'https://accounts.google.com';
  const cert = (identity: string, issuer = ISSUER, extensions: Record<string, string> = {}): SignatureFact => ({ kind: 'signature', types: ['cosign', 'sigstore'], identity, issuer, extensions });
  const policy = (rule: Record<string, unknown>) => parsePolicy({ name: 'p', repositories: ['production/*'], rules: [{ name: 'r', ...rule }] });
  const ctx = { repository: 'production/app', artifact_types: ['oci', 'docker'], on: 'push' as const };

  const glob = policy({ key_requirements: [{ type: 'keyless', certificate_identity: '*@example.com', certificate_oidc_issuer: ISSUER }] });
  assert.equal(evaluate([glob], [cert('ci@example.com')], ctx).allowed, true);
  const wrongIssuer = evaluate([glob], [cert('ci@example.com', 'https://evil.example')], ctx);
  assert.equal(wrongIssuer.allowed, false);
  assert.equal(wrongIssuer.mode, 'enforce');
  assert.match(wrongIssuer.results[0]!.missing!, /issuer https:\/\/evil\.example is not https:\/\/accounts\.google\.com/);
  assert.match(evaluate([glob], [cert('ci@evil.com')], ctx).results[0]!.missing!, /identity ci@evil\.com does not match \*@example\.com/);
  assert.match(evaluate([glob], [], ctx).results[0]!.missing!, /a valid cosign|a valid signature by a keyless certificate for \*@example\.com/);

  const re = policy({ key_requirements: [{ type: 'keyless', certificate_identity_regexp: '(ci|release)@example\\.com', certificate_oidc_issuer_regexp: 'https://accounts\\.google\\.(com|de)' }] });
  assert.equal(evaluate([re], [cert('release@example.com', 'https://accounts.google.de')], ctx).allowed, true);
  assert.equal(evaluate([re], [cert('dev@example.com')], ctx).allowed, false);
  assert.equal(evaluate([re], [cert('xci@example.com')], ctx).allowed, false, 'the regexp must match the whole identity');

  const gh = policy({ key_requirements: [{ type: 'keyless', certificate_identity: '*', certificate_oidc_issuer: ISSUER, certificate_extensions: { github_workflow_repository: 'org/app', github_workflow_ref: 'refs/heads/main' } }] });
  const ghExt = { '1.3.6.1.4.1.57264.1.5': 'org/app', '1.3.6.1.4.1.57264.1.6': 'refs/heads/main' };
  assert.equal(evaluate([gh], [cert('x', ISSUER, ghExt)], ctx).allowed, true);
  const ghBad = evaluate([gh], [cert('x', ISSUER, { ...ghExt, '1.3.6.1.4.1.57264.1.6': 'refs/heads/dev' })], ctx);
  assert.match(ghBad.results[0]!.missing!, /github_workflow_ref is "refs\/heads\/dev", not "refs\/heads\/main"/);

  // Keys: the state of the key decides; thresholds count distinct signers.
  const key = (id: string, usable = true, status = 'active'): SignatureFact => ({ kind: 'signature', types: ['cosign', 'sigstore'], key: { id, name: `k-${id}`, status, usable, trustedForRepository: true } });
  const two = policy({ trusted_keys: ['a', 'b', 'c'], threshold: 2 });
  assert.equal(evaluate([two], [key('a'), key('b')], ctx).allowed, true);
  assert.equal(evaluate([two], [key('a'), key('a')], ctx).allowed, false, 'the same key twice is one signer');
  assert.match(evaluate([two], [key('a'), key('b', false, 'revoked')], ctx).results[0]!.missing!, /2 valid signatures by distinct signers \(found 1\).*key "k-b" \(b\) is revoked and no longer counts/);
  assert.equal(evaluate([two], [key('a'), key('x')], ctx).allowed, false, 'a key not listed does not count');

  // Attestations with conditions on predicate fields.
  const slsa = 'https://slsa.dev/provenance/v0.2';
  const att = (builder: string): SignatureFact => ({ ...key('a'), kind: 'attestation', predicate_type: slsa, statement: { predicateType: slsa, predicate: { builder: { id: builder } } } });
  const prov = policy({ trusted_keys: ['a'], attestations: [{ predicate_type: slsa, conditions: [{ path: 'predicate.builder.id', matches: 'https://github\\.com/.*' }] }] });
  assert.equal(evaluate([prov], [key('a'), att('https://github.com/actions/runner')], ctx).allowed, true);
  assert.match(evaluate([prov], [key('a'), att('https://evil.example/builder')], ctx).results[0]!.missing!, /predicate\.builder\.id is "https:\/\/evil\.example\/builder", which does not match/);
  assert.match(evaluate([prov], [key('a')], ctx).results[0]!.missing!, /slsa\.dev\/provenance\/v0\.2 attestation .*\(none present\)/);

  // Modes, events, artifact types, required.
  const warn = policy({ trusted_keys: ['a'], mode: 'warn' });
  const w = evaluate([warn], [], ctx);
  assert.deepEqual([w.allowed, w.satisfied, w.mode, w.warnings.length], [true, false, 'warn', 1]);
  const q = evaluate([policy({ trusted_keys: ['a'], mode: 'quarantine' })], [], ctx);
  assert.deepEqual([q.allowed, q.mode], [false, 'quarantine']);
  assert.equal(evaluate([policy({ trusted_keys: ['a'], on: ['pull'] })], [], ctx).results.length, 0, 'a pull rule does not apply on push');
  assert.equal(evaluate([policy({ trusted_keys: ['a'], artifact_types: ['rpm'] })], [], ctx).results.length, 0, 'an rpm rule does not apply to images');
  assert.equal(evaluate([policy({ trusted_keys: ['a'], required: false })], [], ctx).allowed, true);
  assert.equal(evaluate([policy({ trusted_keys: ['a'], signature_type: 'gpg' })], [key('a')], ctx).allowed, false, 'a cosign signature is not a gpg signature');
});

test('evaluation against the registry: registered keys, revocation, 2-of-n, attestation conditions; dry run; verify API', async (t) => {
  const s = await testServer(t);
  const admin = bearer(s.adminToken);
  const repo = 'production/app';
  const alice = await registerKey(s, 'alice');
  const bob = await registerKey(s, 'bob');
  const carol = await registerKey(s, 'carol', ['production/*', 'staging/*']);
  const signed = await pushImage(s, repo, '1.0', 'signed');
  const unsigned = await pushImage(s, repo, '2.0', 'unsigned');
  // Pushed before any policy applies (enforcement would refuse it afterwards): the dry run below finds it.
  const other = await pushImage(s, 'production/web', 'latest', 'web');
  await pushSignatures(s, repo, signed, [alice]);

  const policies = s.app.services.policies;
  await putPolicy(s, { name: 'prod', repositories: ['production/*'], rules: [{ name: 'signed', artifact_types: ['oci'], signature_type: 'cosign', key_requirements: [{ type: 'key' }] }] });
  let ev = await policies.evaluate(repo, signed, 'push');
  assert.equal(ev.allowed, true, JSON.stringify(ev));
  assert.deepEqual(ev.results[0]!.signers, [`key "alice" (${alice.id})`]);
  ev = await policies.evaluate(repo, unsigned, 'pull');
  assert.equal(ev.allowed, false);
  assert.equal(ev.mode, 'enforce');
  assert.match(ev.results[0]!.missing!, /no valid cosign signature/);
  assert.deepEqual((await policies.evaluate('dev/app', unsigned, 'push')).results, [], 'no policy governs dev/*');

  // The verify API: valid with the signer; invalid with the failed checks; by digest too; audited.
  let v = await verify(s, { artifact: { repository: 'production', name: 'app', version: '1.0' }, signature_type: 'cosign' });
  assert.equal(v.statusCode, 200, v.body);
  assert.equal(v.json().valid, true, v.body);
  assert.equal(v.json().signer.key_id, alice.id);
  assert.ok(v.json().checks.every((c: { ok: boolean }) => c.ok));
  assert.equal(v.json().policy.policies[0], 'prod');
  v = await verify(s, { artifact: { repository: repo, digest: unsigned } });
  assert.equal(v.json().valid, false);
  assert.deepEqual(v.json().checks.filter((c: { ok: boolean }) => !c.ok).map((c: { name: string }) => c.name), ['signatures', 'policy prod: signed']);

  // trusted_keys by id or name; threshold 2 of alice, bob, carol.
  await putPolicy(s, { name: 'prod', repositories: ['production/*'], rules: [{ name: 'two', trusted_keys: [alice.id, 'bob', carol.id], threshold: 2 }] });
  assert.match((await policies.evaluate(repo, signed, 'push')).results[0]!.missing!, /2 valid signatures by distinct signers \(found 1\)/);
  await pushSignatures(s, repo, signed, [alice, carol]);
  ev = await policies.evaluate(repo, signed, 'push');
  assert.equal(ev.allowed, true, JSON.stringify(ev));
  assert.equal(ev.results[0]!.signers.length, 2);

  // Revoking carol: her signature no longer counts, everywhere, at once.
  const rv = await s.app.inject({ method: 'POST', url: `/api/v1/signing/keys/${carol.id}/revoke`, headers: admin, payload: { reason: 'lost' } });
  assert.equal(rv.statusCode, 200, rv.body);
  ev = await policies.evaluate(repo, signed, 'push');
  assert.equal(ev.allowed, false);
  assert.match(ev.results[0]!.missing!, /key "carol" \(.*\) is revoked and no longer counts/);
  await pushSignatures(s, repo, signed, [alice, carol, bob]);
  assert.equal((await policies.evaluate(repo, signed, 'push')).allowed, true, 'alice + bob');

  // Attestation with a condition on the builder id.
  const slsa = 'https://slsa.dev/provenance/v0.2';
  await putPolicy(s, {
    name: 'prod',
    repositories: ['production/*'],
    rules: [{ name: 'provenance', threshold: 1, trusted_keys: ['alice'], attestations: [{ predicate_type: slsa, conditions: [{ path: 'predicate.builder.id', equals: 'https://ci.example/builder' }] }] }],
  });
  assert.match((await policies.evaluate(repo, signed, 'push')).results[0]!.missing!, /provenance\/v0\.2 attestation .*none present/);
  await pushAttestation(s, repo, signed, alice, slsa, { builder: { id: 'https://evil.example/builder' } });
  assert.match((await policies.evaluate(repo, signed, 'push')).results[0]!.missing!, /predicate\.builder\.id is "https:\/\/evil\.example\/builder", not "https:\/\/ci\.example\/builder"/);
  await pushAttestation(s, repo, signed, alice, slsa, { builder: { id: 'https://ci.example/builder' } });
  assert.equal((await policies.evaluate(repo, signed, 'push')).allowed, true);

  // Dry run (stored policy by name, and inline): lists what would fail, enforces nothing.
  let dr = await s.app.inject({ method: 'POST', url: `${POLICIES}/dry-run`, headers: admin, payload: { id: 'prod' } });
  assert.equal(dr.statusCode, 200, dr.body);
  assert.equal(dr.json().evaluated, 3, dr.body);
  assert.deepEqual(dr.json().failures.map((f: { repository: string; tag: string }) => `${f.repository}:${f.tag}`).sort(), ['production/app:2.0', 'production/web:latest']);
  assert.equal(dr.json().failures.find((f: { digest: string }) => f.digest === other).failures[0].rule, 'provenance');
  dr = await s.app.inject({ method: 'POST', url: `${POLICIES}/dry-run`, headers: admin, payload: { policy: { name: 'x', repositories: ['production/*'], rules: [{ name: 'r', trusted_keys: ['bob'] }] }, repositories: ['production/app'] } });
  assert.deepEqual(dr.json().repositories, ['production/app']);
  assert.deepEqual(dr.json().failures.map((f: { tag: string }) => f.tag), ['2.0']);
  const drBad = await s.app.inject({ method: 'POST', url: `${POLICIES}/dry-run`, headers: admin, payload: { policy: { name: 'x' } } });
  assert.equal(drBad.statusCode, 400);
  assert.match(drBad.json().message, /repositories is required/);
  // A reader limited to other repositories sees none of them.
  const devReader = await newToken(s, 'reader', ['dev/**']);
  dr = await s.app.inject({ method: 'POST', url: `${POLICIES}/dry-run`, headers: bearer(devReader), payload: { policy: { name: 'x', repositories: ['production/*'], rules: [{ name: 'r' }] } } });
  assert.equal(dr.json().evaluated, 0);

  // Verify with a named policy, access control and bad input.
  v = await verify(s, { artifact: { repository: repo, version: '1.0' }, policy: 'prod' });
  assert.equal(v.json().valid, true, v.body);
  assert.equal((await verify(s, { artifact: { repository: repo, version: '1.0' } }, devReader)).statusCode, 403);
  assert.equal((await s.app.inject({ method: 'POST', url: '/api/v1/signing/verify', payload: { artifact: { repository: repo, version: '1.0' } } })).statusCode, 401);
  assert.equal((await verify(s, { artifact: { repository: repo, version: '9.9' } })).statusCode, 404);
  assert.equal((await verify(s, { artifact: { repository: repo, version: '1.0' }, policy: 'nope' })).statusCode, 404);
  for (const bad of [{ artifact: { repository: 'Bad Repo', version: '1' } }, { artifact: { repository: repo, version: '1.0', digest: signed } }, { artifact: { repository: repo, digest: 'sha256:xyz' } }, { artifact: { repository: repo } }, { artifact: { repository: repo, version: '1.0' }, signature_type: 'pgp' }]) {
    const r = await verify(s, bad);
    assert.equal(r.statusCode, 400, `${JSON.stringify(bad)} → ${r.body}`);
  }
  const events = (await s.app.inject({ method: 'GET', url: '/api/v1/audit?action=artifact.verify', headers: admin })).json().events as { outcome: string }[];
  assert.ok(events.some((e) => e.outcome === 'valid') && events.some((e) => e.outcome === 'invalid') && events.some((e) => e.outcome === 'denied'));
});
