// Worker thread: parses, verifies and canonicalizes proposed log entries off the main event loop (verifier-pool.ts).
import { workerData } from 'node:worker_threads';
import type { ParsedCertificate } from '@signet/core';
import { ownBuffer, serveJobs } from '../workers/serve.js';
import { canonicalizeProposedEntry, type CanonicalEntry } from './entries.js';
import { TlogError } from './errors.js';
import { issuedBy } from './issued.js';

const issuers = ((workerData as { trustedIssuers?: Uint8Array[] } | undefined)?.trustedIssuers ?? []).map((der) => issuedBy(der));
const trusted = (cert: ParsedCertificate): boolean => issuers.some((issued) => issued(cert));

serveJobs<string, CanonicalEntry>(
  (body) => {
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch {
      throw new TlogError('ENTRY_INVALID', 'request body is not valid JSON');
    }
    return canonicalizeProposedEntry(value, trusted);
  },
  (err) => (err instanceof TlogError ? { code: err.code, message: err.message } : { message: String((err as Error)?.message ?? err) }),
  (entry) => ownBuffer(entry.body),
);
