// Worker thread: parses, verifies and canonicalizes proposed log entries off the main event loop. Jobs arrive in
// batches (verifier-pool.ts) and the answers to a batch go back in one message.
import { parentPort, workerData } from 'node:worker_threads';
import type { ParsedCertificate } from '@signet/core';
import { canonicalizeProposedEntry } from './entries.js';
import { TlogError } from './errors.js';
import { issuedBy } from './issued.js';
import type { VerifyJob, VerifyReply } from './verifier-pool.js';

const issuers = ((workerData as { trustedIssuers?: Uint8Array[] } | undefined)?.trustedIssuers ?? []).map((der) => issuedBy(der));
const trusted = (cert: ParsedCertificate): boolean => issuers.some((issued) => issued(cert));

async function run(job: VerifyJob): Promise<VerifyReply> {
  try {
    let value: unknown;
    try {
      value = JSON.parse(job.body);
    } catch {
      throw new TlogError('ENTRY_INVALID', 'request body is not valid JSON');
    }
    const entry = await canonicalizeProposedEntry(value, trusted);
    return { id: job.id, ok: true, entry };
  } catch (err) {
    const known = err instanceof TlogError;
    return { id: job.id, ok: false, code: known ? err.code : 'INTERNAL', message: known ? err.message : String((err as Error)?.message ?? err) };
  }
}

parentPort?.on('message', (jobs: VerifyJob[]) => {
  void Promise.all(jobs.map(run)).then((replies) => {
    const transfer = [...new Set(replies.flatMap((r) => (r.entry ? [r.entry.body.buffer as ArrayBuffer] : [])))];
    parentPort?.postMessage(replies, transfer);
  });
});
