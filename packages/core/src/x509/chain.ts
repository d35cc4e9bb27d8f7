import { X509Certificate, createPublicKey } from 'node:crypto';
import { SignetError } from '../errors.js';
import { bytesEqual } from '../encoding/bytes.js';
import type { Check } from '../verify/types.js';
import { nameToString } from './name.js';
import { OID } from './oids.js';
import { parseCertificate, type ParsedCertificate } from './parse.js';

export interface ChainResult {
  /** True when a path to a self-signed root in the pool was found and every check passed. */
  ok: boolean;
  /** The path, leaf first, ending at the root (as far as it was built when no complete path exists). */
  chain: Uint8Array[];
  checks: Check[];
}

/** Certificate signature algorithms accepted on a chain: ECDSA and RSA PKCS#1 v1.5 with SHA-2, and Ed25519. */
const ACCEPTED_SIGNATURE_ALGORITHMS = new Set<string>([
  OID.ecdsaWithSha256,
  OID.ecdsaWithSha384,
  OID.ecdsaWithSha512,
  OID.sha256WithRsa,
  OID.sha384WithRsa,
  OID.sha512WithRsa,
  OID.ed25519,
]);

/** Critical extensions this verifier understands (RFC 5280 §4.2: a certificate with any other must be rejected). */
const UNDERSTOOD_CRITICAL = new Set<string>([
  OID.basicConstraints,
  OID.keyUsage,
  OID.extKeyUsage,
  OID.subjectAltName,
  OID.subjectKeyIdentifier,
  OID.authorityKeyIdentifier,
  OID.certificatePolicies,
]);

const MAX_DEPTH = 8;
const MAX_PATHS = 16;

interface Node {
  der: Uint8Array;
  cert: ParsedCertificate;
  x509: X509Certificate | undefined;
  inPool: boolean;
}

function makeNode(der: Uint8Array, inPool: boolean, what: string): Node {
  let cert: ParsedCertificate;
  try {
    cert = parseCertificate(der);
  } catch (e) {
    throw new SignetError('MALFORMED_INPUT', `${what}: ${e instanceof Error ? e.message : String(e)}`);
  }
  let x509: X509Certificate | undefined;
  try {
    x509 = new X509Certificate(Buffer.from(der));
  } catch {
    x509 = undefined; // Its signature then verifies with no key: it can be in no path.
  }
  return { der, cert, x509, inPool };
}

const label = (n: Node): string => `"${nameToString(n.cert.subject)}" (serial ${n.cert.serialNumber.toString(16)})`;

/** X.509 signature check (RFC 5280 §6.1.3 (a)(1)) through node:crypto; any error is a failure. */
function signedBy(child: Node, issuer: Node): boolean {
  if (!child.x509) return false;
  try {
    return child.x509.verify(createPublicKey({ key: Buffer.from(issuer.cert.spki), format: 'der', type: 'spki' }));
  } catch {
    return false;
  }
}

const selfSigned = (n: Node): boolean => bytesEqual(n.cert.subject, n.cert.issuer) && signedBy(n, n);

/**
 * Verifies a certificate path (RFC 5280 §6.1, as sigstore clients apply it to Fulcio chains): builds the path
 * from the leaf by issuer/subject name (and AKI/SKI when both exist) through `pool` (intermediates and roots, as
 * a trusted root's certChain lists them; every pool certificate is trusted, but the path must end at a self-signed
 * one), checks every signature, validity at `at`, CA:TRUE and keyCertSign on issuers, pathLenConstraint,
 * critical extensions, and that the leaf has keyUsage digitalSignature and extKeyUsage codeSigning.
 * Throws MALFORMED_INPUT only when a certificate cannot be parsed.
 */
export function verifyCertificateChain(leafDer: Uint8Array, pool: Uint8Array[], at: Date): ChainResult {
  if (!(at instanceof Date) || Number.isNaN(at.getTime())) throw new SignetError('INVALID_ARGUMENT', '`at` must be a valid Date');
  const leaf = makeNode(leafDer, pool.some((p) => bytesEqual(p, leafDer)), 'leaf certificate');
  const nodes = pool.map((der, i) => makeNode(der, true, `pool certificate ${i}`));

  const complete: Node[][] = [];
  let deepest: { path: Node[]; reason: Check } | undefined;
  const noteFailure = (path: Node[], reason: Check): void => {
    if (!deepest || path.length > deepest.path.length) deepest = { path, reason };
  };

  const search = (path: Node[]): void => {
    if (complete.length >= MAX_PATHS) return;
    const cur = path[path.length - 1]!;
    if (cur.inPool && selfSigned(cur)) {
      complete.push(path);
      return;
    }
    if (path.length > MAX_DEPTH) {
      noteFailure(path, { name: 'path', ok: false, detail: `the path is longer than ${MAX_DEPTH} certificates` });
      return;
    }
    const named = nodes.filter((n) => !path.includes(n) && bytesEqual(n.cert.subject, cur.cert.issuer));
    const akiMatch = named.filter((n) => !cur.cert.authorityKeyId || !n.cert.subjectKeyId || bytesEqual(cur.cert.authorityKeyId, n.cert.subjectKeyId));
    if (akiMatch.length === 0) {
      const why = named.length
        ? `no pool certificate named "${nameToString(cur.cert.issuer)}" has the subject key identifier that ${label(cur)} names as its authority key`
        : `no certificate in the pool has the subject "${nameToString(cur.cert.issuer)}", the issuer of ${label(cur)}` +
          (cur.inPool ? ', and it is not a self-signed root' : '');
      noteFailure(path, { name: 'path', ok: false, detail: why });
      return;
    }
    let any = false;
    for (const cand of akiMatch) {
      if (signedBy(cur, cand)) {
        any = true;
        search([...path, cand]);
      }
    }
    if (!any) {
      noteFailure(path, {
        name: 'signature',
        ok: false,
        detail: `the signature of ${label(cur)} does not verify with the key of any pool certificate named "${nameToString(cur.cert.issuer)}"`,
      });
    }
  };
  search([leaf]);

  if (complete.length === 0) {
    const d = deepest ?? { path: [leaf], reason: { name: 'path', ok: false, detail: 'no path to a self-signed root in the pool' } };
    return { ok: false, chain: d.path.map((n) => n.der), checks: [d.reason] };
  }
  let first: Check[] | undefined;
  for (const path of complete) {
    const checks = checkPath(path, at);
    if (checks.every((c) => c.ok)) return { ok: true, chain: path.map((n) => n.der), checks };
    first ??= checks;
  }
  return { ok: false, chain: complete[0]!.map((n) => n.der), checks: first! };
}

function checkPath(path: Node[], at: Date): Check[] {
  const checks: Check[] = [];
  const add = (name: string, problems: string[], okDetail: string): void => {
    checks.push(problems.length ? { name, ok: false, detail: problems.join('; ') } : { name, ok: true, detail: okDetail });
  };
  const leaf = path[0]!;
  const issuers = path.slice(1);
  const root = path[path.length - 1]!;

  add('path', [], `${path.length} certificate(s) ending at the self-signed root ${label(root)}`);
  add('signature', [], 'every certificate is signed by the next one in the path, and the root by itself');

  add(
    'algorithm',
    path.filter((n) => !ACCEPTED_SIGNATURE_ALGORITHMS.has(n.cert.signatureAlgorithm)).map((n) => `${label(n)} is signed with unsupported algorithm ${n.cert.signatureAlgorithm}`),
    'every signature uses ECDSA, RSA with SHA-2, or Ed25519',
  );

  // RFC 5280 §6.1.3 (a)(2)
  add(
    'validity',
    path
      .filter((n) => at < n.cert.validity.notBefore || at > n.cert.validity.notAfter)
      .map(
        (n) =>
          `${label(n)} is not valid at ${at.toISOString()} (valid ${n.cert.validity.notBefore.toISOString()} to ${n.cert.validity.notAfter.toISOString()})`,
      ),
    `every certificate is valid at ${at.toISOString()}`,
  );

  // RFC 5280 §6.1.4 (k), (n)
  const caProblems: string[] = [];
  for (const n of issuers) {
    if (!n.cert.basicConstraints?.ca) caProblems.push(`${label(n)} issues certificates but is not a CA (basicConstraints cA is not TRUE)`);
    if (!n.cert.keyUsage?.includes('keyCertSign')) caProblems.push(`${label(n)} issues certificates but its keyUsage lacks keyCertSign`);
  }
  add('ca', caProblems, 'every issuer is a CA with keyCertSign');

  // RFC 5280 §4.2.1.9, §6.1.4 (l), (m): non-self-issued intermediates below each issuer.
  const lenProblems: string[] = [];
  issuers.forEach((n, k) => {
    const limit = n.cert.basicConstraints?.pathLen;
    if (limit === undefined) return;
    const below = path.slice(1, k + 1).filter((m) => !bytesEqual(m.cert.subject, m.cert.issuer)).length;
    if (below > limit) lenProblems.push(`${label(n)} allows ${limit} intermediate(s) below it, the path has ${below}`);
  });
  add('path-length', lenProblems, 'path length constraints hold');

  // RFC 5280 §4.2: unknown critical extensions make a certificate unusable.
  const critProblems: string[] = [];
  for (const n of path) {
    for (const e of n.cert.extensions) {
      if (!e.critical || UNDERSTOOD_CRITICAL.has(e.oid)) continue;
      critProblems.push(
        e.oid === OID.ctPoison
          ? `${label(n)} is a CT precertificate (poison extension), not a usable certificate`
          : `${label(n)} has unrecognized critical extension ${e.oid}`,
      );
    }
  }
  add('critical-extensions', critProblems, 'no unrecognized critical extensions');

  // Fulcio profile: intermediates restrict EKU to codeSigning; when an issuer restricts EKU it must allow it.
  add(
    'issuer-eku',
    issuers
      .filter((n) => n.cert.extKeyUsage && !n.cert.extKeyUsage.includes(OID.codeSigning) && !n.cert.extKeyUsage.includes(OID.anyExtendedKeyUsage))
      .map((n) => `${label(n)} restricts extended key usage and does not allow codeSigning`),
    'no issuer forbids codeSigning',
  );

  add(
    'leaf-key-usage',
    leaf.cert.keyUsage?.includes('digitalSignature') ? [] : [`the leaf ${label(leaf)} lacks keyUsage digitalSignature`],
    'the leaf has keyUsage digitalSignature',
  );
  add(
    'leaf-eku',
    leaf.cert.extKeyUsage?.includes(OID.codeSigning) ? [] : [`the leaf ${label(leaf)} lacks extended key usage codeSigning`],
    'the leaf has extended key usage codeSigning',
  );
  return checks;
}
