// Worker thread of a WorkerPool (pool.ts): hosts the services registered with the pool (the CA's issuance, the
// TSA's tokens, the log's entry verification), runs each batch of jobs through them and answers the batch in one
// message.
import { parentPort, workerData } from 'node:worker_threads';
import type { HostMessage, JobMessage, ReplyMessage, ServiceSpec } from './pool.js';

/** What a service module's createService(data) returns: the job handler, run on this worker thread. */
export interface WorkerService<J, R> {
  handle(job: J): R | Promise<R>;
  /** What crosses back for a failure: a domain error's code and message; anything else by message, no code. */
  encodeError(e: unknown): { code?: string; message: string };
  /** A buffer in the value that can be moved rather than copied. */
  transferOf?(value: R): ArrayBuffer | undefined;
}

/**
 * The buffer behind `u` when `u` is all of it, so it can be moved to another thread; undefined for a view into a
 * larger buffer (Node's Buffer pool must never be transferred).
 */
export function ownBuffer(u: Uint8Array): ArrayBuffer | undefined {
  return u.byteOffset === 0 && u.byteLength === u.buffer.byteLength && u.buffer instanceof ArrayBuffer ? u.buffer : undefined;
}

type AnyService = WorkerService<unknown, unknown>;

// A service is a promise while its module loads, then the service itself (so a job costs no extra await).
const services = new Map<string, AnyService | Promise<AnyService>>();

function load(spec: ServiceSpec): void {
  const loading = import(spec.url).then(async (m: { createService?: (data: unknown) => AnyService | Promise<AnyService> }) => {
    if (typeof m.createService !== 'function') throw new Error(`${spec.url} does not export createService`);
    const s = await m.createService(spec.data);
    services.set(spec.name, s);
    return s;
  });
  loading.catch(() => undefined); // reported to each job of the service
  services.set(spec.name, loading);
}

async function run({ id, service, job }: JobMessage<unknown>): Promise<ReplyMessage<unknown> & { transfer?: ArrayBuffer }> {
  let s: AnyService;
  try {
    const found = services.get(service);
    if (!found) throw new Error(`no service "${service}" in this worker`);
    s = found instanceof Promise ? await found : found;
  } catch (e) {
    return { id, ok: false, message: `the ${service} service could not start: ${String((e as Error)?.message ?? e)}` };
  }
  try {
    const value = await s.handle(job);
    const transfer = s.transferOf?.(value);
    return transfer ? { id, ok: true, value, transfer } : { id, ok: true, value };
  } catch (e) {
    return { id, ok: false, ...s.encodeError(e) };
  }
}

for (const spec of (workerData as { services: ServiceSpec[] }).services) load(spec);

parentPort?.on('message', (msg: HostMessage) => {
  if (msg.load) for (const spec of msg.load) load(spec);
  if (!msg.jobs) return;
  void Promise.all(msg.jobs.map(run)).then((replies) => {
    const transfer = new Set<ArrayBuffer>();
    for (const r of replies) {
      if (r.transfer) {
        transfer.add(r.transfer);
        delete r.transfer;
      }
    }
    parentPort?.postMessage(replies, [...transfer]);
  });
});
