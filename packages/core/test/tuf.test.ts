import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { canonicalize } from '@tufjs/canonical-json';
import { Key, Metadata, MetadataKind } from '@tufjs/models';
import {
  TufRepository,
  buildRoot,
  buildSnapshot,
  buildTargets,
  buildTimestamp,
  canonicalJson,
  canonicalJsonBytes,
  consistentTargetPath,
  formatTufExpires,
  parseMetadata,
  serializeMetadata,
  signMetadata,
  tufKeyId,
  tufKeyObject,
  tufPublicKey,
  verifyMetadata,
  verifyRootUpdate,
  type TufMetadata,
  type TufRootSigned,
  type TufSigned,
  type TufVerification,
} from '../dist/tuf/index.js';
import { SignetError } from '../dist/errors.js';

const ec = (): KeyObject => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
const ed = (): KeyObject => generateKeyPairSync('ed25519').privateKey;
const isCode = (code: string) => (e: unknown): boolean => e instanceof SignetError && e.code === code;
const failed = (v: TufVerification): string[] => v.checks.filter((c) => !c.ok).map((c) => c.name);
const enc = new TextEncoder();
const NOW = new Date('2030-01-01T00:00:00Z');
const LATER = new Date('2031-01-01T00:00:00Z');
const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

/** tuf-js's own verification: parse with @tufjs/models and check the role's threshold against the root. */
function tufJsAccepts(root: TufMetadata<TufRootSigned>, md: TufMetadata, role: 'root' | 'targets' | 'snapshot' | 'timestamp'): boolean {
  const r = Metadata.fromJSON(MetadataKind.Root, clone(root) as never);
  const m = Metadata.fromJSON(role as never, clone(md) as never);
  try {
    r.verifyDelegate(role, m as never);
    return true;
  } catch {
    return false;
  }
}

test('canonical JSON matches @tufjs/canonical-json byte for byte', () => {
  const vectors: unknown[] = [
    null,
    true,
    false,
    0,
    -0,
    -1,
    42,
    Number.MAX_SAFE_INTEGER,
    Number.MIN_SAFE_INTEGER,
    '',
    'plain',
    'quote " and backslash \\ and both \\"',
    'controls \n\r\t\b\f \u0000 \u001f \u007f',
    'slash / and \u2028\u2029',
    'unicode é 中文 😀 \uffff',
    'lone surrogate \ud800 end',
    [],
    {},
    [1, 'a', [true, null, []], {}],
    { b: 1, a: 2, A: 3, _: 4, '': 5, aa: 6, 'a b': 7, '\\': 8, '"': 9 },
    { z: { y: { x: [{ b: 'é', a: '中' }] } }, é: 1, e: 2, '😀': 3, '\uffff': 4 },
    { signed: { _type: 'root', keys: { abc: { keyval: { public: '-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n' } } } } },
  ];
  for (const v of vectors) {
    const ours = canonicalJsonBytes(v);
    const theirs = new Uint8Array(Buffer.from(canonicalize(v as never)));
    assert.deepEqual(ours, theirs, `vector ${JSON.stringify(v)}`);
  }
  // A fixed vector, independent of the reference implementation.
  assert.equal(canonicalJson({ b: 1, a: [true, null, 'x"y\\z\n'] }), '{"a":[true,null,"x\\"y\\\\z\n"],"b":1}');
  // Keys sort by UTF-16 code units: U+1F600 (D83D…) before U+FFFF.
  assert.equal(canonicalJson({ '\uffff': 1, '😀': 2 }), '{"😀":2,"\uffff":1}');
});

test('canonical JSON refuses what it cannot encode', () => {
  for (const v of [1.5, NaN, Infinity, 2 ** 53, { a: undefined }, [undefined], 10n, new Date(0), () => 1, Symbol('s')]) {
    assert.throws(() => canonicalJson(v), isCode('INVALID_ARGUMENT'), String(typeof v));
  }
  let deep: unknown = 1;
  for (let i = 0; i < 200; i++) deep = [deep];
  assert.throws(() => canonicalJson(deep), isCode('INVALID_ARGUMENT'));
});

test('TUF key form and key IDs agree with tuf-js', () => {
  for (const priv of [ec(), ed()]) {
    const k = tufPublicKey(priv);
    if (priv.asymmetricKeyType === 'ec') {
      assert.equal(k.keytype, 'ecdsa');
      assert.equal(k.scheme, 'ecdsa-sha2-nistp256');
      assert.match(k.keyval.public, /^-----BEGIN PUBLIC KEY-----\n[\s\S]+\n-----END PUBLIC KEY-----\n$/);
    } else {
      assert.deepEqual([k.keytype, k.scheme], ['ed25519', 'ed25519']);
      assert.match(k.keyval.public, /^[0-9a-f]{64}$/);
    }
    // tuf-js's Key model round-trip, hashed over its canonical form.
    const theirs = createHash('sha256')
      .update(canonicalize(Key.fromJSON('x', clone(k) as never).toJSON() as never))
      .digest('hex');
    assert.equal(tufKeyId(k), theirs);
    assert.equal(tufKeyId(tufPublicKey(priv)), tufKeyId(k), 'stable');
    // the key material parses back to the same key
    assert.deepEqual(tufKeyObject(k).export({ format: 'jwk' }), createPublicKey(priv).export({ format: 'jwk' }));
  }
  // hex ECDSA (uncompressed point), as some repositories write
  const p = ec();
  const jwk = p.export({ format: 'jwk' });
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]).toString('hex');
  const hexKey = tufKeyObject({ keytype: 'ecdsa', scheme: 'ecdsa-sha2-nistp256', keyval: { public: point } });
  assert.equal(hexKey.export({ format: 'jwk' }).x, jwk.x);
});

test('unsupported and malformed keys are refused', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey;
  assert.throws(() => tufPublicKey(rsa), isCode('UNSUPPORTED_ALGORITHM'));
  assert.throws(() => tufPublicKey(p384), isCode('UNSUPPORTED_ALGORITHM'));
  assert.throws(() => tufKeyObject({ keytype: 'rsa', scheme: 'rsassa-pss-sha256', keyval: { public: 'x' } }), isCode('UNSUPPORTED_ALGORITHM'));
  assert.throws(() => tufKeyObject({ keytype: 'ed25519', scheme: 'ed25519', keyval: { public: 'zz' } }), isCode('MALFORMED_INPUT'));
  assert.throws(() => tufKeyObject({ keytype: 'ed25519', scheme: 'ed25519', keyval: { public: 'abcd' } }), isCode('KEY_PARSE_FAILED'));
  // an Ed25519 PEM labelled as ECDSA
  const edPem = createPublicKey(ed()).export({ type: 'spki', format: 'pem' }) as string;
  assert.throws(() => tufKeyObject({ keytype: 'ecdsa', scheme: 'ecdsa-sha2-nistp256', keyval: { public: edPem } }), isCode('KEY_PARSE_FAILED'));
  assert.throws(() => buildRoot({ version: 1, expires: NOW, roles: rolesOf([], [ec()], [ec()], [ec()]) }), isCode('INVALID_ARGUMENT'));
  assert.throws(
    () => buildRoot({ version: 1, expires: NOW, roles: { ...rolesOf([ec()], [ec()], [ec()], [ec()]), root: { keys: [tufPublicKey(ec())], threshold: 2 } } }),
    isCode('INVALID_ARGUMENT'),
  );
  assert.throws(() => buildRoot({ version: 0, expires: NOW, roles: rolesOf([ec()], [ec()], [ec()], [ec()]) }), isCode('INVALID_ARGUMENT'));
});

function rolesOf(root: KeyObject[], targets: KeyObject[], snapshot: KeyObject[], timestamp: KeyObject[]) {
  const s = (ks: KeyObject[]) => ({ keys: ks.map((k) => tufPublicKey(k)) });
  return { root: s(root), targets: s(targets), snapshot: s(snapshot), timestamp: s(timestamp) };
}

test('builders write the TUF shapes', () => {
  assert.equal(formatTufExpires(new Date('2030-05-06T07:08:09.999Z')), '2030-05-06T07:08:09Z');
  const root = buildRoot({ version: 3, expires: NOW, roles: rolesOf([ec()], [ed()], [ec()], [ec()]) });
  assert.equal(root._type, 'root');
  assert.equal(root.spec_version, '1.0.31');
  assert.equal(root.expires, '2030-01-01T00:00:00Z');
  assert.equal(root.consistent_snapshot, true);
  assert.equal(Object.keys(root.keys).length, 4);
  for (const r of ['root', 'targets', 'snapshot', 'timestamp'] as const) assert.equal(root.roles[r].threshold, 1);
  const data = enc.encode('{"x":1}');
  const targets = buildTargets({ version: 2, expires: NOW, targets: { 'trusted_root.json': data, 'a/b.txt': data } });
  const sha = createHash('sha256').update(data).digest('hex');
  assert.deepEqual(targets.targets['trusted_root.json'], { length: 7, hashes: { sha256: sha } });
  assert.equal(consistentTargetPath('trusted_root.json', targets.targets['trusted_root.json']!), `${sha}.trusted_root.json`);
  assert.equal(consistentTargetPath('a/b.txt', targets.targets['a/b.txt']!), `a/${sha}.b.txt`);
  for (const bad of ['', '/abs', 'a//b', '../x', 'a/./b', 'a\\b', 'x\ny']) {
    assert.throws(() => buildTargets({ version: 1, expires: NOW, targets: { [bad]: data } }), isCode('INVALID_ARGUMENT'), bad);
  }
  assert.deepEqual(buildSnapshot({ version: 4, expires: NOW, targets: { version: 2 } }).meta, { 'targets.json': { version: 2 } });
  const ts = buildTimestamp({ version: 5, expires: NOW, snapshot: { version: 4, bytes: data } });
  assert.deepEqual(ts.meta, { 'snapshot.json': { version: 4, length: 7, hashes: { sha256: sha } } });
});

test('sign/verify round trips for ECDSA and Ed25519, and tuf-js accepts them', async () => {
  const [r, t, s, ts] = [ec(), ed(), ec(), ed()];
  const rootSigned = buildRoot({ version: 1, expires: LATER, roles: rolesOf([r], [t], [s], [ts]) });
  const root = await signMetadata(rootSigned, [{ privateKey: r }]);
  assert.match(root.signatures[0]!.sig, /^30[0-9a-f]+$/, 'ECDSA signatures are hex DER');
  assert.equal(root.signatures[0]!.keyid, tufKeyId(tufPublicKey(r)));
  const v = await verifyMetadata(root, root, 'root', { now: NOW });
  assert.equal(v.ok, true, JSON.stringify(v.checks));
  assert.deepEqual(v.keyIds, [tufKeyId(tufPublicKey(r))]);
  assert.ok(tufJsAccepts(root, root, 'root'));

  const targets = await signMetadata(buildTargets({ version: 1, expires: LATER, targets: { f: enc.encode('x') } }), [{ privateKey: t }]);
  assert.match(targets.signatures[0]!.sig, /^[0-9a-f]{128}$/, 'Ed25519 signatures are 64 bytes hex');
  assert.equal((await verifyMetadata(targets, root, 'targets')).ok, true);
  assert.ok(tufJsAccepts(root, targets, 'targets'));
  // serialize → parse keeps the signature valid (signatures cover the canonical form, not the file bytes)
  const reparsed = parseMetadata(serializeMetadata(targets), 'targets');
  assert.equal((await verifyMetadata(reparsed, root, 'targets')).ok, true);

  const snap = await signMetadata(buildSnapshot({ version: 1, expires: LATER, targets: { version: 1 } }), [{ privateKey: s }]);
  const time = await signMetadata(buildTimestamp({ version: 1, expires: LATER, snapshot: { version: 1 } }), [{ privateKey: ts }]);
  assert.equal((await verifyMetadata(snap, root, 'snapshot')).ok, true);
  assert.equal((await verifyMetadata(time, root, 'timestamp')).ok, true);
  assert.ok(tufJsAccepts(root, snap, 'snapshot') && tufJsAccepts(root, time, 'timestamp'));
});

test('threshold, wrong key, tampering, wrong role and expiry', async () => {
  const [r, a, b, c, other] = [ec(), ec(), ed(), ec(), ec()];
  const roles = rolesOf([r], [r], [r], [a, b, c]);
  const root = await signMetadata(buildRoot({ version: 1, expires: LATER, roles: { ...roles, timestamp: { ...roles.timestamp, threshold: 2 } } }), [{ privateKey: r }]);
  const signed = buildTimestamp({ version: 1, expires: LATER, snapshot: { version: 1 } });

  const one = await signMetadata(signed, [{ privateKey: a }]);
  const v1 = await verifyMetadata(one, root, 'timestamp');
  assert.equal(v1.ok, false);
  assert.deepEqual(failed(v1), ['signature']);
  assert.match(v1.checks.find((x) => x.name === 'signature')!.detail, /only 1 valid signature.*threshold is 2/);
  assert.equal(tufJsAccepts(root, one, 'timestamp'), false);

  const two = await signMetadata(signed, [{ privateKey: a }, { privateKey: b }]);
  assert.equal((await verifyMetadata(two, root, 'timestamp')).ok, true);
  assert.ok(tufJsAccepts(root, two, 'timestamp'));
  const three = await signMetadata(signed, [{ privateKey: a }, { privateKey: b }, { privateKey: c }, { privateKey: a }]);
  assert.equal(three.signatures.length, 3, 'a repeated key signs once');

  // the same signature twice does not count twice (and tuf-js refuses it)
  const dup: TufMetadata = { signatures: [one.signatures[0]!, one.signatures[0]!], signed };
  const vd = await verifyMetadata(dup, root, 'timestamp');
  assert.equal(vd.ok, false);
  assert.deepEqual(failed(vd), ['format']);

  // a key outside the role
  const wrong = await signMetadata(signed, [{ privateKey: other }, { privateKey: a }]);
  const vw = await verifyMetadata(wrong, root, 'timestamp');
  assert.equal(vw.ok, false);
  assert.match(vw.checks.find((x) => x.name === 'signature')!.detail, /is not among the timestamp role's keys/);
  // a forged key ID: other's signature under a's ID
  const forged: TufMetadata = { signatures: [{ keyid: tufKeyId(tufPublicKey(a)), sig: wrong.signatures[0]!.sig }, two.signatures[1]!], signed };
  const vf = await verifyMetadata(forged, root, 'timestamp');
  assert.equal(vf.ok, false);
  assert.match(vf.checks.find((x) => x.name === 'signature')!.detail, /does not match the signed metadata/);

  // a tampered signed field
  const tampered = clone(two);
  tampered.signed.version = 2;
  const vt = await verifyMetadata(tampered, root, 'timestamp');
  assert.deepEqual(failed(vt), ['signature']);
  assert.equal(tufJsAccepts(root, tampered, 'timestamp'), false);
  const tampered2 = clone(two) as TufMetadata;
  (tampered2.signed as unknown as Record<string, unknown>)['extra'] = 'x';
  assert.equal((await verifyMetadata(tampered2, root, 'timestamp')).ok, false);

  // tampered / garbage / truncated signatures
  const badSig = clone(two);
  badSig.signatures[0]!.sig = badSig.signatures[0]!.sig.replace(/.$/, (ch) => (ch === '0' ? '1' : '0'));
  badSig.signatures[1]!.sig = 'not hex';
  assert.deepEqual(failed(await verifyMetadata(badSig, root, 'timestamp')), ['signature']);
  const truncated = clone(two);
  for (const s of truncated.signatures) s.sig = s.sig.slice(0, 20);
  assert.deepEqual(failed(await verifyMetadata(truncated, root, 'timestamp')), ['signature']);
  const noSigs: TufMetadata = { signatures: [], signed };
  assert.deepEqual(failed(await verifyMetadata(noSigs, root, 'timestamp')), ['signature']);
  const junk = { signatures: [null], signed } as unknown as TufMetadata;
  assert.deepEqual(failed(await verifyMetadata(junk, root, 'timestamp')), ['format']);

  // wrong role
  const vr = await verifyMetadata(two, root, 'snapshot');
  assert.deepEqual(failed(vr), ['format']);
  assert.match(vr.checks[0]!.detail, /expected snapshot metadata, found "timestamp"/);

  // expiry
  const soon = await signMetadata(buildTimestamp({ version: 1, expires: NOW, snapshot: { version: 1 } }), [{ privateKey: a }, { privateKey: b }]);
  assert.equal((await verifyMetadata(soon, root, 'timestamp')).ok, true, 'no expiry check without now');
  assert.equal((await verifyMetadata(soon, root, 'timestamp', { now: new Date(NOW.getTime() - 1000) })).ok, true);
  const ve = await verifyMetadata(soon, root, 'timestamp', { now: NOW });
  assert.deepEqual(failed(ve), ['expiry']);
  assert.match(ve.checks.find((x) => x.name === 'expiry')!.detail, /expired at 2030-01-01T00:00:00Z/);
});

test('parseMetadata refuses garbage, truncation and wrong roles', async () => {
  const r = ec();
  const root = await signMetadata(buildRoot({ version: 1, expires: LATER, roles: rolesOf([r], [r], [r], [r]) }), [{ privateKey: r }]);
  const bytes = serializeMetadata(root);
  assert.equal(parseMetadata(bytes, 'root').signed.version, 1);
  assert.throws(() => parseMetadata(bytes.subarray(0, bytes.length - 10)), isCode('MALFORMED_INPUT'));
  assert.throws(() => parseMetadata(enc.encode('garbage')), isCode('MALFORMED_INPUT'));
  assert.throws(() => parseMetadata(new Uint8Array([0xff, 0xfe])), isCode('MALFORMED_INPUT'));
  assert.throws(() => parseMetadata(bytes, 'timestamp'), isCode('MALFORMED_INPUT'));
  const mutate = (f: (m: Record<string, any>) => void): string => {
    const m = clone(root) as unknown as Record<string, any>;
    f(m);
    return JSON.stringify(m);
  };
  for (const bad of [
    mutate((m) => delete m['signatures']),
    mutate((m) => (m['signatures'] = [{ keyid: 1, sig: 'a' }])),
    mutate((m) => (m['signed']['_type'] = 'mirror')),
    mutate((m) => (m['signed']['spec_version'] = '2.0.0')),
    mutate((m) => (m['signed']['version'] = 0)),
    mutate((m) => (m['signed']['version'] = 1.5)),
    mutate((m) => (m['signed']['expires'] = 'tomorrow')),
    mutate((m) => delete m['signed']['roles']['timestamp']),
    mutate((m) => (m['signed']['roles']['root']['threshold'] = 0)),
    mutate((m) => delete m['signed']['consistent_snapshot']),
  ]) {
    assert.throws(() => parseMetadata(bad), isCode('MALFORMED_INPUT'), bad.slice(0, 80));
  }
});

test('root rotation: N+1 must be signed by the old and the new root keys', async () => {
  const [old, neu, k] = [ec(), ed(), ec()];
  const root1 = await signMetadata(buildRoot({ version: 1, expires: LATER, roles: rolesOf([old], [k], [k], [k]) }), [{ privateKey: old }]);
  const root2s = buildRoot({ version: 2, expires: LATER, roles: rolesOf([neu], [k], [k], [k]) });
  const both = await signMetadata(root2s, [{ privateKey: old }, { privateKey: neu }]);
  const vb = await verifyRootUpdate(root1, both, { now: NOW });
  assert.equal(vb.ok, true, JSON.stringify(vb.checks));
  const onlyNew = await signMetadata(root2s, [{ privateKey: neu }]);
  assert.deepEqual(failed(await verifyRootUpdate(root1, onlyNew)), ['signature']);
  const onlyOld = await signMetadata(root2s, [{ privateKey: old }]);
  assert.deepEqual(failed(await verifyRootUpdate(root1, onlyOld)), ['new-root-signature']);
  const skip = await signMetadata({ ...root2s, version: 3 }, [{ privateKey: old }, { privateKey: neu }]);
  assert.deepEqual(failed(await verifyRootUpdate(root1, skip)), ['version']);
});

test('TufRepository publishes consistent-snapshot files, refreshes the timestamp and reloads', async () => {
  const [r, t, s, ts] = [ec(), ec(), ed(), ec()];
  const repo = await TufRepository.create({ keys: { root: [r], targets: [t], snapshot: [s], timestamp: [ts] }, now: NOW });
  assert.deepEqual(Object.keys(repo.files()).sort(), ['1.root.json', 'root.json']);
  const trusted = enc.encode('{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}');
  const files = await repo.publish({ targets: { 'trusted_root.json': trusted }, now: NOW, expiries: { timestamp: 3600 } });
  const sha = createHash('sha256').update(trusted).digest('hex');
  assert.deepEqual(Object.keys(files).sort(), ['1.root.json', '1.snapshot.json', '1.targets.json', 'root.json', `targets/${sha}.trusted_root.json`, 'timestamp.json'].sort());
  assert.deepEqual(files[`targets/${sha}.trusted_root.json`], trusted);
  assert.deepEqual(files['root.json'], files['1.root.json']);

  const root = parseMetadata(files['root.json']!, 'root');
  const timestamp = parseMetadata(files['timestamp.json']!, 'timestamp');
  const snapshot = parseMetadata(files['1.snapshot.json']!, 'snapshot');
  const targets = parseMetadata(files['1.targets.json']!, 'targets');
  for (const [md, role] of [[root, 'root'], [timestamp, 'timestamp'], [snapshot, 'snapshot'], [targets, 'targets']] as const) {
    const v = await verifyMetadata(md as TufMetadata<TufSigned>, root, role, { now: NOW });
    assert.equal(v.ok, true, `${role}: ${JSON.stringify(v.checks)}`);
  }
  assert.equal(timestamp.signed.expires, '2030-01-01T01:00:00Z');
  assert.deepEqual(timestamp.signed.meta['snapshot.json'], {
    version: 1,
    length: files['1.snapshot.json']!.length,
    hashes: { sha256: createHash('sha256').update(files['1.snapshot.json']!).digest('hex') },
  });
  assert.equal(snapshot.signed.meta['targets.json']!.version, 1);

  const later = new Date(NOW.getTime() + 1800_000);
  const refreshed = await repo.refreshTimestamp(later);
  assert.deepEqual(Object.keys(refreshed), ['timestamp.json']);
  const ts2 = parseMetadata(refreshed['timestamp.json']!, 'timestamp');
  assert.equal(ts2.signed.version, 2);
  assert.equal(ts2.signed.meta['snapshot.json']!.version, 1);
  assert.equal((await verifyMetadata(ts2, root, 'timestamp', { now: later })).ok, true);

  // restore from the served files, then keep going
  const again = await TufRepository.load({ keys: [r, t, s, ts], files: repo.files() });
  assert.deepEqual(again.files(), repo.files());
  const next = await again.publish({ targets: { 'trusted_root.json': trusted, 'other.json': enc.encode('{}') }, now: later });
  assert.ok(next['2.targets.json'] && next['2.snapshot.json']);
  assert.equal(parseMetadata(next['timestamp.json']!, 'timestamp').signed.version, 3);
  const rotated = await again.rotateRoot({ now: later, keys: { root: [ed()], timestamp: [ed()] } });
  assert.ok(rotated['2.root.json'] && rotated['3.targets.json']);
  const r2 = parseMetadata(rotated['2.root.json']!, 'root');
  assert.equal((await verifyRootUpdate(root, r2)).ok, true);
  assert.equal((await verifyMetadata(parseMetadata(rotated['timestamp.json']!), r2, 'timestamp')).ok, true);

  // a damaged store is refused; missing keys are reported when signing
  const damaged = { ...repo.files(), 'timestamp.json': enc.encode('{}') };
  await assert.rejects(TufRepository.load({ keys: [r], files: damaged }), isCode('MALFORMED_INPUT'));
  const { [`targets/${sha}.trusted_root.json`]: _gone, ...noTarget } = repo.files();
  await assert.rejects(TufRepository.load({ keys: [r], files: noTarget }), isCode('MALFORMED_INPUT'));
  const partial = await TufRepository.load({ keys: [r], files: repo.files() });
  await assert.rejects(partial.refreshTimestamp(later), isCode('INVALID_ARGUMENT'));
  await assert.rejects(
    (await TufRepository.create({ keys: { root: [r], targets: [t], snapshot: [s], timestamp: [ts] }, now: NOW })).refreshTimestamp(NOW),
    isCode('INVALID_ARGUMENT'),
  );
});

test('TufRepository with one key shared by every role', async () => {
  const k = ed();
  const repo = await TufRepository.create({ keys: { root: [k], targets: [k], snapshot: [k], timestamp: [k] }, now: NOW });
  const root = repo.root;
  assert.equal(Object.keys(root.signed.keys).length, 1);
  const files = await repo.publish({ targets: { 'a.json': enc.encode('{}') }, now: NOW });
  for (const [path, role] of [['timestamp.json', 'timestamp'], ['1.snapshot.json', 'snapshot'], ['1.targets.json', 'targets']] as const) {
    assert.equal((await verifyMetadata(parseMetadata(files[path]!), root, role, { now: NOW })).ok, true, path);
  }
  // signing with keys the repository does not hold is refused before anything changes
  const loaded = await TufRepository.load({ keys: [], files });
  await assert.rejects(loaded.rotateRoot({ now: NOW, keys: { root: [ed()] } }), /only 0 of the root role's keys are held/);
  await assert.rejects(loaded.refreshTimestamp(NOW), /only 0 of the timestamp role's keys are held/);
  const held = await TufRepository.load({ keys: [k], files });
  await assert.rejects(held.rotateRoot({ now: NOW, thresholds: { root: 2 } }), isCode('INVALID_ARGUMENT'));
  assert.equal(loaded.rootVersion, 1);
  await assert.rejects(repo.publish({ targets: { '../x': enc.encode('') }, now: NOW }), isCode('INVALID_ARGUMENT'));
});
