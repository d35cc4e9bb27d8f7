// Worker thread of the timestamp authority (authority.ts): reads a request, builds the RFC 3161 token and signs it
// synchronously on this thread, answering a batch of requests per message (workers/serve.ts).
import type { KeyObject } from 'node:crypto';
import { workerData } from 'node:worker_threads';
import { ownBuffer, serveJobs } from '../workers/serve.js';
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

const init = workerData as TsaInit;
const signer = new PreparedTsaSigner(init.key, init.certificate, init.chain, init.policyOid, init.accuracySeconds);

serveJobs<TsaJob, TimestampAnswer>(
  (job) => answerTimestampRequest(signer, job.kind, job.body),
  (err) => ({ message: String((err as Error)?.message ?? err) }),
  (answer) => ownBuffer(answer.body),
);
