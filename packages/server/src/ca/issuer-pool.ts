import type { KeyObject } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { IdentityError } from '../identity/errors.js';
import type { JwsSignatureCheck } from '../identity/jws.js';
import { WorkerPool } from '../workers/pool.js';
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
}

/**
 * Worker threads that turn a verified identity and a submitted key into a leaf (issue-worker.ts). At 1,000
 * certificates a second the main thread is the bottleneck on a 2-core node; reading the key (about 0.13 ms of
 * OpenSSL key validation each), the proof-of-possession check, encoding and both signatures move here, one worker
 * per core up to two (each signs on its own thread). Workers start on first use, so a server that never issues
 * never starts one.
 */
export class IssuerPool {
  private readonly pool: WorkerPool<IssueJob, Uint8Array>;

  constructor(init: IssuerInit, size = Math.max(1, Math.min(2, availableParallelism()))) {
    this.pool = new WorkerPool({
      url: new URL('./issue-worker.js', import.meta.url),
      workerData: init,
      size,
      what: 'certificate issuance',
      lazy: true,
      toError: (code, message) => {
        if (code === IDENTITY_REFUSED) return new IdentityError('UNAUTHENTICATED', message);
        return code ? new CaError(code as CaErrorCode, message) : new Error(`certificate issuance failed: ${message}`);
      },
    });
  }

  issue(job: IssueJob): Promise<Uint8Array> {
    return this.pool.run(job);
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
