// trust/: trusted_root.json and signing_config.v0.2.json as sigstore-js reads them, and the TUF repository
// that serves them, checked with the real clients (tuf-js, @sigstore/tuf, @sigstore/verify, @sigstore/sign).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { Updater } from 'tuf-js';
import { SigningConfig, TrustedRoot } from '@sigstore/protobuf-specs';
import { toTrustMaterial } from '@sigstore/verify';
import {
  authorityKeyIdentifier,
  basicConstraints,
  buildCertificate,
  extKeyUsage,
  keyUsage,
  parseMetadata,
  randomSerial,
  spkiDer,
  subjectKeyIdentifier,
  toBase64,
  type Name,
} from '@signet/core';
import { startPostgres, tempDir } from '@signet/testkit';
import { openDatabase, type OpenDb } from '../dist/storage/db.js';
import { SecretStore } from '../dist/storage/secrets.js';
import { installErrorBoundary } from '../dist/http/errors.js';
import {
  TRUST_TUF_EXPIRIES,
  TrustService,
  keyDetails,
  secretCreatedAt,
  signingConfig,
  trustRoutes,
  trustedRoot,
  type TrustSources,
  type TrustServiceOptions,
} from '../dist/trust/index.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const BASE = 'http://127.0.0.1:8080';
const ec = (curve = 'P-256'): KeyObject => generateKeyPairSync('ec', { namedCurve: curve }).privateKey;
const pub = (k: KeyObject): KeyObject => (k.type === 'private' ? createPublicKey(k) : k);

// sigstore 4.1.1 (the newest on Node 20) carries @sigstore/sign 4.1.1 and uses @sigstore/tuf; load them the
// way sigstore itself resolves them.
const fromSigstore = createRequire(createRequire(import.meta.url).resolve('sigstore'));
const signPath = fromSigstore.resolve('@sigstore/sign');
const sigstoreSign = fromSigstore('@sigstore/sign') as {
  bundleBuilderFromSigningConfig(o: { signingConfig: unknown; identityProvider: { getToken(): Promise<string> }; bundleType: 'messageSignature' | 'dsseEnvelope' }): unknown;
};
const sigstoreTuf = fromSigstore('@sigstore/tuf') as {
  getTrustedRoot(o: { mirrorURL: string; rootPath: string; cachePath: string; retry?: unknown }): Promise<ReturnType<typeof TrustedRoot.fromJSON>>;
};

// ---------------------------------------------------------------------------------------------
// Sources: a tlog key, a CA (root + intermediate), a CT log key, a TSA (root + leaf)

async function cert(o: { name: Name; key: KeyObject; issuerName?: Name; issuerKey?: KeyObject; ca: boolean; eku?: string[]; notBefore: Date }): Promise<Uint8Array> {
  const issuerKey = o.issuerKey ?? o.key;
  return buildCertificate({
    serialNumber: randomSerial(),
    subject: o.name,
    issuer: o.issuerName ?? o.name,
    notBefore: o.notBefore,
    notAfter: new Date(o.notBefore.getTime() + 3650 * DAY),
    publicKey: pub(o.key),
    extensions: [
      keyUsage(o.ca ? ['keyCertSign', 'cRLSign'] : ['digitalSignature']),
      basicConstraints(o.ca, o.ca ? 0 : undefined),
      ...(o.eku ? [extKeyUsage(o.eku, true)] : []),
      subjectKeyIdentifier(pub(o.key)),
      authorityKeyIdentifier(pub(issuerKey)),
    ],
    signingKey: issuerKey,
  });
}

async function tsaChain(notBefore: Date, cn = 'signet test tsa root'): Promise<Uint8Array[]> {
  const rootKey = ec();
  const rootName: Name = [['O', 'signet-test'], ['CN', cn]];
  const root = await cert({ name: rootName, key: rootKey, ca: true, notBefore });
  const leaf = await cert({ name: [['O', 'signet-test'], ['CN', 'signet test tsa']], key: ec(), issuerName: rootName, issuerKey: rootKey, ca: false, eku: ['timeStamping'], notBefore });
  return [leaf, root];
}

async function makeSources(): Promise<TrustSources> {
  const notBefore = new Date(Math.floor(Date.now() / 1000) * 1000 - DAY);
  const caRootKey = ec('P-384');
  const caRootName: Name = [['C', 'US'], ['O', 'signet-test'], ['CN', 'signet test ca root']];
  const caRoot = await cert({ name: caRootName, key: caRootKey, ca: true, notBefore });
  const interName: Name = [['O', 'signet-test'], ['CN', 'signet test ca intermediate']];
  const inter = await cert({ name: interName, key: ec(), issuerName: caRootName, issuerKey: caRootKey, ca: true, notBefore });
  return {
    baseUrl: BASE,
    // A start with milliseconds: the document rounds it down to the second.
    tlog: { publicKey: pub(ec()), validFrom: new Date(notBefore.getTime() + 1234) },
    ca: { chain: [inter, caRoot], validFrom: notBefore },
    ctlog: { publicKey: pub(ec()), validFrom: notBefore },
    tsa: { chain: await tsaChain(notBefore), validFrom: notBefore },
  };
}

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
const keyId = (k: KeyObject): string => b64(createHash('sha256').update(spkiDer(k)).digest());

// ---------------------------------------------------------------------------------------------

test('trusted_root.json: round-trips through protobuf-specs, loads in @sigstore/verify, carries the sources, deterministic', async () => {
  const s = await makeSources();
  const doc = trustedRoot(s);
  const text = JSON.stringify(doc);
  assert.equal(JSON.stringify(TrustedRoot.toJSON(TrustedRoot.fromJSON(JSON.parse(text)))), text, 'fromJSON → toJSON leaves it unchanged');
  assert.equal(JSON.stringify(trustedRoot(s)), text, 'same sources, same bytes');
  assert.equal(JSON.stringify(trustedRoot({ ...s, tlog: { ...s.tlog } })), text);
  const material = toTrustMaterial(TrustedRoot.fromJSON(doc));
  assert.equal(material.tlogs.length, 1);
  assert.equal(material.ctlogs.length, 1);
  assert.equal(material.certificateAuthorities[0]!.certChain.length, 2);
  assert.equal(material.timestampAuthorities[0]!.certChain.length, 2);

  assert.equal(doc.mediaType, 'application/vnd.dev.sigstore.trustedroot+json;version=0.1');
  const [tlog] = doc.tlogs;
  assert.equal(tlog!.baseUrl, BASE);
  assert.equal(tlog!.hashAlgorithm, 'SHA2_256');
  assert.equal(tlog!.publicKey.rawBytes, b64(spkiDer(s.tlog.publicKey)));
  assert.equal(tlog!.publicKey.keyDetails, 'PKIX_ECDSA_P256_SHA_256');
  assert.equal(tlog!.logId.keyId, keyId(s.tlog.publicKey));
  assert.equal(tlog!.checkpointKeyId.keyId, keyId(s.tlog.publicKey));
  assert.equal(tlog!.operator, '127.0.0.1:8080');
  assert.equal(tlog!.publicKey.validFor.start, new Date(Math.floor(s.tlog.validFrom.getTime() / 1000) * 1000).toISOString(), 'start rounded down to the second');
  assert.ok(Date.parse(tlog!.publicKey.validFor.start) <= s.tlog.validFrom.getTime());
  const [ct] = doc.ctlogs;
  assert.equal(ct!.baseUrl, `${BASE}/ct`);
  assert.equal(ct!.logId.keyId, keyId(s.ctlog.publicKey));
  assert.equal(ct!.publicKey.rawBytes, b64(spkiDer(s.ctlog.publicKey)));
  const [ca] = doc.certificateAuthorities;
  assert.deepEqual(ca!.subject, { organization: 'signet-test', commonName: 'signet test ca root' });
  assert.equal(ca!.uri, BASE);
  assert.deepEqual(ca!.certChain.certificates.map((c) => c.rawBytes), s.ca.chain.map(b64));
  const [tsa] = doc.timestampAuthorities;
  assert.equal(tsa!.uri, `${BASE}/api/v1/timestamp`);
  assert.deepEqual(tsa!.certChain.certificates.map((c) => c.rawBytes), s.tsa.chain.map(b64), 'TSA leaf first');
  assert.deepEqual(tsa!.subject, { organization: 'signet-test', commonName: 'signet test tsa root' });
  for (const v of [tlog!.publicKey.validFor, ct!.publicKey.validFor, ca!.validFor, tsa!.validFor]) assert.match(v.start, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);

  // key types
  assert.equal(keyDetails(ec('P-384')), 'PKIX_ECDSA_P384_SHA_384');
  assert.equal(keyDetails(generateKeyPairSync('ed25519').publicKey), 'PKIX_ED25519');
  assert.throws(() => keyDetails(generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey), /ECDSA .* or Ed25519/);
  // bad sources are a configuration error, not a broken document
  assert.throws(() => trustedRoot({ ...s, ca: { ...s.ca, chain: [] } }), /ca\.chain/);
  assert.throws(() => trustedRoot({ ...s, tsa: { ...s.tsa, validFrom: new Date(NaN) } }), /tsa\.validFrom/);
  assert.throws(() => trustedRoot({ ...s, baseUrl: 'ftp://x' }), /baseUrl/);
  assert.equal(JSON.stringify(trustedRoot({ ...s, baseUrl: `${BASE}/` })), text, 'a trailing slash is dropped');
});

test('signing_config.v0.2.json: round-trips through protobuf-specs; @sigstore/sign 4.1.1 builds a bundle builder from it', async () => {
  assert.equal(JSON.parse(readFileSync(join(dirname(signPath), '..', 'package.json'), 'utf8')).version, '4.1.1');
  const s = await makeSources();
  for (const sources of [s, { ...s, oidcUrls: [{ url: `${BASE}/dev/oidc`, validFrom: s.ca.validFrom }] }]) {
    const doc = signingConfig(sources);
    const text = JSON.stringify(doc);
    const parsed = SigningConfig.fromJSON(JSON.parse(text));
    assert.equal(JSON.stringify(SigningConfig.toJSON(parsed)), text, 'fromJSON → toJSON leaves it unchanged');
    assert.equal(JSON.stringify(signingConfig(sources)), text, 'deterministic');
    assert.equal(doc.mediaType, 'application/vnd.dev.sigstore.signingconfig.v0.2+json');
    assert.deepEqual(doc.caUrls.map((u) => [u.url, u.majorApiVersion]), [[BASE, 1]]);
    assert.deepEqual(doc.rekorTlogUrls.map((u) => [u.url, u.majorApiVersion]), [[BASE, 1]]);
    assert.deepEqual(doc.tsaUrls.map((u) => [u.url, u.majorApiVersion]), [[`${BASE}/api/v1/timestamp`, 1]]);
    assert.deepEqual(doc.rekorTlogConfig, { selector: 'ANY' });
    assert.deepEqual(doc.tsaConfig, { selector: 'ANY' });
    assert.equal(parsed.oidcUrls.length, sources.oidcUrls?.length ?? 0);
    for (const u of [...doc.caUrls, ...doc.rekorTlogUrls, ...doc.tsaUrls, ...(doc.oidcUrls ?? [])]) {
      assert.ok(u.validFor.start);
      assert.equal(u.operator, '127.0.0.1:8080');
    }
    for (const bundleType of ['messageSignature', 'dsseEnvelope'] as const) {
      const builder = sigstoreSign.bundleBuilderFromSigningConfig({ signingConfig: parsed, identityProvider: { getToken: async () => 'unused' }, bundleType }) as {
        witnesses?: unknown[];
      };
      assert.ok(builder);
      // rekorTlogConfig and tsaConfig (selector ANY) give a tlog and a TSA witness
      assert.equal(builder.witnesses?.length, 2);
    }
  }
});

// ---------------------------------------------------------------------------------------------
// The service and its routes on a bare Fastify instance (the lead wires them into app.ts)

interface Running {
  trust: TrustService;
  app: FastifyInstance;
  database: OpenDb;
  url: string;
  requested: string[];
  close(): Promise<void>;
}

async function start(
  t: Pick<TestContext, 'after'>,
  o: { dbUrl: string; masterKey: Buffer; sources: TrustSources; now?: () => Date; checkIntervalMs?: number; listen?: boolean },
): Promise<Running> {
  const database = await openDatabase(o.dbUrl);
  const secrets = new SecretStore(database.db, o.masterKey);
  const opts: TrustServiceOptions = { database, secrets, sources: o.sources };
  if (o.now) opts.now = o.now;
  if (o.checkIntervalMs) opts.checkIntervalMs = o.checkIntervalMs;
  let trust: TrustService;
  try {
    trust = await TrustService.open(opts);
  } catch (e) {
    await database.close();
    throw e;
  }
  const app = Fastify({ logger: false });
  installErrorBoundary(app);
  const requested: string[] = [];
  app.addHook('onRequest', async (req) => {
    requested.push(req.url);
  });
  await app.register(trustRoutes, { trust });
  let url = '';
  if (o.listen !== false) {
    await app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  } else {
    await app.ready();
  }
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await app.close();
    await database.close();
  };
  t.after(close);
  return { trust, app, database, url, requested, close };
}

function tufClient(dir: string, name: string, root: Uint8Array): { metadataDir: string; targetDir: string } {
  const metadataDir = join(dir, name, 'metadata');
  const targetDir = join(dir, name, 'targets');
  mkdirSync(metadataDir, { recursive: true });
  mkdirSync(targetDir, { recursive: true });
  writeFileSync(join(metadataDir, 'root.json'), root);
  return { metadataDir, targetDir };
}

async function fetchTarget(c: { metadataDir: string; targetDir: string }, base: string, name: string): Promise<Uint8Array> {
  const u = new Updater({ ...c, metadataBaseUrl: `${base}/tuf`, targetBaseUrl: `${base}/tuf/targets`, config: { fetchRetry: 0 } });
  await u.refresh();
  const info = await u.getTargetInfo(name);
  assert.ok(info, `${name} is listed`);
  return new Uint8Array(readFileSync(await u.downloadTarget(info)));
}

const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');

test('TUF over HTTP: tuf-js and @sigstore/tuf fetch the documents; restarts keep root.json; changes and expiry re-sign', async (t) => {
  const dir = tempDir(t);
  const dbUrl = `sqlite:${join(dir, 'db', 'signet.db')}`;
  const masterKey = randomBytes(32);
  const sources = await makeSources();
  let clock = new Date();
  const now = (): Date => clock;

  // --- first start
  let s = await start(t, { dbUrl, masterKey, sources, now });
  const root1 = s.trust.tufRoot();
  assert.deepEqual(s.trust.tufVersions(), { root: 1, targets: 1, snapshot: 1, timestamp: 1 });
  const root1Md = parseMetadata(root1, 'root');
  assert.equal(root1Md.signed.consistent_snapshot, true);
  for (const role of ['root', 'targets', 'snapshot', 'timestamp'] as const) {
    assert.equal(root1Md.signed.roles[role].keyids.length, 1);
    assert.equal((await secretCreatedAt(s.database, `trust/tuf-${role}-key`)) instanceof Date, true, `key for ${role} is sealed in the secret store`);
  }
  assert.equal(new Set(Object.values(root1Md.signed.roles).map((r) => r.keyids[0])).size, 4, 'one key per role');
  assert.equal(Date.parse(root1Md.signed.expires), Math.floor((clock.getTime() + TRUST_TUF_EXPIRIES.root * 1000) / 1000) * 1000);

  // documents over HTTP
  const tr = await s.app.inject({ url: '/api/v1/trusted_root.json' });
  assert.equal(tr.statusCode, 200);
  assert.match(String(tr.headers['content-type']), /^application\/json/);
  assert.equal(tr.headers['cache-control'], 'no-cache');
  assert.equal(tr.body, s.trust.trustedRootJson());
  assert.deepEqual(JSON.parse(tr.body), trustedRoot(sources));
  const etag = String(tr.headers.etag);
  assert.equal((await s.app.inject({ url: '/api/v1/trusted_root.json', headers: { 'if-none-match': etag } })).statusCode, 304);
  const sc = await s.app.inject({ url: '/api/v1/signing_config.v0.2.json' });
  assert.equal(sc.statusCode, 200);
  assert.deepEqual(JSON.parse(sc.body), signingConfig(sources));

  // TUF files over HTTP
  const r1 = await s.app.inject({ url: '/tuf/1.root.json' });
  assert.equal(r1.statusCode, 200);
  assert.deepEqual(new Uint8Array(r1.rawPayload), root1);
  assert.equal(r1.headers['cache-control'], 'public, max-age=31536000, immutable');
  assert.match(String(r1.headers['content-type']), /^application\/json/);
  const ts1 = await s.app.inject({ url: '/tuf/timestamp.json' });
  assert.equal(ts1.headers['cache-control'], 'no-cache');
  assert.equal((await s.app.inject({ url: '/tuf/root.json' })).headers['cache-control'], 'no-cache');
  for (const bad of ['/tuf/2.root.json', '/tuf/snapshot.json', '/tuf/targets.json', '/tuf/9.snapshot.json', `/tuf/targets/${'0'.repeat(64)}.trusted_root.json`, '/tuf/x', '/tuf/', '/tuf/..%2Fsecrets']) {
    const r = await s.app.inject({ url: bad });
    assert.equal(r.statusCode, 404, bad);
    assert.equal(r.json().code, 'NOT_FOUND', bad);
    assert.equal(typeof r.json().message, 'string');
  }

  // tuf-js, starting from 1.root.json
  const alice = tufClient(dir, 'alice', root1);
  assert.equal(text(await fetchTarget(alice, s.url, 'trusted_root.json')), tr.body);
  assert.equal(text(await fetchTarget(alice, s.url, 'signing_config.v0.2.json')), sc.body);
  for (const p of ['/tuf/2.root.json', '/tuf/timestamp.json', '/tuf/1.snapshot.json', '/tuf/1.targets.json']) assert.ok(s.requested.includes(p), p);
  assert.ok(s.requested.some((p) => /^\/tuf\/targets\/[0-9a-f]{64}\.trusted_root\.json$/.test(p)), 'consistent target path');
  // @sigstore/tuf, as sigstore.verify({tufMirrorURL, tufRootPath}) uses it
  const rootPath = join(dir, 'tuf-root.json');
  writeFileSync(rootPath, s.trust.tufRoot());
  const viaSigstore = await sigstoreTuf.getTrustedRoot({ mirrorURL: `${s.url}/tuf`, rootPath, cachePath: join(dir, 'sigstore-cache'), retry: { retries: 0 } });
  assert.deepEqual(TrustedRoot.toJSON(viaSigstore), JSON.parse(tr.body));

  // --- restart, same sources: same root, nothing re-published
  const tsBytes = await s.trust.tufFile('timestamp.json');
  await s.close();
  s = await start(t, { dbUrl, masterKey, sources, now });
  assert.deepEqual(s.trust.tufRoot(), root1);
  assert.deepEqual(s.trust.tufVersions(), { root: 1, targets: 1, snapshot: 1, timestamp: 1 });
  assert.deepEqual(await s.trust.tufFile('timestamp.json'), tsBytes);

  // --- restart with a new TSA chain: new targets; tuf-js sees the new trusted root
  const sources2: TrustSources = { ...sources, tsa: { chain: await tsaChain(sources.tsa.validFrom, 'signet test tsa root 2'), validFrom: sources.tsa.validFrom } };
  await s.close();
  s = await start(t, { dbUrl, masterKey, sources: sources2, now });
  assert.deepEqual(s.trust.tufRoot(), root1);
  assert.deepEqual(s.trust.tufVersions(), { root: 1, targets: 2, snapshot: 2, timestamp: 2 });
  const tr2 = (await s.app.inject({ url: '/api/v1/trusted_root.json' })).body;
  assert.notEqual(tr2, tr.body);
  assert.equal(JSON.parse(tr2).timestampAuthorities[0].subject.commonName, 'signet test tsa root 2');
  assert.equal(text(await fetchTarget(alice, s.url, 'trusted_root.json')), tr2);
  assert.equal((await s.app.inject({ url: '/tuf/1.targets.json' })).statusCode, 200, 'earlier versions stay served');

  // --- restart 13 hours later: the timestamp (1 day) is within half its lifetime of expiring → re-signed
  clock = new Date(clock.getTime() + 13 * HOUR);
  await s.close();
  s = await start(t, { dbUrl, masterKey, sources: sources2, now });
  assert.deepEqual(s.trust.tufVersions(), { root: 1, targets: 2, snapshot: 2, timestamp: 3 });
  const ts3 = parseMetadata((await s.trust.tufFile('timestamp.json'))!, 'timestamp').signed;
  assert.equal(Date.parse(ts3.expires), Math.floor((clock.getTime() + DAY) / 1000) * 1000);
  assert.equal(text(await fetchTarget(alice, s.url, 'trusted_root.json')), tr2);

  // --- the timer does the same while running
  await s.close();
  s = await start(t, { dbUrl, masterKey, sources: sources2, now, checkIntervalMs: 20 });
  assert.equal(s.trust.tufVersions().timestamp, 3, 'nothing due at start');
  clock = new Date(clock.getTime() + 13 * HOUR);
  for (let i = 0; i < 200 && s.trust.tufVersions().timestamp === 3; i++) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(s.trust.tufVersions(), { root: 1, targets: 2, snapshot: 2, timestamp: 4 });
  assert.equal(parseMetadata((await s.trust.tufFile('timestamp.json'))!, 'timestamp').signed.version, 4);

  // --- 4 days on, the snapshot (7 days) is due: snapshot and targets are re-signed, same targets
  clock = new Date(clock.getTime() + 4 * DAY);
  await s.close();
  s = await start(t, { dbUrl, masterKey, sources: sources2, now });
  assert.deepEqual(s.trust.tufVersions(), { root: 1, targets: 3, snapshot: 3, timestamp: 5 });
  assert.equal(text(await fetchTarget(alice, s.url, 'trusted_root.json')), tr2);

  // --- 200 days on, root (1 year) is renewed with the same keys; a new client starting from 1.root.json walks to it
  clock = new Date(clock.getTime() + 200 * DAY);
  await s.close();
  s = await start(t, { dbUrl, masterKey, sources: sources2, now });
  assert.deepEqual(s.trust.tufRoot(), root1, '1.root.json never changes');
  assert.equal(s.trust.tufVersions().root, 2);
  assert.equal((await s.app.inject({ url: '/tuf/2.root.json' })).statusCode, 200);
  const bob = tufClient(dir, 'bob', s.trust.tufRoot());
  assert.equal(text(await fetchTarget(bob, s.url, 'trusted_root.json')), tr2);
  assert.equal(parseMetadata(readFileSync(join(bob.metadataDir, 'root.json')), 'root').signed.version, 2);
  assert.equal(text(await fetchTarget(alice, s.url, 'trusted_root.json')), tr2);

  // --- a second server on the same database picks up changes instead of forking
  const other = await start(t, { dbUrl, masterKey, sources: sources2, now, listen: false });
  assert.deepEqual(other.trust.tufVersions(), s.trust.tufVersions());
  clock = new Date(clock.getTime() + 13 * HOUR);
  const before = s.trust.tufVersions();
  await s.trust.maintain();
  await other.trust.maintain();
  assert.deepEqual(s.trust.tufVersions(), { ...before, timestamp: before.timestamp + 1 });
  assert.deepEqual(other.trust.tufVersions(), s.trust.tufVersions(), 'the second server reloaded rather than re-signing again');
  assert.deepEqual(await other.trust.tufFile('timestamp.json'), await s.trust.tufFile('timestamp.json'));

  // --- another master key cannot open the TUF keys
  await other.close();
  await s.close();
  await assert.rejects(start(t, { dbUrl, masterKey: randomBytes(32), sources: sources2, now }), /cannot be opened/);
});

test('PostgreSQL: the repository persists, and concurrent servers never fork its versions', async (t) => {
  const pg = await startPostgres(t);
  const masterKey = randomBytes(32);
  const sources = await makeSources();
  let clock = new Date();
  const now = (): Date => clock;
  // Two servers starting at once on an empty database: one creates the repository, the other loads it.
  const [a, b] = await Promise.all([start(t, { dbUrl: pg.url, masterKey, sources, now }), start(t, { dbUrl: pg.url, masterKey, sources, now, listen: false })]);
  assert.deepEqual(a.trust.tufRoot(), b.trust.tufRoot());
  assert.deepEqual(a.trust.tufVersions(), { root: 1, targets: 1, snapshot: 1, timestamp: 1 });
  assert.deepEqual(b.trust.tufVersions(), a.trust.tufVersions());

  // Both re-sign the due timestamp at the same moment: one wins, the other reloads.
  clock = new Date(clock.getTime() + 13 * HOUR);
  await Promise.all([a.trust.maintain(), b.trust.maintain()]);
  assert.deepEqual(a.trust.tufVersions(), { root: 1, targets: 1, snapshot: 1, timestamp: 2 });
  assert.deepEqual(b.trust.tufVersions(), a.trust.tufVersions());
  // Both publish new documents at the same moment: exactly one new targets version.
  const sources2: TrustSources = { ...sources, tsa: { chain: await tsaChain(sources.tsa.validFrom, 'pg tsa 2'), validFrom: sources.tsa.validFrom } };
  await Promise.all([a.trust.update(sources2), b.trust.update(sources2)]);
  assert.deepEqual(a.trust.tufVersions(), { root: 1, targets: 2, snapshot: 2, timestamp: 3 });
  assert.deepEqual(b.trust.tufVersions(), a.trust.tufVersions());

  const dir = tempDir(t);
  const c = tufClient(dir, 'pg', a.trust.tufRoot());
  assert.equal(text(await fetchTarget(c, a.url, 'trusted_root.json')), a.trust.trustedRootJson());

  const root1 = a.trust.tufRoot();
  await a.close();
  await b.close();
  const again = await start(t, { dbUrl: pg.url, masterKey, sources: sources2, now });
  assert.deepEqual(again.trust.tufRoot(), root1);
  assert.deepEqual(again.trust.tufVersions(), { root: 1, targets: 2, snapshot: 2, timestamp: 3 });
  assert.equal(toBase64(again.trust.tufRoot()), toBase64(root1));
});
