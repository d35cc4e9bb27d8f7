// Reading Sigstore bundles v0.1–v0.3: every bundle in the sigstore-conformance assets that is meant to verify
// parses; the structurally broken ones are refused with a reason. Key-based cases verify with their key.pub.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { sharedDir } from '@signet/testkit';
import { SignetError, parseBundle, parseTrustMaterial, verify, messageSignatureBundle, dsseBundle, utf8 } from '../dist/index.js';

const BASE = join(sharedDir(), 'testdata', 'sigstore-conformance', 'bundle-verify') + '/';
const cases = readdirSync(BASE).filter((d) => statSync(BASE + d).isDirectory());

test('the conformance assets are present', () => {
  assert.equal(cases.length, 70);
});

test('every bundle meant to verify parses; parse failures are only in *_fail cases, with a reason', () => {
  const versions = new Map<string, number>();
  for (const d of cases) {
    const text = readFileSync(`${BASE}${d}/bundle.sigstore.json`, 'utf8');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      assert.ok(d.endsWith('_fail'), `${d} is not JSON`);
      continue;
    }
    try {
      const b = parseBundle(json);
      versions.set(b.version, (versions.get(b.version) ?? 0) + 1);
    } catch (e) {
      assert.ok(e instanceof SignetError && e.code === 'MALFORMED_INPUT', String(e));
      assert.ok(d.endsWith('_fail'), `${d} should parse: ${(e as Error).message}`);
    }
  }
  assert.ok((versions.get('0.1') ?? 0) > 0 && (versions.get('0.2') ?? 0) > 0 && (versions.get('0.3') ?? 0) > 0, JSON.stringify([...versions]));
});

test('managed-key cases: the happy paths verify with key.pub; the wrong key is refused', async () => {
  for (const d of ['managed-key-happy-path', 'managed-key-and-trusted-root']) {
    const artifact = existsSync(`${BASE}${d}/artifact`) ? `${BASE}${d}/artifact` : `${BASE}a.txt`;
    const v = await verify({
      artifact: { bytes: readFileSync(artifact) },
      signature: readFileSync(`${BASE}${d}/bundle.sigstore.json`),
      trust: { keys: parseTrustMaterial(readFileSync(`${BASE}${d}/key.pub`)) },
    });
    assert.equal(v.ok, true, `${d}: ${JSON.stringify(v.checks)}`);
    const tampered = await verify({
      artifact: { bytes: utf8('not the artifact') },
      signature: readFileSync(`${BASE}${d}/bundle.sigstore.json`),
      trust: { keys: parseTrustMaterial(readFileSync(`${BASE}${d}/key.pub`)) },
    });
    assert.equal(tampered.ok, false);
  }
  assert.throws(() => parseTrustMaterial(readFileSync(`${BASE}managed-key-wrong-key_fail/key.pub`)), (e: unknown) => e instanceof SignetError && e.code === 'KEY_PARSE_FAILED');
});

test('written bundles are v0.3 and round-trip through the parser', () => {
  const m = messageSignatureBundle({ key: { hint: 'h' }, digest: { algorithm: 'sha256', value: new Uint8Array(32) }, signature: new Uint8Array([1, 2]) });
  const pm = parseBundle(JSON.parse(JSON.stringify(m)));
  assert.equal(pm.version, '0.3');
  assert.deepEqual(pm.keyMaterial, { kind: 'publicKey', hint: 'h' });
  const d = dsseBundle({ key: { certificate: new Uint8Array([0x30, 0]) }, envelope: { payloadType: 't', payload: 'AA==', signatures: [{ keyid: '', sig: 'AQ==' }] } });
  const pd = parseBundle(JSON.parse(JSON.stringify(d)));
  assert.equal(pd.content.kind, 'dsseEnvelope');
  assert.equal(pd.keyMaterial.kind, 'certificate');
  // v0.3 forbids x509CertificateChain; v0.1 requires a known media type
  assert.throws(() => parseBundle({ ...d, verificationMaterial: { x509CertificateChain: { certificates: [{ rawBytes: 'AA==' }] }, tlogEntries: [] } }), /not allowed in bundle v0.3/);
  assert.throws(() => parseBundle({ ...d, mediaType: 'application/json' }), /unsupported mediaType/);
  assert.throws(() => parseBundle({ ...m, dsseEnvelope: d.dsseEnvelope }), /both/);
});
