import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as openpgp from 'openpgp';
import {
  clearsignPgp,
  detectPgp,
  generatePgpKey,
  pgpFingerprintOf,
  pgpVerifier,
  readPgpKeys,
  signPgpDetached,
  verifyPgpCleartext,
  verifyPgpDetached,
} from '../dist/pgp/index.js';
import { SignetError } from '../dist/errors.js';
import type { TrustMaterial, TrustedKey, Verdict } from '../dist/verify/types.js';

const enc = new TextEncoder();
const DATA = enc.encode('release 1.2.3 contents\n');

type KeyPair = { privateKey: string; publicKey: string; fingerprint: string };

function trustOf(...keys: (string | Uint8Array)[]): TrustMaterial {
  return { keys: keys.map((k): TrustedKey => ({ kind: 'pgp', data: typeof k === 'string' ? enc.encode(k) : k })) };
}

function failing(v: Verdict): string[] {
  return v.checks.filter((c) => !c.ok).map((c) => c.name);
}

/** The verdict is not ok and the named check failed; returns that check's detail. */
function assertFailed(v: Verdict, name: string, detail?: RegExp): string {
  assert.equal(v.ok, false, `expected a failed verdict: ${JSON.stringify(v.checks)}`);
  const c = v.checks.find((x) => x.name === name && !x.ok);
  assert.ok(c, `expected check "${name}" to fail: ${JSON.stringify(v.checks)}`);
  if (detail) assert.match(c.detail, detail);
  assert.equal(v.signer, undefined);
  return c.detail;
}

function assertOk(v: Verdict): void {
  assert.equal(v.ok, true, `expected ok: ${JSON.stringify(v.checks)}`);
  assert.ok(v.checks.some((c) => c.name === 'signature' && c.ok));
}

function flipByte(b: Uint8Array, index: number): Uint8Array {
  const out = b.slice();
  const i = index < 0 ? out.length + index : index;
  out[i] = (out[i] ?? 0) ^ 0x01;
  return out;
}

async function binaryOf(armoredKey: string): Promise<Uint8Array> {
  return (await openpgp.readKey({ armoredKey })).write();
}

let alice: KeyPair;
let bob: KeyPair;
let rsa: KeyPair;

before(async () => {
  [alice, bob, rsa] = await Promise.all([
    generatePgpKey({ name: 'Alice', email: 'alice@example.test' }),
    generatePgpKey({ email: 'bob@example.test' }),
    generatePgpKey({ name: 'Rsa', email: 'rsa@example.test', type: 'rsa4096' }),
  ]);
});

describe('keys', () => {
  test('generatePgpKey makes v4 keys that readPgpKeys describes', async () => {
    const [pub] = await readPgpKeys(alice.publicKey);
    assert.ok(pub);
    assert.match(pub.fingerprint, /^[0-9A-F]{40}$/);
    assert.equal(pub.fingerprint, alice.fingerprint);
    assert.equal(pub.keyId, alice.fingerprint.slice(-16));
    assert.deepEqual(pub.userIds, ['Alice <alice@example.test>']);
    assert.equal(pub.algorithm, 'ed25519');
    assert.equal(pub.isPrivate, false);
    assert.equal(pub.revoked, false);
    assert.equal(pub.expires, null);
    assert.deepEqual(pub.subkeys, []);
    assert.ok(pub.created instanceof Date && pub.created.getTime() <= Date.now());
    const [priv] = await readPgpKeys(enc.encode(alice.privateKey));
    assert.equal(priv?.isPrivate, true);
    assert.equal(priv?.fingerprint, alice.fingerprint);
    const [r] = await readPgpKeys(await binaryOf(rsa.publicKey));
    assert.equal(r?.algorithm, 'rsa4096');
    assert.deepEqual(r?.userIds, ['Rsa <rsa@example.test>']);
    for (const k of [alice, rsa]) assert.equal((await openpgp.readKey({ armoredKey: k.publicKey })).keyPacket.version, 4);
    assert.deepEqual((await readPgpKeys(bob.publicKey))[0]?.userIds, ['<bob@example.test>']);
  });

  test('readPgpKeys reads keyrings: several armored blocks and concatenated binary keys', async () => {
    const armored = await readPgpKeys(`${alice.publicKey}\n${bob.publicKey}`);
    assert.deepEqual(
      armored.map((k) => k.fingerprint),
      [alice.fingerprint, bob.fingerprint],
    );
    const binary = await readPgpKeys(Buffer.concat([await binaryOf(alice.publicKey), await binaryOf(rsa.publicKey)]));
    assert.deepEqual(
      binary.map((k) => k.fingerprint),
      [alice.fingerprint, rsa.fingerprint],
    );
    assert.equal(await pgpFingerprintOf(rsa.publicKey), rsa.fingerprint);
  });

  test('subkeys are listed', async () => {
    const { publicKey } = await openpgp.generateKey({
      type: 'ecc',
      curve: 'ed25519Legacy',
      userIDs: [{ email: 's@example.test' }],
      subkeys: [{ sign: true }, {}],
      format: 'armored',
    });
    const [info] = await readPgpKeys(publicKey);
    assert.equal(info?.subkeys.length, 2);
    assert.equal(info?.subkeys[0]?.algorithm, 'ed25519');
    assert.equal(info?.subkeys[1]?.algorithm, 'cv25519');
    assert.match(info?.subkeys[0]?.fingerprint ?? '', /^[0-9A-F]{40}$/);
  });

  test('unparseable key data and bad options throw SignetError', async () => {
    const code = (c: string) => (e: unknown) => e instanceof SignetError && e.code === c;
    await assert.rejects(readPgpKeys('not a key'), code('KEY_PARSE_FAILED'));
    await assert.rejects(readPgpKeys(new Uint8Array([0x99, 0x00, 0x05, 1, 2])), code('KEY_PARSE_FAILED'));
    await assert.rejects(readPgpKeys(alice.publicKey.slice(0, 120)), code('KEY_PARSE_FAILED'));
    await assert.rejects(pgpFingerprintOf(new Uint8Array(0)), code('KEY_PARSE_FAILED'));
    await assert.rejects(generatePgpKey({ email: '' }), code('INVALID_ARGUMENT'));
    await assert.rejects(generatePgpKey({ email: 'x@example.test', passphrase: '' }), code('INVALID_ARGUMENT'));
    await assert.rejects(signPgpDetached(DATA, alice.publicKey), code('KEY_PARSE_FAILED'));
    await assert.rejects(signPgpDetached(DATA, 'garbage'), code('KEY_PARSE_FAILED'));
  });

  test('passphrase-protected keys need the right passphrase', async () => {
    const k = await generatePgpKey({ email: 'pw@example.test', passphrase: 'correct horse' });
    assert.match(k.privateKey, /BEGIN PGP PRIVATE KEY BLOCK/);
    assert.equal((await openpgp.readPrivateKey({ armoredKey: k.privateKey })).isDecrypted(), false);
    await assert.rejects(signPgpDetached(DATA, k.privateKey), (e: unknown) => e instanceof SignetError && e.code === 'KEY_ENCRYPTED');
    await assert.rejects(
      signPgpDetached(DATA, k.privateKey, { passphrase: 'wrong' }),
      (e: unknown) => e instanceof SignetError && e.code === 'DECRYPTION_FAILED',
    );
    const sig = await signPgpDetached(DATA, k.privateKey, { passphrase: 'correct horse' });
    assertOk(await verifyPgpDetached({ bytes: DATA }, sig, trustOf(k.publicKey)));
    const text = await clearsignPgp('hello', enc.encode(k.privateKey), { passphrase: 'correct horse' });
    assertOk(await verifyPgpCleartext(enc.encode(text), trustOf(k.publicKey)));
  });
});

describe('detached signatures', () => {
  test('armored and binary signatures verify, with Ed25519 and RSA-4096 keys', async () => {
    for (const k of [alice, rsa]) {
      const armored = await signPgpDetached(DATA, k.privateKey);
      assert.match(new TextDecoder().decode(armored), /^-----BEGIN PGP SIGNATURE-----/);
      assert.equal(detectPgp(armored), 'armored-signature');
      const binary = await signPgpDetached(DATA, await openpgp.readKey({ armoredKey: k.privateKey }).then((x) => x.write()), { armor: false });
      assert.equal(detectPgp(binary), 'binary-signature');
      for (const sig of [armored, binary]) {
        const v = await verifyPgpDetached({ bytes: DATA }, sig, trustOf(k.publicKey));
        assertOk(v);
        assert.equal(v.kind, 'pgp');
        assert.equal(v.signer?.keyId, k.fingerprint);
        assert.equal(v.signer?.identity, k === alice ? 'Alice <alice@example.test>' : 'Rsa <rsa@example.test>');
        assert.ok(v.signer?.timestamp && Math.abs(Date.parse(v.signer.timestamp) - Date.now()) < 60_000);
        assert.deepEqual(
          v.checks.map((c) => c.name),
          ['format', 'key', 'algorithm', 'key-validity', 'signature'],
        );
      }
      // Trust given as a binary key works the same; pgpVerifier bundles the same function.
      assertOk(await pgpVerifier.verifyDetached({ bytes: DATA }, binary, trustOf(await binaryOf(k.publicKey))));
    }
  });

  test('a text-mode signature (type 0x01) verifies over CRLF or LF bytes', async () => {
    const key = await openpgp.readPrivateKey({ armoredKey: alice.privateKey });
    const sig = await openpgp.sign({ message: await openpgp.createMessage({ text: 'a\nb\n' }), signingKeys: key, detached: true });
    for (const bytes of [enc.encode('a\nb\n'), enc.encode('a\r\nb\r\n')]) {
      assertOk(await verifyPgpDetached({ bytes }, enc.encode(sig), trustOf(alice.publicKey)));
    }
    assertFailed(await verifyPgpDetached({ bytes: enc.encode('a\nc\n') }, enc.encode(sig), trustOf(alice.publicKey)), 'signature');
  });

  test('tampered artifact, tampered signature and wrong key fail with the right check', async () => {
    const sig = await signPgpDetached(DATA, alice.privateKey, { armor: false });
    const trust = trustOf(alice.publicKey);
    assertFailed(await verifyPgpDetached({ bytes: flipByte(DATA, 3) }, sig, trust), 'signature', /does not match the artifact/);
    // The last byte is in the signature value; byte 10 is in the hashed subpackets.
    assertFailed(await verifyPgpDetached({ bytes: DATA }, flipByte(sig, -1), trust), 'signature');
    assertFailed(await verifyPgpDetached({ bytes: DATA }, flipByte(sig, 10), trust), 'signature');
    const keyId = alice.fingerprint.slice(-16);
    assertFailed(await verifyPgpDetached({ bytes: DATA }, sig, trustOf(bob.publicKey)), 'key', new RegExp(`no trusted key with key ID ${keyId}`));
    const rsaSig = await signPgpDetached(DATA, rsa.privateKey, { armor: false });
    assertFailed(await verifyPgpDetached({ bytes: flipByte(DATA, 0) }, rsaSig, trustOf(rsa.publicKey)), 'signature');
    assertFailed(await verifyPgpDetached({ bytes: DATA }, flipByte(rsaSig, -2), trustOf(rsa.publicKey)), 'signature');
  });

  test('truncated, garbage and misplaced input give a failed format check', async () => {
    const binary = await signPgpDetached(DATA, alice.privateKey, { armor: false });
    const armored = await signPgpDetached(DATA, alice.privateKey);
    const trust = trustOf(alice.publicKey);
    const cleartext = enc.encode(await clearsignPgp('x', alice.privateKey));
    const cases: Uint8Array[] = [
      binary.subarray(0, binary.length - 5),
      binary.subarray(0, 3),
      armored.subarray(0, 80),
      armored.subarray(0, armored.length - 30),
      new Uint8Array(0),
      enc.encode('hello world'),
      new Uint8Array(200).map((_, i) => (i * 37 + 11) & 0xff),
      enc.encode('-----BEGIN PGP SIGNATURE-----\n\n!!!!\n-----END PGP SIGNATURE-----\n'),
      new Uint8Array([0x88, 0x02, 0x04, 0x00]),
      new Uint8Array([0xff, 0xfe, 0x00]),
      cleartext,
      enc.encode(alice.publicKey),
      await binaryOf(alice.publicKey),
    ];
    for (const [i, sig] of cases.entries()) {
      const v = await verifyPgpDetached({ bytes: DATA }, sig, trust);
      assert.equal(v.ok, false, `case ${i}`);
      assert.deepEqual(failing(v), ['format'], `case ${i}: ${JSON.stringify(v.checks)}`);
    }
  });

  test('a signature that is not over data (a key certification) is refused as format', async () => {
    const key = await openpgp.readKey({ armoredKey: alice.publicKey });
    const cert = key.users[0]?.selfCertifications[0];
    assert.ok(cert);
    const list = new openpgp.PacketList<openpgp.SignaturePacket>();
    list.push(cert);
    const v = await verifyPgpDetached({ bytes: DATA }, list.write(), trustOf(alice.publicKey));
    assertFailed(v, 'format', /type 0x13, not a signature over data/);
  });

  test('misuse: digest-only artifact, no OpenPGP trust keys, unparseable trust key', async () => {
    const sig = await signPgpDetached(DATA, alice.privateKey);
    assertFailed(
      await verifyPgpDetached({ digest: { algorithm: 'sha256', value: new Uint8Array(32) } }, sig, trustOf(alice.publicKey)),
      'artifact',
      /digest alone/,
    );
    assertFailed(await verifyPgpDetached({ bytes: DATA }, sig, { keys: [] }), 'key', /no OpenPGP keys/);
    await assert.rejects(
      verifyPgpDetached({ bytes: DATA }, sig, trustOf('garbage')),
      (e: unknown) => e instanceof SignetError && e.code === 'KEY_PARSE_FAILED',
    );
  });

  test('a keyring holding several keys finds the right one', async () => {
    const sig = await signPgpDetached(DATA, bob.privateKey);
    for (const trust of [
      trustOf(`${alice.publicKey}\n${rsa.publicKey}\n${bob.publicKey}`),
      trustOf(Buffer.concat([await binaryOf(alice.publicKey), await binaryOf(bob.publicKey), await binaryOf(rsa.publicKey)])),
      trustOf(alice.publicKey, rsa.publicKey, bob.publicKey),
      trustOf(bob.privateKey),
    ]) {
      const v = await verifyPgpDetached({ bytes: DATA }, sig, trust);
      assertOk(v);
      assert.equal(v.signer?.keyId, bob.fingerprint);
    }
  });

  test('several signatures: untrusted ones are noted, a failing trusted one fails the verdict', async () => {
    const a = await signPgpDetached(DATA, alice.privateKey, { armor: false });
    const b = await signPgpDetached(DATA, bob.privateKey, { armor: false });
    const r = await signPgpDetached(DATA, rsa.privateKey, { armor: false });
    const three = Buffer.concat([a, b, r]);
    const v = await verifyPgpDetached({ bytes: DATA }, three, trustOf(alice.publicKey));
    assertOk(v);
    assert.match(v.checks[0]?.detail ?? '', /3 signatures; 2 signatures by keys not in the trust material were ignored/);
    assert.equal(v.signer?.keyId, alice.fingerprint);
    const both = await verifyPgpDetached({ bytes: DATA }, three, trustOf(alice.publicKey, rsa.publicKey));
    assertOk(both);
    assert.equal(both.checks.filter((c) => c.name === 'signature' && c.ok).length, 2);
    assertFailed(await verifyPgpDetached({ bytes: DATA }, Buffer.concat([b, r]), trustOf(alice.publicKey)), 'key', /no trusted key with key ID/);
    // Bob's signature is over other data: trusting Bob too makes the verdict fail.
    const bOther = await signPgpDetached(enc.encode('other'), bob.privateKey, { armor: false });
    const mixed = Buffer.concat([a, bOther]);
    assertOk(await verifyPgpDetached({ bytes: DATA }, mixed, trustOf(alice.publicKey)));
    assertFailed(await verifyPgpDetached({ bytes: DATA }, mixed, trustOf(alice.publicKey, bob.publicKey)), 'signature');
  });

  test('identity policy matches a user ID by email or full text', async () => {
    const sig = await signPgpDetached(DATA, alice.privateKey);
    const trust = trustOf(alice.publicKey);
    for (const identity of ['alice@example.test', 'ALICE@example.test', 'Alice <alice@example.test>']) {
      const v = await verifyPgpDetached({ bytes: DATA }, sig, trust, { identity });
      assertOk(v);
      assert.ok(v.checks.some((c) => c.name === 'identity' && c.ok));
    }
    assertFailed(await verifyPgpDetached({ bytes: DATA }, sig, trust, { identity: 'mallory@example.test' }), 'identity', /mallory@example\.test/);
    assertFailed(await verifyPgpDetached({ bytes: DATA }, sig, trust, { identity: 'Alice' }), 'identity');
  });

  test('a signing subkey is found and the signer is its primary key', async () => {
    const { privateKey, publicKey } = await openpgp.generateKey({
      type: 'ecc',
      curve: 'ed25519Legacy',
      userIDs: [{ name: 'Sub', email: 'sub@example.test' }],
      subkeys: [{ sign: true }],
      format: 'armored',
    });
    const sig = await signPgpDetached(DATA, privateKey);
    const v = await verifyPgpDetached({ bytes: DATA }, sig, trustOf(publicKey));
    assertOk(v);
    const primary = await pgpFingerprintOf(publicKey);
    assert.equal(v.signer?.keyId, primary);
    assert.match(v.checks.find((c) => c.name === 'key')?.detail ?? '', new RegExp(`subkey [0-9A-F]{40} of key ${primary}`));
  });
});

describe('key validity', () => {
  const DAY = 86_400_000;

  test('an expired key fails key-validity; the same signature verifies at a time the key was valid', async () => {
    const created = new Date(Math.floor((Date.now() - 10 * DAY) / 1000) * 1000);
    const { privateKey, publicKey } = await openpgp.generateKey({
      type: 'ecc',
      curve: 'ed25519Legacy',
      userIDs: [{ email: 'old@example.test' }],
      subkeys: [],
      date: created,
      keyExpirationTime: 86_400,
      format: 'object',
    });
    const signedAt = new Date(created.getTime() + 3_600_000);
    const sig = await openpgp.sign({ message: await openpgp.createMessage({ binary: DATA }), signingKeys: privateKey, detached: true, date: signedAt });
    const trust = trustOf(publicKey.armor());
    assertFailed(await verifyPgpDetached({ bytes: DATA }, enc.encode(sig), trust), 'key-validity', /expired at/);
    assertOk(await verifyPgpDetached({ bytes: DATA }, enc.encode(sig), trust, { now: new Date(signedAt.getTime() + 60_000) }));
    // Before the signature was made, the signature is not valid yet.
    assertFailed(
      await verifyPgpDetached({ bytes: DATA }, enc.encode(sig), trust, { now: new Date(signedAt.getTime() - 60_000) }),
      'signature',
      /after the verification time/,
    );
    const [info] = await readPgpKeys(publicKey.armor());
    assert.equal(info?.expires?.getTime(), created.getTime() + DAY);
  });

  test('a revoked key fails key-validity', async () => {
    const k = await generatePgpKey({ email: 'rev@example.test' });
    const sig = await signPgpDetached(DATA, k.privateKey);
    const { publicKey } = await openpgp.revokeKey({ key: await openpgp.readPrivateKey({ armoredKey: k.privateKey }), format: 'armored' });
    assertOk(await verifyPgpDetached({ bytes: DATA }, sig, trustOf(k.publicKey)));
    assertFailed(await verifyPgpDetached({ bytes: DATA }, sig, trustOf(publicKey)), 'key-validity', /revoked/);
    assert.equal((await readPgpKeys(publicKey))[0]?.revoked, true);
  });

  test("the TrustedKey's own validity window is applied", async () => {
    const sig = await signPgpDetached(DATA, alice.privateKey);
    const data = enc.encode(alice.publicKey);
    const expired: TrustMaterial = { keys: [{ kind: 'pgp', data, name: 'alice', validity: { notAfter: new Date(Date.now() - 1000) } }] };
    assertFailed(await verifyPgpDetached({ bytes: DATA }, sig, expired), 'key-validity', /trusted key "alice": key expired at/);
    const revoked: TrustMaterial = { keys: [{ kind: 'pgp', data, validity: { revokedAt: new Date(Date.now() - 1000) } }] };
    assertFailed(await verifyPgpDetached({ bytes: DATA }, sig, revoked), 'key-validity', /revoked/);
    const fine: TrustMaterial = { keys: [{ kind: 'pgp', data, validity: { notAfter: new Date(Date.now() + DAY) } }] };
    assertOk(await verifyPgpDetached({ bytes: DATA }, sig, fine));
  });
});

describe('cleartext signatures', () => {
  const TEXT = 'Origin: Signet\n- a line that starts with a dash\n-----BEGIN lookalike\nlast line\n';

  test('a cleartext message verifies and returns the signed text without its final newline', async () => {
    for (const k of [alice, rsa]) {
      const signed = await clearsignPgp(TEXT, k.privateKey);
      assert.equal(detectPgp(enc.encode(signed)), 'cleartext');
      const v = await verifyPgpCleartext(enc.encode(signed), trustOf(k.publicKey));
      assertOk(v);
      // As with gpg --clearsign, the final newline ends the last line and is not part of the signed text.
      assert.equal(v.text, TEXT.slice(0, -1));
      assert.equal(v.signer?.keyId, k.fingerprint);
      // LF line ends in place of OpenPGP.js's CRLF still verify.
      assertOk(await verifyPgpCleartext(enc.encode(signed.replace(/\r\n/g, '\n')), trustOf(k.publicKey)));
      assertOk(await pgpVerifier.verifyCleartext(enc.encode(signed), trustOf(k.publicKey)));
    }
  });

  test('tampered text, wrong key, garbage and truncation fail', async () => {
    const signed = await clearsignPgp(TEXT, alice.privateKey);
    const trust = trustOf(alice.publicKey);
    const tampered = await verifyPgpCleartext(enc.encode(signed.replace('last line', 'last lime')), trust);
    assertFailed(tampered, 'signature', /does not match the signed text/);
    assert.equal(tampered.text, undefined);
    assertFailed(await verifyPgpCleartext(enc.encode(signed), trustOf(bob.publicKey)), 'key', /no trusted key with key ID/);
    const cut = signed.slice(0, signed.indexOf('-----BEGIN PGP SIGNATURE-----') + 40);
    for (const bad of [cut, signed.slice(0, 60), 'hello', '', '-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nx\n']) {
      const v = await verifyPgpCleartext(enc.encode(bad), trust);
      assert.deepEqual(failing(v), ['format'], JSON.stringify(v.checks));
    }
    const detached = await signPgpDetached(DATA, alice.privateKey);
    assert.deepEqual(failing(await verifyPgpCleartext(detached, trust)), ['format']);
    assert.deepEqual(failing(await verifyPgpCleartext(new Uint8Array([0xff, 0xfe, 0xfd]), trust)), ['format']);
  });

  test('a message signed by two keys verifies when one of them is trusted', async () => {
    const keys = await Promise.all([alice, bob].map((k) => openpgp.readPrivateKey({ armoredKey: k.privateKey })));
    const signed = await openpgp.sign({ message: await openpgp.createCleartextMessage({ text: TEXT }), signingKeys: keys });
    const v = await verifyPgpCleartext(enc.encode(signed), trustOf(bob.publicKey));
    assertOk(v);
    assert.equal(v.signer?.keyId, bob.fingerprint);
    assert.match(v.checks[0]?.detail ?? '', /1 signature by keys not in the trust material was ignored/);
  });
});

describe('detectPgp', () => {
  test('recognises armor and the first packet, and nothing else', async () => {
    assert.equal(detectPgp(enc.encode(alice.publicKey)), 'armored-key');
    assert.equal(detectPgp(enc.encode(alice.privateKey)), 'armored-key');
    assert.equal(detectPgp(await binaryOf(alice.publicKey)), 'binary-key');
    assert.equal(detectPgp((await openpgp.readPrivateKey({ armoredKey: alice.privateKey })).write()), 'binary-key');
    const sig = await signPgpDetached(DATA, alice.privateKey);
    assert.equal(detectPgp(enc.encode(`\ufeff\r\n  ${new TextDecoder().decode(sig)}`)), 'armored-signature');
    assert.equal(detectPgp(enc.encode('-----BEGIN PGP SIGNED MESSAGE-----\r\nHash: SHA256\r\n')), 'cleartext');
    assert.equal(detectPgp(enc.encode('-----BEGIN PGP SIGNATURE-----x\n')), undefined);
    assert.equal(detectPgp(enc.encode('-----BEGIN PGP MESSAGE-----\n')), undefined);
    // Old-format tag 2 with a one-octet length, version 4; new-format tag 2; new-format tag 6 with a two-octet length.
    assert.equal(detectPgp(new Uint8Array([0x88, 0x10, 0x04])), 'binary-signature');
    assert.equal(detectPgp(new Uint8Array([0xc2, 0x10, 0x04])), 'binary-signature');
    assert.equal(detectPgp(new Uint8Array([0xc6, 0xc0, 0x10, 0x04])), 'binary-key');
    // A PNG starts with 0x89 (old-format tag 2) but its "version" octet is not 3..6.
    assert.equal(detectPgp(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a])), undefined);
    for (const junk of [new Uint8Array(0), enc.encode('hello'), new Uint8Array([0x88]), new Uint8Array([0xcb, 0x10, 0x04]), new Uint8Array([0xc2, 0xe0, 0x04])]) {
      assert.equal(detectPgp(junk), undefined);
    }
  });
});

describe('performance', () => {
  test('repeated verification with the same trust material is fast (parsed keys are cached)', async () => {
    const sig = await signPgpDetached(DATA, alice.privateKey);
    const trust = trustOf(`${alice.publicKey}\n${bob.publicKey}`);
    assertOk(await verifyPgpDetached({ bytes: DATA }, sig, trust));
    const start = performance.now();
    const verdicts = await Promise.all(Array.from({ length: 100 }, () => verifyPgpDetached({ bytes: DATA }, sig, trust)));
    assert.ok(verdicts.every((v) => v.ok));
    assert.ok(performance.now() - start < 5000, 'verifying 100 signatures took too long');
  });
});
