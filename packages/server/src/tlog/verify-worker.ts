// The log's entry verification service, run on the worker threads (verifier-pool.ts, workers/host.ts): parses,
// verifies and canonicalizes proposed log entries off the main event loop.
import type { ParsedCertificate } from '@signet/core';
import { ownBuffer, type WorkerService } from '../workers/host.js';
import { canonicalizeProposedEntry, type CanonicalEntry } from './entries.js';
import { TlogError } from './errors.js';
import { issuedBy } from './issued.js';
import { SharedDigestSet } from '../workers/digest-set.js';
import type { TrustedIssuerSpec } from './verifier-pool.js';

export function createService(data: { trustedIssuers: TrustedIssuerSpec[] }): WorkerService<string, CanonicalEntry> {
  const issuers = data.trustedIssuers.map((t) => issuedBy(t.certificate, t.issued ? SharedDigestSet.from(t.issued) : undefined));
  const trusted = (cert: ParsedCertificate): boolean => issuers.some((issued) => issued(cert));
  return {
    handle: (body) => {
      let value: unknown;
      try {
        value = JSON.parse(body);
      } catch {
        throw new TlogError('ENTRY_INVALID', 'request body is not valid JSON');
      }
      return canonicalizeProposedEntry(value, trusted);
    },
    encodeError: (err) => (err instanceof TlogError ? { code: err.code, message: err.message } : { message: String((err as Error)?.message ?? err) }),
    transferOf: (entry) => ownBuffer(entry.body),
  };
}
