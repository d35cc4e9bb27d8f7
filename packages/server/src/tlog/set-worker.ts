// The log's signing service, run on the worker threads (set-signer.ts, workers/host.ts): signs a batch's signed
// entry timestamps, and the checkpoint that covers it, with the log key, off the main event loop.
import { sign, type KeyObject } from 'node:crypto';
import { canonicalize, toBase64, utf8 } from '@signet/core';
import { ownBuffer, type WorkerService } from '../workers/host.js';

/** The SETs of a batch's entries, or the signature of a note's text (a checkpoint, C2SP signed-note). */
export type SetJob = { integratedTime: number; entries: { idx: number; body: string }[] } | { note: Uint8Array };

export function createService({ key, logId }: { key: KeyObject; logId: string }): WorkerService<SetJob, string[] | Uint8Array> {
  return {
    handle: (job) => {
      // ECDSA P-256 with SHA-256, DER-encoded, as core's ecdsaNoteSigner makes it.
      if ('note' in job) return new Uint8Array(sign('sha256', job.note, key));
      // Rekor's SET: ECDSA over the RFC 8785 canonical JSON of {body, integratedTime, logID, logIndex}.
      return job.entries.map((e) => toBase64(sign('sha256', utf8(canonicalize({ body: e.body, integratedTime: job.integratedTime, logID: logId, logIndex: e.idx })), key)));
    },
    encodeError: (err) => ({ message: String((err as Error)?.message ?? err) }),
    transferOf: (v) => (v instanceof Uint8Array ? ownBuffer(v) : undefined),
  };
}
