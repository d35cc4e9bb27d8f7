// Worker thread: parses, verifies and canonicalizes proposed log entries off the main event loop.
import { parentPort, workerData } from 'node:worker_threads';
import { canonicalizeProposedEntry } from './entries.js';
import { TlogError } from './errors.js';
import { issuedBy } from './issued.js';

const trusted = ((workerData as { trustedIssuers?: Uint8Array[] } | undefined)?.trustedIssuers ?? []).map((der) => issuedBy(der));

interface Job {
  id: number;
  body: string;
}

parentPort?.on('message', (job: Job) => {
  void (async () => {
    try {
      let value: unknown;
      try {
        value = JSON.parse(job.body);
      } catch {
        throw new TlogError('ENTRY_INVALID', 'request body is not valid JSON');
      }
      const e = await canonicalizeProposedEntry(value, (cert) => trusted.some((issued) => issued(cert)));
      parentPort?.postMessage({ id: job.id, ok: true, entry: e }, [e.body.buffer as ArrayBuffer]);
    } catch (err) {
      const known = err instanceof TlogError;
      parentPort?.postMessage({ id: job.id, ok: false, code: known ? err.code : 'INTERNAL', message: known ? err.message : String((err as Error)?.message ?? err) });
    }
  })();
});
