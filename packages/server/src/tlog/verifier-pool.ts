import { WorkerPool, workersPerCore, type PoolService } from '../workers/pool.js';
import type { CanonicalEntry } from './entries.js';
import { TlogError, type TlogErrorCode } from './errors.js';

/**
 * A CA whose current leaves mark an entry fromTrustedIssuer: its certificate (DER) and, for the server's own CA, the
 * shared set of the leaves it issued (SharedDigestSet's buffer), which spares the workers most signature checks.
 */
export interface TrustedIssuerSpec {
  certificate: Uint8Array;
  issued?: SharedArrayBuffer;
}

/**
 * Parses, verifies and canonicalizes proposed entries from their raw JSON bodies on worker threads
 * (verify-worker.ts), so signature verification (ECDSA over a digest costs a few hundred microseconds) never blocks
 * the event loop. The server passes its shared pool; without one the log starts its own.
 */
export class VerifierPool {
  private readonly service: PoolService<string, CanonicalEntry>;
  private readonly own: WorkerPool | undefined;
  private closed = false;

  /** `trustedIssuers`: the CAs whose current leaves mark an entry fromTrustedIssuer. */
  constructor(trustedIssuers: TrustedIssuerSpec[] = [], workers?: WorkerPool) {
    if (!workers) this.own = workers = new WorkerPool({ size: workersPerCore(4), what: 'entry verifier' });
    this.service = workers.service({
      name: 'tlog.verify',
      url: new URL('./verify-worker.js', import.meta.url),
      data: { trustedIssuers },
      toError: (code, message) => (code ? new TlogError(code as TlogErrorCode, message) : new Error(`entry verification failed: ${message}`)),
      revive: (entry) => ({ ...entry, body: new Uint8Array(entry.body) }),
    });
  }

  /** Parses the raw JSON body of a proposed entry and verifies it in a worker. */
  verify(body: string): Promise<CanonicalEntry> {
    if (this.closed) return Promise.reject(new TlogError('OVERLOADED', 'the log is shutting down', { headers: { 'Retry-After': '5' } }));
    return this.service.run(body);
  }

  /** Stops taking entries, and the log's own workers (a shared pool is closed by its owner). */
  async close(): Promise<void> {
    this.closed = true;
    await this.own?.close();
  }
}
