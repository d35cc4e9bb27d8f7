#!/usr/bin/env node
// Builds a 1,000,000-leaf MemoryTree and times inclusion proofs for 10,000 random indexes: the generic
// async inclusionProof(i, n, reader) with the tree as HashReader, and the tree's own synchronous method.
// Prints JSON (times in milliseconds). Every proof is then verified against the root, outside the timing.
import os from 'node:os';
import { MemoryTree, inclusionProof, leafHash, verifyInclusion } from '../../packages/core/dist/merkle/index.js';

const LEAVES = Number(process.env.BENCH_LEAVES ?? 1_000_000);
const PROOFS = Number(process.env.BENCH_PROOFS ?? 10_000);

// Deterministic PRNG (mulberry32) so runs are comparable.
let seed = 0x5eed;
const rand = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

const tree = new MemoryTree();
const buf = new Uint8Array(8);
const view = new DataView(buf.buffer);
let t0 = process.hrtime.bigint();
for (let i = 0; i < LEAVES; i++) {
  view.setUint32(4, i);
  tree.append(leafHash(buf));
}
const buildMs = Number(process.hrtime.bigint() - t0) / 1e6;
const root = tree.root();

const indexes = Array.from({ length: PROOFS }, () => Math.floor(rand() * LEAVES));

function stats(times) {
  const sorted = [...times].sort((a, b) => a - b);
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  return { mean: +mean.toFixed(4), p50: +at(0.5).toFixed(4), p99: +at(0.99).toFixed(4), max: +sorted.at(-1).toFixed(4) };
}

// Warm up both paths.
for (let i = 0; i < 500; i++) {
  await inclusionProof(indexes[i], LEAVES, tree);
  tree.inclusionProof(indexes[i]);
}

const asyncTimes = [];
const proofs = [];
for (const i of indexes) {
  t0 = process.hrtime.bigint();
  const p = await inclusionProof(i, LEAVES, tree);
  asyncTimes.push(Number(process.hrtime.bigint() - t0) / 1e6);
  proofs.push(p);
}
const syncTimes = [];
for (const i of indexes) {
  t0 = process.hrtime.bigint();
  tree.inclusionProof(i);
  syncTimes.push(Number(process.hrtime.bigint() - t0) / 1e6);
}
const verifyTimes = [];
let verified = 0;
indexes.forEach((i, k) => {
  view.setUint32(4, i);
  const leaf = leafHash(buf);
  t0 = process.hrtime.bigint();
  const ok = verifyInclusion(i, LEAVES, leaf, proofs[k], root);
  verifyTimes.push(Number(process.hrtime.bigint() - t0) / 1e6);
  if (ok) verified++;
});

console.log(
  JSON.stringify(
    {
      bench: 'merkle-inclusion-proof',
      leaves: LEAVES,
      proofs: PROOFS,
      buildMs: +buildMs.toFixed(1),
      rootHex: Buffer.from(root).toString('hex'),
      inclusionProofAsyncMs: stats(asyncTimes),
      inclusionProofSyncMs: stats(syncTimes),
      verifyInclusionMs: stats(verifyTimes),
      verified,
      node: process.version,
      cpus: os.cpus().length,
      cpu: os.cpus()[0]?.model,
    },
    null,
    2,
  ),
);
if (verified !== PROOFS) process.exitCode = 1;
