import type { Verdict } from '@signet/core';

const KIND_NAMES: Record<Verdict['kind'], string> = {
  'sigstore-bundle': 'Sigstore bundle',
  cosign: 'cosign signature',
  dsse: 'DSSE envelope',
  pgp: 'OpenPGP signature',
  sshsig: 'SSH signature',
  minisign: 'minisign signature',
  signify: 'signify signature',
};

/** The one-line summary for a passing verdict, naming the signer. */
export function summary(v: Verdict, what = 'Verified OK'): string {
  const s = v.signer;
  let who = 'an unnamed key';
  if (s?.identity && s.issuer) who = `${s.identity} (issuer ${s.issuer})`;
  else if (s?.identity && s.keyId && s.identity !== s.keyId) who = `${s.identity} (${s.keyId})`;
  else if (s?.identity ?? s?.keyId) who = (s.identity ?? s.keyId) as string;
  const extra = `${s?.comment ? `; trusted comment: ${s.comment}` : ''}${s?.issuer && s.timestamp ? `; signed at ${s.timestamp}` : ''}`;
  return `${what}: ${KIND_NAMES[v.kind]} by ${who}${extra}`;
}

/** The first failing check, as "name: detail". */
export function failure(v: Verdict): string {
  const c = v.checks.find((x) => !x.ok);
  if (c) return `${c.name}: ${c.detail}`;
  return 'signature: no signature check was made';
}

export function printVerdict(v: Verdict, output: string, successLine: string): void {
  if (output === 'json') {
    process.stdout.write(`${JSON.stringify(v, null, 2)}\n`);
  } else if (v.ok) {
    process.stdout.write(`${successLine}\n`);
  }
}
