import type { KeyObject } from 'node:crypto';
import { IdentityError } from '../identity/errors.js';
import type { JwsSignatureCheck } from '../identity/jws.js';
import { WorkerPool, workersPerCore, type PoolService } from '../workers/pool.js';
import { CaError, type CaErrorCode } from './errors.js';
import type { LeafIdentity } from './leaf.js';

/**
 * One issuance: the identity token's signature check (the worker verifies it before anything else), a public key
 * with its proof of possession or a CSR, and the identity to certify.
 */
export interface IssueJob {
  token: JwsSignatureCheck;
  key?: { content: string; proofOfPossession: string; principal: string; principalClaim: string };
  csr?: string;
  identity: LeafIdentity;
}

/** The code an issuance worker answers with when the identity token's signature does not verify. */
export const IDENTITY_REFUSED = 'IDENTITY_REFUSED';

/** What an issuance worker starts with. */
export interface IssuerInit {
  interKey: KeyObject;
  interCert: Uint8Array;
  ctlogKey: KeyObject;
  /** The CA's SharedDigestSet buffer: each leaf's digest is added as it is issued. */
  issued?: SharedArrayBuffer;
}

/**
 * Turns a verified identity and a submitted key into a leaf on worker threads (issue-worker.ts). At 1,000
 * certificates a second the main thread is the bottleneck on a 2-core node; reading the key (about 0.13 ms of
 * OpenSSL key validation each), the proof-of-possession check, encoding and both signatures move off it. The
 * server passes its shared pool (one worker per core); without one the CA starts its own, on first use.
 */
export class IssuerPool {
  private readonly service: PoolService<IssueJob, Uint8Array>;
  private readonly own: WorkerPool | undefined;

  constructor(init: IssuerInit, workers?: WorkerPool) {
    if (!workers) this.own = workers = new WorkerPool({ size: workersPerCore(2), what: 'certificate issuance' });
    this.service = workers.service({
      name: 'ca.issue',
      url: new URL('./issue-worker.js', import.meta.url),
      data: init,
      toError: (code, message) => {
        if (code === IDENTITY_REFUSED) return new IdentityError('UNAUTHENTICATED', message);
        return code ? new CaError(code as CaErrorCode, message) : new Error(`certificate issuance failed: ${message}`);
      },
    });
  }

  issue(job: IssueJob): Promise<Uint8Array> {
    return this.service.run(job);
  }

  /** Stops the CA's own workers (a shared pool is closed by its owner). */
  async close(): Promise<void> {
    await this.own?.close();
  }
}
