// The shared worker pool (workers/pool.ts, workers/host.ts): services, batches, errors, dead workers, shutdown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkerPool } from '../dist/workers/pool.js';

type Job = { op: 'echo' | 'fail' | 'exit'; value?: number };
type Reply = { tag: string; value?: number; thread: number };

const url = new URL('./fixtures/pool-services.js', import.meta.url);
const toError = (code: string | undefined, message: string): Error => Object.assign(new Error(message), { code });

test('jobs of several services share the workers; each answer comes from its own service', async (t) => {
  const pool = new WorkerPool({ size: 2, what: 'test' });
  t.after(() => pool.close());
  const a = pool.service<Job, Reply>({ name: 'a', url, data: { tag: 'A' }, toError });
  const b = pool.service<Job, Reply>({ name: 'b', url, data: { tag: 'B' }, toError });
  const replies = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? b : a).run({ op: 'echo', value: i })));
  for (const [i, r] of replies.entries()) {
    assert.equal(r.tag, i % 2 ? 'B' : 'A');
    assert.equal(r.value, i);
  }
  // Both workers took jobs (least-loaded placement), and both hosted both services.
  assert.equal(new Set(replies.map((r) => r.thread)).size, 2);
  assert.throws(() => pool.service({ name: 'a', url, data: { tag: 'again' }, toError }), /service named "a" is already registered with the test workers/);
});

test('a failed job rejects with the service\'s error; the batch\'s other jobs still succeed', async (t) => {
  const pool = new WorkerPool({ size: 1, what: 'test' });
  t.after(() => pool.close());
  const s = pool.service<Job, Reply>({ name: 's', url, data: { tag: 'S' }, toError });
  const [ok, bad] = await Promise.allSettled([s.run({ op: 'echo', value: 1 }), s.run({ op: 'fail', value: 2 })]);
  assert.equal(ok.status === 'fulfilled' && ok.value.value, 1);
  assert.equal(bad.status, 'rejected');
  assert.match(String((bad as PromiseRejectedResult).reason.message), /job 2 was refused/);
  assert.equal((bad as PromiseRejectedResult).reason.code, 'BAD_JOB');
});

test('a service registered after the workers started is loaded into them', async (t) => {
  const pool = new WorkerPool({ size: 2, what: 'test' });
  t.after(() => pool.close());
  const first = pool.service<Job, Reply>({ name: 'first', url, data: { tag: 'first' }, toError });
  await Promise.all([first.run({ op: 'echo' }), first.run({ op: 'echo' })]);
  const late = pool.service<Job, Reply>({ name: 'late', url, data: { tag: 'late' }, toError });
  const replies = await Promise.all(Array.from({ length: 8 }, () => late.run({ op: 'echo' })));
  assert.deepEqual(new Set(replies.map((r) => r.tag)), new Set(['late']));
  const bad = pool.service<Job, Reply>({ name: 'missing', url: new URL('./fixtures/no-such-module.js', import.meta.url), data: {}, toError });
  await assert.rejects(bad.run({ op: 'echo' }), /the missing service could not start/);
});

test('a dead worker fails its jobs with a clear error and the next job gets a new worker', async (t) => {
  const pool = new WorkerPool({ size: 1, what: 'test' });
  t.after(() => pool.close());
  const s = pool.service<Job, Reply>({ name: 's', url, data: { tag: 'S' }, toError });
  const before = await s.run({ op: 'echo' });
  await assert.rejects(s.run({ op: 'exit' }), /the test worker exited with 3/);
  const after = await s.run({ op: 'echo', value: 7 });
  assert.equal(after.value, 7);
  assert.notEqual(after.thread, before.thread);
});

test('after close, jobs are refused', async () => {
  const pool = new WorkerPool({ size: 1, what: 'test' });
  const s = pool.service<Job, Reply>({ name: 's', url, data: { tag: 'S' }, toError });
  await s.run({ op: 'echo' });
  await pool.close();
  await assert.rejects(s.run({ op: 'echo' }), /the test workers are shutting down/);
});
