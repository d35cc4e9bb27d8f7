// Worker thread: signs a batch's signed entry timestamps with the log key, off the main event loop.
import { sign, type KeyObject } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { canonicalize, toBase64, utf8 } from '@signet/core';

const { key } = workerData as { key: KeyObject };

export interface SetJob {
  id: number;
  logId: string;
  integratedTime: number;
  entries: { idx: number; body: string }[];
}

parentPort?.on('message', (job: SetJob) => {
  try {
    // Rekor's SET: ECDSA over the RFC 8785 canonical JSON of {body, integratedTime, logID, logIndex}.
    const sets = job.entries.map((e) => toBase64(sign('sha256', utf8(canonicalize({ body: e.body, integratedTime: job.integratedTime, logID: job.logId, logIndex: e.idx })), key)));
    parentPort?.postMessage({ id: job.id, sets });
  } catch (err) {
    parentPort?.postMessage({ id: job.id, error: String((err as Error)?.message ?? err) });
  }
});
