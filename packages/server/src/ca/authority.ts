import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import {
  basicConstraints,
  extKeyUsage,
  githubWorkflowClaims,
  isSignetError,
  keyUsage,
  spkiDer,
  toPem,
  type FulcioClaims,
} from '@signet/core';
import type { FastifyBaseLogger } from 'fastify';
import { IdentityError } from '../identity/index.js';
import type { JwsSignatureCheck } from '../identity/jws.js';
import type { OidcIdentity } from '../identity/oidc.js';
import type { SecretStore } from '../storage/secrets.js';
import { CaError } from './errors.js';
import { IssuerPool } from './issuer-pool.js';
import { SharedDigestSet } from '../workers/digest-set.js';
import type { WorkerPool } from '../workers/pool.js';
import { LEAF_LIFETIME_MS, LeafSigner, type LeafIdentity } from './leaf.js';
import type { ClientKey } from './spki.js';
import { hostOf, nowSeconds, sealedIssued, sealedKey, sealedRoot, type StoredCertificate } from './pki.js';

export { LEAF_LIFETIME_MS };

/** What the trust-root domain publishes for the CA: its chain and its CT log. */
export interface CaTrustMaterial {
  /** DER: intermediate, root. */
  caChain: Uint8Array[];
  /** The intermediate's notBefore. */
  caValidFrom: Date;
  ctlogPublicKey: KeyObject;
  ctlogValidFrom: Date;
}

/** The body of POST /api/v2/signingCert (Fulcio v2 CreateSigningCertificateRequest, JSON). */
export interface SigningCertRequest {
  credentials?: { oidcIdentityToken?: string };
  publicKeyRequest?: { publicKey: { algorithm?: string; content: string }; proofOfPossession: string };
  certificateSigningRequest?: string;
}

/**
 * Checks an OIDC identity token (the server's OidcVerifier.check): everything but its signature, which the
 * issuance worker verifies before it signs anything.
 */
export interface TokenVerifier {
  check(token: string): Promise<{ identity: OidcIdentity; signature: JwsSignatureCheck }>;
}

/** The Fulcio extensions for an identity: the issuer always, the GitHub workflow claims for github-workflow issuers. */
function claimsFor(identity: OidcIdentity): FulcioClaims {
  if (identity.type !== 'github-workflow') return { issuer: identity.issuer };
  try {
    return { ...githubWorkflowClaims(identity.claims as Record<string, unknown>), issuer: identity.issuer };
  } catch (e) {
    if (isSignetError(e)) throw new IdentityError('UNAUTHENTICATED', `the identity token cannot be certified: ${e.message}`);
    throw e;
  }
}

/**
 * The keyless CA: a P-384 root, a P-256 intermediate that issues 10-minute Fulcio-profile leaves, and an internal
 * CT log whose SCT every leaf embeds (RFC 6962 precertificate SCT, log ID = SHA-256 of the log's SPKI).
 * Issuance writes nothing: like Fulcio, the CA keeps no per-certificate state; the certificates' record is the
 * transparency log entries that carry them.
 */
export class CertificateAuthority {
  private readonly chainPem: string[];
  /** Issues on the main thread (issue()); request handling goes through the worker pool instead. */
  private readonly signer: LeafSigner;
  private readonly pool: IssuerPool;
  /** Digests of the leaves this process issued, shared with the log's entry verifiers (tlog/issued.ts). */
  private readonly issued = SharedDigestSet.create();

  private constructor(
    private readonly root: StoredCertificate,
    private readonly inter: StoredCertificate,
    interKey: KeyObject,
    ctlogKey: KeyObject,
    private readonly ctlogPublic: KeyObject,
    workers: WorkerPool | undefined,
  ) {
    this.chainPem = [toPem('CERTIFICATE', inter.der), toPem('CERTIFICATE', root.der)];
    this.signer = new LeafSigner(interKey, inter.der, ctlogKey, { issued: this.issued });
    this.pool = new IssuerPool({ interKey, interCert: inter.der, ctlogKey, issued: this.issued.buffer }, workers);
  }

  /**
   * Loads the CA, making and sealing its keys and certificates at first start (ca/root-key, ca/root-cert,
   * ca/intermediate-key, ca/intermediate-cert, ca/ctlog-key). Each piece is put-if-absent and the stored value
   * is used, so servers racing on one database end with one chain, and restarts reuse it exactly.
   */
  static async open(secrets: SecretStore, opts: { baseUrl: string; log?: FastifyBaseLogger; workers?: WorkerPool }): Promise<CertificateAuthority> {
    const host = hostOf(opts.baseUrl);
    const now = nowSeconds();

    const root = await sealedRoot(secrets, {
      prefix: 'ca',
      commonName: `${host} root`,
      pathLen: 1,
      now,
      onCreate: () => opts.log?.info('keyless CA: creating the root certificate (ECDSA P-384)'),
    });
    // The intermediate is P-256 on purpose: it signs every leaf, and P-256 ECDSA signing is several times faster
    // than P-384, which is what lets one node issue over 1,000 leaves a second on 2 cores. The long-lived root
    // (it signs once) stays P-384, as Fulcio recommends.
    const { key: interKey, cert: inter } = await sealedIssued(secrets, root, {
      keyName: 'ca/intermediate-key',
      certName: 'ca/intermediate-cert',
      commonName: `${host} intermediate`,
      now,
      extensions: [basicConstraints(true, 0), keyUsage(['keyCertSign', 'cRLSign']), extKeyUsage(['codeSigning'])],
      onCreate: () => opts.log?.info('keyless CA: creating the intermediate certificate (ECDSA P-256)'),
    });

    const ctlogKey = await sealedKey(secrets, 'ca/ctlog-key', 'ecdsa-p256');
    return new CertificateAuthority(root.cert, inter, interKey, ctlogKey, createPublicKey(ctlogKey), opts.workers);
  }

  /** The PEM chain above the leaves: intermediate, root. */
  chain(): string[] {
    return [...this.chainPem];
  }

  /** For the trust root: the CA chain (DER, intermediate then root) and the CT log key. */
  trustMaterial(): CaTrustMaterial {
    return {
      caChain: [this.inter.der.slice(), this.root.der.slice()],
      caValidFrom: this.inter.parsed.validity.notBefore,
      ctlogPublicKey: this.ctlogPublic,
      // The CT key is made at the CA's first start, before any SCT exists.
      ctlogValidFrom: this.root.parsed.validity.notBefore,
    };
  }

  /**
   * This CA as the log's trusted issuer: its intermediate, whose current leaves may be logged without a token, and
   * the shared set of the leaves issued here, so the log's verifiers need not check the intermediate's signature on
   * each of them.
   */
  trustedIssuer(): { certificate: Uint8Array; issued: SharedArrayBuffer } {
    return { certificate: this.inter.der.slice(), issued: this.issued.buffer };
  }

  /** The CT log ID (SHA-256 of its SPKI). */
  ctlogId(): Uint8Array {
    return new Uint8Array(createHash('sha256').update(spkiDer(this.ctlogPublic)).digest());
  }

  /**
   * Handles a signingCert request: the token (body, else the Bearer header) is verified, the key read and its
   * proof of possession checked (a signature over the principal, or the CSR's self-signature), and a leaf issued.
   * Returns the PEM chain, leaf first.
   */
  async signingCertificate(req: SigningCertRequest, bearer: string | undefined, tokens: TokenVerifier): Promise<string[]> {
    const hasKey = req.publicKeyRequest !== undefined;
    const hasCsr = req.certificateSigningRequest !== undefined;
    if (hasKey === hasCsr) {
      throw new CaError('CERT_REQUEST_INVALID', hasKey ? 'send either publicKeyRequest or certificateSigningRequest, not both' : 'the request needs publicKeyRequest (publicKey and proofOfPossession) or certificateSigningRequest');
    }
    const token = req.credentials?.oidcIdentityToken || bearer;
    if (!token) throw new IdentityError('UNAUTHENTICATED', 'an OIDC identity token is required: send credentials.oidcIdentityToken or Authorization: Bearer <token>');
    const { identity, signature } = await tokens.check(token);
    const leafIdentity = toLeafIdentity(identity);
    // The token's signature, the key, its proof of possession and the certificate are handled in a worker thread
    // (issuer-pool.ts): the worker refuses the job unless the token's signature verifies.
    const leaf = await this.pool.issue(
      hasKey
        ? {
            token: signature,
            key: {
              content: req.publicKeyRequest!.publicKey.content,
              proofOfPossession: req.publicKeyRequest!.proofOfPossession,
              principal: identity.principal,
              principalClaim: identity.type === 'email' ? 'email' : 'sub',
            },
            identity: leafIdentity,
          }
        : { token: signature, csr: req.certificateSigningRequest!, identity: leafIdentity },
    );
    return [toPem('CERTIFICATE', leaf), ...this.chainPem];
  }

  /**
   * Issues a leaf for an already verified identity and key, on the calling thread (Fulcio profile: see
   * LeafSigner.issue). A ClientKey's SPKI bytes are used as they are.
   */
  async issue(identity: OidcIdentity, publicKey: KeyObject | ClientKey): Promise<Uint8Array> {
    return this.signer.issue('spki' in publicKey ? publicKey.spki : spkiDer(publicKey), toLeafIdentity(identity));
  }

  /** Stops the issuance workers. */
  async close(): Promise<void> {
    await this.pool.close();
  }
}

function toLeafIdentity(identity: OidcIdentity): LeafIdentity {
  return { san: identity.san, claims: claimsFor(identity), claimsByIssuer: identity.type !== 'github-workflow' };
}
