#!/usr/bin/env node
// Verifies N key-based Sigstore bundles over 1 KiB blobs with Signet's core and with @sigstore/verify
// (3.1.x, the newest line on Node 20) in the same run, and prints JSON with both rates and the ratio.
// Both sides parse each bundle from its JSON text and check the artifact digest and the signature.
import { randomBytes, createHash } from 'node:crypto';
import os from 'node:os';
import { Verifier, toSignedEntity, toTrustMaterial } from '@sigstore/verify';
import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import {
  fromHex,
  generateKeyPair,
  messageSignatureBundle,
  parseTrustMaterial,
  publicKeyPem,
  signData,
  spkiFingerprint,
  toBase64,
  utf8,
  verify,
} from '@signet/core';

const N = Number(process.env.BENCH_N ?? 10_000);
const BLOB = 1024;
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);

const { privateKey, publicKey } = await generateKeyPair('ecdsa-p256');
const hint = toBase64(fromHex(spkiFingerprint(publicKey)));
const blobs = [];
const bundles = [];
for (let i = 0; i < N; i++) {
  const blob = new Uint8Array(randomBytes(BLOB));
  const sig = await signData(privateKey, blob);
  blobs.push(blob);
  bundles.push(JSON.stringify(messageSignatureBundle({ key: { hint }, digest: { algorithm: 'sha256', value: new Uint8Array(createHash('sha256').update(blob).digest()) }, signature: sig })));
}

// Trust material is parsed once, as a long-running verifier would.
const trust = { keys: parseTrustMaterial(utf8(publicKeyPem(publicKey))) };
async function runSignet() {
  let ok = 0;
  let next = 0;
  const worker = async () => {
    while (next < N) {
      const i = next++;
      const v = await verify({ artifact: { bytes: blobs[i] }, signature: bundles[i], trust });
      if (v.ok) ok++;
    }
  };
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return { ok, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
}

const root = TrustedRoot.fromJSON({ mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1', tlogs: [], certificateAuthorities: [], ctlogs: [], timestampAuthorities: [] });
// sigstore-js's own way to hold a key in the trust material: a record from hint to PublicKey
// (SPKI bytes, key details, validity), as its tests and the sigstore facade's keySelector do.
const keys = { [hint]: { rawBytes: Buffer.from(publicKey.export({ type: 'spki', format: 'der' })), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start: new Date(0) } } };
const verifier = new Verifier(toTrustMaterial(root, keys), { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 });
// For transparency, also a sigstore-js set-up that caches the parsed key itself (function key finder).
const cachedVerifier = new Verifier(
  toTrustMaterial(root, (h) => {
    if (h !== hint) throw new Error('unknown key');
    return { publicKey, validFor: () => true };
  }),
  { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 },
);
function runSigstore(v = verifier) {
  let ok = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) {
    try {
      v.verify(toSignedEntity(bundleFromJSON(JSON.parse(bundles[i])), Buffer.from(blobs[i].buffer, blobs[i].byteOffset, blobs[i].length)));
      ok++;
    } catch {
      // counted as a failure
    }
  }
  return { ok, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
}

// Warm both paths, then measure each twice, alternating, and keep each side's best run.
const warm = Math.min(500, N);
for (let i = 0; i < warm; i++) {
  await verify({ artifact: { bytes: blobs[i] }, signature: bundles[i], trust });
  verifier.verify(toSignedEntity(bundleFromJSON(JSON.parse(bundles[i])), Buffer.from(blobs[i])));
}
const runs = { signet: [], sigstore: [], sigstoreCached: [] };
for (let r = 0; r < 2; r++) {
  runs.signet.push(await runSignet());
  runs.sigstore.push(runSigstore());
  runs.sigstoreCached.push(runSigstore(cachedVerifier));
}
const best = (xs) => xs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
const s = best(runs.signet);
const g = best(runs.sigstore);
const gc = best(runs.sigstoreCached);
const rate = (x) => Math.round(N / x.seconds);
const result = {
  benchmark: 'verify-blob',
  bundles: N,
  blobBytes: BLOB,
  key: 'ecdsa-p256',
  node: process.version,
  cpus: os.cpus().length,
  signet: { verified: s.ok, seconds: +s.seconds.toFixed(3), perSecond: rate(s), concurrency: CONCURRENCY },
  sigstoreVerify: { version: '3.1.x', keySource: 'toTrustMaterial(root, {hint: PublicKey})', verified: g.ok, seconds: +g.seconds.toFixed(3), perSecond: rate(g) },
  sigstoreVerifyCachedKey: { keySource: 'toTrustMaterial(root, hint => cached KeyObject)', verified: gc.ok, seconds: +gc.seconds.toFixed(3), perSecond: rate(gc) },
  ratio: +(rate(s) / rate(g)).toFixed(2),
  ratioVsCachedKey: +(rate(s) / rate(gc)).toFixed(2),
  target: 3,
};
result.met = result.ratio >= result.target && s.ok === N && g.ok === N;
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
