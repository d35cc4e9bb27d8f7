import type { KeyObject } from 'node:crypto';
import { extKeyUsage, keyUsage, toPem } from '@signet/core';
import type { FastifyBaseLogger } from 'fastify';
import type { SecretStore } from '../storage/secrets.js';
import { WorkerPool, workersPerCore, type PoolService } from '../workers/pool.js';
import { TSA_POLICY_OID, type TimestampAnswer } from './answer.js';
import { PreparedTsaSigner } from './token.js';
import type { TsaInit, TsaJob } from './tsa-worker.js';
import { YEAR_MS, hostOf, nowSeconds, sealedIssued, sealedRoot, type StoredCertificate } from '../ca/index.js';

/** What the trust-root domain publishes for the TSA. */
export interface TsaTrustMaterial {
  /** DER: TSA leaf, TSA root. */
  tsaChain: Uint8Array[];
  /** The TSA leaf's notBefore. */
  tsaValidFrom: Date;
}

/**
 * The RFC 3161 timestamp authority: a P-256 signing key certified (EKU timeStamping, critical) by its own P-384
 * TSA root, separate from the keyless CA's root as Sigstore's TSA is. Tokens carry signedAttrs with an ESS
 * signingCertificateV2, sid issuerAndSerialNumber, an ECDSA signature, genTime to the second (accuracy 1 s) and
 * random 128-bit serials; nothing is written per token. Tokens are made on worker threads (the server's shared
 * pool, or the TSA's own, started on first use): reading the request, encoding the token and signing took about a
 * third of the event loop's work per timestamp, and the event loop is what every other request waits on.
 */
export class TimestampAuthority {
  private readonly service: PoolService<TsaJob, TimestampAnswer>;
  private readonly own: WorkerPool | undefined;
  private readonly chainPem: string;

  private constructor(
    private readonly root: StoredCertificate,
    private readonly leaf: StoredCertificate,
    signingKey: KeyObject,
    workers: WorkerPool | undefined,
  ) {
    // genTime is written to the second (sigstore-js reads only 3-digit fractions), so tokens say: accurate to 1 s.
    const init: TsaInit = { key: signingKey, certificate: leaf.der, chain: [root.der], policyOid: TSA_POLICY_OID, accuracySeconds: 1 };
    // Made here once too, so a key that does not match its certificate fails at start, not in a worker.
    new PreparedTsaSigner(init.key, init.certificate, init.chain, init.policyOid, init.accuracySeconds);
    if (!workers) this.own = workers = new WorkerPool({ size: workersPerCore(2), what: 'timestamp signing' });
    this.service = workers.service({
      name: 'tsa.timestamp',
      url: new URL('./tsa-worker.js', import.meta.url),
      data: init,
      toError: (_code, message) => new Error(`timestamping failed: ${message}`),
    });
    this.chainPem = toPem('CERTIFICATE', leaf.der) + toPem('CERTIFICATE', root.der);
  }

  /**
   * Loads the TSA, making and sealing at first start its root (tsa/root-key, tsa/root-cert: ECDSA P-384,
   * self-signed, CA) and signing key and certificate (tsa/signing-key, tsa/signing-cert: ECDSA P-256), put-if-absent
   * as the CA does so racing servers agree and restarts reuse them.
   */
  static async open(secrets: SecretStore, opts: { baseUrl: string; log?: FastifyBaseLogger; workers?: WorkerPool }): Promise<TimestampAuthority> {
    const host = hostOf(opts.baseUrl);
    const now = nowSeconds();
    const root = await sealedRoot(secrets, {
      prefix: 'tsa',
      commonName: `${host} TSA root`,
      pathLen: 0,
      now,
      onCreate: () => opts.log?.info('timestamp authority: creating the TSA root certificate (ECDSA P-384)'),
    });
    const { key: signingKey, cert: leaf } = await sealedIssued(secrets, root, {
      keyName: 'tsa/signing-key',
      certName: 'tsa/signing-cert',
      commonName: `${host} TSA`,
      now,
      // 10 years, bounded by the root's own validity.
      notAfter: new Date(now.getTime() + 10 * YEAR_MS),
      extensions: [
        keyUsage(['digitalSignature']),
        // RFC 3161 §2.3: the TSA certificate has exactly one extended key usage, timeStamping, marked critical.
        extKeyUsage(['timeStamping'], true),
      ],
      onCreate: () => opts.log?.info('timestamp authority: creating the TSA signing certificate (ECDSA P-256)'),
    });
    return new TimestampAuthority(root.cert, leaf, signingKey, opts.workers);
  }

  /** The PEM chain, leaf first (GET /api/v1/timestamp/certchain). */
  certChainPem(): string {
    return this.chainPem;
  }

  /** For the trust root: the TSA chain (DER, leaf then root) and when it starts being valid. */
  trustMaterial(): TsaTrustMaterial {
    return { tsaChain: [this.leaf.der.slice(), this.root.der.slice()], tsaValidFrom: this.leaf.parsed.validity.notBefore };
  }

  /**
   * Answers a JSON (`json`) or DER (`der`) request body with a TimeStampResp; bad input gets a rejection, never a
   * throw. The request is read and the token built and signed in a worker (tsa-worker.ts).
   */
  answer(kind: 'json' | 'der', body: Uint8Array): Promise<TimestampAnswer> {
    return this.service.run({ kind, body });
  }

  /** Stops the TSA's own workers (a shared pool is closed by its owner). */
  async close(): Promise<void> {
    await this.own?.close();
  }
}
