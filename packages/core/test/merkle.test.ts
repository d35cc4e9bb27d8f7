import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { sharedDir } from '@signet/testkit';
import { SignetError } from '../dist/errors.js';
import {
  MemoryTree,
  TileHashReader,
  consistencyProof,
  consistencyProofPlan,
  emptyRoot,
  encodeEntryBundle,
  entriesTilePath,
  inclusionProof,
  inclusionProofLength,
  inclusionProofPlan,
  leafHash,
  nodeHash,
  parseEntryBundle,
  parseTilePath,
  partialTiles,
  readTile,
  rootAt,
  rootFromInclusionProof,
  tilePath,
  tilesForTreeSize,
  tilesToWrite,
  verifyConsistency,
  verifyInclusions,
  verifyInclusion,
  type HashReader,
  type TileRef,
} from '../dist/merkle/index.js';

const vectorsDir = join(sharedDir(), 'testdata', 'merkle');
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function jsonFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((n) => {
      const p = join(dir, n);
      return statSync(p).isDirectory() ? jsonFiles(p) : p.endsWith('.json') ? [p] : [];
    });
}

/** Parses a vector file with its integer fields as uint64 bigints (leafIdx can be 2^64-1, beyond a double). */
function readVector(file: string): Record<string, unknown> {
  const text = readFileSync(file, 'utf8').replace(/"(leafIdx|treeSize|size1|size2)"\s*:\s*(\d+)/g, '"$1":"$2"');
  const v = JSON.parse(text) as Record<string, unknown>;
  for (const k of ['leafIdx', 'treeSize', 'size1', 'size2']) if (typeof v[k] === 'string') v[k] = BigInt(v[k] as string);
  return v;
}

const b64 = (s: unknown): Uint8Array => new Uint8Array(Buffer.from(s as string, 'base64'));
const proofOf = (p: unknown): Uint8Array[] => (p === null ? [] : (p as string[]).map(b64));

/** A verification outcome where a thrown SignetError counts as failure; any other exception fails the test. */
function outcome(f: () => boolean): boolean {
  try {
    return f();
  } catch (e) {
    if (e instanceof SignetError) return false;
    throw e;
  }
}

// The subtreeinclusion/ and subtreeconsistency/ vectors are skipped: they test upstream's range
// [start, end) subtree proofs, which are not RFC 6962 proofs and are not implemented here.
test('every RFC 6962 inclusion vector: verifies iff wantErr is false', () => {
  const files = jsonFiles(join(vectorsDir, 'inclusion'));
  assert.equal(files.length, 98);
  let passes = 0;
  for (const f of files) {
    const v = readVector(f);
    const ok = outcome(() => verifyInclusion(v.leafIdx as bigint, v.treeSize as bigint, b64(v.leafHash), proofOf(v.proof), b64(v.root)));
    assert.equal(ok, v.wantErr === false, `${relative(vectorsDir, f)} (${String(v.desc)})`);
    if (ok) passes++;
  }
  assert.equal(passes, 6);
});

test('every RFC 6962 consistency vector: verifies iff wantErr is false', () => {
  const files = jsonFiles(join(vectorsDir, 'consistency'));
  assert.equal(files.length, 98);
  let passes = 0;
  for (const f of files) {
    const v = readVector(f);
    const ok = outcome(() => verifyConsistency(v.size1 as bigint, v.size2 as bigint, proofOf(v.proof), b64(v.root1), b64(v.root2)));
    assert.equal(ok, v.wantErr === false, `${relative(vectorsDir, f)} (${String(v.desc)})`);
    if (ok) passes++;
  }
  assert.equal(passes, 6);
});

// ---- A naive reference straight from RFC 6962 §2.1 (MTH), §2.1.1 (PATH) and §2.1.2 (PROOF/SUBPROOF). ----
// Hashing is done here independently of the code under test. MTH over D[a:b] is memoised by range, since
// all trees below share the same leaves.
const sha = (...parts: Uint8Array[]): Uint8Array => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};
const N = 300;
const data = Array.from({ length: N }, (_, i) => new TextEncoder().encode(`leaf ${i}`));
const leaves = data.map((d) => sha(Uint8Array.of(0), d));
const memo = new Map<number, Uint8Array>();
const splitPoint = (n: number): number => {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k; // the largest power of two smaller than n
};
function mth(a: number, b: number): Uint8Array {
  const key = a * 100_000 + b;
  const hit = memo.get(key);
  if (hit) return hit;
  const n = b - a;
  let r: Uint8Array;
  if (n === 0) r = sha();
  else if (n === 1) r = leaves[a]!;
  else {
    const k = splitPoint(n);
    r = sha(Uint8Array.of(1), mth(a, a + k), mth(a + k, b));
  }
  memo.set(key, r);
  return r;
}
function path(m: number, a: number, b: number): Uint8Array[] {
  const n = b - a;
  if (n === 1) return [];
  const k = splitPoint(n);
  return m < k ? [...path(m, a, a + k), mth(a + k, b)] : [...path(m - k, a + k, b), mth(a, a + k)];
}
function subproof(m: number, a: number, b: number, whole: boolean): Uint8Array[] {
  const n = b - a;
  if (m === n) return whole ? [] : [mth(a, b)];
  const k = splitPoint(n);
  return m <= k ? [...subproof(m, a, a + k, whole), mth(a + k, b)] : [...subproof(m - k, a + k, b, false), mth(a, a + k)];
}
const naiveProof = (m: number, n: number): Uint8Array[] => subproof(m, 0, n, true);

/** Fast equality for hash lists (assert.deepEqual is slow over tens of thousands of proofs). */
const sameHashes = (a: Uint8Array[], b: Uint8Array[]): boolean =>
  a.length === b.length && a.every((h, i) => Buffer.compare(h, b[i]!) === 0);

const tree = new MemoryTree();
for (const d of data) tree.appendData(d);

test('hash primitives match RFC 6962 §2.1', () => {
  assert.equal(hex(emptyRoot()), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  assert.equal(hex(leafHash(new Uint8Array())), '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d');
  assert.deepEqual(nodeHash(leaves[0]!, leaves[1]!), sha(Uint8Array.of(1), leaves[0]!, leaves[1]!));
  assert.equal(tree.size, N);
  assert.deepEqual(new MemoryTree().root(), emptyRoot());
});

test('MemoryTree roots equal the naive MTH at every size 0..300', () => {
  for (let n = 0; n <= N; n++) assert.deepEqual(tree.root(n), mth(0, n), `size ${n}`);
  assert.deepEqual(tree.root(), mth(0, N));
});

test('inclusion proofs for every index of every size 1..300 equal the naive PATH and verify', () => {
  for (let n = 1; n <= N; n++) {
    const root = mth(0, n);
    for (let i = 0; i < n; i++) {
      const p = tree.inclusionProof(i, n);
      assert.ok(sameHashes(p, path(i, 0, n)), `PATH(${i}, ${n})`);
      assert.ok(verifyInclusion(i, n, leaves[i]!, p, root), `verify ${i} in ${n}`);
      if (i % 37 === 0) assert.deepEqual(rootFromInclusionProof(BigInt(i), BigInt(n), leaves[i]!, p), root);
    }
  }
});

test('consistency proofs for every 1 ≤ m ≤ n ≤ 300 equal the naive PROOF and verify', () => {
  for (let n = 1; n <= N; n++) {
    const root2 = mth(0, n);
    for (let m = 1; m <= n; m++) {
      const p = tree.consistencyProof(m, n);
      assert.ok(sameHashes(p, naiveProof(m, n)), `PROOF(${m}, ${n})`);
      assert.ok(verifyConsistency(m, n, p, mth(0, m), root2), `verify ${m} → ${n}`);
    }
  }
});

function flipped(proof: Uint8Array[], j: number, bit: number): Uint8Array[] {
  return proof.map((h, k) => {
    if (k !== j) return h;
    const c = h.slice();
    c[bit >> 3]! ^= 1 << (bit & 7);
    return c;
  });
}

test('mutated inclusion proofs fail: flipped bits, dropped/extra hashes, wrong index, size, leaf or root', () => {
  const sizes = [...Array.from({ length: 40 }, (_, i) => i + 1), 63, 64, 65, 127, 128, 129, 200, 255, 256, 257, 299, 300].filter((n) => n <= N);
  for (const n of sizes) {
    const root = mth(0, n);
    for (let i = 0; i < n; i++) {
      const p = tree.inclusionProof(i, n);
      const leaf = leaves[i]!;
      for (let j = 0; j < p.length; j++) {
        for (const bit of [0, 131, 255]) assert.equal(verifyInclusion(i, n, leaf, flipped(p, j, bit), root), false);
      }
      if (p.length > 0) assert.equal(verifyInclusion(i, n, leaf, p.slice(0, -1), root), false, 'dropped');
      if (p.length > 0) assert.equal(verifyInclusion(i, n, leaf, p.slice(1), root), false, 'dropped first');
      assert.equal(verifyInclusion(i, n, leaf, [...p, leaves[0]!], root), false, 'extra');
      assert.equal(verifyInclusion(i, n, leaf, [leaves[0]!, ...p], root), false, 'extra first');
      if (i + 1 < n) assert.equal(verifyInclusion(i + 1, n, leaf, p, root), false, 'index + 1');
      if (i > 0) assert.equal(verifyInclusion(i - 1, n, leaf, p, root), false, 'index - 1');
      if (n < N) assert.equal(verifyInclusion(i, n + 1, leaf, p, mth(0, n + 1)), false, 'size + 1');
      if (i < n - 1) assert.equal(verifyInclusion(i, n - 1, leaf, p, mth(0, n - 1)), false, 'size - 1');
      assert.equal(verifyInclusion(i, n, leaves[(i + 1) % N]!, p, root), false, 'other leaf');
      assert.equal(verifyInclusion(i, n, leaf, p, flipped([root], 0, 7)[0]!), false, 'other root');
      assert.equal(verifyInclusion(i, n, leaf, p, root.subarray(0, 31)), false, 'short root');
    }
  }
});

test('batch inclusion proofs equal single ones and share identical hashes; batch verification answers as verifyInclusion does', () => {
  for (const n of [1, 2, 3, 5, 8, 13, 64, 100, 255, 256, 257, 300]) {
    const root = mth(0, n);
    const all = Array.from({ length: n }, (_, i) => i);
    const proofs = tree.inclusionProofs(all, n);
    for (const i of all) assert.ok(sameHashes(proofs[i]!, tree.inclusionProof(i, n)), `proof ${i} in ${n}`);
    if (n >= 4) assert.equal(proofs[0]![proofs[0]!.length - 1], proofs[1]![proofs[1]!.length - 1], 'the shared top sibling is one object');
    const claims = all.map((i) => ({ leafIndex: i, leafHash: leaves[i]!, proof: proofs[i]! }));
    assert.deepEqual(verifyInclusions(n, root, claims), all.map(() => true), `all of ${n}`);
    // Out of order, repeated, and a tail of the batch: the same answers.
    const shuffled = [...claims].reverse().concat(claims.slice(0, 3));
    assert.deepEqual(verifyInclusions(n, root, shuffled), shuffled.map(() => true));
    assert.deepEqual(verifyInclusions(n, flipped([root], 0, 1)[0]!, claims), all.map(() => false), 'wrong root');
    // One claim tampered (its own copy of a shared hash, a wrong leaf, a wrong index): only it fails, wherever it is.
    for (const bad of [0, Math.floor(n / 2), n - 1]) {
      for (const mutate of [
        (c: (typeof claims)[number]) => ({ ...c, proof: c.proof.length ? flipped(c.proof, c.proof.length - 1, 9) : [leaves[0]!] }),
        (c: (typeof claims)[number]) => ({ ...c, proof: c.proof.length ? flipped(c.proof, 0, 200) : [leaves[0]!] }),
        (c: (typeof claims)[number]) => ({ ...c, leafHash: leaves[(bad + 1) % N]! }),
        (c: (typeof claims)[number]) => ({ ...c, leafIndex: (Number(c.leafIndex) + 1) % n }),
        (c: (typeof claims)[number]) => ({ ...c, proof: c.proof.slice(1) }),
        (c: (typeof claims)[number]) => ({ ...c, proof: [...c.proof, leaves[0]!] }),
      ]) {
        const tampered = claims.map((c, k) => (k === bad ? mutate(c) : c));
        const single = tampered.map((c) => verifyInclusion(c.leafIndex, n, c.leafHash, c.proof, root));
        assert.deepEqual(verifyInclusions(n, root, tampered), single, `n ${n}, claim ${bad}`);
        if (n > 1) assert.equal(single[bad], false);
      }
    }
    // A shared hash object corrupted in place: every proof that holds it fails, the others still verify.
    if (n >= 4) {
      const copy = proofs.map((p) => [...p]);
      const shared = copy[0]![copy[0]!.length - 1]!.slice();
      const target = copy[0]![copy[0]!.length - 1]!;
      const holders = copy.map((p) => p.includes(target));
      const corrupted = copy.map((p) => p.map((h) => (h === target ? flipped([shared], 0, 3)[0]! : h)));
      const got = verifyInclusions(n, root, all.map((i) => ({ leafIndex: i, leafHash: leaves[i]!, proof: corrupted[i]! })));
      assert.deepEqual(got, holders.map((h) => !h));
    }
  }
  assert.deepEqual(verifyInclusions(5, mth(0, 5), []), []);
  assert.deepEqual(verifyInclusions(5, mth(0, 5), [{ leafIndex: 5, leafHash: leaves[5]!, proof: [] }]), [false], 'index beyond the size');
});

test('mutated consistency proofs fail: flipped bits, dropped/extra hashes, wrong sizes, swapped roots', () => {
  const sizes = [...Array.from({ length: 33 }, (_, i) => i + 1), 64, 65, 100, 128, 129, 255, 256, 257, 300];
  for (const n of sizes) {
    const root2 = mth(0, n);
    for (let m = 1; m <= n; m++) {
      const root1 = mth(0, m);
      const p = tree.consistencyProof(m, n);
      for (let j = 0; j < p.length; j++) {
        for (const bit of [0, 200]) assert.equal(verifyConsistency(m, n, flipped(p, j, bit), root1, root2), false, `flip ${m}→${n} #${j}`);
      }
      if (p.length > 0) {
        assert.equal(verifyConsistency(m, n, p.slice(0, -1), root1, root2), false, 'dropped');
        assert.equal(verifyConsistency(m, n, p.slice(1), root1, root2), false, 'dropped first');
      }
      assert.equal(verifyConsistency(m, n, [...p, leaves[0]!], root1, root2), false, 'extra');
      assert.equal(verifyConsistency(m, n, [root1, ...p], root1, root2), false, 'extra first');
      if (m < n) {
        assert.equal(verifyConsistency(m + 1, n, p, mth(0, m + 1), root2), false, 'size1 + 1');
        if (m > 1) assert.equal(verifyConsistency(m - 1, n, p, mth(0, m - 1), root2), false, 'size1 - 1');
        if (n < N) assert.equal(verifyConsistency(m, n + 1, p, root1, mth(0, n + 1)), false, 'size2 + 1');
        if (n - 1 > m) assert.equal(verifyConsistency(m, n - 1, p, root1, mth(0, n - 1)), false, 'size2 - 1');
        assert.equal(verifyConsistency(m, n, p, root2, root1), false, 'swapped roots');
        assert.equal(verifyConsistency(m, n, p, flipped([root1], 0, 3)[0]!, root2), false, 'other root1');
        assert.equal(verifyConsistency(m, n, p, root1, flipped([root2], 0, 3)[0]!), false, 'other root2');
      } else {
        assert.equal(verifyConsistency(m, n, [root1], root1, root2), false, 'equal sizes need an empty proof');
      }
      assert.equal(verifyConsistency(0, n, p, root1, root2), false, 'size1 = 0');
    }
  }
});

test('the generic async API over any HashReader gives the same proofs and roots', async () => {
  const asyncReader: HashReader = { getHash: async (level, index) => tree.getHash(level, index) };
  for (const n of [1, 2, 3, 7, 8, 9, 100, 255, 256, 257, 300]) {
    assert.deepEqual(await rootAt(n, tree), mth(0, n));
    assert.deepEqual(await rootAt(n, asyncReader), mth(0, n));
    for (const i of [0, Math.floor(n / 2), n - 1]) {
      assert.deepEqual(await inclusionProof(i, n, asyncReader), path(i, 0, n));
      assert.deepEqual(await inclusionProof(BigInt(i), BigInt(n), tree), path(i, 0, n));
    }
    for (const m of [1, Math.ceil(n / 3), n]) assert.deepEqual(await consistencyProof(m, n, asyncReader), naiveProof(m, n));
  }
  assert.deepEqual(await rootAt(0, tree), emptyRoot());
  // A reader that returns garbage is a typed error, not a crash.
  const bad: HashReader = { getHash: () => new Uint8Array(3) };
  await assert.rejects(inclusionProof(0, 2, bad), (e: unknown) => e instanceof SignetError && e.code === 'MALFORMED_INPUT');
});

test('argument validation: uint64 indexes, typed errors, no crash at 2^64-1', () => {
  const max = (1n << 64n) - 1n;
  const isCode = (code: string) => (e: unknown) => e instanceof SignetError && e.code === code;
  assert.equal(verifyInclusion(max, 8, leaves[0]!, [leaves[1]!, leaves[2]!, leaves[3]!], mth(0, 8)), false);
  assert.equal(verifyInclusion(max - 1n, max, leaves[0]!, [], mth(0, 8)), false);
  assert.throws(() => rootFromInclusionProof(max, max, leaves[0]!, []), isCode('MALFORMED_INPUT'));
  assert.throws(() => verifyInclusion(max + 1n, 8, leaves[0]!, [], leaves[0]!), isCode('INVALID_ARGUMENT'));
  assert.throws(() => verifyInclusion(-1, 8, leaves[0]!, [], leaves[0]!), isCode('INVALID_ARGUMENT'));
  assert.throws(() => verifyInclusion(1.5, 8, leaves[0]!, [], leaves[0]!), isCode('INVALID_ARGUMENT'));
  assert.throws(() => verifyInclusion(2 ** 53, 2 ** 54, leaves[0]!, [], leaves[0]!), isCode('INVALID_ARGUMENT'));
  assert.throws(() => verifyConsistency(1, Number.NaN, [], leaves[0]!, leaves[0]!), isCode('INVALID_ARGUMENT'));
  assert.throws(() => rootFromInclusionProof(3, 2, leaves[0]!, []), /leaf index 3 is not below the tree size 2/);
  assert.throws(() => rootFromInclusionProof(0, 2, leaves[0]!, []), /has 0 hashes; leaf 0 in a tree of 2 needs exactly 1/);
  assert.throws(() => rootFromInclusionProof(0, 2, leaves[0]!.subarray(1), [leaves[1]!]), /leaf hash is 31 bytes/);
  assert.throws(() => rootFromInclusionProof(0, 2, leaves[0]!, [new Uint8Array(33)]), /proof hash 0 is 33 bytes/);
  // A 2^64-1-leaf tree: the proof for its last leaf is 64 hashes long; computing a root is fine.
  assert.equal(inclusionProofLength(max - 1n, max), 63);
  const big = Array.from({ length: 63 }, () => leaves[5]!);
  assert.equal(rootFromInclusionProof(max - 1n, max, leaves[0]!, big).length, 32);
  assert.throws(() => consistencyProofPlan(0, 5), isCode('INVALID_ARGUMENT'));
  assert.throws(() => consistencyProofPlan(6, 5), isCode('INVALID_ARGUMENT'));
  assert.deepEqual(consistencyProofPlan(5, 5), []);
  assert.throws(() => inclusionProofPlan(5, 5), isCode('INVALID_ARGUMENT'));
  assert.throws(() => tree.getHash(1, 150), isCode('INVALID_ARGUMENT')); // leaves 300..301 do not exist
  assert.throws(() => tree.inclusionProof(0, N + 1), isCode('INVALID_ARGUMENT'));
  assert.throws(() => new MemoryTree().append(new Uint8Array(31)), isCode('INVALID_ARGUMENT'));
});

test('proof plans stay exact beyond 32 bits and read only complete subtrees', () => {
  const cases: [number, number][] = [
    [2 ** 40 + 5, 2 ** 41 + 3],
    [2 ** 52, 2 ** 53 - 1],
    [2 ** 53 - 2, 2 ** 53 - 1],
    [0, 2 ** 50 + 1],
    [3_000_000_000, 4_294_967_297],
  ];
  for (const [i, n] of cases) {
    const plans = inclusionProofPlan(i, n);
    assert.equal(plans.length, inclusionProofLength(i, n), `${i} in ${n}`);
    for (const id of plans.flat()) assert.ok((id.index + 1) * 2 ** id.level <= n && Number.isSafeInteger(id.index));
    const cplans = consistencyProofPlan(i + 1, n);
    for (const id of cplans.flat()) assert.ok((id.index + 1) * 2 ** id.level <= n);
    assert.ok(plans.flat().length <= 2 * 53 && cplans.flat().length <= 3 * 53);
  }
});

// ---- C2SP tlog-tiles ----
test('tile paths: formatting per tlog-tiles', () => {
  assert.equal(tilePath(0, 1234067), 'tile/0/x001/x234/067');
  assert.equal(tilePath(0, 0), 'tile/0/000');
  assert.equal(tilePath(2, 1000), 'tile/2/x001/000');
  assert.equal(tilePath(1, 0, 17), 'tile/1/000.p/17');
  assert.equal(tilePath(63, 5, 256), 'tile/63/005');
  assert.equal(entriesTilePath(1234067, 1), 'tile/entries/x001/x234/067.p/1');
  assert.equal(entriesTilePath(999), 'tile/entries/999');
  for (const [l, i, w] of [[64, 0, 1], [-1, 0, 1], [0, -1, 1], [0, 0, 0], [0, 0, 257], [0, 1.5, 1]] as const) {
    assert.throws(() => tilePath(l, i, w), SignetError);
  }
});

test('tile paths: parse round trips and rejects non-canonical spellings', () => {
  for (const index of [0, 1, 999, 1000, 1001, 255_999, 1234067, 1_000_000_000, Number.MAX_SAFE_INTEGER]) {
    for (const width of [1, 17, 255, 256]) {
      for (const level of [0, 1, 9, 63]) assert.deepEqual(parseTilePath(tilePath(level, index, width)), { kind: 'hashes', level, index, width });
      assert.deepEqual(parseTilePath(entriesTilePath(index, width)), { kind: 'entries', index, width });
    }
  }
  const bad = [
    'tile/01/000', 'tile/64/000', 'tile/100/000', 'tile/-1/000', 'tile/0/1', 'tile/0/01', 'tile/0/0000', 'tile/0/001/002',
    'tile/0/x000/001', 'tile/0/x01/001', 'tile/0/X001/001', 'tile/0/x001', 'tile/0/000.p/0', 'tile/0/000.p/256',
    'tile/0/000.p/007', 'tile/0/000.p/', 'tile/0/000.p/1/', 'tile/0/000/', '/tile/0/000', 'tile/0/000.p/10.p/1',
    'tile/entries/x1/000', 'tile/entries/000.p/300', 'tile/entry/000', 'tile/0/x999/x999/x999/x999/x999/x999/999',
    'tile/0/000 ', 'tile\\0\\000', '', 'tile/a/000',
  ];
  for (const p of bad) assert.throws(() => parseTilePath(p), (e: unknown) => e instanceof SignetError && e.code === 'MALFORMED_INPUT', p);
});

test('tiles of a tree: full and partial tiles per level, as the tlog-tiles examples', () => {
  const t70k = tilesForTreeSize(70_000);
  const byLevel = (l: number): TileRef[] => t70k.filter((t) => t.level === l);
  assert.equal(byLevel(0).length, 274);
  assert.equal(byLevel(0).filter((t) => t.width === 256).length, 273);
  assert.deepEqual(byLevel(0).at(-1), { level: 0, index: 273, width: 112 });
  assert.deepEqual(byLevel(1), [{ level: 1, index: 0, width: 256 }, { level: 1, index: 1, width: 17 }]);
  assert.deepEqual(byLevel(2), [{ level: 2, index: 0, width: 1 }]);
  assert.equal(t70k.length, 277);
  assert.deepEqual(partialTiles(70_000), [{ level: 0, index: 273, width: 112 }, { level: 1, index: 1, width: 17 }, { level: 2, index: 0, width: 1 }]);
  assert.deepEqual(tilesForTreeSize(256), [{ level: 0, index: 0, width: 256 }, { level: 1, index: 0, width: 1 }]);
  assert.deepEqual(tilesForTreeSize(0), []);
  assert.deepEqual(tilesToWrite(0, 70_000), t70k);
  assert.deepEqual(tilesToWrite(70_000, 70_000), []);
  assert.deepEqual(tilesToWrite(70_000, 70_200), [
    { level: 0, index: 273, width: 256 },
    { level: 0, index: 274, width: 56 },
    { level: 1, index: 1, width: 18 },
  ]);
});

test('a TileHashReader over tiles written from a MemoryTree gives the same roots and proofs', async () => {
  const big = new MemoryTree();
  for (let i = 0; i < 70_000; i++) big.append(sha(Uint8Array.of(0), Uint8Array.of(i & 255, (i >> 8) & 255, i >> 16)));
  for (const size of [1, 255, 256, 257, 511, 65_535, 65_536, 65_537, 70_000]) {
    const files = new Map<string, Uint8Array>();
    for (const t of tilesForTreeSize(size)) files.set(tilePath(t.level, t.index, t.width), await readTile(big, t.level, t.index, t.width));
    let fetches = 0;
    const fetch = (t: TileRef): Uint8Array => {
      fetches++;
      const f = files.get(tilePath(t.level, t.index, t.width));
      if (!f) throw new Error(`missing ${tilePath(t.level, t.index, t.width)}`);
      return f;
    };
    const sync = new TileHashReader(fetch, size);
    const asyncReader = new TileHashReader(async (t) => fetch(t), size);
    assert.deepEqual(await rootAt(size, sync), big.root(size), `root ${size}`);
    assert.deepEqual(await rootAt(size, asyncReader), big.root(size));
    for (const i of [0, 1, 255, 256, Math.floor(size / 2), size - 2, size - 1].filter((x) => x >= 0 && x < size)) {
      assert.deepEqual(await inclusionProof(i, size, sync), big.inclusionProof(i, size), `proof ${i}/${size}`);
      assert.deepEqual(await inclusionProof(i, size, asyncReader), big.inclusionProof(i, size));
    }
    for (const m of [1, 256, 300, size - 1].filter((x) => x >= 1 && x <= size)) {
      assert.deepEqual(await consistencyProof(m, size, asyncReader), big.consistencyProof(m, size), `consistency ${m}/${size}`);
    }
    assert.ok(fetches <= files.size * 2, 'tiles are cached per reader');
  }
  // A tile of the wrong length is a typed error.
  const short = new TileHashReader(() => new Uint8Array(64), 70_000);
  assert.throws(() => short.getHash(0, 5), (e: unknown) => e instanceof SignetError && e.code === 'MALFORMED_INPUT');
  assert.throws(() => short.getHash(0, 70_000), (e: unknown) => e instanceof SignetError && e.code === 'INVALID_ARGUMENT');
});

test('entry bundles: uint16 length prefixes, round trip and truncation', () => {
  const entries = [new Uint8Array(0), new Uint8Array([1, 2, 3]), new Uint8Array(300).fill(7)];
  const bundle = encodeEntryBundle(entries);
  assert.deepEqual(Array.from(bundle.subarray(0, 7)), [0, 0, 0, 3, 1, 2, 3]);
  assert.deepEqual(parseEntryBundle(bundle, 3), entries);
  assert.throws(() => parseEntryBundle(bundle, 4), SignetError);
  assert.throws(() => parseEntryBundle(bundle.subarray(0, bundle.length - 1)), SignetError);
  assert.throws(() => parseEntryBundle(bundle.subarray(0, 1)), SignetError);
  assert.throws(() => encodeEntryBundle([new Uint8Array(65_536)]), SignetError);
  assert.throws(() => encodeEntryBundle([]), SignetError);
});
