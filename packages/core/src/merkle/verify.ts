/**
 * RFC 6962 proof verification, using the algorithms of RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2
 * (consistency), restated as "inner" levels (where the path to the leaf differs from the path to the
 * last leaf: a sibling at every level) and "border" levels (on the right edge: a left sibling only where
 * the index bit is set).
 *
 * Error contract: verifyInclusion and verifyConsistency return false for every proof that does not prove
 * what is claimed, including proofs of the wrong length, hashes that are not 32 bytes and impossible
 * index/size combinations. They throw a SignetError INVALID_ARGUMENT only for misuse: an index or size
 * that is not a uint64 integer, or arguments that are not byte arrays. rootFromInclusionProof throws
 * MALFORMED_INPUT when no root can be computed from its input.
 */
import { SignetError } from '../errors.js';
import { bytesEqual } from '../encoding/bytes.js';
import { HASH_SIZE, nodeHash, toUint64, type TreeIndex } from './hash.js';

function bitLength(x: bigint): number {
  return x === 0n ? 0 : x.toString(2).length;
}

function popCount(x: bigint): number {
  let n = 0;
  for (let v = x; v > 0n; v >>= 1n) if (v & 1n) n++;
  return n;
}

/** Levels of an inclusion path for `index` in a tree whose last leaf is `last` (RFC 9162 §2.1.3.2). */
function decompose(index: bigint, last: bigint): { inner: number; border: number } {
  const inner = bitLength(index ^ last);
  return { inner, border: popCount(index >> BigInt(inner)) };
}

function checkBytes(v: unknown, what: string): asserts v is Uint8Array {
  if (!(v instanceof Uint8Array)) throw new SignetError('INVALID_ARGUMENT', `${what} must be a Uint8Array`);
}

function checkProofArray(proof: unknown): asserts proof is Uint8Array[] {
  if (!Array.isArray(proof)) throw new SignetError('INVALID_ARGUMENT', 'the proof must be an array of hashes');
  proof.forEach((h, i) => checkBytes(h, `proof hash ${i}`));
}

/** The expected number of hashes in an inclusion proof for `leafIndex` in a tree of `treeSize` (> leafIndex). */
export function inclusionProofLength(leafIndex: TreeIndex, treeSize: TreeIndex): number {
  const i = toUint64(leafIndex, 'leaf index');
  const n = toUint64(treeSize, 'tree size');
  if (i >= n) throw new SignetError('INVALID_ARGUMENT', `leaf index ${i} is not below the tree size ${n}`);
  const { inner, border } = decompose(i, n - 1n);
  return inner + border;
}

/**
 * Computes the root hash implied by an inclusion proof (RFC 9162 §2.1.3.2). Throws MALFORMED_INPUT when
 * the index is not below the tree size, when a hash is not 32 bytes, or when the proof does not have
 * exactly the length the index and size require.
 */
export function rootFromInclusionProof(leafIndex: TreeIndex, treeSize: TreeIndex, leafHash: Uint8Array, proof: Uint8Array[]): Uint8Array {
  const i = toUint64(leafIndex, 'leaf index');
  const n = toUint64(treeSize, 'tree size');
  checkBytes(leafHash, 'the leaf hash');
  checkProofArray(proof);
  if (i >= n) throw new SignetError('MALFORMED_INPUT', `leaf index ${i} is not below the tree size ${n}`);
  if (leafHash.length !== HASH_SIZE) throw new SignetError('MALFORMED_INPUT', `the leaf hash is ${leafHash.length} bytes, not ${HASH_SIZE}`);
  const bad = proof.findIndex((h) => h.length !== HASH_SIZE);
  if (bad >= 0) throw new SignetError('MALFORMED_INPUT', `proof hash ${bad} is ${proof[bad]!.length} bytes, not ${HASH_SIZE}`);
  const { inner, border } = decompose(i, n - 1n);
  if (proof.length !== inner + border) {
    throw new SignetError(
      'MALFORMED_INPUT',
      `the inclusion proof has ${proof.length} hashes; leaf ${i} in a tree of ${n} needs exactly ${inner + border}`,
    );
  }
  let r = leafHash;
  for (let j = 0; j < inner; j++) {
    const h = proof[j]!;
    // A set bit means this node is a right child, so the sibling is on the left.
    r = (i >> BigInt(j)) & 1n ? nodeHash(h, r) : nodeHash(r, h);
  }
  for (let j = inner; j < proof.length; j++) r = nodeHash(proof[j]!, r);
  return r;
}

/**
 * True when `leafHash` is the leaf at `leafIndex` of the tree of `treeSize` with root `root`.
 * False for any proof that does not show that (see the error contract above).
 */
export function verifyInclusion(leafIndex: TreeIndex, treeSize: TreeIndex, leafHash: Uint8Array, proof: Uint8Array[], root: Uint8Array): boolean {
  checkBytes(root, 'the root hash');
  let computed: Uint8Array;
  try {
    computed = rootFromInclusionProof(leafIndex, treeSize, leafHash, proof);
  } catch (e) {
    if (e instanceof SignetError && e.code === 'MALFORMED_INPUT') return false;
    throw e;
  }
  return bytesEqual(computed, root);
}

/** One leaf and its inclusion proof, for verifyInclusions. */
export interface InclusionClaim {
  leafIndex: TreeIndex;
  leafHash: Uint8Array;
  proof: Uint8Array[];
}

const sameHash = (a: Uint8Array, b: Uint8Array): boolean => a === b || bytesEqual(a, b);

/**
 * verifyInclusion for many leaves of one tree (treeSize, root), with the same answers, sharing the work
 * that proofs of nearby leaves have in common. Walking a proof up from its leaf (RFC 9162 §2.1.3.2), each
 * step yields the hash of one node of the tree. When a proof reaches a node whose hash an earlier proof in
 * the same call computed on its way to a verified root, and the rest of its hashes are the earlier proof's
 * rest, byte for byte, the rest of the walk is the same computation: it is not repeated. Every proof is
 * therefore checked in full, by hashing or by equality with a checked path. Leaves given in index order
 * share the most (a batch of consecutive leaves costs about two hashes per leaf instead of log2(size)).
 */
export function verifyInclusions(treeSize: TreeIndex, root: Uint8Array, claims: InclusionClaim[]): boolean[] {
  checkBytes(root, 'the root hash');
  const n = toUint64(treeSize, 'tree size');
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) return claims.map((c) => verifyInclusion(c.leafIndex, n, c.leafHash, c.proof, root));
  const last = Number(n) - 1;
  // Per level, the last node a verified proof passed through: its index, hash, and the proof hashes above it.
  const known: ({ index: number; hash: Uint8Array; proof: Uint8Array[]; next: number } | undefined)[] = [];
  return claims.map(({ leafIndex, leafHash, proof }) => {
    const i = Number(toUint64(leafIndex, 'leaf index'));
    checkBytes(leafHash, 'the leaf hash');
    checkProofArray(proof);
    if (i > last || root.length !== HASH_SIZE || leafHash.length !== HASH_SIZE || proof.some((h) => h.length !== HASH_SIZE)) return false;
    const { inner, border } = decompose(BigInt(i), BigInt(last));
    if (proof.length !== inner + border) return false;
    const passed: { level: number; index: number; hash: Uint8Array; next: number }[] = [];
    let r = leafHash;
    let ok: boolean | undefined;
    // Inner levels: a sibling at each level j; border levels: a left sibling where bit b of the index is set.
    let j = 0;
    for (let b = 0; j < proof.length; b++) {
      const right = Math.floor(i / 2 ** b) % 2 === 1;
      if (b >= inner && !right) continue;
      const h = proof[j]!;
      r = right ? nodeHash(h, r) : nodeHash(r, h);
      j++;
      const level = b + 1;
      const index = Math.floor(i / 2 ** level);
      const k = known[level];
      if (k && k.index === index && sameHash(k.hash, r) && proof.length - j === k.proof.length - k.next) {
        let rest = true;
        for (let m = 0; rest && j + m < proof.length; m++) rest = sameHash(proof[j + m]!, k.proof[k.next + m]!);
        if (rest) {
          ok = true;
          break;
        }
      }
      passed.push({ level, index, hash: r, next: j });
    }
    ok ??= bytesEqual(r, root);
    if (ok) for (const p of passed) known[p.level] = { index: p.index, hash: p.hash, proof, next: p.next };
    return ok;
  });
}

/**
 * True when the tree (size2, root2) extends the tree (size1, root1), per RFC 9162 §2.1.4.2.
 * size1 = 0 is always false (an empty tree is trivially consistent; a proof about it proves nothing and
 * RFC 9162 defines no proof for it). size1 = size2 needs an empty proof and byte-identical roots.
 */
export function verifyConsistency(
  size1: TreeIndex,
  size2: TreeIndex,
  proof: Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
): boolean {
  const m = toUint64(size1, 'size1');
  const n = toUint64(size2, 'size2');
  checkProofArray(proof);
  checkBytes(root1, 'root1');
  checkBytes(root2, 'root2');
  if (m === 0n || m > n) return false;
  if (m === n) return proof.length === 0 && bytesEqual(root1, root2);
  if (root1.length !== HASH_SIZE || root2.length !== HASH_SIZE) return false;
  if (proof.some((h) => h.length !== HASH_SIZE)) return false;

  // The old tree's last complete subtree of the largest size: level k = trailing zeros of m, index idx.
  // Its hash (the "seed") starts the proof unless it is the old root itself (m a power of two).
  let k = 0n;
  while (((m >> k) & 1n) === 0n) k++;
  const idx = (m >> k) - 1n;
  const last = (n - 1n) >> k;
  let p = 0;
  let seed: Uint8Array;
  if (idx === 0n) {
    seed = root1;
  } else {
    if (proof.length === 0) return false;
    seed = proof[0]!;
    p = 1;
  }
  const { inner, border } = decompose(idx, last);
  if (proof.length - p !== inner + border) return false;
  // r1 folds only left siblings (those lie inside the old tree); r2 folds every sibling.
  let r1 = seed;
  let r2 = seed;
  for (let j = 0; j < inner; j++) {
    const h = proof[p + j]!;
    if ((idx >> BigInt(j)) & 1n) {
      r1 = nodeHash(h, r1);
      r2 = nodeHash(h, r2);
    } else {
      r2 = nodeHash(r2, h);
    }
  }
  for (let j = p + inner; j < proof.length; j++) {
    const h = proof[j]!;
    r1 = nodeHash(h, r1);
    r2 = nodeHash(h, r2);
  }
  return bytesEqual(r1, root1) && bytesEqual(r2, root2);
}
