import { SignetError } from '../errors.js';
import { HASH_SIZE, emptyRoot, leafHash, nodeHash, toSafeIndex, type TreeIndex } from './hash.js';
import { consistencyProofPlan, inclusionProofPlan, resolvePlansSync, rootPlan, type HashReader } from './proof.js';

/** The hashes of one level, packed into a growable buffer (32 bytes each). */
class Level {
  buf = new Uint8Array(HASH_SIZE * 16);
  count = 0;

  push(h: Uint8Array): void {
    const end = (this.count + 1) * HASH_SIZE;
    if (end > this.buf.length) {
      const bigger = new Uint8Array(this.buf.length * 2);
      bigger.set(this.buf);
      this.buf = bigger;
    }
    this.buf.set(h, this.count * HASH_SIZE);
    this.count++;
  }

  /** A view into the buffer: valid until the next push. */
  view(i: number): Uint8Array {
    return this.buf.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE);
  }
}

/**
 * An append-only RFC 6962 tree held in memory. It stores the hash of every complete subtree (2n hashes
 * for n leaves, 64 bytes per leaf), adding the new ones as each leaf arrives (O(log n) per leaf, O(1)
 * amortised), so it serves as a HashReader for proofs at any size up to its own, and as the integrator's
 * working tree. Complete subtrees never change, so roots and proofs for earlier sizes stay available.
 */
export class MemoryTree implements HashReader {
  private readonly levels: Level[] = [new Level()];
  private n = 0;

  /** The number of leaves. */
  get size(): number {
    return this.n;
  }

  /** Appends one RFC 6962 leaf hash (see leafHash) and returns the leaf's index. */
  append(leafHashValue: Uint8Array): number {
    if (!(leafHashValue instanceof Uint8Array) || leafHashValue.length !== HASH_SIZE) {
      throw new SignetError('INVALID_ARGUMENT', 'a leaf hash must be a 32-byte Uint8Array');
    }
    if (this.n >= Number.MAX_SAFE_INTEGER) throw new SignetError('INVALID_ARGUMENT', 'the tree is full');
    const index = this.n;
    this.levels[0]!.push(leafHashValue);
    // Each time the new node is a right child, its parent has just become complete.
    let level = 0;
    let idx = index;
    while (idx % 2 === 1) {
      const below = this.levels[level]!;
      const parent = nodeHash(below.view(idx - 1), below.view(idx));
      level++;
      idx = (idx - 1) / 2;
      if (this.levels.length === level) this.levels.push(new Level());
      this.levels[level]!.push(parent);
    }
    this.n++;
    return index;
  }

  /** Appends a batch of leaf hashes; returns the index of the first. */
  appendAll(leafHashes: Iterable<Uint8Array>): number {
    const first = this.n;
    for (const h of leafHashes) this.append(h);
    return first;
  }

  /** Appends an entry, hashing it as an RFC 6962 leaf; returns its index. */
  appendData(data: Uint8Array): number {
    return this.append(leafHash(data));
  }

  /** HashReader: the hash of a complete subtree of the current tree (a copy). */
  getHash(level: number, index: number): Uint8Array {
    const l = this.levels[level];
    if (!Number.isSafeInteger(level) || !Number.isSafeInteger(index) || index < 0 || l === undefined || index >= l.count) {
      throw new SignetError('INVALID_ARGUMENT', `node (level ${level}, index ${index}) is not a complete subtree of a tree of ${this.n} leaves`);
    }
    return l.view(index).slice();
  }

  private read = (level: number, index: number): Uint8Array => this.getHash(level, index);

  /** The root hash at the current size, or at an earlier size. */
  root(treeSize: TreeIndex = this.n): Uint8Array {
    const plan = rootPlan(this.checkSize(treeSize));
    if (plan.length === 0) return emptyRoot();
    return resolvePlansSync([plan], this.read)[0]!;
  }

  /** The inclusion proof for a leaf in the tree at `treeSize` (default: the current size). */
  inclusionProof(leafIndex: TreeIndex, treeSize: TreeIndex = this.n): Uint8Array[] {
    return resolvePlansSync(inclusionProofPlan(leafIndex, this.checkSize(treeSize)), this.read);
  }

  /**
   * Inclusion proofs for several leaves of the tree at one size. A hash that several of the proofs contain
   * is computed once and is the same Uint8Array in each of them (so treat the proofs as read-only).
   */
  inclusionProofs(leafIndexes: TreeIndex[], treeSize: TreeIndex = this.n): Uint8Array[][] {
    const size = this.checkSize(treeSize);
    const memo = new Map<string, Uint8Array>();
    return leafIndexes.map((i) =>
      inclusionProofPlan(i, size).map((plan) => {
        const key = plan.map((id) => `${id.level}/${id.index}`).join(' ');
        let h = memo.get(key);
        if (!h) {
          h = resolvePlansSync([plan], this.read)[0]!;
          memo.set(key, h);
        }
        return h;
      }),
    );
  }

  /** The consistency proof between two sizes (size2 defaults to the current size). */
  consistencyProof(size1: TreeIndex, size2: TreeIndex = this.n): Uint8Array[] {
    return resolvePlansSync(consistencyProofPlan(size1, this.checkSize(size2)), this.read);
  }

  private checkSize(treeSize: TreeIndex): number {
    const s = toSafeIndex(treeSize, 'tree size');
    if (s > this.n) throw new SignetError('INVALID_ARGUMENT', `tree size ${s} is beyond this tree's ${this.n} leaves`);
    return s;
  }
}
