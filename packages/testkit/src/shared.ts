import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The project's shared/ folder (conformance data), which sits beside the repository checkout
 * (../shared from the root). SIGNET_SHARED_DIR overrides the search.
 */
export function sharedDir(): string {
  const env = process.env['SIGNET_SHARED_DIR'];
  if (env) return resolve(env);
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'shared', 'testdata');
    if (existsSync(candidate)) return join(dir, 'shared');
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new Error('shared/testdata not found beside the repository; set SIGNET_SHARED_DIR to the shared/ folder');
}
