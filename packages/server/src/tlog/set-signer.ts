import type { KeyObject } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import type { SetJob } from './set-worker.js';

/**
 * Signs signed entry timestamps in a worker thread, one message per batch. Each SET signed as its own
 * thread-pool job (crypto.sign with a callback) cost more in job dispatch, thread wake-ups and context
 * switches than in the signature itself; a batch of them in one worker round trip does not.
 */
export class SetSigner {
  private worker: Worker | undefined;
  private readonly inflight = new Map<number, { resolve: (sets: string[]) => void; reject: (e: Error) => void }>();
  private nextId = 0;

  constructor(
    private readonly key: KeyObject,
    private readonly logId: string,
  ) {}

  private spawn(): Worker {
    const worker = new Worker(new URL('./set-worker.js', import.meta.url), { workerData: { key: this.key } });
    worker.on('message', (r: { id: number; sets?: string[]; error?: string }) => {
      const p = this.inflight.get(r.id);
      if (!p) return;
      this.inflight.delete(r.id);
      if (this.inflight.size === 0) worker.unref();
      if (r.sets) p.resolve(r.sets);
      else p.reject(new Error(`signing entry timestamps failed: ${r.error ?? 'unknown error'}`));
    });
    const fail = (e: Error): void => {
      if (this.worker !== worker) return;
      this.worker = undefined; // the next batch starts a new worker
      for (const p of this.inflight.values()) p.reject(e);
      this.inflight.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the entry timestamp signer exited with code ${code}`)));
    worker.unref();
    return worker;
  }

  /** Base64 SETs for entries integrated at `integratedTime`, in the order given. */
  sign(integratedTime: number, entries: { idx: number; body: string }[]): Promise<string[]> {
    const worker = (this.worker ??= this.spawn());
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      // The worker keeps the process alive only while it has work in flight.
      if (this.inflight.size === 0) worker.ref();
      this.inflight.set(id, { resolve, reject });
      const job: SetJob = { id, logId: this.logId, integratedTime, entries };
      worker.postMessage(job);
    });
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    await w?.terminate();
  }
}
