/**
 * A fixed-size set of SHA-256 digests in shared memory, which every thread of the process holding its buffer can add
 * to and query without a round trip. It is a cache, not a record: a digest may be forgotten (a later digest that maps
 * to the same slot replaces it, as may a writer racing another on one slot), so a miss means "not known here", and
 * the caller falls back to the slow check. A hit is exact: the whole 32-byte digest must match.
 *
 * The CA adds the digest of every certificate it issues; the log's entry verification asks whether a certificate in
 * an entry is one of them before it checks the intermediate's signature over it (tlog/issued.ts).
 *
 * Layout: `slots` slots of 9 Int32 words, a sequence word and the digest's 8 words. A writer claims a slot by moving
 * its sequence word from even to odd (compareExchange), writes the digest and makes the word even again; a reader
 * reads the sequence word, the digest and the sequence word again, and trusts what it read only when both reads
 * agree and are even (a seqlock). Every access is an Atomics operation, so no read can tear.
 */
export class SharedDigestSet {
  private static readonly WORDS = 9;
  private readonly words: Int32Array;
  private readonly mask: number;

  private constructor(readonly buffer: SharedArrayBuffer) {
    const slots = buffer.byteLength / (SharedDigestSet.WORDS * 4);
    if (!Number.isInteger(slots) || slots < 1 || (slots & (slots - 1)) !== 0) throw new Error('a digest set buffer holds a power of two of 36-byte slots');
    this.words = new Int32Array(buffer);
    this.mask = slots - 1;
  }

  /** A new, empty set of `slots` slots (a power of two; 65,536 slots take 2.25 MiB). */
  static create(slots = 65_536): SharedDigestSet {
    return new SharedDigestSet(new SharedArrayBuffer(slots * SharedDigestSet.WORDS * 4));
  }

  /** The set whose buffer another thread created (the buffer crosses threads shared, not copied). */
  static from(buffer: SharedArrayBuffer): SharedDigestSet {
    return new SharedDigestSet(buffer);
  }

  private static digestWords(digest: Uint8Array): Int32Array {
    if (digest.length !== 32) throw new Error('a digest set holds 32-byte digests');
    // A copy: the digest's own buffer may not be 4-byte aligned.
    return new Int32Array(Uint8Array.from(digest).buffer);
  }

  private base(d: Int32Array): number {
    return ((d[0] as number) & this.mask) * SharedDigestSet.WORDS;
  }

  /** Remembers `digest`; gives up quietly when another thread is writing the same slot. */
  add(digest: Uint8Array): void {
    const d = SharedDigestSet.digestWords(digest);
    const b = this.base(d);
    const seq = Atomics.load(this.words, b);
    if (seq & 1 || Atomics.compareExchange(this.words, b, seq, seq + 1) !== seq) return;
    for (let i = 0; i < 8; i++) Atomics.store(this.words, b + 1 + i, d[i] as number);
    Atomics.store(this.words, b, seq + 2);
  }

  /** Whether `digest` is remembered. */
  has(digest: Uint8Array): boolean {
    const d = SharedDigestSet.digestWords(digest);
    const b = this.base(d);
    const before = Atomics.load(this.words, b);
    if (before === 0 || before & 1) return false; // never written, or being written
    let same = true;
    for (let i = 0; i < 8; i++) if (Atomics.load(this.words, b + 1 + i) !== d[i]) same = false;
    return same && Atomics.load(this.words, b) === before;
  }
}
