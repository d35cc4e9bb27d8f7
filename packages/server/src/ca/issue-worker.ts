// Worker thread of the keyless CA (issuer-pool.ts): reads the client key, checks its proof of possession and issues
// the leaf, so that key parsing (OpenSSL validates the point) and certificate encoding stay off the main event loop.
// Signatures are made and checked synchronously here: this thread is already off the event loop, and a libuv
// threadpool hop per signature only added dispatch, futex wake-ups and callbacks (about a third of the CPU an
// issuance took). The pool runs two of these workers, one per core of the machines Signet targets.
import type { KeyObject } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { CaError } from './errors.js';
import { verifiedCsrKey } from './csr.js';
import { parseSubmittedKey, verifyProofOfPossession } from './keys.js';
import { LeafSigner } from './leaf.js';
import type { IssueJob, IssueReply } from './issuer-pool.js';

const init = workerData as { interKey: KeyObject; interCert: Uint8Array; ctlogKey: KeyObject };
const signer = new LeafSigner(init.interKey, init.interCert, init.ctlogKey, { syncCrypto: true });

async function run(job: IssueJob): Promise<Uint8Array> {
  let spki: Uint8Array;
  if (job.key) {
    const k = parseSubmittedKey(job.key.content);
    verifyProofOfPossession(k.key, job.key.principal, job.key.principalClaim, job.key.proofOfPossession);
    spki = k.spki;
  } else {
    spki = verifiedCsrKey(job.csr ?? '').spki;
  }
  return signer.issue(spki, job.identity);
}

parentPort?.on('message', (job: IssueJob) => {
  run(job).then(
    (leaf) => parentPort?.postMessage({ id: job.id, ok: true, leaf } satisfies IssueReply, [leaf.buffer as ArrayBuffer]),
    (err: unknown) => {
      const reply: IssueReply =
        err instanceof CaError ? { id: job.id, ok: false, code: err.code, message: err.message } : { id: job.id, ok: false, message: String((err as Error)?.message ?? err) };
      parentPort?.postMessage(reply);
    },
  );
});
