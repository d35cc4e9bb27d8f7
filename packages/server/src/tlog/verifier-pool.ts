import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { CanonicalEntry } from './entries.js';
import { TlogError, type TlogErrorCode } from './errors.js';

/** One proposed entry for a worker: the raw JSON body. Jobs cross to a worker in batches (an array per message). */
export interface VerifyJob {
  id: number;
  body: string;
}

/** A worker's answer to one job; a worker posts the answers to a batch together. */
export interface VerifyReply {
  id: number;
  ok: boolean;
  entry?: CanonicalEntry;
  code?: TlogErrorCode | 'INTERNAL';
  message?: string;
}

interface Slot {
  worker: Worker;
  inflight: Map<number, { resolve: (e: CanonicalEntry) => void; reject: (e: unknown) => void }>;
  /** Jobs waiting for the next flush (one postMessage per slot per event-loop turn). */
  queued: VerifyJob[];
}

/**
 * A small pool of worker threads that parse, verify and canonicalize proposed entries, so signature
 * verification (ECDSA over a digest costs a few hundred microseconds) never blocks the event loop.
 * Jobs that arrive in the same event-loop turn go to a worker in one message, and it answers them in one:
 * a MessagePort round trip costs the event loop tens of microseconds, about a tenth of its work per entry.
 */
export class VerifierPool {
  private readonly slots: Slot[] = [];
  private nextId = 0;
  private closed = false;
  private flushScheduled = false;

  /** `trustedIssuers`: CA certificates (DER) whose current leaves mark an entry fromTrustedIssuer. */
  constructor(
    private readonly trustedIssuers: Uint8Array[] = [],
    size = Math.max(1, Math.min(4, availableParallelism())),
  ) {
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  private spawn(): Slot {
    const worker = new Worker(new URL('./verify-worker.js', import.meta.url), { workerData: { trustedIssuers: this.trustedIssuers } });
    const slot: Slot = { worker, inflight: new Map(), queued: [] };
    worker.on('message', (replies: VerifyReply[]) => {
      for (const r of replies) {
        const p = slot.inflight.get(r.id);
        if (!p) continue;
        slot.inflight.delete(r.id);
        if (r.ok && r.entry) p.resolve({ ...r.entry, body: new Uint8Array(r.entry.body) });
        else if (r.code && r.code !== 'INTERNAL') p.reject(new TlogError(r.code, r.message ?? 'invalid entry'));
        else p.reject(new Error(r.message ?? 'entry verification failed'));
      }
      if (slot.inflight.size === 0) worker.unref();
    });
    const fail = (e: unknown): void => {
      for (const p of slot.inflight.values()) p.reject(e instanceof Error ? e : new Error(String(e)));
      slot.inflight.clear();
      slot.queued.length = 0;
      if (this.closed) return;
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots[i] = this.spawn();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => {
      if (!this.closed) fail(new Error(`entry verifier exited with ${code}`));
    });
    worker.unref();
    return slot;
  }

  /** Parses the raw JSON body of a proposed entry and verifies it in a worker. */
  verify(body: string): Promise<CanonicalEntry> {
    if (this.closed) return Promise.reject(new TlogError('OVERLOADED', 'the log is shutting down', { headers: { 'Retry-After': '5' } }));
    const slot = this.slots.reduce((a, b) => (b.inflight.size < a.inflight.size ? b : a));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      // A worker keeps the process alive only while it has work in flight.
      if (slot.inflight.size === 0) slot.worker.ref();
      slot.inflight.set(id, { resolve, reject });
      slot.queued.push({ id, body });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Sends each worker the jobs queued for it in this event-loop turn. */
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
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
