import { SignetError } from '../errors.js';
import { fromUtf8 } from '../encoding/bytes.js';
import { derUtf8String } from '../encoding/der-writer.js';
import { OID } from './oids.js';
import { derUtf8Value, parseCertificate, type Extension, type GeneralName } from './parse.js';
import { rawExtension } from './build.js';

/**
 * Claims Fulcio records in a certificate (`docs/oid-info.md`, arc 1.3.6.1.4.1.57264.1). `issuer` gives `.1`
 * (raw bytes, deprecated) and `.8` (DER UTF8String); the `githubWorkflow*` fields give the deprecated raw
 * `.2`–`.6`; the rest give `.9`–`.24` as DER UTF8String.
 */
export interface FulcioClaims {
  issuer: string;
  githubWorkflowTrigger?: string; // .2 event_name
  githubWorkflowSha?: string; // .3 sha
  githubWorkflowName?: string; // .4 workflow
  githubWorkflowRepository?: string; // .5 repository
  githubWorkflowRef?: string; // .6 ref
  buildSignerUri?: string; // .9
  buildSignerDigest?: string; // .10
  runnerEnvironment?: string; // .11
  sourceRepositoryUri?: string; // .12
  sourceRepositoryDigest?: string; // .13
  sourceRepositoryRef?: string; // .14
  sourceRepositoryIdentifier?: string; // .15
  sourceRepositoryOwnerUri?: string; // .16
  sourceRepositoryOwnerIdentifier?: string; // .17
  buildConfigUri?: string; // .18
  buildConfigDigest?: string; // .19
  buildTrigger?: string; // .20
  runInvocationUri?: string; // .21
  sourceRepositoryVisibilityAtSigning?: string; // .22
  deploymentEnvironment?: string; // .23
  subject?: string; // .24 raw `sub`
}

const RAW_ARCS: Array<[keyof FulcioClaims, number]> = [
  ['githubWorkflowTrigger', 2],
  ['githubWorkflowSha', 3],
  ['githubWorkflowName', 4],
  ['githubWorkflowRepository', 5],
  ['githubWorkflowRef', 6],
];

const DER_ARCS: Array<[keyof FulcioClaims, number]> = [
  ['buildSignerUri', 9],
  ['buildSignerDigest', 10],
  ['runnerEnvironment', 11],
  ['sourceRepositoryUri', 12],
  ['sourceRepositoryDigest', 13],
  ['sourceRepositoryRef', 14],
  ['sourceRepositoryIdentifier', 15],
  ['sourceRepositoryOwnerUri', 16],
  ['sourceRepositoryOwnerIdentifier', 17],
  ['buildConfigUri', 18],
  ['buildConfigDigest', 19],
  ['buildTrigger', 20],
  ['runInvocationUri', 21],
  ['sourceRepositoryVisibilityAtSigning', 22],
  ['deploymentEnvironment', 23],
  ['subject', 24],
];

const arc = (n: number): string => `${OID.fulcio}.${n}`;

/** The Fulcio extensions for these claims, in OID order: `.1`–`.6` raw, `.8`–`.24` DER UTF8String. */
export function fulcioExtensions(claims: FulcioClaims): Extension[] {
  if (typeof claims?.issuer !== 'string' || claims.issuer === '') throw new SignetError('INVALID_ARGUMENT', 'claims.issuer is required');
  const out: Extension[] = [rawExtension(OID.fulcioIssuer, claims.issuer)];
  for (const [k, n] of RAW_ARCS) {
    const v = claims[k];
    if (v !== undefined) out.push(rawExtension(arc(n), v));
  }
  out.push({ oid: OID.fulcioIssuerV2, critical: false, value: derUtf8String(claims.issuer) });
  for (const [k, n] of DER_ARCS) {
    const v = claims[k];
    if (v !== undefined) out.push({ oid: arc(n), critical: false, value: derUtf8String(v) });
  }
  return out;
}

/**
 * Maps a GitHub Actions OIDC token's claims to Fulcio's (the GitHub column of `docs/oid-info.md`):
 * `.9` server_url/job_workflow_ref, `.12` server_url/repository, `.18` server_url/workflow_ref,
 * `.21` …/actions/runs/{run_id}/attempts/{run_attempt}, and the rest one to one.
 */
export function githubWorkflowClaims(token: Record<string, unknown>, serverUrl = 'https://github.com'): FulcioClaims {
  const s = (k: string): string | undefined => (typeof token[k] === 'string' ? (token[k] as string) : typeof token[k] === 'number' ? String(token[k]) : undefined);
  const need = (k: string): string => {
    const v = s(k);
    if (v === undefined) throw new SignetError('INVALID_ARGUMENT', `the GitHub token has no "${k}" claim`);
    return v;
  };
  const claims: FulcioClaims = {
    issuer: need('iss'),
    githubWorkflowTrigger: need('event_name'),
    githubWorkflowSha: need('sha'),
    githubWorkflowName: need('workflow'),
    githubWorkflowRepository: need('repository'),
    githubWorkflowRef: need('ref'),
    buildSignerUri: `${serverUrl}/${need('job_workflow_ref')}`,
    buildSignerDigest: need('job_workflow_sha'),
    runnerEnvironment: need('runner_environment'),
    sourceRepositoryUri: `${serverUrl}/${need('repository')}`,
    sourceRepositoryDigest: need('sha'),
    sourceRepositoryRef: need('ref'),
    sourceRepositoryIdentifier: need('repository_id'),
    sourceRepositoryOwnerUri: `${serverUrl}/${need('repository_owner')}`,
    sourceRepositoryOwnerIdentifier: need('repository_owner_id'),
    buildConfigUri: `${serverUrl}/${need('workflow_ref')}`,
    buildConfigDigest: need('workflow_sha'),
    buildTrigger: need('event_name'),
    runInvocationUri: `${serverUrl}/${need('repository')}/actions/runs/${need('run_id')}/attempts/${need('run_attempt')}`,
    sourceRepositoryVisibilityAtSigning: need('repository_visibility'),
    subject: need('sub'),
  };
  const env = s('environment');
  if (env !== undefined) claims.deploymentEnvironment = env;
  return claims;
}

export interface FulcioIdentity {
  /** The certificate's identity: its first email, URI or Fulcio OtherName (`.7`) SAN. */
  san: { type: 'email' | 'uri' | 'othername'; value: string };
  /** All SANs as read. */
  subjectAltNames: GeneralName[];
  /** The OIDC issuer: `.8` (DER UTF8String), else `.1` (raw bytes); undefined when neither is present. */
  issuer?: string;
  /** Every extension under 1.3.6.1.4.1.57264.1, decoded: `.1`–`.6` as raw UTF-8, the others as DER UTF8String. */
  extensions: Record<string, string>;
}

function rawString(v: Uint8Array): string {
  try {
    return fromUtf8(v);
  } catch {
    return Buffer.from(v).toString('latin1');
  }
}

/**
 * Reads the identity a Fulcio certificate carries, the way sigstore clients do (§4.3 of the reference):
 * the SAN, and the issuer from `.8`, falling back to `.1`. Throws MALFORMED_INPUT when the certificate
 * cannot be parsed or has no email/URI/OtherName SAN.
 */
export function fulcioIdentity(der: Uint8Array): FulcioIdentity {
  const cert = parseCertificate(der);
  const sans = cert.subjectAltNames ?? [];
  const first = sans.find(
    (g) => g.type === 'email' || g.type === 'uri' || (g.type === 'othername' && g.oid === OID.fulcioOtherNameSan),
  );
  if (!first) throw new SignetError('MALFORMED_INPUT', 'the certificate has no email, URI or Fulcio username subjectAltName');
  const extensions: Record<string, string> = {};
  for (const e of cert.extensions) {
    if (!e.oid.startsWith(`${OID.fulcio}.`)) continue;
    const n = Number(e.oid.slice(OID.fulcio.length + 1));
    if (n >= 1 && n <= 6) extensions[e.oid] = rawString(e.value);
    else {
      const v = derUtf8Value(e.value);
      if (v !== undefined) extensions[e.oid] = v;
    }
  }
  const issuer = extensions[OID.fulcioIssuerV2] ?? extensions[OID.fulcioIssuer];
  const out: FulcioIdentity = {
    san: { type: first.type as 'email' | 'uri' | 'othername', value: first.value },
    subjectAltNames: sans,
    extensions,
  };
  if (issuer !== undefined) out.issuer = issuer;
  return out;
}
