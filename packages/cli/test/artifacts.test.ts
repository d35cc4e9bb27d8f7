// The server checks every signature and attestation pushed to its registry and records, per image digest, which
// are valid for which keys or identities: GET /api/v1/artifacts/oci/<repo>@<digest>. Driven with the real CLI and
// skopeo against a real `signet-server --dev`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireTool, startSignetServer, tempDir } from '@signet/testkit';
import { bundleReferrerManifest, descriptorFor, OCI_MANIFEST } from '@signet/core';
import { signet } from './helpers.js';
import { buildLayout, pushImage, rawManifest } from './oci-helpers.js';

const ENV = { SIGNET_PASSWORD: 'pw', SIGNET_NO_PROGRESS: '1' };

interface Sig {
  status: string;
  format: string;
  predicate_type?: string;
  signer: { type: string; key_fingerprint?: string; key_id?: string; key_status?: string; identity?: string; issuer?: string };
  reason?: string;
  log_index?: number;
  checks: { name: string; ok: boolean; detail: string }[];
}
interface ArtifactView {
  repository: string;
  digest: string;
  present: boolean;
  summary: { signed: boolean; valid_signatures: number; keys: string[]; identities: { identity: string; issuer: string }[]; predicate_types: string[] };
  signatures: Sig[];
  attestations: Sig[];
}

test('the registry verifies every signature it receives and shows per digest which keys and identities they are valid for', async (t) => {
  if (!requireTool(t, 'umoci') || !requireTool(t, 'skopeo')) return;
  const s = await startSignetServer(t, { args: ['--dev'] });
  const dir = tempDir(t);
  const host = new URL(s.url).host;
  const issuer = `${s.url}/dev/oidc`;
  const env = { ...ENV, HOME: dir, SIGNET_CONFIG_DIR: join(dir, 'cfg'), SIGNET_SERVER: s.url, SIGNET_TOKEN: s.adminToken };
  const admin = { authorization: `Bearer ${s.adminToken}` };
  const image = `${host}/team/app:1.0`;
  const digest = await pushImage(await buildLayout(dir, 'a', 'app\n'), image, `x:${s.adminToken}`);
  const view = async (ref = `team/app@${digest}`, headers: Record<string, string> = admin): Promise<{ status: number; body: ArtifactView & { code?: string; message?: string } }> => {
    const r = await fetch(`${s.url}/api/v1/artifacts/oci/${ref}`, { headers });
    return { status: r.status, body: (await r.json()) as ArtifactView & { code?: string; message?: string } };
  };

  // Unsigned: present, nothing recorded.
  let v = await view();
  assert.equal(v.status, 200);
  assert.equal(v.body.present, true);
  assert.equal(v.body.summary.signed, false);
  assert.deepEqual(v.body.signatures, []);

  // A key signature with no log entry and no registered key: recorded, but unverified, saying why.
  assert.equal((await signet(['generate-key-pair', '--output-key-prefix', join(dir, 'k')], { env })).code, 0);
  const signed = await signet(['sign', '--key', join(dir, 'k.key'), image], { env });
  assert.equal(signed.code, 0, signed.stderr);
  v = await view();
  assert.equal(v.body.signatures.length, 1);
  assert.equal(v.body.signatures[0]!.status, 'unverified');
  assert.match(v.body.signatures[0]!.reason ?? '', /no key registered for repository team\/app verifies it/);
  assert.equal(v.body.summary.signed, false);

  // Registering the public key for team/* makes it valid for that key (checked again when read).
  const pub = readFileSync(join(dir, 'k.pub'), 'utf8');
  const reg = await fetch(`${s.url}/api/v1/signing/keys`, { method: 'POST', headers: { ...admin, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'ci', public_key: pub, repositories: ['team/*'] }) });
  assert.equal(reg.status, 201, await reg.clone().text());
  const key = (await reg.json()) as { id: string; fingerprint: string };
  v = await view();
  const ks = v.body.signatures[0]!;
  assert.equal(ks.status, 'valid', JSON.stringify(ks));
  assert.equal(ks.format, 'bundle');
  assert.equal(ks.signer.type, 'key');
  assert.equal(ks.signer.key_id, key.id);
  assert.equal(ks.signer.key_status, 'active');
  const spki = Buffer.from(pub.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  assert.equal(ks.signer.key_fingerprint, `SHA256:${createHash('sha256').update(spki).digest('base64').replace(/=+$/, '')}`);
  assert.equal(ks.signer.key_fingerprint, key.fingerprint);
  assert.ok(ks.checks.some((c) => c.name === 'subject' && c.ok));
  assert.deepEqual(v.body.summary.keys, [key.fingerprint]);
  assert.equal(v.body.summary.signed, true);

  // Legacy key signature pushed after registration: valid on arrival.
  assert.equal((await signet(['sign', '--legacy', '--key', join(dir, 'k.key'), image], { env })).code, 0);
  v = await view();
  const legacy = v.body.signatures.find((x) => x.format === 'legacy');
  assert.equal(legacy?.status, 'valid', JSON.stringify(legacy));
  assert.ok(legacy?.checks.some((c) => c.name === 'docker-reference' && c.ok));

  // Keyless, both formats, and a keyless attestation: valid for the certificate's identity and issuer.
  const tr = await fetch(`${s.url}/dev/oidc/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'builder@example.test' }) });
  const token = ((await tr.json()) as { id_token: string }).id_token;
  for (const legacyFlag of [[], ['--legacy']]) {
    const r = await signet(['sign', ...legacyFlag, image], { env: { ...env, SIGSTORE_ID_TOKEN: token } });
    assert.equal(r.code, 0, r.stderr);
  }
  const predicate = join(dir, 'vuln.json');
  writeFileSync(predicate, JSON.stringify({ scanner: { uri: 'https://example.test/scanner' } }));
  assert.equal((await signet(['attest', '--type', 'vuln', '--predicate', predicate, image], { env: { ...env, SIGSTORE_ID_TOKEN: token } })).code, 0);
  v = await view();
  const keyless = v.body.signatures.filter((x) => x.signer.type === 'certificate');
  assert.equal(keyless.length, 2);
  for (const k of keyless) {
    assert.equal(k.status, 'valid', JSON.stringify(k));
    assert.equal(k.signer.identity, 'builder@example.test');
    assert.equal(k.signer.issuer, issuer);
    assert.equal(typeof k.log_index, 'number');
  }
  assert.deepEqual(v.body.summary.identities, [{ identity: 'builder@example.test', issuer }]);
  assert.equal(v.body.attestations.length, 1);
  assert.equal(v.body.attestations[0]!.status, 'valid');
  assert.match(v.body.attestations[0]!.predicate_type ?? '', /vuln/);
  assert.equal(v.body.summary.valid_signatures, 4);

  // A valid bundle about another image, attached to this one, is recorded as invalid on the subject check.
  const other = `${host}/team/app:2.0`;
  const otherDigest = await pushImage(await buildLayout(dir, 'b', 'other\n'), other, `x:${s.adminToken}`);
  assert.equal((await signet(['sign', '--key', join(dir, 'k.key'), other], { env })).code, 0);
  const refs = (await (await fetch(`${s.url}/v2/team/app/referrers/${otherDigest}`, { headers: admin })).json()) as { manifests: { digest: string }[] };
  const refManifest = JSON.parse((await rawManifest(s.url, 'team/app', refs.manifests[0]!.digest, admin)).bytes.toString()) as { layers: { mediaType: string; digest: string; size: number }[] };
  const subject = (await rawManifest(s.url, 'team/app', digest, admin)).bytes;
  const forged = bundleReferrerManifest({ bundle: refManifest.layers[0]! as never, subject: descriptorFor(subject, OCI_MANIFEST), predicateType: 'https://sigstore.dev/cosign/sign/v1' });
  const put = await fetch(`${s.url}/v2/team/app/manifests/${forged.descriptor.digest}`, { method: 'PUT', headers: { ...admin, 'content-type': OCI_MANIFEST }, body: forged.bytes });
  assert.equal(put.status, 201, await put.text());
  v = await view();
  const bad = v.body.signatures.find((x) => x.status === 'invalid');
  assert.ok(bad, JSON.stringify(v.body.signatures.map((x) => x.status)));
  assert.match(bad.reason ?? '', /subject/);
  assert.equal(v.body.summary.valid_signatures, 4);

  // Revoking the key shows on the record at once.
  assert.equal((await fetch(`${s.url}/api/v1/signing/keys/${key.id}/revoke`, { method: 'POST', headers: { ...admin, 'content-type': 'application/json' }, body: '{}' })).status, 200);
  v = await view();
  assert.ok(v.body.signatures.filter((x) => x.signer.key_id === key.id).every((x) => x.signer.key_status === 'revoked'));

  // By tag; and the errors.
  assert.equal((await view('team/app:1.0')).body.digest, digest);
  assert.equal((await view(`team/app@${digest}`, {})).status, 401);
  const reader = await fetch(`${s.url}/api/v1/tokens`, { method: 'POST', headers: { ...admin, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'r', role: 'reader', repositories: ['other/*'] }) });
  const readerToken = ((await reader.json()) as { token: string }).token;
  assert.equal((await view(`team/app@${digest}`, { authorization: `Bearer ${readerToken}` })).status, 403);
  const badRef = await view('team/app@sha256:nothex');
  assert.equal(badRef.status, 400);
  assert.equal(badRef.body.code, 'ARTIFACT_REFERENCE_INVALID');
  const missing = await view(`team/app@sha256:${'0'.repeat(64)}`);
  assert.equal(missing.status, 404);
  assert.equal(missing.body.code, 'ARTIFACT_NOT_FOUND');
});
