import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sharedDir } from '@signet/testkit';
import { SignetError } from '../dist/errors.js';
import { leafHash, verifyInclusion } from '../dist/merkle/index.js';
import {
  MAX_NOTE_SIGNATURES,
  ecdsaKeyId,
  ecdsaNoteSigner,
  ecdsaNoteVerifier,
  ed25519KeyId,
  ed25519NoteSigner,
  ed25519NoteVerifier,
  formatCheckpoint,
  formatVkey,
  parseCheckpointBody,
  parseNote,
  parseVkey,
  signCheckpoint,
  signNote,
  verifyCheckpoint,
  verifyNote,
  type NoteVerifier,
} from '../dist/checkpoint/index.js';

const conformance = join(sharedDir(), 'testdata', 'sigstore-conformance');
const b64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));
const isCode = (code: string) => (e: unknown) => e instanceof SignetError && e.code === code;

interface TlogEntry {
  logIndex: string;
  logId: { keyId: string };
  canonicalizedBody: string;
  inclusionProof: { logIndex: string; rootHash: string; treeSize: string; hashes: string[]; checkpoint: { envelope: string } };
}
interface Tlog {
  baseUrl: string;
  publicKey: { rawBytes: string; keyDetails: string };
  logId: { keyId: string };
}

function entryOf(caseName: string): TlogEntry {
  const b = JSON.parse(readFileSync(join(conformance, 'bundle-verify', caseName, 'bundle.sigstore.json'), 'utf8'));
  return b.verificationMaterial.tlogEntries[0] as TlogEntry;
}
function tlogFor(rootFile: string, logId: string): Tlog {
  const root = JSON.parse(readFileSync(rootFile, 'utf8')) as { tlogs: Tlog[] };
  const t = root.tlogs.find((x) => x.logId.keyId === logId);
  assert.ok(t, `no tlog with log ID ${logId} in ${rootFile}`);
  return t;
}
const production = join(conformance, 'production-trusted_root.json');

/** The Rekor v1 production log as a note verifier, from the production trusted root. */
function rekorV1(caseName: string): { entry: TlogEntry; verifier: NoteVerifier; spki: Uint8Array } {
  const entry = entryOf(caseName);
  const tlog = tlogFor(production, entry.logId.keyId);
  const spki = b64(tlog.publicKey.rawBytes);
  return { entry, spki, verifier: ecdsaNoteVerifier(new URL(tlog.baseUrl).host, spki) };
}

test('a real Rekor v1 checkpoint verifies with the production trusted root key, and binds the Merkle proof', async () => {
  const { entry, verifier, spki } = rekorV1('happy-path-v0.3');
  assert.equal(verifier.name, 'rekor.sigstore.dev');
  // Key hint = SHA-256(SPKI)[0:4] = the log ID prefix.
  assert.deepEqual(ecdsaKeyId(spki), b64(entry.logId.keyId));
  assert.deepEqual(verifier.keyHint, b64(entry.logId.keyId).subarray(0, 4));
  const r = await verifyCheckpoint(entry.inclusionProof.checkpoint.envelope, [verifier]);
  assert.equal(r.ok, true, r.detail);
  assert.equal(r.verified.length, 1);
  assert.equal(r.checkpoint.origin, 'rekor.sigstore.dev - 2605736670972794746');
  assert.equal(r.checkpoint.size, 75408393n);
  assert.deepEqual(r.checkpoint.rootHash, b64(entry.inclusionProof.rootHash));
  assert.deepEqual(r.checkpoint.extensions, []);
  // The entry's inclusion proof leads to the checkpoint's root (RFC 6962 leaf = the canonicalized body).
  const ok = verifyInclusion(
    BigInt(entry.inclusionProof.logIndex),
    r.checkpoint.size,
    leafHash(b64(entry.canonicalizedBody)),
    entry.inclusionProof.hashes.map(b64),
    r.checkpoint.rootHash,
  );
  assert.equal(ok, true);
});

test('other real Rekor v1 checkpoints: with an extension line, and the conformance failure cases', async () => {
  const v02 = rekorV1('happy-path-v0.2');
  const r = await verifyCheckpoint(v02.entry.inclusionProof.checkpoint.envelope, [v02.verifier]);
  assert.equal(r.ok, true, r.detail);
  assert.deepEqual(r.checkpoint.extensions, ['Timestamp: 1689177396617352539']);
  const dsse = rekorV1('happy-path-intoto-in-dsse-v3');
  assert.equal((await verifyCheckpoint(dsse.entry.inclusionProof.checkpoint.envelope, [dsse.verifier])).ok, true);

  // One bit of the signature changed: a known key's signature fails.
  const bad = rekorV1('invalid-checkpoint-signature_fail');
  const rb = await verifyCheckpoint(bad.entry.inclusionProof.checkpoint.envelope, [bad.verifier]);
  assert.equal(rb.ok, false);
  assert.equal(rb.failed.length, 1);
  assert.match(rb.detail, /rekor\.sigstore\.dev .*does not verify/);
  // Wrong key hint: the signature is not by a known key, so nothing verifies.
  const hint = rekorV1('checkpoint-bad-keyhint_fail');
  const rh = await verifyCheckpoint(hint.entry.inclusionProof.checkpoint.envelope, [hint.verifier]);
  assert.equal(rh.ok, false);
  assert.equal(rh.unknown.length, 1);
  assert.match(rh.detail, /no signature by a known key/);
});

test('the real Rekor v1 checkpoint fails when its tree size or root hash is changed', async () => {
  const { entry, verifier } = rekorV1('happy-path-v0.3');
  const note = entry.inclusionProof.checkpoint.envelope;
  const sized = note.replace('\n75408393\n', '\n75408394\n');
  assert.notEqual(sized, note);
  const rs = await verifyCheckpoint(sized, [verifier]);
  assert.equal(rs.ok, false);
  assert.equal(rs.checkpoint.size, 75408394n);
  const root = note.replace('Fnnj13Uu', 'Fnnj13Uv');
  assert.notEqual(root, note);
  assert.equal((await verifyCheckpoint(root, [verifier])).ok, false);
  const origin = note.replace('2605736670972794746', '2605736670972794747');
  assert.equal((await verifyCheckpoint(origin, [verifier])).ok, false);
});

test('the real Rekor v1 checkpoint with the wrong key, name or hint: not verified', async () => {
  const { entry, spki } = rekorV1('happy-path-v0.3');
  const note = entry.inclusionProof.checkpoint.envelope;
  const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
  // Different key: different hint, so the signature is from an unknown key.
  const r1 = await verifyNote(note, [ecdsaNoteVerifier('rekor.sigstore.dev', other)]);
  assert.deepEqual([r1.ok, r1.unknown.length], [false, 1]);
  // Right key, wrong name.
  const r2 = await verifyNote(note, [ecdsaNoteVerifier('rekor.sigstage.dev', spki)]);
  assert.deepEqual([r2.ok, r2.unknown.length], [false, 1]);
  // A different key that claims the right name and hint is checked, and fails.
  const impostor: NoteVerifier = { ...ecdsaNoteVerifier('rekor.sigstore.dev', other), keyHint: b64(entry.logId.keyId).subarray(0, 4) };
  const r3 = await verifyNote(note, [impostor]);
  assert.deepEqual([r3.ok, r3.failed.length], [false, 1]);
  // No verifiers at all.
  assert.equal((await verifyNote(note, [])).ok, false);
});

test('real Rekor v2 (Ed25519) checkpoints: C2SP key ID = log ID, cosignatures by unknown keys ignored', async () => {
  const entry = entryOf('rekor2-happy-path');
  const tlog = tlogFor(join(conformance, 'bundle-verify', 'rekor2-happy-path', 'trusted_root.json'), entry.logId.keyId);
  assert.equal(tlog.publicKey.keyDetails, 'PKIX_ED25519');
  const origin = new URL(tlog.baseUrl).host;
  const spki = b64(tlog.publicKey.rawBytes);
  assert.deepEqual(ed25519KeyId(origin, spki), b64(entry.logId.keyId));
  const verifier = ed25519NoteVerifier(origin, spki);
  const r = await verifyCheckpoint(entry.inclusionProof.checkpoint.envelope, [verifier]);
  assert.equal(r.ok, true, r.detail);
  assert.equal(r.checkpoint.size, 736n);
  for (const c of ['rekor2-checkpoint-cosigned', 'rekor2-checkpoint-multiple-cosigs', 'rekor2-checkpoint-origin-not-first', 'rekor2-checkpoint-two-sigs-from-origin', 'rekor2-checkpoint-two-sigs-cosigned']) {
    const rc = await verifyCheckpoint(entryOf(c).inclusionProof.checkpoint.envelope, [verifier]);
    assert.equal(rc.ok, true, `${c}: ${rc.detail}`);
    assert.equal(rc.verified.length, 1);
    assert.ok(rc.unknown.length >= 1, c);
  }
  // The note's origin and key name are another log's: nothing known signed it.
  const other = await verifyCheckpoint(entryOf('rekor2-checkpoint-no-matching-signature_fail').inclusionProof.checkpoint.envelope, [verifier]);
  assert.equal(other.ok, false);
  // No signature lines, or checkpoint lines missing: unparseable.
  assert.throws(() => parseNote(entryOf('rekor2-checkpoint-missing-log-signature_fail').inclusionProof.checkpoint.envelope), isCode('MALFORMED_INPUT'));
  for (const c of ['rekor2-checkpoint-missing-origin_fail', 'rekor2-checkpoint-missing-root-hash_fail', 'rekor2-checkpoint-missing-size_fail']) {
    await assert.rejects(verifyCheckpoint(entryOf(c).inclusionProof.checkpoint.envelope, [verifier]), isCode('MALFORMED_INPUT'), c);
  }
});

// golang.org/x/mod/sumdb/note's documented example (key, text and signature are published facts).
const PETER_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const PETER_SEED = b64('AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz').subarray(1);
const PETER_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PETER_NOTE = `${PETER_TEXT}\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`;

function ed25519FromSeed(seed: Uint8Array): KeyObject {
  const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
}

test('Ed25519 signed note: the Go sumdb/note example verifies and is reproduced byte for byte', async () => {
  const vkey = parseVkey(PETER_VKEY);
  assert.equal(vkey.name, 'PeterNeumann');
  assert.equal(Buffer.from(vkey.keyHint).toString('hex'), 'c74f20a3');
  const r = await verifyNote(PETER_NOTE, [vkey.verifier]);
  assert.equal(r.ok, true, r.detail);
  assert.equal((await verifyNote(PETER_NOTE.replace('cryptography', 'cryptographY'), [vkey.verifier])).ok, false);
  const signer = ed25519NoteSigner('PeterNeumann', ed25519FromSeed(PETER_SEED));
  assert.equal(await signNote(PETER_TEXT, [signer]), PETER_NOTE);
  assert.equal(formatVkey('PeterNeumann', vkey.publicKey), PETER_VKEY);
  // A vkey whose base64 contains "+" (transparency-dev/formats test key).
  assert.equal(parseVkey('TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6').name, 'TEST');
});

test('vkey parsing rejects manglings', () => {
  const bad = [
    '', 'PeterNeumann', 'PeterNeumann+c74f20a3', 'PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW',
    'PeterNeumanm+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW', 'PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW',
    'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T', 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW=',
    '+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW', 'Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW',
  ];
  for (const k of bad) assert.throws(() => parseVkey(k), (e: unknown) => e instanceof SignetError, k);
  // Type byte 0x02 instead of 0x01.
  assert.throws(() => parseVkey('PeterNeumann+c74f20a3+Ahpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW'), isCode('UNSUPPORTED_ALGORITHM'));
});

const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ed = generateKeyPairSync('ed25519');
const ROOT = new Uint8Array(32).map((_, i) => i * 7);

test('checkpoint round trips with ECDSA and Ed25519 keys, alone and together', async () => {
  const origin = 'signet.example/log';
  const ecS = ecdsaNoteSigner(origin, ec.privateKey);
  const ecSync = ecdsaNoteSigner(origin, ec.privateKey, { sync: true }); // signs on this thread, same note format
  const edS = ed25519NoteSigner(origin, ed.privateKey);
  const ecV = ecdsaNoteVerifier(origin, ec.publicKey);
  const edV = ed25519NoteVerifier(origin, ed.publicKey);
  assert.deepEqual(ecS.keyHint, ecV.keyHint);
  assert.deepEqual(edS.keyHint, edV.keyHint);
  assert.deepEqual(parseVkey(formatVkey(origin, ed.publicKey)).keyHint, edV.keyHint);
  const cp = { origin, size: 1234567890123n, rootHash: ROOT, extensions: ['Timestamp: 1'] };
  const body = formatCheckpoint(cp);
  assert.equal(body, `${origin}\n1234567890123\n${Buffer.from(ROOT).toString('base64')}\nTimestamp: 1\n`);
  assert.deepEqual(parseCheckpointBody(body), cp);
  for (const signers of [[ecS], [ecSync], [edS], [ecS, edS], [ecSync, edS]]) {
    const note = await signCheckpoint(cp, signers);
    assert.ok(note.startsWith(`${body}\n\u2014 ${origin} `));
    for (const verifiers of [[ecV], [edV], [ecV, edV]]) {
      const r = await verifyCheckpoint(note, verifiers);
      const known = signers.filter((s) => verifiers.some((v) => Buffer.compare(v.keyHint, s.keyHint) === 0)).length;
      assert.equal(r.ok, known > 0, `${signers.length} signers, ${verifiers.length} verifiers`);
      assert.equal(r.verified.length, known);
      assert.equal(r.unknown.length, signers.length - known);
      if (r.ok) assert.deepEqual(r.checkpoint, cp);
    }
  }
  // Sizes accepted as numbers and bigints, up to 2^64-1.
  assert.equal(parseCheckpointBody(formatCheckpoint({ origin, size: 0, rootHash: ROOT })).size, 0n);
  assert.equal(parseCheckpointBody(formatCheckpoint({ origin, size: (1n << 64n) - 1n, rootHash: ROOT })).size, (1n << 64n) - 1n);
});

test('one failing signature by a known key fails the note even when another verifies; unknown extras are ignored', async () => {
  const origin = 'signet.example/log';
  const ecV = ecdsaNoteVerifier(origin, ec.publicKey);
  const edV = ed25519NoteVerifier(origin, ed.publicKey);
  const note = await signCheckpoint({ origin, size: 5, rootHash: ROOT }, [ecdsaNoteSigner(origin, ec.privateKey), ed25519NoteSigner(origin, ed.privateKey)]);
  const p = parseNote(note);
  const edSig = p.signatures[1]!;
  const tampered = { ...p, signatures: [p.signatures[0]!, { ...edSig, signature: edSig.signature.map((b, i) => (i === 0 ? b ^ 1 : b)) }] };
  const r = await verifyNote(tampered, [ecV, edV]);
  assert.deepEqual([r.ok, r.verified.length, r.failed.length], [false, 1, 1]);
  // Extra signatures by unknown keys (another witness, a random blob) are ignored.
  const witness = generateKeyPairSync('ed25519');
  const extra = await signNote(p.text, [ecdsaNoteSigner(origin, ec.privateKey), ed25519NoteSigner('witness.example/w', witness.privateKey)]);
  const junkLine = `\u2014 junk.example ${Buffer.from('0123456789abcdef').toString('base64')}\n`;
  const r2 = await verifyNote(extra + junkLine, [ecV]);
  assert.deepEqual([r2.ok, r2.verified.length, r2.unknown.length], [true, 1, 2]);
  // A known name with a different hint is an unknown key (signed-note: name AND ID must match).
  const wrongHint = note.split('\n').map((l) => (l.startsWith('\u2014') ? l.replace(/ (\S)/, (_, c: string) => ` ${c === 'A' ? 'B' : 'A'}`) : l));
  const r3 = await verifyNote(wrongHint.join('\n'), [ecV, edV]);
  assert.equal(r3.ok, false);
  assert.equal(r3.unknown.length, 2);
});

test('malformed notes: truncation, garbage, missing blank line, control characters, limits', async () => {
  const origin = 'signet.example/log';
  const v = ecdsaNoteVerifier(origin, ec.publicKey);
  const note = await signCheckpoint({ origin, size: 42, rootHash: ROOT }, [ecdsaNoteSigner(origin, ec.privateKey)]);
  assert.equal((await verifyCheckpoint(note, [v])).ok, true);
  // Every truncation either cannot be parsed (SignetError) or does not verify; nothing else escapes.
  for (let cut = 0; cut < note.length; cut++) {
    try {
      const r = await verifyCheckpoint(note.slice(0, cut), [v]);
      assert.equal(r.ok, false, `cut at ${cut}`);
    } catch (e) {
      assert.ok(e instanceof SignetError, `cut at ${cut}: ${String(e)}`);
    }
  }
  const malformed = [
    '', '\n', 'hello', 'hello\n', 'hello\n\n', note.replace('\n\n', '\n'), note.slice(0, -1), note.replace('\u2014', '-'),
    note.replace('\u2014 ', '\u2014'), note.replace(`\u2014 ${origin} `, `\u2014 ${origin}  `), note.replace(`\u2014 ${origin} `, '\u2014  '),
    note.replace(/ (\S+)\n$/, ' !!!notbase64\n'), note.replace(/ (\S+)\n$/, ' QUJD\n'), note.replace(/.\n$/, '\n'), note.replace(/ (\S+)\n$/, ' $1==\n'),
    note.replace('42', '4\r2'), note.replace('42', '4\t2'), note + '\n', note + 'trailing', `${note}\u2014 x\n`,
    `${origin}+x\n42\n${Buffer.from(ROOT).toString('base64')}\n\n\u2014 a+b QUJDREVG\n`,
  ];
  for (const m of malformed) await assert.rejects(verifyCheckpoint(m, [v]), isCode('MALFORMED_INPUT'), JSON.stringify(m.slice(-60)));
  await assert.rejects(verifyNote(new Uint8Array([0xff, 0xfe, 0x0a, 0x0a]), [v]), isCode('MALFORMED_INPUT'));
  const random = new Uint8Array(4096).map((_, i) => (i * 131 + 7) & 255);
  await assert.rejects(verifyNote(random, [v]), isCode('MALFORMED_INPUT'));
  // Limits: too many signature lines, too large a note.
  const line = `\u2014 x.example ${Buffer.from('0123456789').toString('base64')}\n`;
  assert.throws(() => parseNote(`text\n\n${line.repeat(MAX_NOTE_SIGNATURES + 1)}`), isCode('MALFORMED_INPUT'));
  assert.equal(parseNote(`text\n\n${line.repeat(MAX_NOTE_SIGNATURES)}`).signatures.length, MAX_NOTE_SIGNATURES);
  assert.throws(() => parseNote(`${'a'.repeat(1024 * 1024)}\n\n${line}`), isCode('MALFORMED_INPUT'));
  // Text may contain blank lines; the last blank line separates the signatures.
  const multi = await signNote('a\n\nb\n', [ed25519NoteSigner('k', ed.privateKey)]);
  assert.equal(parseNote(multi).text, 'a\n\nb\n');
  assert.equal((await verifyNote(multi, [ed25519NoteVerifier('k', ed.publicKey)])).ok, true);
});

test('checkpoint bodies are parsed strictly', () => {
  const root = Buffer.from(ROOT).toString('base64');
  assert.deepEqual(parseCheckpointBody(`o\n0\n${root}\n`).size, 0n);
  const bad = [
    `o\n007\n${root}\n`, `o\n+7\n${root}\n`, `o\n-1\n${root}\n`, `o\n7 \n${root}\n`, `o\n 7\n${root}\n`, `o\n0x10\n${root}\n`, `o\n\n${root}\n`,
    `o\n18446744073709551616\n${root}\n`, `o\n1e3\n${root}\n`, `o\n1.0\n${root}\n`, `\n7\n${root}\n`, `o\n7\n${root}`, `o\n7\n`, `o\n7\n${root}\n\n`,
    `o\n7\n${root}\next\n\nmore\n`, `o\n7\n${root.slice(0, -1)}\n`, `o\n7\n${root.replace('=', '')}\n`, `o\n7\n${Buffer.from(ROOT.subarray(1)).toString('base64')}\n`,
    `o\n7\n${Buffer.concat([ROOT, Buffer.of(1)]).toString('base64')}\n`, `o\n7\n${Buffer.from(ROOT).toString('base64url')}x\n`, `o\n7\n!${root.slice(1)}\n`,
    `o\n7\n ${root}\n`, `o\r\n7\n${root}\n`,
  ];
  for (const b of bad) assert.throws(() => parseCheckpointBody(b), isCode('MALFORMED_INPUT'), JSON.stringify(b));
  assert.equal(parseCheckpointBody(`o\n18446744073709551615\n${root}\n`).size, (1n << 64n) - 1n);
  // Formatting refuses what it could not parse back.
  for (const cp of [
    { origin: '', size: 1, rootHash: ROOT },
    { origin: 'a\nb', size: 1, rootHash: ROOT },
    { origin: 'o', size: -1, rootHash: ROOT },
    { origin: 'o', size: 1, rootHash: ROOT.subarray(1) },
    { origin: 'o', size: 1, rootHash: ROOT, extensions: [''] },
    { origin: 'o', size: 1n << 64n, rootHash: ROOT },
  ]) {
    assert.throws(() => formatCheckpoint(cp), (e: unknown) => e instanceof SignetError, JSON.stringify(cp.origin));
  }
});

test('signer and verifier factories refuse bad names and unsupported keys', async () => {
  assert.throws(() => ecdsaNoteSigner('a b', ec.privateKey), isCode('INVALID_ARGUMENT'));
  assert.throws(() => ed25519NoteSigner('a+b', ed.privateKey), isCode('INVALID_ARGUMENT'));
  assert.throws(() => ed25519NoteVerifier('', ed.publicKey), isCode('INVALID_ARGUMENT'));
  assert.throws(() => ecdsaNoteSigner('k', ec.publicKey), isCode('INVALID_ARGUMENT'));
  assert.throws(() => ecdsaNoteVerifier('k', ed.publicKey), isCode('UNSUPPORTED_ALGORITHM'));
  assert.throws(() => ecdsaNoteVerifier('k', generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey), isCode('UNSUPPORTED_ALGORITHM'));
  assert.throws(() => ed25519NoteVerifier('k', ec.publicKey), isCode('UNSUPPORTED_ALGORITHM'));
  assert.throws(() => ed25519NoteVerifier('k', new Uint8Array(31)), SignetError);
  assert.throws(() => ecdsaNoteVerifier('k', new Uint8Array([1, 2, 3])), isCode('KEY_PARSE_FAILED'));
  // Raw 32-byte Ed25519 keys and PEM are accepted.
  const raw = new Uint8Array(ed.publicKey.export({ format: 'der', type: 'spki' })).subarray(12);
  assert.deepEqual(ed25519NoteVerifier('k', raw).keyHint, ed25519NoteVerifier('k', ed.publicKey.export({ format: 'pem', type: 'spki' }) as string).keyHint);
  await assert.rejects(signNote('no newline', [ed25519NoteSigner('k', ed.privateKey)]), isCode('MALFORMED_INPUT'));
  await assert.rejects(signNote('x\n', []), isCode('INVALID_ARGUMENT'));
  await assert.rejects(signNote('tab\there\n', [ed25519NoteSigner('k', ed.privateKey)]), isCode('MALFORMED_INPUT'));
  // Ed25519 signatures of the wrong length simply do not verify.
  const v = ed25519NoteVerifier('k', ed.publicKey);
  assert.equal(await v.verify(new Uint8Array([1]), new Uint8Array(63)), false);
  assert.equal(await ecdsaNoteVerifier('k', ec.publicKey).verify(new Uint8Array([1]), new Uint8Array(5)), false);
});
