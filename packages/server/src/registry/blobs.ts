import { createHash, randomUUID, type Hash } from 'node:crypto';
import { close, constants, createReadStream, fdatasync, fstat, fsync, ftruncate, mkdirSync, open as openFd, openSync, closeSync, fsyncSync, read, writev } from 'node:fs';
import { open, opendir, readFile, rename, stat, truncate, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Digest, DigestAlgorithm } from './oci.js';

/** An inclusive byte range (RFC 9110 §14.1.2). */
export interface BlobRange {
  start: number;
  end: number;
}

/**
 * Where blob bytes live. Content is addressed by digest; uploads are staged under an id and moved into
 * place once their digest is known. The filesystem store is the default; an object store can implement
 * the same interface (uploads as multipart uploads, commit as a copy).
 */
export interface BlobStore {
  /** A stream of the blob (or of a range of it); undefined when the blob is not stored. */
  open(digest: Digest, range?: BlobRange): Promise<Readable | undefined>;
  /** The blob opened for serving over HTTP (see BlobFile); undefined when it is not stored. */
  openForServing(digest: Digest): Promise<BlobFile | undefined>;
  /** The whole blob, for small content such as manifests; undefined when missing. */
  readAll(digest: Digest): Promise<Buffer | undefined>;
  /** Stores small content durably in one go (manifests). */
  put(digest: Digest, bytes: Buffer): Promise<void>;
  /** Removes a blob; false when it was not there. */
  delete(digest: Digest): Promise<boolean>;
  /** Every stored blob with its modification time (ms), for garbage collection. */
  list(): AsyncIterable<{ digest: string; modifiedMs: number; size: number }>;

  /**
   * Appends `source` to upload `id` at `offset` (truncating anything after it), feeding every byte to
   * `hash`. With `sync`, the data is on disk when the promise resolves. Resolves the bytes written.
   */
  append(id: string, offset: number, source: Readable, hash: Hash | undefined, opts?: { sync?: boolean }): Promise<number>;
  /** Size of an upload's staged data; undefined when nothing was staged. */
  uploadSize(id: string): Promise<number | undefined>;
  /** Cuts an upload back to `size` bytes (after a failed chunk, or on recovery). */
  truncateUpload(id: string, size: number): Promise<void>;
  /** Hashes the first `size` bytes of an upload again (after a restart, or for another algorithm). */
  hashUpload(id: string, algorithm: DigestAlgorithm, size: number): Promise<Hash>;
  /** Makes an upload's data durable and moves it into place as `digest`. */
  commit(id: string, digest: Digest, opts?: { synced?: boolean }): Promise<void>;
  deleteUpload(id: string): Promise<void>;
  /** Every staged upload with its modification time (ms). */
  listUploads(): AsyncIterable<{ id: string; modifiedMs: number }>;
  /** Releases what the store holds open. */
  close(): void;
}

/**
 * An open blob that copies byte ranges to a response. Serving is the registry's hottest path; a file stream
 * allocates a fresh buffer for every chunk it reads, and on 2 cores that allocation (page faults on each new
 * multi-megabyte buffer, then garbage collection) costs about as much as the copy itself. copyTo reads into
 * pooled buffers instead, two at a time: the next chunk is read while the previous one is being written.
 */
export interface BlobFile {
  readonly size: number;
  /** Writes bytes `start`..`end` (inclusive) to `out` and resolves once `out` has taken them all. */
  copyTo(out: Writable, start: number, end: number): Promise<void>;
  close(): void;
}

/** Chunk size for serving, and how many idle chunk buffers are kept for reuse across requests. */
const SERVE_CHUNK = 1 << 20;
const SERVE_POOL_MAX = 16;
const servePool: Buffer[] = [];
const takeBuffer = (): Buffer => servePool.pop() ?? Buffer.allocUnsafeSlow(SERVE_CHUNK);
const giveBack = (b: Buffer): void => {
  if (servePool.length < SERVE_POOL_MAX) servePool.push(b);
};

function readAt(fd: number, buf: Buffer, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => read(fd, buf, 0, length, position, (e, n) => (e ? reject(e) : resolve(n))));
}

class FsBlobFile implements BlobFile {
  private closed = false;
  constructor(
    private readonly fd: number,
    readonly size: number,
  ) {}

  async copyTo(out: Writable, start: number, end: number): Promise<void> {
    if (end < start) return;
    // A response destroyed midway (the client went away) may never call back for a pending write.
    let gone: ((e: Error) => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      gone = reject;
    });
    aborted.catch(() => undefined);
    const onClose = (): void => gone?.(new Error('the client closed the connection'));
    out.once('close', onClose);
    const bufs = [takeBuffer(), takeBuffer()];
    const busy: (Promise<void> | undefined)[] = [undefined, undefined];
    let pos = start;
    let i = 0;
    try {
      while (pos <= end) {
        await Promise.race([busy[i], aborted]); // this buffer's previous write is done: it may be filled again
        const buf = bufs[i] as Buffer;
        const n = await readAt(this.fd, buf, Math.min(buf.length, end - pos + 1), pos);
        if (n === 0) throw new Error(`blob file ended at byte ${pos}, before ${end + 1}`);
        pos += n;
        const chunk = n === buf.length ? buf : buf.subarray(0, n);
        busy[i] = new Promise<void>((resolve, reject) => {
          out.write(chunk, (e) => (e ? reject(e) : resolve()));
        });
        busy[i]?.catch(() => undefined);
        i ^= 1;
      }
      await Promise.race([Promise.all(busy), aborted]);
      for (const b of bufs) giveBack(b);
    } finally {
      // On failure a buffer may still be queued in the socket: it is dropped, not pooled.
      out.removeListener('close', onClose);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    close(this.fd, () => undefined);
  }
}

/** Bytes written between background fdatasync calls, so the closing fsync has little left to flush. */
const SYNC_EVERY = 32 << 20;

/**
 * A Writable that writes to an fd at explicit positions with writev (few syscalls, no copies), hashing
 * each chunk as it goes. Backpressure comes from the stream machinery: at most highWaterMark bytes wait.
 */
class FileSink extends Writable {
  written = 0;
  private position: number;
  private sinceSync = 0;
  private syncing: Promise<void> | undefined;

  constructor(
    private readonly fd: number,
    start: number,
    private readonly hash: Hash | undefined,
  ) {
    super({ highWaterMark: 4 << 20 });
    this.position = start;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.writeAll([chunk], cb);
  }

  override _writev(chunks: { chunk: Buffer }[], cb: (err?: Error | null) => void): void {
    this.writeAll(
      chunks.map((c) => c.chunk),
      cb,
    );
  }

  /** Waits for a background flush still running. */
  async settled(): Promise<void> {
    await this.syncing;
  }

  private writeAll(bufs: Buffer[], cb: (err?: Error | null) => void): void {
    if (this.hash) for (const b of bufs) this.hash.update(b);
    let pending = bufs;
    const step = (): void => {
      writev(this.fd, pending, this.position, (err, n) => {
        if (err) return cb(err);
        this.position += n;
        this.written += n;
        this.sinceSync += n;
        // A short write (rare on regular files): continue with what is left.
        let skip = n;
        while (pending.length > 0 && skip >= (pending[0] as Buffer).length) skip -= (pending.shift() as Buffer).length;
        if (pending.length > 0) {
          pending[0] = (pending[0] as Buffer).subarray(skip);
          return step();
        }
        if (this.sinceSync >= SYNC_EVERY && !this.syncing) {
          this.sinceSync = 0;
          this.syncing = new Promise((resolve) =>
            fdatasync(this.fd, () => {
              this.syncing = undefined;
              resolve();
            }),
          );
        }
        cb();
      });
    };
    step();
  }
}

/**
 * Coalesces directory fsyncs: a caller that renamed into a directory waits for the next fsync of it
 * that starts after its rename; concurrent commits into one directory share that fsync. Directory fds
 * stay open (at most the 512 fan-out directories), so a sync is one call.
 */
class DirSyncer {
  private readonly state = new Map<string, { running: Promise<void>; next?: Promise<void> }>();
  private readonly fds = new Map<string, Promise<number>>();

  sync(dir: string): Promise<void> {
    const s = this.state.get(dir);
    if (!s) return this.start(dir);
    s.next ??= s.running.then(() => {
      const cur = this.state.get(dir);
      if (cur) delete cur.next;
      return this.start(dir);
    });
    return s.next;
  }

  close(): void {
    for (const p of this.fds.values()) p.then((fd) => close(fd, () => undefined), () => undefined);
    this.fds.clear();
  }

  private fd(dir: string): Promise<number> {
    let p = this.fds.get(dir);
    if (!p) {
      p = fdOpen(dir, constants.O_RDONLY | constants.O_DIRECTORY);
      p.catch(() => this.fds.delete(dir));
      this.fds.set(dir, p);
    }
    return p;
  }

  private start(dir: string): Promise<void> {
    const running = this.fd(dir)
      .then((fd) => new Promise<void>((resolve, reject) => fsync(fd, (e) => (e ? reject(e) : resolve()))))
      .finally(() => {
        const cur = this.state.get(dir);
        if (cur && cur.running === running && !cur.next) this.state.delete(dir);
      });
    const cur = this.state.get(dir);
    if (cur) cur.running = running;
    else this.state.set(dir, { running });
    return running;
  }
}

const WRITE_FLAGS = constants.O_WRONLY | constants.O_CREAT;
const CREATE_FLAGS = WRITE_FLAGS | constants.O_TRUNC;
const FANOUT = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * Content-addressed files under `<dataDir>/blobs/<alg>/<2 hex>/<hex>`, uploads under
 * `<dataDir>/uploads/<id>`. A blob is fsynced, renamed into place (atomic) and its directory fsynced
 * before it is acknowledged.
 */
export class FsBlobStore implements BlobStore {
  private readonly blobs: string;
  private readonly uploads: string;
  private readonly dirs = new DirSyncer();

  constructor(dataDir: string) {
    this.blobs = join(dataDir, 'blobs');
    this.uploads = join(dataDir, 'uploads');
    // All fan-out directories exist from the start (and are durable), so a commit syncs only its leaf.
    const made: string[] = [];
    for (const alg of ['sha256', 'sha512']) {
      for (const x of FANOUT) {
        const d = join(this.blobs, alg, x);
        if (mkdirSync(d, { recursive: true }) !== undefined) made.push(d);
      }
    }
    mkdirSync(this.uploads, { recursive: true });
    if (made.length > 0) for (const d of [dataDir, this.blobs, join(this.blobs, 'sha256'), join(this.blobs, 'sha512')]) syncDir(d);
  }

  close(): void {
    this.dirs.close();
  }

  blobPath(digest: Digest): string {
    return join(this.blobs, digest.algorithm, digest.hex.slice(0, 2), digest.hex);
  }

  private uploadPath(id: string): string {
    return join(this.uploads, id);
  }

  /** An fd for reading a stored blob; undefined when it is not stored. */
  private async openBlobFd(digest: Digest): Promise<number | undefined> {
    try {
      return await fdOpen(this.blobPath(digest), constants.O_RDONLY);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  async open(digest: Digest, range?: BlobRange): Promise<Readable | undefined> {
    const fd = await this.openBlobFd(digest);
    if (fd === undefined) return undefined;
    // Opened first so a missing file is known before any header is sent; the stream closes the fd.
    return createReadStream('', { fd, autoClose: true, highWaterMark: 4 << 20, ...(range ? { start: range.start, end: range.end } : {}) });
  }

  async openForServing(digest: Digest): Promise<BlobFile | undefined> {
    const fd = await this.openBlobFd(digest);
    if (fd === undefined) return undefined;
    try {
      const size = await new Promise<number>((resolve, reject) => fstat(fd, (e, st) => (e ? reject(e) : resolve(st.size))));
      return new FsBlobFile(fd, size);
    } catch (e) {
      close(fd, () => undefined);
      throw e;
    }
  }

  async readAll(digest: Digest): Promise<Buffer | undefined> {
    try {
      return await readFile(this.blobPath(digest));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  async put(digest: Digest, bytes: Buffer): Promise<void> {
    const id = `put-${randomUUID()}`;
    const fh = await open(this.uploadPath(id), 'w');
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await this.commit(id, digest, { synced: true });
  }

  async delete(digest: Digest): Promise<boolean> {
    try {
      await unlink(this.blobPath(digest));
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
  }

  async *list(): AsyncIterable<{ digest: string; modifiedMs: number; size: number }> {
    for (const alg of ['sha256', 'sha512']) {
      for (const x of FANOUT) {
        const dir = join(this.blobs, alg, x);
        let d;
        try {
          d = await opendir(dir);
        } catch {
          continue;
        }
        for await (const e of d) {
          if (!e.isFile()) continue;
          try {
            const st = await stat(join(dir, e.name));
            yield { digest: `${alg}:${e.name}`, modifiedMs: st.mtimeMs, size: st.size };
          } catch {
            // removed meanwhile
          }
        }
      }
    }
  }

  async append(id: string, offset: number, source: Readable, hash: Hash | undefined, opts: { sync?: boolean } = {}): Promise<number> {
    const fd = await fdOpen(this.uploadPath(id), offset === 0 ? CREATE_FLAGS : WRITE_FLAGS);
    const sink = new FileSink(fd, offset, hash);
    try {
      // Anything past the offset is a failed chunk's leftovers.
      if (offset > 0) await new Promise<void>((resolve, reject) => ftruncate(fd, offset, (e) => (e ? reject(e) : resolve())));
      await pipeline(source, sink);
      await sink.settled();
      if (opts.sync) await new Promise<void>((resolve, reject) => fsync(fd, (e) => (e ? reject(e) : resolve())));
      return sink.written;
    } finally {
      await sink.settled();
      await new Promise<void>((resolve) => close(fd, () => resolve()));
    }
  }

  async uploadSize(id: string): Promise<number | undefined> {
    try {
      return (await stat(this.uploadPath(id))).size;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  async truncateUpload(id: string, size: number): Promise<void> {
    try {
      await truncate(this.uploadPath(id), size);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }

  async hashUpload(id: string, algorithm: DigestAlgorithm, size: number): Promise<Hash> {
    const h = createHash(algorithm);
    if (size === 0) return h;
    await pipeline(createReadStream(this.uploadPath(id), { start: 0, end: size - 1, highWaterMark: 1 << 20 }), async function* (src: AsyncIterable<Buffer>) {
      for await (const chunk of src) h.update(chunk);
    });
    return h;
  }

  async commit(id: string, digest: Digest, opts: { synced?: boolean } = {}): Promise<void> {
    const from = this.uploadPath(id);
    if (!opts.synced) {
      // An empty upload may have no file at all.
      let fh: FileHandle;
      try {
        fh = await open(from, 'r');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        fh = await open(from, 'w');
      }
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
    const to = this.blobPath(digest);
    await rename(from, to);
    await this.dirs.sync(join(this.blobs, digest.algorithm, digest.hex.slice(0, 2)));
  }

  async deleteUpload(id: string): Promise<void> {
    try {
      await unlink(this.uploadPath(id));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }

  async *listUploads(): AsyncIterable<{ id: string; modifiedMs: number }> {
    const d = await opendir(this.uploads);
    for await (const e of d) {
      if (!e.isFile()) continue;
      try {
        yield { id: e.name, modifiedMs: (await stat(join(this.uploads, e.name))).mtimeMs };
      } catch {
        // removed meanwhile
      }
    }
  }
}

function fdOpen(path: string, flags: number): Promise<number> {
  return new Promise((resolve, reject) => openFd(path, flags, 0o600, (e, fd) => (e ? reject(e) : resolve(fd))));
}

function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Reads a (blob) stream into memory, refusing more than `limit` bytes (the stream is destroyed then). */
export async function readStream(stream: Readable, limit: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of stream) {
    n += (c as Buffer).length;
    if (n > limit) {
      stream.destroy();
      throw new Error(`larger than ${limit} bytes`);
    }
    parts.push(c as Buffer);
  }
  return Buffer.concat(parts);
}
