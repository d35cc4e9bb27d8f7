// Real Fulcio certificates from sigstore-conformance (test/assets/bundle-verify): every passing case that carries
// a certificate must parse, give the expected identity, chain to its trusted root inside the leaf's validity, and
// carry SCTs that verify against that root's ctlogs (SCT extensions allowed).
//
// Special cases: none are skipped. Two things the trust roots need that are not per-case special-casing:
// - a trusted root may list a ctlog key as PKCS#1 RSA (keyDetails PKCS1_RSA_…, in the staging-derived roots of the
//   rekor2-* cases); it is loaded as such, and the SCTs of these certificates come from ECDSA logs anyway;
// - `at` is the middle of the leaf's 10-minute validity, and only CAs whose validFor covers it are tried
//   (production lists two CAs with the same subject).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, type KeyObject } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sharedDir } from '@signet/testkit';
import { fulcioIdentity, parseCertificate, verifyCertificateChain, verifyEmbeddedScts, type CtLog } from '../dist/x509/index.js';

const DEFAULT_IDENTITY =
  'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main';
const DEFAULT_ISSUER = 'https://token.actions.githubusercontent.com';

const base = join(sharedDir(), 'testdata', 'sigstore-conformance');
const casesDir = join(base, 'bundle-verify');

interface ValidFor {
  start?: string;
  end?: string;
}
interface TrustedRoot {
  certificateAuthorities: { certChain: { certificates: { rawBytes: string }[] }; validFor?: ValidFor }[];
  ctlogs: { publicKey: { rawBytes: string; keyDetails?: string; validFor?: ValidFor }; logId: { keyId: string } }[];
}

const b64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));

function ctlogKey(rawBytes: string, keyDetails: string | undefined): KeyObject {
  const der = Buffer.from(rawBytes, 'base64');
  return createPublicKey({ key: der, format: 'der', type: keyDetails?.startsWith('PKCS1_') ? 'pkcs1' : 'spki' });
}

function ctlogs(root: TrustedRoot): CtLog[] {
  return root.ctlogs.map((l) => {
    const v = l.publicKey.validFor ?? {};
    return {
      logId: b64(l.logId.keyId),
      publicKey: ctlogKey(l.publicKey.rawBytes, l.publicKey.keyDetails),
      validFor: { ...(v.start ? { start: new Date(v.start) } : {}), ...(v.end ? { end: new Date(v.end) } : {}) },
    };
  });
}

function covers(v: ValidFor | undefined, at: Date): boolean {
  return (!v?.start || new Date(v.start) <= at) && (!v?.end || at <= new Date(v.end));
}

function readOpt(file: string): string | undefined {
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
}

const cases = readdirSync(casesDir, { withFileTypes: true })
  .filter((d) => d.isDirectory() && !d.name.endsWith('_fail'))
  .map((d) => d.name)
  .sort()
  .flatMap((name) => {
    const bundle = JSON.parse(readFileSync(join(casesDir, name, 'bundle.sigstore.json'), 'utf8')) as {
      verificationMaterial?: { certificate?: { rawBytes: string }; x509CertificateChain?: { certificates: { rawBytes: string }[] } };
    };
    const vm = bundle.verificationMaterial ?? {};
    const raw = vm.certificate?.rawBytes ?? vm.x509CertificateChain?.certificates[0]?.rawBytes;
    return raw ? [{ name, leaf: b64(raw) }] : [];
  });

test('the conformance assets hold passing cases with Fulcio certificates', () => {
  assert.ok(cases.length >= 15, `found ${cases.length}`);
});

for (const c of cases) {
  test(`conformance ${c.name}: identity, chain and embedded SCTs`, async () => {
    const dir = join(casesDir, c.name);
    const rootFile = existsSync(join(dir, 'trusted_root.json')) ? join(dir, 'trusted_root.json') : join(base, 'production-trusted_root.json');
    const root = JSON.parse(readFileSync(rootFile, 'utf8')) as TrustedRoot;

    const cert = parseCertificate(c.leaf);
    const id = fulcioIdentity(c.leaf);
    assert.equal(id.san.value, readOpt(join(dir, 'identity')) ?? DEFAULT_IDENTITY);
    assert.equal(id.issuer, readOpt(join(dir, 'issuer')) ?? DEFAULT_ISSUER);
    assert.equal(cert.subjectAltNames?.length, 1, 'Fulcio issues exactly one SAN');
    assert.ok(cert.extensions.find((e) => e.oid === '2.5.29.17')?.critical, 'the SAN is critical (empty subject)');

    const at = new Date((cert.validity.notBefore.getTime() + cert.validity.notAfter.getTime()) / 2);
    const cas = root.certificateAuthorities.filter((ca) => covers(ca.validFor, at));
    assert.ok(cas.length > 0, 'a CA in the trusted root covers the leaf validity');
    const results = cas.map((ca) => verifyCertificateChain(c.leaf, ca.certChain.certificates.map((x) => b64(x.rawBytes)), at));
    const chain = results.find((r) => r.ok);
    assert.ok(chain, JSON.stringify(results.map((r) => r.checks.filter((x) => !x.ok))));
    assert.ok(chain.chain.length >= 2);

    const scts = await verifyEmbeddedScts(c.leaf, chain.chain[1]!, ctlogs(root));
    assert.ok(scts.length >= 1, 'the certificate embeds SCTs');
    for (const s of scts) assert.ok(s.ok, JSON.stringify(s.checks));
  });
}

// The *_fail cases whose failure lies in the certificate layer fail here for that reason.
const CERT_FAILURES: Array<[string, 'chain' | 'sct', string]> = [
  ['bundle-from-wrong-instance_fail', 'chain', 'path'], // a staging certificate against the production root
  ['intoto-expired-certificate_fail', 'chain', 'validity'], // the root certificate has expired by the leaf's time
  ['invalid-ct-key_fail', 'sct', 'log'], // the root's ctlog key is not the one that signed the SCT
];

for (const [name, layer, check] of CERT_FAILURES) {
  test(`conformance ${name}: fails at the ${layer} with a failed "${check}" check`, async () => {
    const dir = join(casesDir, name);
    const bundle = JSON.parse(readFileSync(join(dir, 'bundle.sigstore.json'), 'utf8')) as {
      verificationMaterial: { certificate?: { rawBytes: string }; x509CertificateChain?: { certificates: { rawBytes: string }[] } };
    };
    const vm = bundle.verificationMaterial;
    const leaf = b64((vm.certificate ?? vm.x509CertificateChain!.certificates[0]!).rawBytes);
    const rootFile = existsSync(join(dir, 'trusted_root.json')) ? join(dir, 'trusted_root.json') : join(base, 'production-trusted_root.json');
    const root = JSON.parse(readFileSync(rootFile, 'utf8')) as TrustedRoot;
    const cert = parseCertificate(leaf);
    const at = new Date((cert.validity.notBefore.getTime() + cert.validity.notAfter.getTime()) / 2);
    const results = root.certificateAuthorities.map((ca) => verifyCertificateChain(leaf, ca.certChain.certificates.map((x) => b64(x.rawBytes)), at));
    const ok = results.find((r) => r.ok);
    if (layer === 'chain') {
      assert.equal(ok, undefined);
      assert.ok(results.every((r) => r.checks.some((c) => c.name === check && !c.ok)), JSON.stringify(results.map((r) => r.checks)));
      return;
    }
    assert.ok(ok);
    const scts = await verifyEmbeddedScts(leaf, ok.chain[1]!, ctlogs(root));
    assert.ok(scts.length > 0 && scts.every((s) => !s.ok && s.checks.some((c) => c.name === check && !c.ok)), JSON.stringify(scts));
  });
}
