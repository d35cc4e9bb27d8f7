// openssl is the external checker for DSSE PAE signatures (in-toto 1.3.1 on Debian cannot read DSSE).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireTool, run, tempDir } from '@signet/testkit';
import { INTOTO_PAYLOAD_TYPE, envelopePae, fromBase64, generateKeyPair, pae, publicKeyPem, signEnvelope, utf8 } from '../dist/index.js';

test('PAE matches the DSSE spec example byte for byte', () => {
  assert.equal(Buffer.from(pae('application/vnd.in-toto+json', utf8('hello'))).toString(), 'DSSEv1 28 application/vnd.in-toto+json 5 hello');
  assert.equal(Buffer.from(pae('', new Uint8Array())).toString(), 'DSSEv1 0  0 ');
  // lengths are byte counts, not UTF-16 units
  assert.equal(Buffer.from(pae('t', utf8('é'))).toString(), 'DSSEv1 1 t 2 é');
});

test('openssl verifies signet DSSE signatures over the PAE (ECDSA P-256 and Ed25519); a changed PAE fails', async (t) => {
  const openssl = requireTool(t, 'openssl');
  if (!openssl) return;
  const dir = tempDir(t);
  for (const kind of ['ecdsa-p256', 'ed25519'] as const) {
    const { privateKey, publicKey } = await generateKeyPair(kind);
    const env = await signEnvelope(INTOTO_PAYLOAD_TYPE, utf8('{"_type":"https://in-toto.io/Statement/v1"}'), privateKey);
    const paeFile = join(dir, `${kind}.pae`);
    const sigFile = join(dir, `${kind}.sig`);
    const pubFile = join(dir, `${kind}.pem`);
    writeFileSync(paeFile, envelopePae(env));
    writeFileSync(sigFile, fromBase64(env.signatures[0]!.sig));
    writeFileSync(pubFile, publicKeyPem(publicKey));
    const args =
      kind === 'ed25519'
        ? ['pkeyutl', '-verify', '-pubin', '-inkey', pubFile, '-rawin', '-in', paeFile, '-sigfile', sigFile]
        : ['dgst', '-sha256', '-verify', pubFile, '-signature', sigFile, paeFile];
    const ok = await run(openssl, args);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /Verified OK|Signature Verified Successfully/);
    writeFileSync(paeFile, Buffer.concat([Buffer.from(envelopePae(env)), Buffer.from('x')]));
    const bad = await run(openssl, args);
    assert.notEqual(bad.code, 0);
  }
});
