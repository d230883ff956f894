import { generateKeyPairSync, randomBytes, X509Certificate } from "node:crypto";

/** An RSA key pair in PEM, used to sign and verify ServiceAccount tokens. */
export function generateServiceAccountKey(): { privateKeyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  });
  return { privateKeyPem: privateKey, publicKeyPem: publicKey };
}

/** A random bearer token (hex). */
export function randomToken(bytes = 24): string {
  return randomBytes(bytes).toString("hex");
}

/** The PEM blocks of a certificate file, in order. */
export function splitPemCertificates(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

/**
 * kube-apiserver with --cert-dir and no --tls-cert-file writes a serving certificate followed by
 * the self-signed CA that issued it. Returns that CA (PEM), or undefined when the file does not
 * (yet) hold a complete chain.
 */
export function caFromServingChain(chainPem: string): string | undefined {
  const blocks = splitPemCertificates(chainPem);
  let leaf: X509Certificate | undefined;
  for (const block of blocks) {
    const cert = new X509Certificate(block);
    if (!cert.ca) {
      leaf ??= cert;
      continue;
    }
    if (leaf === undefined || leaf.checkIssued(cert)) return `${block}\n`;
  }
  return undefined;
}

/** One line of a kube-apiserver --token-auth-file: token,user,uid,"group1,group2". */
export function tokenFileLine(token: string, user: string, uid: string, groups: readonly string[]): string {
  return `${token},${user},${uid},"${groups.join(",")}"\n`;
}
