import type { KeyObject } from 'node:crypto';
import { WorkerPool, type PoolService } from '../workers/pool.js';
import type { SetJob } from './set-worker.js';

/**
 * Signs with the log key on a worker thread: a batch's signed entry timestamps in one job, and its checkpoint in
 * another (both reach the workers in the same message). Each SET signed as its own thread-pool job (crypto.sign with
 * a callback) cost more in job dispatch, thread wake-ups and context switches than in the signature itself; a batch
 * of them in one worker round trip does not. The server passes its shared pool; without one the log starts a
 * worker of its own.
 */
export class SetSigner {
  private readonly service: PoolService<SetJob, string[] | Uint8Array>;
  private readonly own: WorkerPool | undefined;

  constructor(key: KeyObject, logId: string, workers?: WorkerPool) {
    if (!workers) this.own = workers = new WorkerPool({ size: 1, what: 'entry timestamp signer' });
    this.service = workers.service({
      name: `tlog.set.${logId}`,
      url: new URL('./set-worker.js', import.meta.url),
      data: { key, logId },
      toError: (_code, message) => new Error(`signing with the log key failed: ${message}`),
    });
  }

  /** Base64 SETs for entries integrated at `integratedTime`, in the order given. */
  async sign(integratedTime: number, entries: { idx: number; body: string }[]): Promise<string[]> {
    return (await this.service.run({ integratedTime, entries })) as string[];
  }

  /** The DER ECDSA signature of a note's text (core's ecdsaNoteSigner, made on the worker). */
  async signNote(text: Uint8Array): Promise<Uint8Array> {
    return (await this.service.run({ note: text })) as Uint8Array;
  }

  /** Stops the log's own worker (a shared pool is closed by its owner). */
  async close(): Promise<void> {
    await this.own?.close();
  }
}
