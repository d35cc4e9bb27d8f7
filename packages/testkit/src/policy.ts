/**
 * The signing policy of the seed document (../shared/seeds: "Configure Signing Policy"), in its YAML form: a keyless
 * cosign rule for images and a gpg rule with trusted keys for rpm/deb/apk packages. Tests vary the repository globs
 * and the trusted keys.
 */
export function seedPolicyYaml(opts: { repositories?: string[]; trustedKeys?: string[] } = {}): string {
  const repositories = opts.repositories ?? ['production/*', 'stable/*'];
  const trusted = opts.trustedKeys ?? ['key-123', 'key-456'];
  return `name: "require-signatures"
description: "Require signed artifacts for production"
repositories:
${repositories.map((r) => `  - "${r}"`).join('\n')}
rules:
  - name: "require-cosign-signature"
    artifact_types: ["docker", "oci"]
    signature_type: "cosign"
    required: true
    key_requirements:
      - type: "keyless"
        certificate_identity: "*@example.com"
        certificate_oidc_issuer: "https://accounts.google.com"
  - name: "require-gpg-signature"
    artifact_types: ["rpm", "deb", "apk"]
    signature_type: "gpg"
    required: true
    trusted_keys:
${trusted.map((k) => `      - "${k}"`).join('\n')}
`;
}
