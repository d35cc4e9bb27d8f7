import type { KeyObject } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { CaError, type CaErrorCode } from './errors.js';
import type { LeafIdentity } from './leaf.js';

/** One issuance: a public key with its proof of possession, or a CSR; and the identity to certify. */
export interface IssueJob {
  id: number;
  key?: { content: string; proofOfPossession: string; principal: string; principalClaim: string };
  csr?: string;
  identity: LeafIdentity;
}

export type IssueReply = { id: number; ok: true; leaf: Uint8Array } | { id: number; ok: false; code?: CaErrorCode; message: string };

interface Slot {
  worker: Worker;
  inflight: Map<number, { resolve: (leaf: Uint8Array) => void; reject: (e: unknown) => void }>;
}

/**
 * Worker threads that turn a verified identity and a submitted key into a leaf (issue-worker.ts). At 1,000
 * certificates a second the main thread is the bottleneck on a 2-core node; reading the key (about 0.13 ms of
 * OpenSSL key validation each), the proof-of-possession check, encoding and both signatures move here, one worker
 * per core up to two (each signs on its own thread). Workers start on first use, so a server
 * that never issues never starts one, and they keep the process alive only while work is in flight.
 */
export class IssuerPool {
  private readonly slots: Slot[] = [];
  private nextId = 0;
  private closed = false;

  constructor(
    private readonly init: { interKey: KeyObject; interCert: Uint8Array; ctlogKey: KeyObject },
    private readonly size = Math.max(1, Math.min(2, availableParallelism())),
  ) {}

  private spawn(): Slot {
    const worker = new Worker(new URL('./issue-worker.js', import.meta.url), { workerData: this.init });
    const slot: Slot = { worker, inflight: new Map() };
    worker.on('message', (r: IssueReply) => {
      const p = slot.inflight.get(r.id);
      if (!p) return;
      slot.inflight.delete(r.id);
      if (slot.inflight.size === 0) worker.unref();
      if (r.ok) p.resolve(r.leaf);
      else if (r.code) p.reject(new CaError(r.code, r.message));
      else p.reject(new Error(`certificate issuance failed: ${r.message}`));
    });
    const fail = (e: unknown): void => {
      for (const p of slot.inflight.values()) p.reject(e instanceof Error ? e : new Error(String(e)));
      slot.inflight.clear();
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots.splice(i, 1); // the next job starts a fresh worker
    };
    worker.on('error', fail);
    worker.on('exit', (code) => {
      if (!this.closed) fail(new Error(`the issuance worker exited with ${code}`));
    });
    worker.unref();
    return slot;
  }

  issue(job: Omit<IssueJob, 'id'>): Promise<Uint8Array> {
    if (this.closed) return Promise.reject(new Error('the CA is shutting down'));
    while (this.slots.length < this.size) this.slots.push(this.spawn());
    const slot = this.slots.reduce((a, b) => (b.inflight.size < a.inflight.size ? b : a));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (slot.inflight.size === 0) slot.worker.ref();
      slot.inflight.set(id, { resolve, reject });
      slot.worker.postMessage({ ...job, id } satisfies IssueJob);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.slots.length = 0;
  }
}
