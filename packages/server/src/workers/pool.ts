import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/** A service a pool's workers host: the module (exporting createService) and what it starts with. */
export interface ServiceSpec {
  name: string;
  /** The module's URL (file:), as a string so it crosses threads. */
  url: string;
  data: unknown;
}

/** One job of a batch, for the named service. */
export interface JobMessage<J> {
  id: number;
  service: string;
  job: J;
}

/** What a pool sends its workers: services to load (registered after the workers started) and/or jobs. */
export interface HostMessage {
  load?: ServiceSpec[];
  jobs?: JobMessage<unknown>[];
}

/** A worker's answer to one job: a value, or an error the pool turns back into the domain's error type. */
export type ReplyMessage<R> = { id: number; ok: true; value: R } | { id: number; ok: false; code?: string; message: string };

export interface WorkerPoolOptions {
  size: number;
  /** Named in errors: "the <what> worker exited with 1". */
  what: string;
}

export interface ServiceOptions<R> {
  /** Unique in the pool. */
  name: string;
  /** The service module (host.ts imports it and calls its createService(data)). */
  url: URL;
  /** What createService gets (copied to each worker: KeyObjects and buffers cross as structured clones). */
  data: unknown;
  /** The error a failed job rejects with; `code` is what the service's encodeError gave. */
  toError(code: string | undefined, message: string): Error;
  /** Rebuilds a value that lost its class crossing threads (a Uint8Array arrives as one; Buffers do not). */
  revive?: (value: R) => R;
}

/** A service of a pool: its jobs run on the pool's workers. */
export interface PoolService<J, R> {
  run(job: J): Promise<R>;
}

interface Inflight {
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  service: ServiceOptions<unknown>;
}

interface Slot {
  worker: Worker;
  inflight: Map<number, Inflight>;
  /** Jobs waiting for the next flush: one postMessage per worker per event-loop turn. */
  queued: JobMessage<unknown>[];
}

/**
 * Worker threads that take CPU-bound work off the event loop, shared by every service registered with the pool:
 * one pool of one worker per core runs the CA's issuance, the TSA's tokens and the log's entry verification, rather
 * than a pool per service. With a thread per core the work of a full keyless sign waits on fewer
 * thread wake-ups, and each worker's batches are larger.
 *
 * Jobs arriving in the same event-loop turn go to a worker in one message and come back in one: a MessagePort round
 * trip costs the event loop tens of microseconds, which is a sizeable share of a job that only signs or verifies
 * once. Each job goes to the worker with the fewest in flight. Workers start on first use; a worker that dies fails
 * its jobs and is replaced on the next job; workers keep the process alive only while they have work in flight.
 */
export class WorkerPool {
  private readonly slots: Slot[] = [];
  private readonly services = new Map<string, ServiceOptions<unknown>>();
  private nextId = 0;
  private closed = false;
  private flushScheduled = false;

  constructor(private readonly opts: WorkerPoolOptions) {}

  /** Registers a service; its module is loaded in every worker (now, or as each starts). */
  service<J, R>(options: ServiceOptions<R>): PoolService<J, R> {
    if (this.services.has(options.name)) throw new Error(`a service named "${options.name}" is already registered with the ${this.opts.what} workers`);
    const service = options as ServiceOptions<unknown>;
    this.services.set(options.name, service);
    const spec = this.spec(service);
    for (const slot of this.slots) slot.worker.postMessage({ load: [spec] } satisfies HostMessage);
    return { run: (job: J) => this.run(service, job) as Promise<R> };
  }

  private spec(s: ServiceOptions<unknown>): ServiceSpec {
    return { name: s.name, url: s.url.href, data: s.data };
  }

  private spawn(): Slot {
    const services = [...this.services.values()].map((s) => this.spec(s));
    const worker = new Worker(new URL('./host.js', import.meta.url), { workerData: { services } });
    const slot: Slot = { worker, inflight: new Map(), queued: [] };
    worker.on('message', (replies: ReplyMessage<unknown>[]) => {
      for (const r of replies) {
        const p = slot.inflight.get(r.id);
        if (!p) continue;
        slot.inflight.delete(r.id);
        if (r.ok) p.resolve(p.service.revive ? p.service.revive(r.value) : r.value);
        else p.reject(p.service.toError(r.code, r.message));
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

  private run(service: ServiceOptions<unknown>, job: unknown): Promise<unknown> {
    if (this.closed) return Promise.reject(new Error(`the ${this.opts.what} workers are shutting down`));
    while (this.slots.length < this.opts.size) this.slots.push(this.spawn());
    let slot = this.slots[0] as Slot;
    for (const s of this.slots) if (s.inflight.size < slot.inflight.size) slot = s;
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (slot.inflight.size === 0) slot.worker.ref();
      slot.inflight.set(id, { resolve, reject, service });
      slot.queued.push({ id, service: service.name, job });
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
      slot.worker.postMessage({ jobs } satisfies HostMessage);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const slots = this.slots.splice(0);
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }
}

/** The size of a pool with one worker per core, up to `max`. */
export function workersPerCore(max: number): number {
  return Math.max(1, Math.min(max, availableParallelism()));
}
