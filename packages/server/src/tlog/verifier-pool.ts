import { availableParallelism } from 'node:os';
import { WorkerPool } from '../workers/pool.js';
import type { CanonicalEntry } from './entries.js';
import { TlogError, type TlogErrorCode } from './errors.js';

/**
 * A small pool of worker threads (verify-worker.ts) that parse, verify and canonicalize proposed entries from their
 * raw JSON bodies, so signature verification (ECDSA over a digest costs a few hundred microseconds) never blocks
 * the event loop. Entries arriving in one event-loop turn cross to a worker in one message (WorkerPool).
 */
export class VerifierPool {
  private readonly pool: WorkerPool<string, CanonicalEntry>;
  private closed = false;

  /** `trustedIssuers`: CA certificates (DER) whose current leaves mark an entry fromTrustedIssuer. */
  constructor(trustedIssuers: Uint8Array[] = [], size = Math.max(1, Math.min(4, availableParallelism()))) {
    this.pool = new WorkerPool({
      url: new URL('./verify-worker.js', import.meta.url),
      workerData: { trustedIssuers },
      size,
      what: 'entry verifier',
      toError: (code, message) => (code ? new TlogError(code as TlogErrorCode, message) : new Error(`entry verification failed: ${message}`)),
      revive: (entry) => ({ ...entry, body: new Uint8Array(entry.body) }),
    });
  }

  /** Parses the raw JSON body of a proposed entry and verifies it in a worker. */
  verify(body: string): Promise<CanonicalEntry> {
    if (this.closed) return Promise.reject(new TlogError('OVERLOADED', 'the log is shutting down', { headers: { 'Retry-After': '5' } }));
    return this.pool.run(body);
  }

  close(): Promise<void> {
    this.closed = true;
    return this.pool.close();
  }
}
