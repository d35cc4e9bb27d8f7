// The keyless CA's issuance service, run on the worker threads (issuer-pool.ts, workers/host.ts): reads the client
// key, checks its proof of possession and issues the leaf, so that key parsing (OpenSSL validates the point) and
// certificate encoding stay off the main event loop.
// Signatures are made and checked synchronously here: this thread is already off the event loop, and a libuv
// threadpool hop per signature only added dispatch, futex wake-ups and callbacks (about a third of the CPU an
// issuance took).
import { verifyJwsSignatureSync } from '../identity/jws.js';
import { SharedDigestSet } from '../workers/digest-set.js';
import { ownBuffer, type WorkerService } from '../workers/host.js';
import { CaError } from './errors.js';
import { verifiedCsrKey } from './csr.js';
import { parseSubmittedKey, verifyProofOfPossession } from './keys.js';
import { LeafSigner } from './leaf.js';
import { IDENTITY_REFUSED, type IssueJob, type IssuerInit } from './issuer-pool.js';

class TokenRefused extends Error {}

export function createService(init: IssuerInit): WorkerService<IssueJob, Uint8Array> {
  const signer = new LeafSigner(init.interKey, init.interCert, init.ctlogKey, { syncCrypto: true, ...(init.issued ? { issued: SharedDigestSet.from(init.issued) } : {}) });
  return {
    handle: (job) => {
      // The main thread checked everything about the token but its signature (OidcVerifier.check).
      if (!verifyJwsSignatureSync(job.token)) throw new TokenRefused('the identity token signature does not verify');
      let spki: Uint8Array;
      if (job.key) {
        const k = parseSubmittedKey(job.key.content);
        verifyProofOfPossession(k.key, job.key.principal, job.key.principalClaim, job.key.proofOfPossession);
        spki = k.spki;
      } else {
        spki = verifiedCsrKey(job.csr ?? '').spki;
      }
      return signer.issue(spki, job.identity);
    },
    encodeError: (err) => {
      if (err instanceof TokenRefused) return { code: IDENTITY_REFUSED, message: err.message };
      return err instanceof CaError ? { code: err.code, message: err.message } : { message: String((err as Error)?.message ?? err) };
    },
    transferOf: ownBuffer,
  };
}
