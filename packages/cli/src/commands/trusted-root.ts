import type { Command } from 'commander';
import { CliError } from '../errors.js';
import { httpFetch, serverUrl, type ServerOpts } from '../client.js';
import { writeOutput } from '../io.js';

/** GET <server>/api/v1/trusted_root.json, checked to be a trusted root; the text is returned unchanged. */
export async function fetchTrustedRoot(o: ServerOpts): Promise<string> {
  const base = serverUrl(o);
  const url = `${base}/api/v1/trusted_root.json`;
  const res = await httpFetch(url, { headers: { accept: 'application/json' } }, 'server', base);
  const text = await res.text();
  if (!res.ok) throw new CliError(`the server refused GET ${url} (HTTP ${res.status}): ${text.slice(0, 200)}`);
  let mediaType: unknown;
  try {
    mediaType = (JSON.parse(text) as { mediaType?: unknown }).mediaType;
  } catch {
    throw new CliError(`${url} did not answer with JSON`);
  }
  if (typeof mediaType !== 'string' || !mediaType.startsWith('application/vnd.dev.sigstore.trustedroot')) {
    throw new CliError(`${url} did not answer with a Sigstore trusted root (mediaType ${JSON.stringify(mediaType)})`);
  }
  return text.endsWith('\n') ? text : `${text}\n`;
}

export function register(program: Command): void {
  const tr = program.command('trusted-root').description("a server's Sigstore trust root (CA, log, CT log and TSA keys) for offline verification");
  tr.command('fetch')
    .description('print the server\'s trusted_root.json (give it to verify commands with --trusted-root to verify with no network)')
    .option('--server <url>', 'Signet server URL (env SIGNET_SERVER; default http://127.0.0.1:8080)')
    .option('--output <path>', 'write to this file instead of standard output')
    .action(async (o: ServerOpts & { output?: string }) => {
      const text = await fetchTrustedRoot(o);
      if (o.output) {
        await writeOutput(o.output, text, { force: true, what: 'trusted root' });
        process.stderr.write(`Wrote trusted root to ${o.output}\n`);
      } else {
        process.stdout.write(text);
      }
    });
}
