import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomFillSync, scryptSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireTool, run, tempDir } from '@signet/testkit';
import {
  generateMinisignKeyPair,
  generateSignifyKeyPair,
  isMinisignSignature,
  isSignifySignature,
  minisignKeyIdHex,
  parseMinisignPublicKey,
  parseMinisignSecretKey,
  parseMinisignTrust,
  parseSignifySecretKey,
  scryptParams,
  signMinisign,
  signSignify,
  verifyMinisign,
  verifySignify,
} from '../dist/minisign/index.js';
import { SignetError } from '../dist/errors.js';
import type { Verdict } from '../dist/verify/types.js';

const enc = new TextEncoder();
const data = enc.encode('interop payload: minisign / signify ⇄ signet\n');
const tampered = enc.encode('interop payload: minisign / signify ⇄ signet?\n');

function failed(v: Verdict): string[] {
  return v.checks.filter((c) => !c.ok).map((c) => c.name);
}
function read(path: string): Uint8Array {
  return new Uint8Array(readFileSync(path));
}

test('minisign → signet: prehashed and legacy signatures from `minisign -S`, edited comment and tampering rejected', async (t: TestContext) => {
  const bin = requireTool(t, 'minisign');
  if (!bin) return;
  const dir = tempDir(t);
  const pub = join(dir, 'mk.pub');
  const key = join(dir, 'mk.key');
  const gen = await run(bin, ['-G', '-W', '-p', pub, '-s', key]);
  assert.equal(gen.code, 0, gen.stderr);
  const file = join(dir, 'data.bin');
  writeFileSync(file, data);
  const trust = { keys: [parseMinisignTrust(readFileSync(pub, 'utf8'))] };
  // The key id in the comment line is the one we print.
  assert.match(readFileSync(pub, 'utf8'), new RegExp(`minisign public key ${minisignKeyIdHex(parseMinisignPublicKey(readFileSync(pub, 'utf8')).keyId)}\\n`));

  const s = await run(bin, ['-S', '-s', key, '-m', file, '-t', 'release 1.2.3']);
  assert.equal(s.code, 0, s.stderr);
  const sig = read(`${file}.minisig`);
  assert.equal(isMinisignSignature(sig), true);
  const v = await verifyMinisign({ bytes: data }, sig, trust);
  assert.equal(v.ok, true, JSON.stringify(v.checks));
  assert.equal(v.signer?.comment, 'release 1.2.3');
  assert.deepEqual(failed(await verifyMinisign({ bytes: tampered }, sig, trust)), ['signature']);

  // Edited trusted comment: minisign and signet both reject.
  const text = new TextDecoder().decode(sig).replace('release 1.2.3', 'release 9.9.9');
  const edited = join(dir, 'edited.minisig');
  writeFileSync(edited, text);
  assert.notEqual((await run(bin, ['-V', '-p', pub, '-m', file, '-x', edited])).code, 0);
  assert.deepEqual(failed(await verifyMinisign({ bytes: data }, enc.encode(text), trust)), ['trusted-comment']);

  // Legacy (-l): Ed25519 over the file itself.
  const l = await run(bin, ['-S', '-l', '-s', key, '-m', file, '-x', join(dir, 'legacy.minisig')]);
  assert.equal(l.code, 0, l.stderr);
  const legacy = read(join(dir, 'legacy.minisig'));
  assert.equal(Buffer.from(new TextDecoder().decode(legacy).split('\n')[1]!, 'base64').subarray(0, 2).toString(), 'Ed');
  const lv = await verifyMinisign({ bytes: data }, legacy, trust);
  assert.equal(lv.ok, true, JSON.stringify(lv.checks));
  assert.deepEqual(failed(await verifyMinisign({ bytes: tampered }, legacy, trust)), ['signature']);

  // A different key (different key id) is refused by both.
  const other = generateMinisignKeyPair();
  const otherPub = join(dir, 'other.pub');
  writeFileSync(otherPub, other.publicKeyText);
  assert.notEqual((await run(bin, ['-V', '-p', otherPub, '-m', file])).code, 0);
  assert.deepEqual(failed(await verifyMinisign({ bytes: data }, sig, { keys: [parseMinisignTrust(other.publicKeyText)] })), ['key']);

  // signet signs with the minisign-made secret key → minisign verifies.
  const sk = await parseMinisignSecretKey(readFileSync(key, 'utf8'));
  const mine = join(dir, 'mine.minisig');
  writeFileSync(mine, await signMinisign(data, sk, { fileName: 'data.bin' }));
  const mv = await run(bin, ['-V', '-p', pub, '-m', file, '-x', mine]);
  assert.equal(mv.code, 0, mv.stderr);
  assert.match(mv.stdout, /Trusted comment: timestamp:\d+\tfile:data\.bin\thashed/);
});

test('signet → minisign: signet-made keys and signatures pass `minisign -V`; the real tool signs with a signet key', async (t: TestContext) => {
  const bin = requireTool(t, 'minisign');
  if (!bin) return;
  const dir = tempDir(t);
  const pair = generateMinisignKeyPair();
  const pub = join(dir, 'signet.pub');
  const key = join(dir, 'signet.key');
  writeFileSync(pub, pair.publicKeyText);
  writeFileSync(key, pair.secretKeyText);
  const file = join(dir, 'data.bin');
  writeFileSync(file, data);
  const sk = await parseMinisignSecretKey(pair.secretKeyText);

  for (const [name, legacy] of [['prehashed', false], ['legacy', true]] as const) {
    const sigPath = join(dir, `${name}.minisig`);
    writeFileSync(sigPath, await signMinisign(data, sk, { legacy, trustedComment: `signet ${name}` }));
    const ok = await run(bin, ['-V', '-p', pub, '-m', file, '-x', sigPath]);
    assert.equal(ok.code, 0, `${name}: ${ok.stderr}`);
    assert.match(ok.stdout, new RegExp(`Trusted comment: signet ${name}`));
    // -P with the bare base64 key works too.
    const bare = pair.publicKeyText.trimEnd().split('\n')[1]!;
    assert.equal((await run(bin, ['-V', '-P', bare, '-m', file, '-x', sigPath])).code, 0);
    // Tampered file rejected by minisign.
    const bad = join(dir, `${name}.tampered`);
    writeFileSync(bad, tampered);
    assert.notEqual((await run(bin, ['-V', '-p', pub, '-m', bad, '-x', sigPath])).code, 0);
  }
  // -H requires prehashed signatures: a signet legacy signature is refused, a prehashed one accepted.
  assert.equal((await run(bin, ['-V', '-H', '-p', pub, '-m', file, '-x', join(dir, 'prehashed.minisig')])).code, 0);
  assert.notEqual((await run(bin, ['-V', '-H', '-p', pub, '-m', file, '-x', join(dir, 'legacy.minisig')])).code, 0);

  // The real minisign signs with the signet-generated secret key; signet verifies.
  const s = await run(bin, ['-S', '-s', key, '-m', file, '-x', join(dir, 'tool.minisig')]);
  assert.equal(s.code, 0, s.stderr);
  const v = await verifyMinisign({ bytes: data }, read(join(dir, 'tool.minisig')), { keys: [parseMinisignTrust(pair.publicKeyText)] });
  assert.equal(v.ok, true, JSON.stringify(v.checks));
  assert.equal(v.signer?.keyId, pair.keyId);
});

/**
 * Encrypts a signet-made unencrypted minisign key the way `minisign -G` does (kdf "Sc"): keynum ‖ sk ‖ chk
 * XORed with scrypt(password, salt) for the given opslimit/memlimit. Small limits keep the test fast.
 */
async function encryptKey(secretKeyText: string, password: string, opslimit: bigint, memlimit: bigint): Promise<string> {
  const raw = Buffer.from(secretKeyText.trimEnd().split('\n')[1]!, 'base64');
  raw.write('Sc', 2, 'latin1');
  randomFillSync(raw, 6, 32);
  raw.writeBigUInt64LE(opslimit, 38);
  raw.writeBigUInt64LE(memlimit, 46);
  const { N, r, p } = scryptParams(opslimit, memlimit);
  const stream = scryptSync(password, raw.subarray(6, 38), 104, { N, r, p, maxmem: 256 * 1024 * 1024 });
  for (let i = 0; i < 104; i++) raw[54 + i] = raw[54 + i]! ^ stream[i]!;
  return `untrusted comment: minisign encrypted secret key\n${raw.toString('base64')}\n`;
}

test('password-protected minisign keys: the real tool decrypts signet-encrypted keys; a wrong password is refused', async (t: TestContext) => {
  const bin = requireTool(t, 'minisign');
  if (!bin) return;
  const dir = tempDir(t);
  const file = join(dir, 'data.bin');
  writeFileSync(file, data);
  const password = 'tr0ub4dor&3';
  // Both branches of libsodium's parameter choice: memlimit-bound (INTERACTIVE limits) and opslimit-bound.
  for (const [ops, mem] of [[524288n, 16777216n], [32768n, 1n << 30n]] as const) {
    const pair = generateMinisignKeyPair();
    const pub = join(dir, `${ops}.pub`);
    const key = join(dir, `${ops}.key`);
    writeFileSync(pub, pair.publicKeyText);
    const encrypted = await encryptKey(pair.secretKeyText, password, ops, mem);
    writeFileSync(key, encrypted);
    const sigPath = join(dir, `${ops}.minisig`);
    const s = await run(bin, ['-S', '-s', key, '-m', file, '-x', sigPath], { input: `${password}\n` });
    assert.equal(s.code, 0, `minisign could not decrypt the key: ${s.stderr}${s.stdout}`);
    assert.equal((await verifyMinisign({ bytes: data }, read(sigPath), { keys: [parseMinisignTrust(pair.publicKeyText)] })).ok, true);
    const sk = await parseMinisignSecretKey(encrypted, password);
    assert.equal(minisignKeyIdHex(sk.keyId), pair.keyId);
    await assert.rejects(parseMinisignSecretKey(encrypted, 'wrong'), (e: unknown) => e instanceof SignetError && e.code === 'DECRYPTION_FAILED');
    await assert.rejects(parseMinisignSecretKey(encrypted), (e: unknown) => e instanceof SignetError && e.code === 'KEY_ENCRYPTED');
    // minisign refuses the wrong password too.
    assert.notEqual((await run(bin, ['-S', '-s', key, '-m', file, '-x', join(dir, 'x.minisig')], { input: 'wrong\n' })).code, 0);
  }
});

test('password-protected minisign keys made by `minisign -G` (default 1 GiB scrypt) decrypt and sign', async (t: TestContext) => {
  const bin = requireTool(t, 'minisign');
  if (!bin) return;
  const dir = tempDir(t);
  const pub = join(dir, 'enc.pub');
  const key = join(dir, 'enc.key');
  const password = 'correct horse battery';
  const gen = await run(bin, ['-G', '-p', pub, '-s', key], { input: `${password}\n${password}\n` });
  assert.equal(gen.code, 0, gen.stderr);
  const text = readFileSync(key, 'utf8');
  const sk = await parseMinisignSecretKey(text, password);
  assert.deepEqual(sk.keyId, parseMinisignPublicKey(readFileSync(pub, 'utf8')).keyId);
  const file = join(dir, 'data.bin');
  writeFileSync(file, data);
  const sigPath = join(dir, 'data.minisig');
  writeFileSync(sigPath, await signMinisign(data, sk));
  const v = await run(bin, ['-V', '-p', pub, '-m', file, '-x', sigPath]);
  assert.equal(v.code, 0, v.stderr);
});

test('signify ⇄ signet in both directions; tampered data, wrong key and encrypted keys', async (t: TestContext) => {
  const bin = requireTool(t, 'signify-openbsd');
  if (!bin) return;
  const dir = tempDir(t);
  const pub = join(dir, 'sk.pub');
  const sec = join(dir, 'sk.sec');
  const gen = await run(bin, ['-G', '-n', '-p', pub, '-s', sec]);
  assert.equal(gen.code, 0, gen.stderr);
  const file = join(dir, 'data.bin');
  writeFileSync(file, data);
  const bad = join(dir, 'bad.bin');
  writeFileSync(bad, tampered);
  const trust = { keys: [parseMinisignTrust(readFileSync(pub, 'utf8'))] };

  // signify signs → signet verifies
  const s = await run(bin, ['-S', '-s', sec, '-m', file, '-x', join(dir, 'tool.sig')]);
  assert.equal(s.code, 0, s.stderr);
  const toolSig = read(join(dir, 'tool.sig'));
  assert.equal(isSignifySignature(toolSig), true);
  assert.equal(isMinisignSignature(toolSig), false);
  const v = await verifySignify({ bytes: data }, toolSig, trust);
  assert.equal(v.ok, true, JSON.stringify(v.checks));
  assert.deepEqual(failed(await verifySignify({ bytes: tampered }, toolSig, trust)), ['signature']);
  assert.notEqual((await run(bin, ['-V', '-p', pub, '-m', bad, '-x', join(dir, 'tool.sig')])).code, 0);

  // signet signs with the signify-made key → signify verifies
  const sk = parseSignifySecretKey(readFileSync(sec, 'utf8'));
  writeFileSync(join(dir, 'mine.sig'), await signSignify(data, sk, { untrustedComment: 'verify with sk.pub' }));
  const mv = await run(bin, ['-V', '-p', pub, '-m', file, '-x', join(dir, 'mine.sig')]);
  assert.equal(mv.code, 0, mv.stderr);
  assert.notEqual((await run(bin, ['-V', '-p', pub, '-m', bad, '-x', join(dir, 'mine.sig')])).code, 0);

  // signet-generated key pair: signify signs with it and verifies signet's signatures with it
  const pair = generateSignifyKeyPair();
  const npub = join(dir, 'signet.pub');
  const nsec = join(dir, 'signet.sec');
  writeFileSync(npub, pair.publicKeyText);
  writeFileSync(nsec, pair.secretKeyText);
  const ts = await run(bin, ['-S', '-s', nsec, '-m', file, '-x', join(dir, 'tool2.sig')]);
  assert.equal(ts.code, 0, ts.stderr);
  const ntrust = { keys: [parseMinisignTrust(pair.publicKeyText)] };
  assert.equal((await verifySignify({ bytes: data }, read(join(dir, 'tool2.sig')), ntrust)).ok, true);
  writeFileSync(join(dir, 'mine2.sig'), await signSignify(data, parseSignifySecretKey(pair.secretKeyText)));
  const nv = await run(bin, ['-V', '-p', npub, '-m', file, '-x', join(dir, 'mine2.sig')]);
  assert.equal(nv.code, 0, nv.stderr);

  // Wrong key: both refuse.
  assert.notEqual((await run(bin, ['-V', '-p', npub, '-m', file, '-x', join(dir, 'tool.sig')])).code, 0);
  assert.deepEqual(failed(await verifySignify({ bytes: data }, toolSig, ntrust)), ['key']);

  // Truncated and garbage signatures: both refuse.
  const truncated = new TextDecoder().decode(toolSig).slice(0, 60);
  writeFileSync(join(dir, 'trunc.sig'), truncated);
  assert.notEqual((await run(bin, ['-V', '-p', pub, '-m', file, '-x', join(dir, 'trunc.sig')])).code, 0);
  await assert.rejects(verifySignify({ bytes: data }, enc.encode(truncated), trust), SignetError);
  await assert.rejects(verifySignify({ bytes: data }, enc.encode('garbage'), trust), SignetError);

  // A passphrase-protected signify key → KEY_ENCRYPTED.
  const epub = join(dir, 'e.pub');
  const esec = join(dir, 'e.sec');
  const eg = await run(bin, ['-G', '-p', epub, '-s', esec], { input: 'pass phrase\npass phrase\n' });
  assert.equal(eg.code, 0, eg.stderr);
  assert.throws(
    () => parseSignifySecretKey(readFileSync(esec, 'utf8')),
    (e: unknown) => e instanceof SignetError && e.code === 'KEY_ENCRYPTED',
  );
});
