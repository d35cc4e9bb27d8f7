/**
 * Proof generation for a party that holds the tree (RFC 6962 §2.1.1 PATH, §2.1.2 PROOF), reading only
 * hashes of complete subtrees: node (level, index) is MTH(D[index·2^level : (index+1)·2^level]), which is
 * exactly what C2SP tlog-tiles stores. Hashes of incomplete nodes on the right edge are recomputed from
 * the complete subtrees they decompose into, so every proof reads O(log n) stored hashes.
 *
 * Indexes here are plain numbers (up to Number.MAX_SAFE_INTEGER); the arithmetic avoids 32-bit bitwise
 * operators so it stays exact across that whole range.
 */
import { SignetError } from '../errors.js';
import { HASH_SIZE, emptyRoot, nodeHash, toSafeIndex, type TreeIndex } from './hash.js';

/** Reads the hash of the complete subtree of 2^level leaves starting at leaf index·2^level. */
export interface HashReader {
  getHash(level: number, index: number): Uint8Array | Promise<Uint8Array>;
}

/** A complete subtree: 2^level leaves starting at leaf index·2^level. */
export interface NodeId {
  level: number;
  index: number;
}

/**
 * One hash of a proof, as the complete subtrees it is built from, left to right. A single node is used as
 * is; several are folded from the right: H(a, H(b, c)) (RFC 6962 §2.1, the right edge of a tree).
 */
export type HashPlan = NodeId[];

const pow2 = (k: number): number => 2 ** k;
const shr = (x: number, k: number): number => Math.floor(x / pow2(k));

/** The complete subtrees that make up the leaf range [start, end), start aligned as RFC 6962 nodes are. */
export function rangeNodes(start: number, end: number): NodeId[] {
  const out: NodeId[] = [];
  let pos = start;
  while (pos < end) {
    let k = 0;
    // The largest aligned power-of-two block that starts at pos and fits before end.
    while (pos % pow2(k + 1) === 0 && pos + pow2(k + 1) <= end) k++;
    out.push({ level: k, index: pos / pow2(k) });
    pos += pow2(k);
  }
  return out;
}

/**
 * The siblings on the path from node (level, index) up to the root of a tree of `size` leaves, bottom
 * first; this node must be complete. Siblings to the right may be incomplete (the right edge).
 */
function pathPlans(level: number, index: number, size: number): HashPlan[] {
  const out: HashPlan[] = [];
  let idx = index;
  for (let l = level; shr(size - 1, l) > 0; l++, idx = Math.floor(idx / 2)) {
    const lastIdx = shr(size - 1, l);
    const sib = idx % 2 === 1 ? idx - 1 : idx + 1;
    if (sib > lastIdx) continue; // the node is alone on the right edge: promoted, no hashing at this level
    out.push(rangeNodes(sib * pow2(l), Math.min((sib + 1) * pow2(l), size)));
  }
  return out;
}

/** RFC 6962 §2.1.1 PATH(m, D[n]) as plans: the audit path for leaf `leafIndex` in a tree of `treeSize`. */
export function inclusionProofPlan(leafIndex: TreeIndex, treeSize: TreeIndex): HashPlan[] {
  const i = toSafeIndex(leafIndex, 'leaf index');
  const n = toSafeIndex(treeSize, 'tree size');
  if (i >= n) throw new SignetError('INVALID_ARGUMENT', `leaf index ${i} is not below the tree size ${n}`);
  return pathPlans(0, i, n);
}

/**
 * RFC 6962 §2.1.2 PROOF(m, D[n]) as plans, for 0 < m ≤ n (m = n gives the empty proof; RFC 6962 defines no
 * proof from the empty tree, so size1 = 0 is INVALID_ARGUMENT).
 */
export function consistencyProofPlan(size1: TreeIndex, size2: TreeIndex): HashPlan[] {
  const m = toSafeIndex(size1, 'size1');
  const n = toSafeIndex(size2, 'size2');
  if (m === 0) throw new SignetError('INVALID_ARGUMENT', 'there is no consistency proof from the empty tree (size1 = 0)');
  if (m > n) throw new SignetError('INVALID_ARGUMENT', `size1 ${m} is larger than size2 ${n}`);
  if (m === n) return [];
  let k = 0;
  while (m % pow2(k + 1) === 0) k++;
  const idx = m / pow2(k) - 1;
  const seed: HashPlan[] = idx === 0 ? [] : [[{ level: k, index: idx }]];
  return [...seed, ...pathPlans(k, idx, n)];
}

/** The complete subtrees whose right fold is the root of a tree of `treeSize` (empty for size 0). */
export function rootPlan(treeSize: TreeIndex): HashPlan {
  return rangeNodes(0, toSafeIndex(treeSize, 'tree size'));
}

function checkHash(h: unknown, id: NodeId): Uint8Array {
  if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE) {
    throw new SignetError('MALFORMED_INPUT', `the hash reader returned no 32-byte hash for node (level ${id.level}, index ${id.index})`);
  }
  return h;
}

function fold(plan: HashPlan, hashes: Uint8Array[], at: number): Uint8Array {
  let h = hashes[at + plan.length - 1]!;
  for (let j = plan.length - 2; j >= 0; j--) h = nodeHash(hashes[at + j]!, h);
  return h;
}

/** True for a promise or any other thenable a reader may return. */
export function isThenable<T>(v: T | PromiseLike<T>): v is PromiseLike<T> {
  return typeof (v as { then?: unknown } | null)?.then === 'function';
}

/** Resolves plans with a synchronous lookup. */
export function resolvePlansSync(plans: HashPlan[], get: (level: number, index: number) => Uint8Array): Uint8Array[] {
  return plans.map((plan) => {
    const hashes = plan.map((id) => checkHash(get(id.level, id.index), id));
    return fold(plan, hashes, 0);
  });
}

/** Resolves plans with a HashReader, reading every node at once and awaiting only if the reader is async. */
export async function resolvePlans(plans: HashPlan[], reader: HashReader): Promise<Uint8Array[]> {
  const ids = plans.flat();
  const raw = ids.map((id) => reader.getHash(id.level, id.index));
  const got = raw.some(isThenable) ? await Promise.all(raw) : (raw as Uint8Array[]);
  const hashes = got.map((h, j) => checkHash(h, ids[j]!));
  const out: Uint8Array[] = [];
  let at = 0;
  for (const plan of plans) {
    out.push(fold(plan, hashes, at));
    at += plan.length;
  }
  return out;
}

/** The inclusion proof (RFC 6962 §2.1.1) for leaf `leafIndex` in the tree of `treeSize`, bottom first. */
export function inclusionProof(leafIndex: TreeIndex, treeSize: TreeIndex, reader: HashReader): Promise<Uint8Array[]> {
  return resolvePlans(inclusionProofPlan(leafIndex, treeSize), reader);
}

/** The consistency proof (RFC 6962 §2.1.2) from the tree of size1 to the tree of size2. */
export function consistencyProof(size1: TreeIndex, size2: TreeIndex, reader: HashReader): Promise<Uint8Array[]> {
  return resolvePlans(consistencyProofPlan(size1, size2), reader);
}

/** The root hash (RFC 6962 §2.1 MTH) of the tree of `treeSize`; SHA-256("") for the empty tree. */
export async function rootAt(treeSize: TreeIndex, reader: HashReader): Promise<Uint8Array> {
  const plan = rootPlan(treeSize);
  if (plan.length === 0) return emptyRoot();
  const [root] = await resolvePlans([plan], reader);
  return root!;
}
