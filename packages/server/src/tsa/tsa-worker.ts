// The timestamp authority's service, run on the worker threads (authority.ts, workers/host.ts): reads a request,
// builds the RFC 3161 token and signs it synchronously on the worker thread.
import type { KeyObject } from 'node:crypto';
import { ownBuffer, type WorkerService } from '../workers/host.js';
import { answerTimestampRequest, type TimestampAnswer } from './answer.js';
import { PreparedTsaSigner } from './token.js';

export interface TsaInit {
  key: KeyObject;
  certificate: Uint8Array;
  chain: Uint8Array[];
  policyOid: string;
  accuracySeconds: number;
}

export interface TsaJob {
  kind: 'json' | 'der';
  body: Uint8Array;
}

export function createService(init: TsaInit): WorkerService<TsaJob, TimestampAnswer> {
  const signer = new PreparedTsaSigner(init.key, init.certificate, init.chain, init.policyOid, init.accuracySeconds);
  return {
    handle: (job) => answerTimestampRequest(signer, job.kind, job.body),
    encodeError: (err) => ({ message: String((err as Error)?.message ?? err) }),
    transferOf: (answer) => ownBuffer(answer.body),
  };
}
