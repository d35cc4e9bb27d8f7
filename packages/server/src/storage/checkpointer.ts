// Worker thread: runs SQLite WAL checkpoints on its own connection, so the copy of WAL pages into the
// database file and its fsyncs never block the server's event loop (https://sqlite.org/wal.html#ckpt).
import { statSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import SQLite from 'better-sqlite3';

interface Options {
  path: string;
  /** Checkpoint once the WAL is at least this large (bytes). */
  thresholdBytes: number;
  intervalMs: number;
}

const { path, thresholdBytes, intervalMs } = workerData as Options;
const db = new SQLite(path);
db.pragma('busy_timeout = 5000');

function walSize(): number {
  try {
    return statSync(`${path}-wal`).size;
  } catch {
    return 0;
  }
}

function checkpoint(): void {
  try {
    // PASSIVE never waits for readers or writers; frames still in use are copied by a later run. Once all
    // are copied, the next writer starts the WAL over from the beginning.
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (e) {
    parentPort?.postMessage({ error: String((e as Error)?.message ?? e) });
  }
}

const timer = setInterval(() => {
  if (walSize() >= thresholdBytes) checkpoint();
}, intervalMs);

parentPort?.on('message', (m: { stop?: boolean }) => {
  if (!m.stop) return;
  clearInterval(timer);
  db.close();
  parentPort?.postMessage({ stopped: true });
});
