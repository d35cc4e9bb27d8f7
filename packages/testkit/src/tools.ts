import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { TestContext } from 'node:test';

/** Debian package that provides each external tool the interop tests drive. */
export const TOOL_PACKAGES: Record<string, string> = {
  gpg: 'gnupg',
  gpgv: 'gpgv',
  sqv: 'sqv',
  'ssh-keygen': 'openssh-client',
  minisign: 'minisign',
  'signify-openbsd': 'signify-openbsd',
  openssl: 'openssl',
  git: 'git',
  sha256sum: 'coreutils',
  skopeo: 'skopeo',
  umoci: 'umoci',
  'docker-registry': 'docker-registry',
};

function which(name: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/**
 * Finds an external tool for an interop test. Outside CI a missing tool skips the test with a
 * message naming the package to install; with CI=true it fails the test, so CI can never pass
 * by silently skipping interop.
 */
export function requireTool(t: TestContext, name: string): string | undefined {
  const found = which(name);
  if (found) return found;
  const pkg = TOOL_PACKAGES[name] ?? name;
  const msg = `${name} not found: install it with "apt-get install ${pkg}"`;
  if (process.env['CI'] === 'true') throw new Error(`${msg} (CI=true: interop tests may not skip)`);
  t.skip(msg);
  return undefined;
}
