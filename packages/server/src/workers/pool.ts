import { Worker } from 'node:worker_threads';

/**
 * The messages between a WorkerPool and its workers (serve.ts): jobs cross in batches, an array per message, and
 * the answers to a batch come back together in one message.
 */
export interface JobMessage<J> {
  id: number;
  job: J;
}

/** A worker's answer to one job: a value, or an error the pool turns back into the domain's error type. */
export type ReplyMessage<R> = { id: number; ok: true; value: R } | { id: number; ok: false; code?: string; message: string };

export interface WorkerPoolOptions<R> {
  /** The worker script (it calls serveJobs). */
  url: URL;
  workerData: unknown;
  size: number;
  /** Named in errors: "the <what> worker exited with 1". */
  what: string;
  /** The error a failed job rejects with; `code` is what the worker's encodeError gave. */
  toError(code: string | undefined, message: string): Error;
  /** Rebuilds a value that lost its class crossing threads (a Uint8Array arrives as one; Buffers do not). */
  revive?: (value: R) => R;
  /** Start the workers on first use rather than at construction (a server that never uses them never starts one). */
  lazy?: boolean;
}

interface Slot<J, R> {
  worker: Worker;
  inflight: Map<number, { resolve: (v: R) => void; reject: (e: unknown) => void }>;
  /** Jobs waiting for the next flush: one postMessage per worker per event-loop turn. */
  queued: JobMessage<J>[];
}

/**
 * Worker threads that take jobs off the event loop. Jobs arriving in the same event-loop turn go to a worker in
 * one message and come back in one: a MessagePort round trip costs the event loop tens of microseconds, which is
 * a sizeable share of a job that only signs or verifies once. Each job goes to the worker with the fewest in
 * flight. A worker that dies fails its jobs and is replaced on the next job; workers keep the process alive only
 * while they have work in flight.
 */
export class WorkerPool<J, R> {
  private readonly slots: Slot<J, R>[] = [];
  private nextId = 0;
  private closed = false;
  private flushScheduled = false;

  constructor(private readonly opts: WorkerPoolOptions<R>) {
    if (!opts.lazy) this.fill();
  }

  private fill(): void {
    while (this.slots.length < this.opts.size) this.slots.push(this.spawn());
  }

  private spawn(): Slot<J, R> {
    const worker = new Worker(this.opts.url, { workerData: this.opts.workerData });
    const slot: Slot<J, R> = { worker, inflight: new Map(), queued: [] };
    worker.on('message', (replies: ReplyMessage<R>[]) => {
      for (const r of replies) {
        const p = slot.inflight.get(r.id);
        if (!p) continue;
        slot.inflight.delete(r.id);
        if (r.ok) p.resolve(this.opts.revive ? this.opts.revive(r.value) : r.value);
        else p.reject(this.opts.toError(r.code, r.message));
      }
      if (slot.inflight.size === 0) worker.unref();
    });
    const fail = (e: unknown): void => {
      for (const p of slot.inflight.values()) p.reject(e instanceof Error ? e : new Error(String(e)));
      slot.inflight.clear();
      slot.queued.length = 0;
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots.splice(i, 1); // the next job starts a fresh worker
    };
    worker.on('error', fail);
    worker.on('exit', (code) => {
      if (!this.closed) fail(new Error(`the ${this.opts.what} worker exited with ${code}`));
    });
    worker.unref();
    return slot;
  }

  /** Runs `job` in a worker (the job is copied to it). */
  run(job: J): Promise<R> {
    if (this.closed) return Promise.reject(new Error(`the ${this.opts.what} workers are shutting down`));
    this.fill();
    let slot = this.slots[0] as Slot<J, R>;
    for (const s of this.slots) if (s.inflight.size < slot.inflight.size) slot = s;
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (slot.inflight.size === 0) slot.worker.ref();
      slot.inflight.set(id, { resolve, reject });
      slot.queued.push({ id, job });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.flushScheduled = false;
    for (const slot of this.slots) {
      if (slot.queued.length === 0) continue;
      const jobs = slot.queued;
      slot.queued = [];
      slot.worker.postMessage(jobs);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const slots = this.slots.splice(0);
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }
}
