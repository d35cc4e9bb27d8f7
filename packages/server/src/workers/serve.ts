import { parentPort } from 'node:worker_threads';
import type { JobMessage, ReplyMessage } from './pool.js';

/**
 * The buffer behind `u` when `u` is all of it, so it can be moved to another thread; undefined for a view into a
 * larger buffer (Node's Buffer pool must never be transferred).
 */
export function ownBuffer(u: Uint8Array): ArrayBuffer | undefined {
  return u.byteOffset === 0 && u.byteLength === u.buffer.byteLength && u.buffer instanceof ArrayBuffer ? u.buffer : undefined;
}

/**
 * The worker side of a WorkerPool: runs each job of a batch through `handle` and answers the batch in one message.
 * `encodeError` says what crosses back for a failure (a domain error's code and message; anything else is reported
 * by message with no code). `transferOf` names buffers in a value that can be moved rather than copied.
 */
export function serveJobs<J, R>(
  handle: (job: J) => R | Promise<R>,
  encodeError: (e: unknown) => { code?: string; message: string },
  transferOf?: (value: R) => ArrayBuffer | undefined,
): void {
  const run = async ({ id, job }: JobMessage<J>): Promise<ReplyMessage<R>> => {
    try {
      return { id, ok: true, value: await handle(job) };
    } catch (e) {
      return { id, ok: false, ...encodeError(e) };
    }
  };
  parentPort?.on('message', (jobs: JobMessage<J>[]) => {
    void Promise.all(jobs.map(run)).then((replies) => {
      const transfer = new Set<ArrayBuffer>();
      if (transferOf) {
        for (const r of replies) {
          const b = r.ok ? transferOf(r.value) : undefined;
          if (b) transfer.add(b);
        }
      }
      parentPort?.postMessage(replies, [...transfer]);
    });
  });
}
